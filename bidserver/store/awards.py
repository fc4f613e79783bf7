"""The awards stream: the contract between bidserver and contract-signing services.

Why a stream with consumer groups: an award must reach every downstream service (contract
signing, notifications, accounting) at least once, even if that service is down at the close.
Each service creates its own consumer group; Redis keeps, per group, what was delivered and what
is still pending (delivered but not acknowledged), so a crashed consumer's awards are re-claimed
by another (XAUTOCLAIM) instead of being lost. See ``examples/award_consumer.py``.

The stream
----------
Key: ``{prefix}:awards`` (``AWARDS_STREAM`` for the default prefix ``bidserver``) on one Redis.
Entry ids are Redis-generated (time-ordered across the stream's auctions). Each entry has four
fields:

* ``award_id``   -- stable id of the award (the engine derives it from auction and lot), also
  recorded in the auction's own event stream;
* ``auction_id`` -- the auction it closes;
* ``lot_id``     -- the lot awarded;
* ``release``    -- the award as a JSON release (OCDS-shaped), bytes, opaque to the journal.

A cancelled auction's last entry is its cancellation (OCDS tag ``tenderCancellation``, tender
``cancelled``): ``lot_id`` empty and ``award_id`` the auction's id, which no award's id can be.

Guarantees: the award entry is written by the same atomic script as the auction's award event
(``RedisJournal.append``), so the stream never shows an award the auction did not record, nor the
reverse; a retried append never adds it twice. Delivery to a group is still *at least once*
(a consumer may crash after acting but before XACK), so a consumer must be idempotent on
``award_id``: e.g. record its result in a hash keyed by award_id with HSETNX.

Retention: entries are removed only by ``safe_trim``, which never drops an award some group has
not acknowledged: see its docstring for how that is told from what Redis reports. Create your
group before the first trim that could concern you (a group created later, starting at ``0``,
only sees what is still there).

On a Redis Cluster
------------------
A cluster has 16 awards streams, one per shard (``store.keyspace``): ``{prefix}:{<tag>}:awards``
for the 16 shard tags, ``bidserver:{0.13}:awards``, ``bidserver:{1.10}:awards`` ...
``bidserver:{15.20}:awards`` for the default prefix (``awards_streams(keys)`` names them). An
auction's awards all go to its shard's stream. Why not one stream: the award is written by the
same script as its event, and a script may touch keys of one slot only, so the award must live
in the auction's slot; one global stream would also be one hot slot taking every auction's
awards, on one master.

So a consumer follows all 16 streams, with its group on each (``ensure_groups``), and reads
them with one ``XREADGROUP`` per stream: a cluster refuses a multi-key ``XREADGROUP`` whose
streams are in different slots (CROSSSLOT). Each stream keeps its order, so one auction's
awards (and its cancellation, after them) arrive in order; across shards there is no order, and
none is needed: awards of different auctions are independent. Acknowledging, reclaiming
(``XAUTOCLAIM``) and trimming (``safe_trim_all``) are per stream too. On one Redis
``awards_streams`` is the one stream above, so the same code serves both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from .journal import AwardRecord
from .keyspace import KeySpace

__all__ = [
    "AWARDS_STREAM",
    "DEFAULT_PREFIX",
    "FIELD_AUCTION_ID",
    "FIELD_AWARD_ID",
    "FIELD_LOT_ID",
    "FIELD_RELEASE",
    "awards_stream_key",
    "awards_streams",
    "decode_award",
    "ensure_group",
    "ensure_groups",
    "safe_trim",
    "safe_trim_all",
]

DEFAULT_PREFIX = "bidserver"

FIELD_AWARD_ID = "award_id"
FIELD_AUCTION_ID = "auction_id"
FIELD_LOT_ID = "lot_id"
FIELD_RELEASE = "release"


def awards_stream_key(prefix: str = DEFAULT_PREFIX) -> str:
    """The awards stream on one Redis (a cluster has one per shard: ``awards_streams``)."""
    return KeySpace(prefix).shard_key(0, "awards")


def awards_streams(keys: KeySpace) -> list[str]:
    """Every awards stream of ``keys``: the one of one Redis, or each shard's on a cluster."""
    return keys.of_every_shard("awards")


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


