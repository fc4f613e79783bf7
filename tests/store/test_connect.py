"""``store.connect``: the URL grammar of a replicated Redis behind Sentinel."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from bidserver.store.connect import SentinelTarget, parse_sentinel_url, redis_client


def test_sentinels_service_database_and_credentials():
    assert parse_sentinel_url("redis+sentinel://s1:26380,s2,[::1]:26381/bids/2") == SentinelTarget(
        (("s1", 26380), ("s2", 26379), ("::1", 26381)), "bids", 2)
    with_password = parse_sentinel_url("redis+sentinel://:s%40cret@10.0.0.1/main")
    assert (with_password.username, with_password.password) == (None, "s@cret")
    assert with_password.sentinels == (("10.0.0.1", 26379),) and with_password.db == 0
    user = parse_sentinel_url("redis+sentinel://app:pw@h:1/main")
    assert (user.username, user.password) == ("app", "pw")


@pytest.mark.parametrize(("url", "why"), [
    ("redis+sentinel://h:1", "use redis\\+sentinel://host:port"),  # no service
    ("redis+sentinel:///main", "use redis\\+sentinel://host:port"),  # no sentinel
    ("redis+sentinel://:1/main", "a Sentinel without a host"),
    ("redis+sentinel://h:port/main", "'port' is not a port"),
    ("redis+sentinel://h:1/main/zero", "the database must be a number, not 'zero'"),
    ("redis+sentinel://h:1/main/0/extra", "use redis\\+sentinel://host:port"),
    ("redis://h:1/0", "not a redis\\+sentinel:// URL"),
])
def test_a_malformed_url_is_refused_saying_why(url, why):
    with pytest.raises(ValueError, match=why):
        parse_sentinel_url(url)


def test_other_urls_are_redis_py_s_own():
    client = redis_client("unix:///tmp/x.sock", socket_timeout=1.0)
    assert isinstance(client, Redis)
    assert client.connection_pool.connection_kwargs["path"] == "/tmp/x.sock"
