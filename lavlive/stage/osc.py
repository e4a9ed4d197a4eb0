"""OSC in and out: a VJ's controller (TouchOSC, Open Stage Control, a DAW, another visual tool) steers
lavlive over UDP, and lavlive tells it where things stand so faders and lights follow.

Input, to `OscServer` (default 127.0.0.1:9000), one message per change:

    /lavlive/y f                  0–10     audio-driven motion (units of Z_std)
    /lavlive/c f                  0–2      leaky-tanh slope
    /lavlive/onset/strength f     0–10     onsets switch projection P_a → P_b
    /lavlive/chroma/strength f    0–1      pitch means blended into the centre
    /lavlive/silence_db f         -120–0   motion fades out below this level (dBFS)
    /lavlive/smoothing/coarse f   0–60 s   averaging window of the coarse layers
    /lavlive/smoothing/middle f   0–60 s   … middle layers
    /lavlive/smoothing/fine f     0–60 s   … fine layers
    /lavlive/truncation f         0–2      truncation psi
    /lavlive/seed i               0–2147483647  projection seed (an integral float is fine)
    /lavlive/crossfade f          0–60 s   fade used on preset and seed switches
    /lavlive/preset s             built-in preset name or .toml path
    /lavlive/next                 next track       (fires on no argument or a non-zero one:
    /lavlive/previous             previous track    a button's release, 0, is ignored)
    /lavlive/pause                pause / resume

Numbers may be int or float. A message with an unknown address, a value of the wrong type, out of
range or not finite is refused with one warning in the log and changes nothing; the server goes on.
Messages are handled one at a time in arrival order, so the last position of a fader wins.

Output, from `OscState` to a host and port of your choosing:

    /lavlive/state/<name> value   the current value of each parameter above (and /lavlive/state/preset s)
    /lavlive/beat                 an onset strong enough to count as a beat (no argument)
    /lavlive/onset f              onset strength 0–1, per control frame or video frame
    /lavlive/fps f                frames shown per second

and with `--link` (Ableton Link), the session as lavlive sees it:

    /lavlive/link/tempo f         beats per minute            once a second, with the state
    /lavlive/link/peers i         other peers in the session  once a second
    /lavlive/link/phase f         beat within the bar, 0 ≤ phase < beats per bar, per frame shown
    /lavlive/link/beat i          a beat of the session passed (its number in the bar, from 0), per frame shown
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_message_builder import BuildError
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.udp_client import SimpleUDPClient

from ..errors import LavliveError
from .parameters import PARAMETERS, StageControls, StageError, parameter

log = logging.getLogger(__name__)

PREFIX = "/lavlive/"
POLL = 0.05  # seconds between the server loop's checks for close(); bounds close() time


class OscServer:
    """OSC input: `/lavlive/<name> [value]` → `controls.set(name, value)`, on a daemon thread."""

    def __init__(self, controls: StageControls, host: str = "127.0.0.1", port: int = 9000) -> None:
        self.controls, self.host, self.port = controls, host, port  # port 0: any free port (see .port after start)
        self._server: BlockingOSCUDPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> OscServer:
        """Bind and serve (once; again: no-op); LavliveError if the address cannot be bound (port in use, bad host)."""
        if self._server is not None:
            return self
        dispatcher = Dispatcher(strict_timing=False)  # a bundle timed in the future must not stall the loop
        dispatcher.set_default_handler(self._handle)
        try:
            self._server = BlockingOSCUDPServer((self.host, self.port), dispatcher)
        except OSError as e:
            raise LavliveError(f"OSC: cannot listen on {self.host}:{self.port} ({e.strerror or e})") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": POLL},
                                        name="lavlive-osc", daemon=True)
        self._thread.start()
        log.info("OSC: listening on %s:%d", self.host, self.port)
        return self

    def close(self) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()  # returns once serve_forever has seen the request (≤ POLL)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def __enter__(self) -> OscServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _handle(self, address: str, *args: Any) -> None:
        """Runs on the server thread: nothing may escape it."""
        try:
            name = address[len(PREFIX):] if address.startswith(PREFIX) else None
            if name is None or parameter(name) is None:
                log.warning("OSC: unknown address %s (expected %s<name>, name one of: %s, route/<name>/amount)",
                            address, PREFIX, ", ".join(PARAMETERS))
                return
            if len(args) > 1:
                log.warning("OSC: %s refused: one value expected, got %d (%s)", address, len(args),
                            ", ".join(map(repr, args)))
                return
            self.controls.set(name, args[0] if args else None)
        except StageError as e:
            log.warning("OSC: %s refused: %s", address, e)
        except Exception:
            log.exception("OSC: %s failed", address)


class OscState:
    """OSC output to one host:port; sending never raises (a failure is logged once, then at debug level)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        try:
            self._client = SimpleUDPClient(target_host, target_port)
        except (OSError, ValueError) as e:
            raise LavliveError(f"OSC: cannot send to {target_host}:{target_port} ({e})") from None
        self._warned = False

    def send(self, state: dict[str, Any]) -> None:
        """`/lavlive/state/<name> value` for each entry (as StageControls.state() gives it; None skipped)."""
        for name, value in state.items():
            if value is not None:
                self._send(f"{PREFIX}state/{name}", value)

    def beat(self) -> None:
        self._send(f"{PREFIX}beat", None)

    def onset(self, strength: float) -> None:
        self._send(f"{PREFIX}onset", float(strength))

    def fps(self, frames_per_second: float) -> None:
        self._send(f"{PREFIX}fps", float(frames_per_second))

    def link(self, now: Any) -> None:
        """The Link session's tempo and peers (a stage.ableton.LinkNow)."""
        self._send(f"{PREFIX}link/tempo", float(now.tempo))
        self._send(f"{PREFIX}link/peers", int(now.peers))

    def link_phase(self, phase: float) -> None:
        self._send(f"{PREFIX}link/phase", float(phase))

    def link_beat(self, beat_in_bar: int) -> None:
        self._send(f"{PREFIX}link/beat", int(beat_in_bar))

    def close(self) -> None:
        self._client.close()

    def _send(self, address: str, value: Any) -> None:
        try:
            self._client.send_message(address, value)
        except (OSError, ValueError, BuildError) as e:  # unreachable host, closed socket, a value OSC cannot carry
            if self._warned:
                log.debug("OSC: sending %s to %s:%d failed (%s)", address, *self.target, e)
            else:
                self._warned = True
                log.warning("OSC: sending to %s:%d failed (%s); further failures are not reported", *self.target, e)
