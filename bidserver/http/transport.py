"""uvicorn's h11 HTTP protocol with one addition: a bound on the time a request's head may take.

uvicorn bounds the idle time between two requests on a kept-alive connection
(``timeout_keep_alive``) but not the time a client takes to send a request line and its headers:
a client that connects and sends nothing, or a byte now and then (slowloris), holds a connection,
a file descriptor and its buffers for as long as it likes (200 such handshakes stayed open
indefinitely). Every live-room handshake starts as an HTTP request here, so the same bound
covers the WebSocket upgrade.

The clock starts when the connection is made, and on a kept-alive connection at the first bytes
of the next request (the idle time before them is ``timeout_keep_alive``'s); it stops when h11
has the whole head (the client's state leaves ``IDLE``) or the connection is upgraded. When it
runs out the connection is closed, without a response: the client may not even have begun a
request, so there is nothing to answer.

Why h11 and not uvicorn's automatic choice: without httptools, which bidserver does not depend
on, the automatic choice is this same h11 protocol.
"""

from __future__ import annotations

import asyncio
import logging

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)


class HeadTimeoutProtocol(H11Protocol):
    head_timeout_s = 10.0  # set by ``protocol_class``
    _head_timer: asyncio.TimerHandle | None = None
    _upgraded = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_clock()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._upgraded:
            return
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self._head_timer is None:  # the first bytes of the next request on this connection
                self._start_head_clock()
        else:
            self._stop_head_clock()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True  # the socket is the live room's from now on
        self._stop_head_clock()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_clock()
        super().connection_lost(exc)

    def _start_head_clock(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _stop_head_clock(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._upgraded or self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        client = "%s:%d - " % self.client if self.client else ""
        log.info("%sno complete request head within %g s: connection closed", client, self.head_timeout_s)
        self.transport.close()


def protocol_class(head_timeout_s: float) -> type[HeadTimeoutProtocol]:
    """The protocol class for uvicorn's ``http=`` setting, with this server's head timeout."""
    return type("HeadTimeoutProtocol", (HeadTimeoutProtocol,), {"head_timeout_s": head_timeout_s})
