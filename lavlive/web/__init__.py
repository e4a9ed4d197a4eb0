"""The control page in the browser: a running show's parameters, routes, presets, switches, playlist,
stats and a small preview, on a phone or a second screen, several pages in sync with each other and
with OSC and MIDI.

    server = open_web("8080", stage)     # 127.0.0.1:8080; "0.0.0.0:8080" needs the printed token
    server.publish("stats", {...})       # any thread, never blocks
    server.offer(image, blend, alpha)    # the display thread: a few frames a second to the preview
    server.close()

`access` holds the rules (loopback only unless told, a token elsewhere, Host and Origin checks),
`board` the messages the page is drawn from, `preview` the small JPEGs, `server` the aiohttp server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .access import Access, is_loopback

if TYPE_CHECKING:
    from ..stage import StageLink
    from .server import WebServer


def open_web(endpoint: str | None, stage: StageLink, live: bool = False) -> WebServer | None:
    """The control page at `endpoint` ('PORT' or 'HOST:PORT', as --web gives it), serving; None without one."""
    if endpoint is None:
        return None
    from ..stage.link import parse_endpoint
    from .server import WebServer  # aiohttp: imported only when a show asks for the page

    host, port = parse_endpoint(endpoint, "--web")
    return WebServer(stage, host, port, live=live).start()


__all__ = ["Access", "is_loopback", "open_web"]
