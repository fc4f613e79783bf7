"""The listing contract, against the in-memory twin and a real redis-server; then what only Redis
shows (several clients, restarts, key layout)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from bidserver.store.journal import JournalUnavailable
from bidserver.store.keyspace import KeySpace
from bidserver.store.listing import Listing, ListingEntry, MemoryListing, Page, encode_cursor
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.redis_listing import RedisListing


@pytest.fixture(params=["memory", "redis", "redis-cluster"])
async def listing(request: pytest.FixtureRequest) -> AsyncIterator[Listing]:
    if request.param == "memory":
        yield MemoryListing()
        return
    if request.param == "redis-cluster":  # on the journal's client and keys, as the server
        journal = RedisJournal(request.getfixturevalue("redis_cluster").url, prefix="t")
        yield RedisListing(journal.redis, keys=journal.keys)
        await journal.close()
        return
    client = Redis.from_url(request.getfixturevalue("redis_server").url)
    yield RedisListing(client, keys=KeySpace("t"))
    await client.aclose()


@pytest.fixture
def switch_off(listing: Listing, request: pytest.FixtureRequest) -> Callable[[], None]:
    """Make the store unreachable: the twin's hook, or stopping the real server (every node of
    the cluster: its fixture starts them again for the next test)."""

    def off() -> None:
        if isinstance(listing, MemoryListing):
            listing.available = False
        elif "redis_cluster" in request.fixturenames:
            request.getfixturevalue("redis_cluster").stop()
        else:
            request.getfixturevalue("redis_server").stop()

    return off


def entry(auction_id: str, **changes) -> ListingEntry:
    fields = {
        "auction_id": auction_id,
        "format": "reverse_auction",
        "title": f"Auction {auction_id}",
        "buyer": "acme",
        "suppliers": ("s1", "s2"),
        "state": "draft",
        "created_at": 1_700_000_000_000,
        "updated_at": 1_700_000_000_000,
        "seq": 1,
    }
    return ListingEntry(**(fields | changes))


def ids(page: Page) -> list[str]:
    return [e.auction_id for e in page.items]


async def walk(listing: Listing, limit: int = 50, **filters) -> list[list[str]]:
    """Every page of a filter, as lists of ids."""
    pages, cursor = [], None
    while True:
        page = await listing.page(cursor=cursor, limit=limit, **filters)
        pages.append(ids(page))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_put_get_round_trip(listing: Listing) -> None:
    e = entry("a1", title="Ünïcode: pens, 10 000", suppliers=("s1", "s:2", "s%3"))
    await listing.put(e)
    assert await listing.get("a1") == e
    assert await listing.get("nope") is None


async def test_upsert_moves_between_state_indexes(listing: Listing) -> None:
    await listing.put(entry("a1", state="draft", seq=1))
    await listing.put(entry("a1", state="open", seq=5, updated_at=1_700_000_001_000))
    for filters in ({"buyer": "acme"}, {"supplier": "s1"}):
        assert ids(await listing.page(**filters, state="open")) == ["a1"]
        assert ids(await listing.page(**filters, state="draft")) == []
        assert ids(await listing.page(**filters)) == ["a1"]
    assert (await listing.get("a1")).state == "open"


async def test_an_older_seq_is_ignored_an_equal_one_rewrites(listing: Listing) -> None:
    await listing.put(entry("a1", state="open", seq=7))
    await listing.put(entry("a1", state="draft", seq=6))
    assert (await listing.get("a1")).state == "open"
    assert ids(await listing.page(buyer="acme", state="draft")) == []
    await listing.put(entry("a1", state="open", seq=7, title="Renamed"))
    assert (await listing.get("a1")).title == "Renamed"
    await listing.put(entry("a1", state="open", seq=7, title="Renamed"))  # idempotent
    assert ids(await listing.page(buyer="acme", state="open")) == ["a1"]


async def test_a_supplier_no_longer_listed_leaves_its_indexes(listing: Listing) -> None:
    await listing.put(entry("a1", suppliers=("s1", "s2"), state="open", seq=1))
    await listing.put(entry("a1", suppliers=("s2", "s3"), state="open", seq=2))
    assert ids(await listing.page(supplier="s1")) == []
    assert ids(await listing.page(supplier="s1", state="open")) == []
    assert ids(await listing.page(supplier="s2", state="open")) == ["a1"]
    assert ids(await listing.page(supplier="s3")) == ["a1"]


async def test_an_auction_moved_to_another_buyer_leaves_the_old_one(listing: Listing) -> None:
    await listing.put(entry("a1", buyer="acme", seq=1))
    await listing.put(entry("a1", buyer="globex", seq=2))
    assert ids(await listing.page(buyer="acme")) == []
    assert ids(await listing.page(buyer="globex", state="draft")) == ["a1"]


async def test_125_entries_in_three_pages_newest_first_ties_by_id(listing: Listing) -> None:
    # Three auctions per millisecond, ids put in a scrambled order: ties are ordered by id.
    entries = [entry(f"a{(i * 37) % 125:03d}", created_at=1_000 + i // 3) for i in range(125)]
    for e in entries:
        await listing.put(e)
    expected = [e.auction_id for e in sorted(entries, key=lambda e: (-e.created_at, e.auction_id))]
    pages = await walk(listing, limit=50, buyer="acme")
    assert [len(p) for p in pages] == [50, 50, 25]
    assert sum(pages, []) == expected
    assert sum(await walk(listing, limit=50, supplier="s2", state="draft"), []) == expected
    first = await listing.page(buyer="acme", limit=50)
    assert first.next_cursor == encode_cursor(first.items[-1])


async def test_ties_follow_the_byte_order_of_ids(listing: Listing) -> None:
    for auction_id in ("b", "é", "B", "a-1", "a", "z"):
        await listing.put(entry(auction_id, created_at=5))
    await listing.put(entry("older", created_at=4))
    await listing.put(entry("newer", created_at=6))
    expected = ["newer", *sorted(("b", "é", "B", "a-1", "a", "z"), key=str.encode), "older"]
    assert sum(await walk(listing, limit=2, buyer="acme"), []) == expected


async def test_an_exact_last_page_has_no_cursor(listing: Listing) -> None:
    for i in range(4):
        await listing.put(entry(f"a{i}", created_at=i))
    assert await walk(listing, limit=2, buyer="acme") == [["a3", "a2"], ["a1", "a0"]]
    empty = await listing.page(supplier="nobody")
    assert empty == Page(items=[], next_cursor=None)


async def test_filters_by_party_and_state(listing: Listing) -> None:
    await listing.put(entry("a1", buyer="acme", suppliers=("s1",), state="open", created_at=1))
    await listing.put(entry("a2", buyer="acme", suppliers=("s2",), state="closed", created_at=2))
    await listing.put(entry("a3", buyer="globex", suppliers=("s1", "s2"), state="open", created_at=3))
    await listing.put(entry("a4", buyer="globex", suppliers=(), state="draft", created_at=4))
    assert ids(await listing.page(buyer="acme")) == ["a2", "a1"]
    assert ids(await listing.page(buyer="globex")) == ["a4", "a3"]
    assert ids(await listing.page(buyer="acme", state="open")) == ["a1"]
    assert ids(await listing.page(buyer="globex", state="closed")) == []
    assert ids(await listing.page(supplier="s1")) == ["a3", "a1"]
    assert ids(await listing.page(supplier="s2")) == ["a3", "a2"]
    assert ids(await listing.page(supplier="s2", state="closed")) == ["a2"]
    assert ids(await listing.page(supplier="s1", state="closed")) == []
    assert ids(await listing.page(buyer="s1")) == []  # a supplier id is not a buyer
    assert ids(await listing.page(supplier="acme")) == []


async def test_party_names_cannot_reach_other_indexes(listing: Listing) -> None:
    """A buyer named like another buyer's state index lists only its own auctions."""
    await listing.put(entry("a1", buyer="acme", suppliers=("s",), state="open"))
    await listing.put(entry("a2", buyer="acme:open", suppliers=("s:open",), state="x"))
    await listing.put(entry("a3", buyer="acme%3Aopen", suppliers=("s%3Aopen",), state="x"))
    assert ids(await listing.page(buyer="acme:open")) == ["a2"]
    assert ids(await listing.page(buyer="acme%3Aopen")) == ["a3"]
    assert ids(await listing.page(buyer="acme", state="open")) == ["a1"]
    assert ids(await listing.page(supplier="s:open")) == ["a2"]
    assert ids(await listing.page(supplier="s", state="open")) == ["a1"]
    assert ids(await listing.page(buyer="acme:open", state="x")) == ["a2"]


