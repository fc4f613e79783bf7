"""An outgoing message, encoded once and framed once however many sockets it goes to.

Server-to-client WebSocket frames are not masked (RFC 6455 §5.1), so one text frame's bytes are
valid on every connection: the fan-out frames an update once and writes the same ``bytes`` object
to each transport, where the usual path (ASGI ``send`` → protocol → framing → write) would redo
that work, and allocate, once per socket.
"""

from __future__ import annotations

import struct

_OPCODE_TEXT_FIN = 0x81


def text_frame(payload: bytes) -> bytes:
    """One unmasked, unfragmented text frame (RFC 6455 §5.2) carrying ``payload`` (UTF-8)."""
    n = len(payload)
    if n < 126:
        header = bytes((_OPCODE_TEXT_FIN, n))
    elif n < 1 << 16:
        header = struct.pack("!BBH", _OPCODE_TEXT_FIN, 126, n)
    else:
        header = struct.pack("!BBQ", _OPCODE_TEXT_FIN, 127, n)
    return header + payload


class Outgoing:
    """A JSON message (UTF-8 bytes) and its text frame; its ``str`` is made on first use."""

    __slots__ = ("data", "frame", "_text")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.frame = text_frame(data)  # a plain attribute: read once per socket in the fan-out
        self._text: str | None = None

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = self.data.decode()
        return self._text
