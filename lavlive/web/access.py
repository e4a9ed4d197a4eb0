"""Who may use the control page: safe by default, like every listener in lavlive.

On a loopback address (127.0.0.0/8, ::1, localhost) the page needs no secret, but the Host header must
name the loopback address (so a web page elsewhere cannot reach it through DNS rebinding) and a
WebSocket's Origin must be the page itself (any site open in the VJ's browser could otherwise steer
the show). On any other address a secret token is required as well: given (LAVLIVE_WEB_TOKEN, so it
never shows in `ps`) or generated and printed once. `/?token=…` trades it for an HttpOnly cookie and
a redirect, so the token leaves the address bar; the page then sends it with every message.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping

COOKIE = "lavlive_token"
TOKEN_ENV = "LAVLIVE_WEB_TOKEN"
LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class Access:
    """The rules for one server at `host`:`port`: `token` is None on loopback (no secret needed)."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port = host, port
        self.local = is_loopback(host)
        self.token = None if self.local else (token or os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(32))

    def page_address(self, shown_host: str | None = None) -> str:
        """The address to open (with the token on a non-local address): printed once at start."""
        host = shown_host or self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def token_ok(self, given: object) -> bool:
        """A token from a request or a message: always True without a secret."""
        if self.token is None:
            return True
        return isinstance(given, str) and hmac.compare_digest(given.encode(), self.token.encode())

    def host_ok(self, host_header: str | None) -> bool:
        """On loopback only a loopback Host (DNS rebinding); elsewhere the token guards the page."""
        if not self.local:
            return True
        if not host_header:
            return False
        name = host_header.rsplit(":", 1)[0] if not host_header.endswith("]") else host_header
        return is_loopback(name)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """A WebSocket must come from the page itself: Origin http://<Host>. Non-browser clients (no Origin)
        are let through on loopback only."""
        if origin is None:
            return self.local
        return host_header is not None and origin in (f"http://{host_header}", f"https://{host_header}")

    def request_ok(self, headers: Mapping[str, str], query: Mapping[str, str], cookies: Mapping[str, str]) -> bool:
        """A page or WebSocket request: the Host rule, then the token from the query or the cookie."""
        if not self.host_ok(headers.get("Host")):
            return False
        return self.token_ok(query.get("token") or cookies.get(COOKIE))