async def ensure_groups(redis: Redis, keys: KeySpace, group: str, start_id: str = "0") -> int:
    """``ensure_group`` on every awards stream of ``keys`` (see "On a Redis Cluster"); returns
    on how many streams the group was created. ``"$"`` means each stream's own last entry."""
    created = 0
    for stream in awards_streams(keys):
        created += await ensure_group(redis, group, start_id, stream=stream)
    return created


# KEYS: 1 the awards stream. Returns how many entries were trimmed.
# One script, so the groups are looked at and the stream trimmed in one atomic step: no group can
# be created, moved back (SETID) or be delivered anything between the look and the trim.
# Ids are compared as decimal strings (no leading zeros), not Lua numbers (doubles).
_SAFE_TRIM = """
local function numless(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
local function less(a, b)
  local ams, aseq = string.match(a, '^(%d+)-(%d+)$')
  local bms, bseq = string.match(b, '^(%d+)-(%d+)$')
  if ams ~= bms then return numless(ams, bms) end
  return numless(aseq, bseq)
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local floor = nil
for _, fields in ipairs(groups) do
  local g = {}
  for i = 1, #fields, 2 do g[fields[i]] = fields[i + 1] end
  if not g['lag'] or not g['entries-read'] then return 0 end
  local need = nil
  local after = redis.call('XRANGE', KEYS[1], '(' .. g['last-delivered-id'], '+', 'COUNT', 1)
  if #after > 0 then need = after[1][1] end
  if g['pending'] > 0 then
    local oldest = redis.call('XPENDING', KEYS[1], g['name'])[2]
    if not need or less(oldest, need) then need = oldest end
  end
  if need then
    if not floor or less(need, floor) then floor = need end
  else
    floor = floor or false
  end
end
if floor then return redis.call('XTRIM', KEYS[1], 'MINID', floor) end
return redis.call('XTRIM', KEYS[1], 'MAXLEN', 0)
"""


async def safe_trim(redis: Redis, stream: str = AWARDS_STREAM) -> int:
    """Trim awards that every consumer group has acknowledged; return how many were removed.

    The rule: trimming never drops an award that some group has not acknowledged. Per group,
    what Redis can vouch for as acknowledged is what lies at or before its last-delivered id and
    is not in its PEL (delivered, not acknowledged). So each group needs its oldest pending
    entry and everything after its last-delivered id (a group moved back with ``XGROUP SETID``
    needs that too, though older entries of its PEL wait as well), and the stream is trimmed
    (``XTRIM MINID``, exact) below the oldest entry any group needs.

    A group's last-delivered id says it has read everything before it only when Redis reached it
    by delivering. When it was *set* (created at ``$`` or an id, moved with ``SETID``) and
    nothing has been delivered since, ``XINFO GROUPS`` reports ``entries-read`` as nil; when it
    cannot place the id in the stream's history at all (an id in the middle, a future id,
    deletions), ``lag`` is nil. Either way the group's position says nothing about what it
    acknowledged, and nothing is trimmed. With no group at all, nothing is trimmed either:
    nobody has acknowledged anything, and a service may be about to create its group.

    What Redis cannot tell: once a group created at ``$`` (or moved forward) has been delivered
    something, the awards it skipped look read by it. They are still kept for as long as any
    other group needs them. Runs as one script: the look and the trim are one atomic step.
    """
    return int(await redis.register_script(_SAFE_TRIM)(keys=[stream]))


async def safe_trim_all(redis: Redis, keys: KeySpace) -> dict[str, int]:
    """``safe_trim`` on every awards stream of ``keys``, each on its own (a script touches one
    slot, and each stream's groups are its own); returns how many entries were removed from
    each stream that lost some."""
    removed = {stream: await safe_trim(redis, stream) for stream in awards_streams(keys)}
    return {stream: n for stream, n in removed.items() if n}