async def test_state_changes_between_pages_neither_repeat_nor_skip(listing: Listing) -> None:
    """What a walk of the open auctions shows while auctions change state between the calls."""
    for i in range(10):  # a9 newest ... a0 oldest, all open
        await listing.put(entry(f"a{i}", state="open", created_at=100 + i))
    first = await listing.page(buyer="acme", state="open", limit=4)
    assert ids(first) == ["a9", "a8", "a7", "a6"]
    # Seen, closed and reopened: behind the cursor, not shown again.
    await listing.put(entry("a8", state="closed", created_at=108, seq=2))
    await listing.put(entry("a8", state="open", created_at=108, seq=3))
    # Not reached yet, closed: no longer open when its page is read, not shown.
    await listing.put(entry("a4", state="closed", created_at=104, seq=2))
    # Created after the walk began: newer than the cursor, shown on a fresh first page.
    await listing.put(entry("new", state="open", created_at=200))
    second = await listing.page(buyer="acme", state="open", limit=4, cursor=first.next_cursor)
    assert ids(second) == ["a5", "a3", "a2", "a1"]
    # Not reached yet, back to open: shown.
    await listing.put(entry("a4", state="open", created_at=104, seq=3))
    third = await listing.page(buyer="acme", state="open", limit=4, cursor=second.next_cursor)
    assert ids(third) == ["a0"] and third.next_cursor is None
    assert sum(await walk(listing, limit=4, buyer="acme", state="open"), [])[:2] == ["new", "a9"]


