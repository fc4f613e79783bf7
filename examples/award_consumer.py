"""Example contract-signing service: reads bidserver's awards stream with a consumer group.

It shows the contract documented in ``bidserver.store.awards``:

* it follows every awards stream: the one of one Redis, or on a Redis Cluster the 16 of its
  shards (``awards_streams``), each with its own reader: a cluster serves one ``XREADGROUP``
  per stream, since the streams are in different slots;
* every instance calls ``ensure_group`` on each (creating the group once, harmless afterwards);
* it first re-reads its *own* pending entries (id ``0``: delivered before a crash, never acked),
  then new ones (id ``>``);
* "signing" is HMAC-SHA256 over the release bytes with a key from ``AWARD_SIGNING_KEY``; the
  signature is stored with HSETNX in a hash keyed by award_id, so a redelivered award is signed
  once and the ack simply follows (idempotent on award_id: delivery is at least once);
* it acks only after the signature is stored;
* from time to time it takes over entries another consumer left pending too long (XAUTOCLAIM),
  stream by stream.

Its signatures live in the same Redis as the awards, so even where Redis fsyncs once a second
(``appendfsync everysec``) a crash cannot keep a signature whose award it lost: the AOF is in
order. On a cluster that holds because each stream's signatures are in a hash of the stream's
own slot (``contracts:{<tag>}:signatures``, the shard's tag), so on its master and in its AOF.
A service acting outside Redis must first prove what it read durable (docs/awards.md).

Which Redis: ``--redis-url`` (any URL the server takes, ``redis+cluster://`` too, through the
server's own ``redis_client``), else ``BIDSERVER_REDIS_URL``, else the embedded journal of the data
directory (``--data-dir``, else ``BIDSERVER_DATA_DIR``, else ``./data``): the same default as
``bidserver serve``, found the way serve names it (``EmbeddedRedis.of_data_dir``). It says which
Redis it reads, waits for it when it is not up yet, and reconnects with back-off when it goes away
(the server restarts its embedded Redis; nothing acknowledged is lost, nothing is signed twice).

Run:  AWARD_SIGNING_KEY=secret python examples/award_consumer.py [--data-dir data | --redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ClusterDownError, RedisClusterException
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bidserver.config import Settings
from bidserver.store.awards import (
    AWARDS_STREAM,
    DEFAULT_PREFIX,
    awards_streams,
    decode_award,
    ensure_group,
)
from bidserver.store.connect import is_cluster_url, redis_client
from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.keyspace import KeySpace

log = logging.getLogger("award_consumer")

SIGNATURES_PREFIX = "contracts"  # of this service's own keys
SIGNATURES_KEY = KeySpace(SIGNATURES_PREFIX).shard_key(0, "signatures")  # one Redis's
RETRY_FIRST_S = 0.5  # first wait before dialling Redis again, doubling ...
RETRY_MAX_S = 10.0  # ... up to this
# Redis away: incl. LOADING (still reading its AOF), and a cluster's own: no node reachable, no
# master for a slot (a failover under way).
AWAY = (RedisConnectionError, RedisTimeoutError, OSError, RedisClusterException, ClusterDownError)


def journal_url(redis_url: str | None = None, data_dir: Path | None = None) -> str:
    """The Redis holding bidserver's awards: the URL given, else ``BIDSERVER_REDIS_URL`` (unless
    a data directory is given), else the embedded Redis of the data directory."""
    if redis_url:
        return redis_url
    settings = Settings.from_env(data_dir=data_dir)
    if settings.redis_url and data_dir is None:
        return settings.redis_url
    return EmbeddedRedis.of_data_dir(settings.data_dir).url


def followed(redis_url: str) -> list[tuple[str, str]]:
    """The awards streams to follow (one on one Redis, each shard's on a cluster), each with the
    hash its signatures go to: one of the same shard, so in the same slot (see above)."""
    sharded = is_cluster_url(redis_url)
    streams = awards_streams(KeySpace(DEFAULT_PREFIX, sharded=sharded))
    signatures = KeySpace(SIGNATURES_PREFIX, sharded=sharded).of_every_shard("signatures")
    return list(zip(streams, signatures, strict=True))


def sign(key: bytes, release: bytes) -> str:
    return hmac.new(key, release, hashlib.sha256).hexdigest()


async def handle_entries(
    redis: Redis,
    entries: list[tuple[Any, dict[Any, Any]]],
    key: bytes,
    *,
    group: str,
    stream: str = AWARDS_STREAM,
    signatures_key: str = SIGNATURES_KEY,
) -> int:
    """Sign (once per award_id) and ack each entry; returns how many entries were handled."""
    for entry_id, fields in entries:
        if not fields:  # deleted while pending: nothing left to sign, only to acknowledge
            log.warning("award entry %s no longer exists; acknowledging it", entry_id)
            await redis.xack(stream, group, entry_id)
            continue
        award = decode_award(fields)
        if not award.lot_id:  # a cancellation's release (docs/awards.md): no contract to sign
            log.info("auction %s was cancelled: nothing to sign", award.auction_id)
            await redis.xack(stream, group, entry_id)
            continue
        created = await redis.hsetnx(signatures_key, award.award_id, sign(key, award.payload))
        if created:
            log.info("signed award %s (auction %s, lot %s)", award.award_id, award.auction_id, award.lot_id)
        else:
            log.info("award %s already signed (redelivery)", award.award_id)
        await redis.xack(stream, group, entry_id)
    return len(entries)


async def process_once(
    redis: Redis,
    group: str,
    consumer: str,
    key: bytes,
    *,
    pending: bool = False,
    count: int = 100,
    block_ms: int | None = 1000,
    stream: str = AWARDS_STREAM,
    signatures_key: str = SIGNATURES_KEY,
) -> int:
    """One XREADGROUP round: new entries, or with ``pending=True`` this consumer's own unacked
    ones (after a restart). Returns how many entries were handled (0 on timeout)."""
    start = "0" if pending else ">"
    reply = await redis.xreadgroup(
        group, consumer, {stream: start}, count=count, block=None if pending else block_ms
    )
    handled = 0
    for _stream, entries in reply or []:
        handled += await handle_entries(
            redis, entries, key, group=group, stream=stream, signatures_key=signatures_key
        )
    return handled


async def reclaim_stuck(
    redis: Redis,
    group: str,
    consumer: str,
    key: bytes,
    *,
    min_idle_ms: int,
    stream: str = AWARDS_STREAM,
    signatures_key: str = SIGNATURES_KEY,
) -> int:
    """Take over and handle entries pending (in any consumer) for at least ``min_idle_ms``."""
    handled = 0
    cursor = "0-0"
    while True:
        reply = await redis.xautoclaim(stream, group, consumer, min_idle_ms, start_id=cursor, count=100)
        cursor, claimed = reply[0], reply[1]
        handled += await handle_entries(
            redis, claimed, key, group=group, stream=stream, signatures_key=signatures_key
        )
        if cursor in (b"0-0", "0-0"):
            return handled


async def run(
    redis_url: str,
    group: str,
    consumer: str,
    key: bytes,
    *,
    min_idle_ms: int,
    reclaim_every_s: float,
    stop: asyncio.Event,
) -> None:
    """Sign awards until ``stop`` is set, one reader per awards stream; while Redis is away,
    wait for it (with back-off)."""
    streams = followed(redis_url)
    log.info("reading awards from %s (%s %s, group %s, consumer %s)", redis_url,
             "stream" if len(streams) == 1 else "streams", ", ".join(s for s, _ in streams),
             group, consumer)
    delay, connected = RETRY_FIRST_S, False
    while not stop.is_set():
        redis = redis_client(redis_url, socket_connect_timeout=2, socket_timeout=10)
        try:
            for stream, _signatures in streams:
                await ensure_group(redis, group, stream=stream)
            log.info("connected to %s; waiting for awards", redis_url)
            delay, connected = RETRY_FIRST_S, True
            async with asyncio.TaskGroup() as readers:  # one fails: all stop, and we reconnect
                for stream, signatures in streams:
                    readers.create_task(_consume(
                        redis, stream, signatures, group, consumer, key, min_idle_ms=min_idle_ms,
                        reclaim_every_s=reclaim_every_s, stop=stop))
        except* AWAY as away:
            exc = away.exceptions[0]
            if connected:
                log.warning("lost Redis at %s (%s); reconnecting in %.1f s", redis_url, exc, delay)
            else:
                log.warning("waiting for Redis at %s (%s; is bidserver serving it?); next try in "
                            "%.1f s", redis_url, exc, delay)
            connected = False
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
            delay = min(delay * 2, RETRY_MAX_S)
        finally:
            await redis.aclose()


async def _consume(
    redis: Redis,
    stream: str,
    signatures: str,
    group: str,
    consumer: str,
    key: bytes,
    *,
    min_idle_ms: int,
    reclaim_every_s: float,
    stop: asyncio.Event,
) -> None:
    """One stream's reader: its own pending entries first, then new ones, reclaiming stuck ones
    from time to time."""
    while await process_once(redis, group, consumer, key, pending=True, stream=stream,
                             signatures_key=signatures):
        pass
    loop = asyncio.get_running_loop()
    next_reclaim = loop.time()
    while not stop.is_set():
        if loop.time() >= next_reclaim:
            await reclaim_stuck(redis, group, consumer, key, min_idle_ms=min_idle_ms,
                                stream=stream, signatures_key=signatures)
            next_reclaim = loop.time() + reclaim_every_s
        await process_once(redis, group, consumer, key, block_ms=1000, stream=stream,
                           signatures_key=signatures)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None,
                        help="the server's Redis [BIDSERVER_REDIS_URL; else the embedded one of "
                        "--data-dir]")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the data directory of `bidserver serve` [BIDSERVER_DATA_DIR, ./data]")
    parser.add_argument("--group", default="contract-signing")
    parser.add_argument("--consumer", default=f"{socket.gethostname()}-{os.getpid()}")
    parser.add_argument("--min-idle-ms", type=int, default=60_000, help="reclaim entries idle this long")
    parser.add_argument("--reclaim-every", type=float, default=30.0, help="seconds between reclaims")
    args = parser.parse_args(argv)
    secret = os.environ.get("AWARD_SIGNING_KEY")
    if not secret:
        parser.error("set AWARD_SIGNING_KEY to the signing key")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        redis_url = journal_url(args.redis_url, args.data_dir)
    except ValueError as exc:  # a BIDSERVER_* variable that does not parse
        parser.error(str(exc))

    async def amain() -> None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await run(
            redis_url,
            args.group,
            args.consumer,
            secret.encode(),
            min_idle_ms=args.min_idle_ms,
            reclaim_every_s=args.reclaim_every,
            stop=stop,
        )

    asyncio.run(amain())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
