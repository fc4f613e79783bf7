"""The officers' presented key shares: journaled as fingerprints, held in the room's memory.

A presented share is never written anywhere the operator can read later (Redis, a snapshot, a log,
an answer): with the Redis dump and k - 1 other officers, a journaled share would open the bids
before the remaining officers agree. The journal records ``ShareAccepted`` with the share's
fingerprint; the share's text stays in the memory of the tender's one writing room
(``Format.with_memory`` / ``Format.remember``), which is never journaled or snapshotted, so it is
empty after a restart or a takeover.

The two hooks are pure functions on a dict the room owns (officer -> share text):

- ``with_memory`` attaches the held shares to a ``PresentShare`` inside the writer, just before
  ``decide``: two officers presenting at once are decided one after the other, each seeing the
  other's share;
- ``remember`` stores the share ``decide`` accepted (a new one, or one presented again after a
  restart), and forgets every share once the tender is opened or cancelled.

``decide`` trusts a held share only if its fingerprint is the one journaled for its officer, so
what the memory holds beyond the journal (a share whose write failed) is ignored, and replay,
which never sees the memory, folds the same state from the same events.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import msgspec

from ... import sealing
from ...sealing.shamir import Share, share_from_text, share_to_text
from . import events as ev
from .commands import PresentShare
from .state import TenderState


def parse_share(text: str) -> Share | None:
    """The share in an officer's text, or None if it is no share."""
    try:
        return share_from_text(text)
    except sealing.ShareError:
        return None


def fingerprint(share: Share) -> str:
    """``sha256:<hex>`` of the share's canonical text, so that the same share pasted with other
    spacing or key order has the same fingerprint. A share holds 32 random bytes: its hash tells
    nothing of it (not to be confused with ``Share.fingerprint``, the key's, in every share)."""
    return "sha256:" + hashlib.sha256(share_to_text(share).encode()).hexdigest()


def held(state: TenderState, command: PresentShare) -> dict[str, Share]:
    """The shares the room holds that the journal vouches for (the fingerprint journaled for that
    officer): a share whose write failed, or anything else, is not one."""
    out: dict[str, Share] = {}
    for officer, text in command.held.items():
        record = state.shares.get(officer)
        share = None if record is None else parse_share(text)
        if share is not None and fingerprint(share) == record.fingerprint:
            out[officer] = share
    return out


def with_memory(command: Any, memory: dict[str, str]) -> Any:
    """The command as the writer decides it: a share with the shares held (a copy: ``decide``
    never sees the memory change under it); any other command as it is."""
    if not isinstance(command, PresentShare):
        return command
    return msgspec.structs.replace(command, held=dict(memory))


_ENDS_THE_OPENING = (ev.TenderOpened, ev.TenderCancelled)


def remember(memory: dict[str, str], command: Any, events: Sequence[Any]) -> None:
    """After ``decide`` accepted ``command``: hold its share, or forget every share once the
    tender is opened (the key is in the record then) or cancelled."""
    if any(isinstance(event, _ENDS_THE_OPENING) for event in events):
        memory.clear()
    elif isinstance(command, PresentShare):
        memory[command.actor.user] = command.share
