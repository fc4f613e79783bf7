"""Every Redis key name of the server, for one Redis and for a Redis Cluster: one home, so the
journal, the stores beside it, the runtime's followers and the tools cannot disagree on where an
auction lives.

On one Redis (plain, replicated, behind Sentinel) the names are those of every earlier release:
``<prefix>:auction:<id>``, ``<prefix>:awards``, ``<prefix>:auctions``... Nothing moves for a user
who does not run a cluster.

On a Redis Cluster a script may only touch keys of one slot. The append script writes an
auction's stream *and* the awards stream, the index of auctions and the fence counter, in one
atomic step (journal before acknowledge: no award without its event). So the cluster's keys are
grouped in ``CLUSTER_SHARDS`` shards: an auction belongs to shard ``crc32(id) % CLUSTER_SHARDS``,
and every key of the auction *and* its shard's own awards stream, index, finished set, fence and
archived heads carry the shard's hash tag: ``<prefix>:{<tag>}:auction:<id>``,
``<prefix>:{<tag>}:awards``. One shard is one slot; the group commit sends one script call per
shard per turn.

Why shards rather than one tag per auction: the cross-auction keys (awards, index) must share the
auction's slot, and a tag per auction would make them one per auction (a consumer reading awards
would then follow as many streams as there were auctions). Why 16: the shards spread the write
load over 16 slots, each on some master; 16 is enough for 16 masters (a cluster of 16 masters
holds about 16 x 80,000 bids/s by docs/design.md's figures) and few enough for an awards consumer
to follow every shard's stream. Why the tags are chosen rather than ``s0``..``s15``: CRC16 puts 16
short names at random slots, and a 3-master cluster could get 8 shards on one master and 4 on
each other. Tag ``k`` is the first name ``<k>.<j>`` (j = 0, 1, ...) whose slot lies in the k-th
sixteenth of the 16384 slots, so a cluster that splits the slots evenly (``redis-cli --cluster
create`` does) splits the shards evenly too. The number is part of the data's layout: a journal
written with one number cannot be read with another, so it is a constant, not a setting.

Cross-auction stores that are read as a whole (the listing, the supplier registry, the signing
keys) live in one slot each (``single_slot``): their writes are rare next to bids, and their
scripts need their keys together.
"""

from __future__ import annotations

import zlib
from functools import cache

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

__all__ = ["CLUSTER_SHARDS", "KeySpace", "shard_tags"]

CLUSTER_SHARDS = 16


@cache
def shard_tags(shards: int = CLUSTER_SHARDS) -> tuple[str, ...]:
    """The hash tag of each shard, spread evenly over the slots (see the module's docstring)."""
    width = REDIS_CLUSTER_HASH_SLOTS // shards
    tags = []
    for k in range(shards):
        j = 0
        while key_slot(f"{k}.{j}".encode()) // width != k:
            j += 1
        tags.append(f"{k}.{j}")
    return tuple(tags)


class KeySpace:
    """Key names under ``prefix``; ``sharded`` for a Redis Cluster (hash tags, see above)."""

    def __init__(self, prefix: str, *, sharded: bool = False) -> None:
        self.prefix = prefix
        self.sharded = sharded
        self.shards = CLUSTER_SHARDS if sharded else 1
        tags = shard_tags() if sharded else ("",)
        self._bases = tuple(f"{prefix}:{{{t}}}" if t else prefix for t in tags)

    # -- shards ------------------------------------------------------------------------------

    def shard(self, auction_id: str) -> int:
        """The shard an auction's keys live in (0 on one Redis)."""
        if not self.sharded:
            return 0
        return zlib.crc32(auction_id.encode()) % self.shards

    def _base(self, auction_id: str) -> str:
        return self._bases[self.shard(auction_id)]

    def shard_key(self, shard: int, name: str) -> str:
        """A per-shard key: ``awards``, ``auctions`` (the index), ``finished``, ``fence``,
        ``archived``. On one Redis the one shard's keys are the historical global keys."""
        return f"{self._bases[shard]}:{name}"

    def of_every_shard(self, name: str) -> list[str]:
        return [self.shard_key(s, name) for s in range(self.shards)]

    # -- an auction's keys (all in its shard's slot) ------------------------------------------

    def stream(self, auction_id: str) -> str:
        """The auction's journal stream."""
        return f"{self._base(auction_id)}:auction:{auction_id}"

    def snapshot(self, auction_id: str) -> str:
        return f"{self._base(auction_id)}:snapshot:{auction_id}"

    def heads(self, auction_id: str) -> str:
        """Its signed tree heads (``store.head_store``)."""
        return f"{self._base(auction_id)}:heads:{auction_id}"

    def owner(self, auction_id: str) -> str:
        """Its lease: which process is its writer (``store.leases``)."""
        return f"{self._base(auction_id)}:owner:{auction_id}"

    def presence(self, auction_id: str) -> str:
        return f"{self._base(auction_id)}:presence:{auction_id}"

    def of_auction(self, auction_id: str, name: str) -> str:
        """A per-shard key (``shard_key``) of the auction's shard."""
        return self.shard_key(self.shard(auction_id), name)

    # -- between processes (runtime.bus): channels, named like keys ----------------------------

    def command_channel(self, shard: int, node: str) -> str:
        """Where commands about ``node``'s auctions of ``shard`` go: ``<prefix>:cmd:<node>`` on
        one Redis; on a cluster in the shard's slot, for sharded pub/sub (``runtime.pubsub``)."""
        return self.shard_key(shard, f"cmd:{node}")

    def reply_channel(self, shard: int, node: str) -> str:
        """Where the answers to ``node``'s commands about auctions of ``shard`` come back."""
        return self.shard_key(shard, f"reply:{node}")

    # -- stores read as a whole: one slot each ------------------------------------------------

    def single_slot(self, store: str) -> str:
        """The base of a store whose keys must share a slot (``listing``, ``suppliers``,
        ``signing-keys``): ``<prefix>`` on one Redis, ``<prefix>:{<store>}`` on a cluster."""
        return f"{self.prefix}:{{{store}}}" if self.sharded else self.prefix

    def master_fence(self, j: int) -> str:
        """The ``j``-th candidate for a cluster master's own fence counter, ``<prefix>:{fence.<j>}``
        (``store.masters`` takes the first one in a slot the master serves)."""
        return f"{self.prefix}:{{fence.{j}}}"

    def fence_of(self, store: str) -> str:
        """The fence counter a single-slot store's durable scripts bump (``RedisJournal.fenced``):
        it must be in the store's slot; on one Redis it is the journal's own ``<prefix>:fence``."""
        return f"{self.single_slot(store)}:fence"
