"""How ``yibao serve`` runs the app under uvicorn: the HTTP protocol with TCP_NODELAY.

With ``--workers`` above one, uvicorn binds the listening socket itself without naming the
TCP protocol, so asyncio does not set TCP_NODELAY on the connections it accepts, and every
response waits for the client's delayed ACK (measured: ~45 ms per request on loopback,
against ~1 ms with one worker). These protocols set it on each connection. The parser is
httptools (C) when it is installed, as uvicorn's own "auto" choice would be, else h11; the
event loop is uvicorn's "auto" choice too (uvloop when installed).
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.h11_impl import H11Protocol


def _no_delay(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with Nagle's algorithm off on every connection."""

    def connection_made(  # type: ignore[override]
            self, transport: asyncio.Transport) -> None:
        _no_delay(transport)
        super().connection_made(transport)


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools is not installed: h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

if HttpToolsProtocol is not None:
    class NoDelayHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol, with Nagle's algorithm off on every connection."""

        def connection_made(  # type: ignore[override]
                self, transport: asyncio.Transport) -> None:
            _no_delay(transport)
            super().connection_made(transport)


def http_protocol() -> type[asyncio.Protocol]:
    """The httptools protocol with TCP_NODELAY when httptools is installed, else h11's (a
    class at module level: uvicorn hands it to its worker processes by reference)."""
    if HttpToolsProtocol is None:
        return NoDelayH11Protocol
    return NoDelayHttpToolsProtocol


__all__ = ["NoDelayH11Protocol", "http_protocol"]
