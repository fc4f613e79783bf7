"""What became of one command, as the runtime tells the edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine.rejections import Rejection
from ..failures import Failure


@dataclass(slots=True)
class Result:
    """Events applied (empty for a no-op or a resend), or why not (a refusal's events are its
    record, ``Format.refusal_record``, durable before the answer). ``receipt`` is what the format
    tells the sender of a decided command (``Format.receipt``: a bid's seq and rank), read on the
    durable state at the moment the command became durable."""

    events: list[Any] = field(default_factory=list)
    first_seq: int | None = None
    rejection: Rejection | None = None
    failure: Failure | None = None
    receipt: Any = None

    @property
    def ok(self) -> bool:
        return self.rejection is None and self.failure is None
