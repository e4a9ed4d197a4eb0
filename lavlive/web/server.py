"""The control page's server: aiohttp on its own thread and event loop, beside the show.

The show's threads never wait for it: `publish` and `offer` hand data to the loop with
`call_soon_threadsafe` and return. Each page has a small outbox of its own: a page that reads
slowly (a phone on bad Wi-Fi) gets the latest state, never a backlog, and never costs the show time.
Changes from a page go through `StageControls.set`, the same checks and the same queue OSC uses, so
they take effect between two audio blocks; a page that sends more than MAX_RATE messages a second
has the rest refused.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from html import escape
from importlib import resources
from typing import Any

from aiohttp import WSMsgType, web

from ..errors import LavliveError
from ..stage import StageError, StageLink
from ..pipeline.model import Model, ModelSettings
from ..presets import builtin_presets
from . import board
from .access import COOKIE, Access
from .preview import grab, jpeg
from .thumbnails import Thumbnails

log = logging.getLogger("lavlive.web")

STATIC = resources.files("lavlive.web") / "static"
EVENTS = 64  # events waiting for one page (refusals, thumbnails); beyond, the oldest go
MAX_RATE = 60  # messages a second a page may send (a fader dragged sends about 30)
MAX_MESSAGE = 64 * 1024
STATE_DELAY = 0.03  # seconds a state update waits for more changes to go with it
SECURITY_HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:",
                    "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                    "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class Page:
    """One open control page: what waits to be sent to it, and how many messages it sent this second.

    A page that reads slowly gets the latest state, stats, playlist and preview (each replaces the one still
    waiting: never stale, never piling up) and the last EVENTS events (refusals, thumbnails), in order."""

    LATEST = ("state", "stats", "playlist", "preview")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.preview = True
        self.window, self.count = 0, 0
        self._events: deque[str | bytes] = deque(maxlen=EVENTS)
        self._latest: dict[str, str | bytes] = {}
        self._wake = asyncio.Event()

    def put(self, item: str | bytes, kind: str) -> None:
        if kind in self.LATEST:
            self._latest.pop(kind, None)
            self._latest[kind] = item
        else:
            self._events.append(item)
        self._wake.set()

    def over_rate(self) -> bool:
        second = int(time.monotonic())
        if second != self.window:
            self.window, self.count = second, 0
        self.count += 1
        return self.count > MAX_RATE

    async def send_all(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._events or self._latest:
                if self._events:
                    item = self._events.popleft()
                else:
                    item = self._latest.pop(next(iter(self._latest)))
                if isinstance(item, bytes):
                    await self.ws.send_bytes(item)
                else:
                    await self.ws.send_str(item)


class WebServer:
    """The control page at http://host:port/ for a show steered through `stage` (`live`: a sound card's show)."""

    def __init__(self, stage: StageLink, host: str = "127.0.0.1", port: int = 8080, live: bool = False,
                 token: str | None = None, preview_fps: float = 4.0) -> None:
        self.stage, self.live, self.preview_fps = stage, live, preview_fps
        self.access = Access(host, port, token)
        self._loop = asyncio.new_event_loop()
        self._pages: list[Page] = []
        self._latest: dict[str, str] = {}  # the last stats and playlist messages, for pages that open later
        self._state_due = False
        self._next_preview = 0.0
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self.thumbnails: Thumbnails | None = None
        self._preset_shown: str | None = None  # the preset whose seeds have thumbnails

    @property
    def port(self) -> int:
        return self.access.port

    @property
    def pages(self) -> int:
        """Pages open now."""
        return len(self._pages)

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> WebServer:
        """Listen, or LavliveError in one line (port in use, unknown host)."""
        ready, failed = threading.Event(), []
        self._thread = threading.Thread(target=self._run, args=(ready, failed), name="lavlive-web", daemon=True)
        self._thread.start()
        ready.wait()
        if failed:
            self._thread.join(1.0)
            raise LavliveError(f"--web {self.access.host}:{self.access.port}: cannot listen ({failed[0]})")
        self.stage.controls.subscribe(self._changed)
        shown = socket.gethostname() if self.access.host in ("0.0.0.0", "::") else None
        log.info("web: control page on %s:%d%s", self.access.host, self.port,
                 "" if self.access.local else " (a token is needed: printed once on the terminal)")
        print(f"web: control page at {self.access.page_address(shown)}", flush=True)
        return self

    def _run(self, ready: threading.Event, failed: list[str]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen())
        except OSError as e:
            failed.append(e.strerror or str(e))
            ready.set()
            return
        ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _listen(self) -> None:
        app = web.Application(client_max_size=MAX_MESSAGE)
        app.router.add_get("/", self._index)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/static/{name}", self._static)
        app.on_shutdown.append(self._close_pages)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.access.host, self.access.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            raise
        self.access.port = self._runner.addresses[0][1]

    def draw_looks(self, model: Callable[[], Model], settings: ModelSettings) -> None:
        """Thumbnails of the presets and seeds from `model()` (called on the drawing thread: it may load)."""
        self.thumbnails = Thumbnails(model, settings, lambda message: self._loop.call_soon_threadsafe(
            self._fan_out, json.dumps({"type": "thumbnail", **message}), "thumbnail"))

    def close(self) -> None:
        if self.thumbnails is not None:
            self.thumbnails.close()
        self.stage.controls.unsubscribe(self._changed)
        if self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(3.0)

    async def _close_pages(self, app: web.Application) -> None:
        for page in list(self._pages):
            await page.ws.close(code=1001, message=b"the show ended")

    # -- from the show's threads (never blocking) -----------------------------------------------

    def publish(self, kind: str, message: dict[str, Any]) -> None:
        """Send {"type": kind, ...} to every page, and keep it for pages that open later."""
        text = json.dumps({"type": kind, **message}, default=board.plain)
        self._latest[kind] = text
        if self._pages:
            self._loop.call_soon_threadsafe(self._fan_out, text, kind)

    def offer(self, image: Any, blend: Any = None, alpha: float = 0.0) -> None:
        """The frame just shown (display thread): a few times a second, while a page wants it, a small copy goes
        to the preview."""
        now = time.monotonic()
        if not self._pages or now < self._next_preview or self.preview_fps <= 0:
            return
        self._next_preview = now + 1.0 / self.preview_fps
        picture = grab(image, blend, alpha)
        self._loop.call_soon_threadsafe(lambda: self._loop.create_task(self._send_preview(picture)))

    def _changed(self, name: str, value: Any) -> None:
        """A change accepted from any input (page, OSC, MIDI, keys): every page follows, a moment later."""
        if not self._state_due:
            self._state_due = True
            self._loop.call_soon_threadsafe(self._loop.call_later, STATE_DELAY, self._send_state)

    # -- on the loop ----------------------------------------------------------------------------

    def _fan_out(self, item: str | bytes, kind: str) -> None:
        for page in self._pages:
            if kind != "preview" or page.preview:
                page.put(item, kind)

    async def _send_preview(self, picture: Any) -> None:
        data = await self._loop.run_in_executor(None, jpeg, picture)
        self._fan_out(data, "preview")

    def _state_message(self) -> str:
        preset = self.stage.preset or self.stage.base_preset
        return json.dumps(board.state(self.stage.controls.state(), self.stage.switch_mode, preset.routes))

    def _send_state(self) -> None:
        self._state_due = False
        self._fan_out(self._state_message(), "state")
        self._want_seeds()

    def _want_seeds(self) -> None:
        """Thumbnails of the seeds offered, with the preset on screen (again when it changes)."""
        preset = self.stage.preset or self.stage.base_preset
        if self.thumbnails is None or not self._pages or preset.name == self._preset_shown:
            return
        self._preset_shown = preset.name
        self.thumbnails.want_seeds(preset, self.thumbnails.seeds)

    def _allowed(self, request: web.Request) -> bool:
        return self.access.request_ok(request.headers, request.query, request.cookies)

    async def _index(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            raise web.HTTPForbidden(text="lavlive: this page needs its token (the address printed when the show "
                                         "started)")
        if "token" in request.query:  # trade the token in the address for a cookie, and drop it from the address
            response = web.HTTPSeeOther("/", headers=SECURITY_HEADERS)
            response.set_cookie(COOKIE, request.query["token"], httponly=True, samesite="Strict", path="/")
            raise response
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        html = html.replace("{{token}}", escape(self.access.token or ""))  # LAVLIVE_WEB_TOKEN may hold anything
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        types = {".js": "text/javascript", ".css": "text/css"}
        kind = next((t for suffix, t in types.items() if name.endswith(suffix)), None)
        if not self._allowed(request) or kind is None or "/" in name or name.startswith("."):
            raise web.HTTPNotFound()
        path = STATIC / name
        if not path.is_file():
            raise web.HTTPNotFound()
        return web.Response(text=path.read_text(encoding="utf-8"), content_type=kind, headers=SECURITY_HEADERS)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request) or not self.access.origin_ok(request.headers.get("Origin"),
                                                                    request.headers.get("Host")):
            raise web.HTTPForbidden(text="lavlive: refused")
        ws = web.WebSocketResponse(heartbeat=10, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        page = Page(ws)
        seeds = self.thumbnails.seeds if self.thumbnails is not None else []
        page.put(json.dumps(board.hello(self.live, self.stage.switch_modes, seeds)), "hello")
        page.put(self._state_message(), "state")
        for kind, text in tuple(self._latest.items()):
            page.put(text, kind)
        self._pages.append(page)
        if self.thumbnails is not None:
            for drawn in self.thumbnails.drawn():
                page.put(json.dumps({"type": "thumbnail", **drawn}), "thumbnail")
            self.thumbnails.want_presets(builtin_presets())
            self._preset_shown = None
            self._want_seeds()
        sender = self._loop.create_task(page.send_all())
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT and not await self._receive(page, message.data):
                    break
        finally:
            sender.cancel()
            self._pages.remove(page)
        return ws

    async def _receive(self, page: Page, text: str) -> bool:
        """One message from a page; False closes it (a wrong token)."""
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            page.put(json.dumps({"type": "refused", "message": "not a JSON object"}), "refused")
            return True
        if not self.access.token_ok(message.get("token")):
            log.warning("web: a message with a wrong token was refused; closing that page")
            await page.ws.close(code=1008, message=b"token")
            return False
        if page.over_rate():
            if page.count == MAX_RATE + 1:
                page.put(json.dumps({"type": "refused", "message": f"more than {MAX_RATE} messages a second"}),
                         "refused")
            return True
        if "preview" in message:
            page.preview = bool(message["preview"])
        try:
            if "switch_on" in message:
                self.stage.set_switch_on(message["switch_on"])
                self._send_state()
            if "set" in message:
                changes = message["set"]
                if not isinstance(changes, dict):
                    raise StageError("'set' should map parameter names to values")
                await self._loop.run_in_executor(None, self.stage.controls.set_many, changes)  # presets load files
        except StageError as e:
            log.warning("web: %s", e)
            page.put(json.dumps({"type": "refused", "message": str(e)}), "refused")
        return True
