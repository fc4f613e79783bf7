"""The awards stream: the contract between bidserver and contract-signing services.

Why a stream with consumer groups: an award must reach every downstream service (contract
signing, notifications, accounting) at least once, even if that service is down at the close.
Each service creates its own consumer group; Redis keeps, per group, what was delivered and what
is still pending (delivered but not acknowledged), so a crashed consumer's awards are re-claimed
by another (XAUTOCLAIM) instead of being lost. See ``examples/award_consumer.py``.

The stream
----------
Key: ``{prefix}:awards`` (``AWARDS_STREAM`` for the default prefix ``bidserver``).
Entry ids are Redis-generated (time-ordered across auctions). Each entry has four fields:

* ``award_id``   -- stable id of the award (the engine derives it from auction and lot), also
  recorded in the auction's own event stream;
* ``auction_id`` -- the auction it closes;
* ``lot_id``     -- the lot awarded;
* ``release``    -- the award as a JSON release (OCDS-shaped), bytes, opaque to the journal.

Guarantees: the award entry is written by the same atomic script as the auction's award event
(``RedisJournal.append``), so the stream never shows an award the auction did not record, nor the
reverse; a retried append never adds it twice. Delivery to a group is still *at least once*
(a consumer may crash after acting but before XACK), so a consumer must be idempotent on
``award_id``: e.g. record its result in a hash keyed by award_id with HSETNX.

Retention: entries are removed only by ``safe_trim``, which keeps anything some group has not
acknowledged. Create your group before the first trim that could concern you (a group created
later, starting at ``0``, only sees what is still there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .journal import AwardRecord

__all__ = [
    "AWARDS_STREAM",
    "DEFAULT_PREFIX",
    "FIELD_AUCTION_ID",
    "FIELD_AWARD_ID",
    "FIELD_LOT_ID",
    "FIELD_RELEASE",
    "awards_stream_key",
    "decode_award",
    "ensure_group",
    "safe_trim",
]

DEFAULT_PREFIX = "bidserver"

FIELD_AWARD_ID = "award_id"
FIELD_AUCTION_ID = "auction_id"
FIELD_LOT_ID = "lot_id"
FIELD_RELEASE = "release"


def awards_stream_key(prefix: str = DEFAULT_PREFIX) -> str:
    return f"{prefix}:awards"


AWARDS_STREAM = awards_stream_key()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_award(fields: Mapping[Any, Any]) -> AwardRecord:
    """Turn one entry's field mapping (bytes or str keys) into an ``AwardRecord``."""
    norm = {_text(k): v for k, v in fields.items()}
    release = norm[FIELD_RELEASE]
    return AwardRecord(
        award_id=_text(norm[FIELD_AWARD_ID]),
        auction_id=_text(norm[FIELD_AUCTION_ID]),
        lot_id=_text(norm[FIELD_LOT_ID]),
        payload=release if isinstance(release, bytes) else str(release).encode(),
    )


async def ensure_group(
    redis: Redis, group: str, start_id: str = "0", *, stream: str = AWARDS_STREAM
) -> bool:
    """Create ``group`` on the awards stream (and the stream if needed). True if created.

    ``start_id="0"`` delivers every award still in the stream; ``"$"`` only new ones. Creating a
    group that exists is not an error: every consumer instance can call this at startup.
    """
    try:
        await redis.xgroup_create(stream, group, id=start_id, mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" in str(exc):
            return False
        raise
    return True


def _parse_id(value: Any) -> tuple[int, int]:
    ms, _, seq = _text(value).partition("-")
    return int(ms), int(seq or 0)


async def safe_trim(redis: Redis, stream: str = AWARDS_STREAM) -> int:
    """Trim entries that every consumer group has acknowledged; return how many were removed.

    For each group, the first entry it still needs is its oldest pending entry (delivered, not
    acknowledged) or, with nothing pending, the one after its last-delivered id. The stream is
    trimmed (XTRIM MINID, exact) below the smallest of these. With no group at all nothing is
    trimmed: no one has said they read anything, and a service may be about to create its group.

    Races are benign: between the look and the trim, groups only advance (new deliveries are
    above last-delivered-id; reclaims keep ids already pending), so the threshold stays safe.
    """
    if not await redis.exists(stream):
        return 0
    groups = await redis.xinfo_groups(stream)
    if not groups:
        return 0
    floor: tuple[int, int] | None = None
    for info in groups:
        name = info["name"]
        pending = await redis.xpending(stream, name)
        if pending["pending"]:
            need = _parse_id(pending["min"])
        else:
            ms, seq = _parse_id(info["last-delivered-id"])
            need = (ms, seq + 1)
        floor = need if floor is None or need < floor else floor
    assert floor is not None
    if floor <= (0, 1):
        return 0
    return int(await redis.xtrim(stream, minid=f"{floor[0]}-{floor[1]}", approximate=False))
