"""Which parser reads each Redis client's replies, on a real Redis: what docs/performance.md
measured, and what the redis and hiredis bounds in pyproject.toml promise. redis-py decides it
silently (a hiredis it does not support is ignored), so nothing else would notice a wrong one."""

from __future__ import annotations

from redis._parsers import _AsyncHiredisParser, _AsyncRESP3Parser
from redis.asyncio import Redis

from bidserver.store.redis_journal import RedisJournal


async def _parser_and_protocol(client: Redis) -> tuple[type, int]:
    conn = await client.connection_pool.get_connection()  # connected: the handshake is done
    try:
        return type(conn._parser), int(conn.protocol)
    finally:
        await client.connection_pool.release(conn)


async def test_default_clients_parse_with_hiredis(redis_server):
    # The cluster's pub/sub and XREAD clients take redis-py's default parser: hiredis, if redis-py
    # supports the installed release (redis-py 8: hiredis >= 3.2), else its Python parser.
    client = Redis.from_url(redis_server.url)
    try:
        assert (await _parser_and_protocol(client))[0] is _AsyncHiredisParser
    finally:
        await client.aclose()


async def test_the_journal_speaks_resp3_with_redis_pys_own_parser(redis_server):
    # That parser reads RESP3 only; with a RESP2 connection (redis-py < 8) a nil reply hangs it.
    journal = RedisJournal(redis_server.url)
    try:
        assert await _parser_and_protocol(journal.redis) == (_AsyncRESP3Parser, 3)
    finally:
        await journal.close()