async def test_a_walk_over_all_states_sees_each_entry_once_while_they_change(listing: Listing) -> None:
    for i in range(30):
        await listing.put(entry(f"a{i:02d}", state="open", created_at=i // 2))
    seen: list[str] = []
    cursor, seq = None, 2
    while True:
        page = await listing.page(supplier="s1", cursor=cursor, limit=7)
        seen += ids(page)
        for i in range(0, 30, 3):  # every third auction changes state between the calls
            state = "paused" if seq % 2 else "open"
            await listing.put(entry(f"a{i:02d}", state=state, created_at=i // 2, seq=seq))
        seq += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert sorted(seen) == [f"a{i:02d}" for i in range(30)]
    assert len(seen) == 30


async def test_exactly_one_party_is_required(listing: Listing) -> None:
    with pytest.raises(ValueError):
        await listing.page()
    with pytest.raises(ValueError):
        await listing.page(state="open")
    with pytest.raises(ValueError):
        await listing.page(buyer="acme", supplier="s1")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        "MTIz",  # "123": no id
        "LTE6YQ",  # "-1:a"
        "MDEyOmE",  # "012:a": not canonical
        "KzEyOmE",  # "+12:a"
        "MTAwMDAwMDAwMDAwMDAwMDph",  # 10**15: out of range
        "MTI6YQ==",  # "12:a" with padding
        "MTI6YQ=",
        "_w",  # not UTF-8
        "MTI/YQ",  # the standard alphabet's "/" is not ours
    ],
)
async def test_a_malformed_cursor_is_refused(listing: Listing, cursor: str) -> None:
    await listing.put(entry("a"))
    with pytest.raises(ValueError, match="cursor"):
        await listing.page(buyer="acme", cursor=cursor)


async def test_a_cursor_is_a_position_whatever_the_filter(listing: Listing) -> None:
    for i in range(3):
        await listing.put(entry(f"a{i}", created_at=i))
    cursor = encode_cursor(entry("a2", created_at=2))
    assert encode_cursor(entry("a2", created_at=2)) == "MjphMg"  # "2:a2", unpadded base64url
    assert ids(await listing.page(supplier="s1", cursor=cursor)) == ["a1", "a0"]
    # The cursor of an entry that no longer exists anywhere still means "after this position".
    gone = encode_cursor(entry("zz", created_at=1))
    assert ids(await listing.page(buyer="acme", cursor=gone)) == ["a0"]


async def test_limit_is_clamped(listing: Listing) -> None:
    for i in range(205):
        await listing.put(entry(f"a{i:03d}", created_at=i))
    for limit, size in ((0, 1), (-5, 1), (1, 1), (200, 200), (201, 200), (10_000, 200)):
        page = await listing.page(buyer="acme", limit=limit)
        assert len(page.items) == size and page.next_cursor is not None


async def test_created_at_out_of_range_is_refused(listing: Listing) -> None:
    for created_at in (-1, 10**15):
        with pytest.raises(ValueError, match="created_at"):
            await listing.put(entry("a", created_at=created_at))
    await listing.put(entry("a", created_at=10**15 - 1))
    await listing.put(entry("b", created_at=0))
    assert sum(await walk(listing, limit=1, buyer="acme"), []) == ["a", "b"]


async def test_unavailable_store(listing: Listing, switch_off: Callable[[], None]) -> None:
    await listing.put(entry("a"))
    switch_off()
    with pytest.raises(JournalUnavailable):
        await listing.put(entry("a", seq=2))
    with pytest.raises(JournalUnavailable):
        await listing.page(buyer="acme")
    with pytest.raises(JournalUnavailable):
        await listing.get("a")
    with pytest.raises(ValueError):  # argument errors come first, as with the journal
        await listing.page()
    await listing.close()


# -- Redis only --------------------------------------------------------------------------------


async def test_every_client_sees_the_same_pages_across_a_crash(redis_server) -> None:
    """Same pages whichever process answers: two clients (as two workers), then a SIGKILL of
    Redis and a fresh client: identical pages, from the AOF."""
    writer_client = Redis.from_url(redis_server.url)
    writer = RedisListing(writer_client)
    for i in range(60):
        state = ("open", "closed", "cancelled")[i % 3]
        await writer.put(entry(f"a{i:02d}", state=state, created_at=i // 4, suppliers=(f"s{i % 5}",)))
    reader_client = Redis.from_url(redis_server.url)
    filters = [{"buyer": "acme"}, {"buyer": "acme", "state": "closed"}, {"supplier": "s3"}]
    before = [await walk(writer, limit=7, **f) for f in filters]
    assert [await walk(RedisListing(reader_client), limit=7, **f) for f in filters] == before
    await reader_client.aclose()
    await writer_client.aclose()

    redis_server.kill()
    redis_server.start()
    client = Redis.from_url(redis_server.url)
    after = RedisListing(client)
    assert [await walk(after, limit=7, **f) for f in filters] == before
    assert await after.get("a07") == entry("a07", state="closed", created_at=1, suppliers=("s2",))
    await client.aclose()


async def test_recovers_when_redis_is_back(redis_server) -> None:
    client = Redis.from_url(redis_server.url)
    listing = RedisListing(client)
    await listing.put(entry("a"))
    redis_server.stop()
    with pytest.raises(JournalUnavailable):
        await listing.put(entry("a", state="open", seq=2))
    redis_server.start()
    await listing.put(entry("a", state="open", seq=2))  # same object, no rebuild
    assert ids(await listing.page(buyer="acme", state="open")) == ["a"]
    await client.aclose()


async def test_keys_follow_the_prefix_and_empty_indexes_vanish(redis_server) -> None:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    listing = RedisListing(client, keys=KeySpace("p"))
    await listing.put(entry("a1", buyer="org:1", suppliers=("s1",), state="open", created_at=7))
    assert sorted(await client.keys("*")) == [
        "p:list:buyer:org%3A1",
        "p:list:buyer:org%3A1:open",
        "p:list:supplier:s1",
        "p:list:supplier:s1:open",
        "p:listing",
    ]
    assert await client.zrange("p:list:buyer:org%3A1", 0, -1, withscores=True) == [
        ("999999999999992:a1", 0.0)
    ]
    await listing.put(entry("a1", buyer="org:1", suppliers=(), state="closed", seq=2, created_at=7))
    assert sorted(await client.keys("*")) == [
        "p:list:buyer:org%3A1",
        "p:list:buyer:org%3A1:closed",
        "p:listing",
    ]
    assert await listing.get("a1") == entry(
        "a1", buyer="org:1", suppliers=(), state="closed", seq=2, created_at=7
    )  # a client decoding responses reads the same entries
    await client.aclose()


async def test_on_a_cluster_the_listing_lives_in_one_slot(redis_cluster) -> None:
    """Every key carries the ``{listing}`` hash tag: the scripts' keys share a slot."""
    journal = RedisJournal(redis_cluster.url, prefix="p")
    listing = RedisListing(journal.redis, keys=journal.keys)
    await listing.put(entry("a1", buyer="org:1", suppliers=("s1", "s2"), state="open"))
    await listing.put(entry("a2", buyer="org:2", suppliers=("s1",), state="draft"))
    await listing.put(entry("a1", buyer="org:1", suppliers=("s1", "s2"), state="closed", seq=2))
    keys: set[str] = set()
    for port in redis_cluster.masters():
        with redis_cluster.client(port) as client:
            keys |= {k.decode() for k in client.keys("p:*")}
    assert keys == {"p:{listing}:listing"} | {
        f"p:{{listing}}:list:{index}"
        for index in ("buyer:org%3A1", "buyer:org%3A1:closed", "buyer:org%3A2",
                      "buyer:org%3A2:draft", "supplier:s1", "supplier:s1:closed",
                      "supplier:s1:draft", "supplier:s2", "supplier:s2:closed")
    }
    assert {key_slot(k.encode()) for k in keys} == {key_slot(b"listing")}
    assert ids(await listing.page(supplier="s1")) == ["a1", "a2"]
    await journal.close()


async def test_script_cache_flush_is_survived(redis_server) -> None:
    client = Redis.from_url(redis_server.url)
    listing = RedisListing(client)
    await listing.put(entry("a"))
    await client.script_flush()
    await listing.put(entry("a", state="open", seq=2))
    assert ids(await listing.page(buyer="acme", state="open")) == ["a"]
    await client.aclose()


async def test_concurrent_puts_the_highest_seq_wins(redis_server) -> None:
    """Two clients putting one auction concurrently (many puts then lose the race between their
    read and their script, and read again): the highest seq wins, and the indexes hold exactly
    that entry's memberships."""
    clients = [Redis.from_url(redis_server.url) for _ in range(2)]
    a, b = (RedisListing(c) for c in clients)
    states = ["draft", "open", "paused", "closed"]
    puts = [
        (a if seq % 2 else b).put(
            entry("x", state=states[seq % 4], suppliers=(f"s{seq % 3}",), seq=seq)
        )
        for seq in range(1, 41)
    ]
    await asyncio.gather(*puts)
    final = entry("x", state=states[40 % 4], suppliers=(f"s{40 % 3}",), seq=40)
    assert await a.get("x") == final
    members = {k.decode() for k in await clients[0].keys("bidserver:list:*")}
    assert members == {
        "bidserver:list:buyer:acme",
        "bidserver:list:buyer:acme:draft",
        "bidserver:list:supplier:s1",
        "bidserver:list:supplier:s1:draft",
    }
    for c in clients:
        await c.aclose()
