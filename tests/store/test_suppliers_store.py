"""The supplier registry's storage: one contract, held by the in-memory twin and by Redis (AOF
``appendfsync always``, and ``everysec`` with WAITAOF when a server has it), plus what only Redis
can show: durability refused or unproven, an outage, the keys."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
from redis.crc import key_slot

from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.journal import JournalError, JournalNotDurable, JournalUnavailable
from bidserver.store.durability import MODE_AOF_ALWAYS, MODE_WAITAOF
from bidserver.store.redis_journal import RedisJournal
from bidserver.store.suppliers import (
    IdentifierTaken,
    Indexed,
    Page,
    RedisSuppliers,
    Suppliers,
    VersionConflict,
    fold,
)
from bidserver.store.suppliers_memory import MemorySuppliers


@dataclass
class Backend:
    """The store under test and how to make more of it (another scan budget) or take it down."""

    make: Callable[..., Suppliers]
    down: Callable[[], None]
    up: Callable[[], None]
    server: EmbeddedRedis | None = None


@pytest.fixture(params=["memory", "redis", "redis-waitaof", "redis-cluster"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    if request.param == "memory":
        made: list[MemorySuppliers] = []

        def make_memory(**kwargs) -> Suppliers:
            """Another twin on the same data, as another RedisSuppliers is on the same Redis."""
            store = MemorySuppliers(**kwargs)
            if made:
                shared = {k: v for k, v in vars(made[0]).items() if k.startswith("_")}
                vars(store).update(shared)
            made.append(store)
            return store

        def switch(on: bool) -> None:
            for store in made:
                store.available = on

        yield Backend(make_memory, lambda: switch(False), lambda: switch(True))
        return
    if request.param == "redis-cluster":  # 3 masters with a replica each, AOF always
        cluster = request.getfixturevalue("redis_cluster")
        journal = RedisJournal(cluster.url, replicas=1)
        assert await journal.connect() == MODE_AOF_ALWAYS
        yield Backend(lambda **kw: RedisSuppliers(journal, **kw), cluster.stop, cluster.start)
        await journal.close()
        return
    waitaof = request.param == "redis-waitaof"
    server = request.getfixturevalue("waitaof_server" if waitaof else "redis_server")
    journal = RedisJournal(server.url)
    assert await journal.connect() == (MODE_WAITAOF if waitaof else MODE_AOF_ALWAYS)
    yield Backend(lambda **kw: RedisSuppliers(journal, **kw), server.stop, server.start, server)
    await journal.close()


@pytest.fixture
def store(backend: Backend) -> Suppliers:
    return backend.make()


def ix(name: str, code: str, *tags: str) -> Indexed:
    return Indexed(name, code, frozenset(tags))


async def register(store: Suppliers, sid: str, name: str, *tags: str, code: str | None = None,
                   due_at: int | None = None) -> int:
    return await store.append(sid, 0, [f"{sid} registered".encode()], f"rec {sid}".encode(),
                              ix(name, code or f"C-{sid}", *tags), due_at)


async def walk(store: Suppliers, prefix: str = "", tags: tuple[str, ...] = (),
               limit: int = 50) -> tuple[list[str], int]:
    """Every id a search yields, following its cursors; and how many calls it took."""
    ids: list[str] = []
    after: str | None = None
    for calls in range(1, 10_000):
        page = await store.search(prefix, tags, after, limit)
        assert len(page.ids) <= limit
        ids += page.ids
        if page.next is None:
            return ids, calls
        after = page.next
    raise AssertionError("the walk never ends")


# -- records, versions, the log ----------------------------------------------------------------


async def test_append_get_log_and_versions(store: Suppliers) -> None:
    assert await store.get("s1") is None
    assert await store.log("s1") == []
    assert await store.append("s1", 0, [b"e1", b"e2"], b"r2", ix("Acme", "X1"), None) == 2
    assert await store.get("s1") == (b"r2", 2)
    assert await store.append("s1", 2, [b"e3"], b"r3", ix("Acme", "X1"), None) == 3
    assert await store.get("s1") == (b"r3", 3)
    assert await store.log("s1") == [b"e1", b"e2", b"e3"]
    assert await store.by_code("X1") == "s1"
    assert await store.get_many(["s1", "nobody", "s1"]) == [(b"r3", 3), None, (b"r3", 3)]
    assert await store.get_many([]) == []


async def test_a_stale_version_is_refused_and_writes_nothing(store: Suppliers) -> None:
    await store.append("s1", 0, [b"e1"], b"r1", ix("Acme", "X1", "status:pending"), 50)
    for expected in (0, 2, 7):
        with pytest.raises(VersionConflict) as refused:
            await store.append("s1", expected, [b"x"], b"rx", ix("Zed", "X9", "status:gone"), None)
        assert (refused.value.expected, refused.value.stored) == (expected, 1)
    assert await store.get("s1") == (b"r1", 1)
    assert await store.log("s1") == [b"e1"]
    assert await store.by_code("X9") is None
    assert (await store.search("zed")).ids == []
    assert await store.count("status:gone") == 0
    assert await store.due(100, 10) == ["s1"]


async def test_a_retry_of_a_stored_append_is_a_no_op(store: Suppliers) -> None:
    """The reply of a write was lost: sending it again succeeds, and stores nothing twice."""
    await store.append("s1", 0, [b"e1"], b"r1", ix("Acme", "X1"), None)
    assert await store.append("s1", 1, [b"e2", b"e3"], b"r3", ix("Acme", "X1"), None) == 3
    assert await store.append("s1", 1, [b"e2", b"e3"], b"r3", ix("Acme", "X1"), None) == 3
    assert await store.log("s1") == [b"e1", b"e2", b"e3"]
    with pytest.raises(VersionConflict):  # another decision from the same version: refused
        await store.append("s1", 1, [b"e2", b"other"], b"r3", ix("Acme", "X1"), None)
    with pytest.raises(VersionConflict):
        await store.append("s1", 1, [b"e2", b"e3"], b"another record", ix("Acme", "X1"), None)


async def test_arguments_are_checked_alike(store: Suppliers) -> None:
    bad = [
        ("", 0, [b"e"], ix("A", "X")),
        ("a\x00b", 0, [b"e"], ix("A", "X")),
        ("s", -1, [b"e"], ix("A", "X")),
        ("s", 0, [], ix("A", "X")),
        ("s", 0, [b"e"], ix("A", "")),
        ("s", 0, [b"e"], ix("A\x00", "X")),
        ("s", 0, [b"e"], ix("A", "X", "all")),
        ("s", 0, [b"e"], ix("A", "X", "code")),
        ("s", 0, [b"e"], ix("A", "X", "")),
    ]
    for sid, version, events, indexed in bad:
        with pytest.raises(ValueError):
            await store.append(sid, version, events, b"r", indexed, None)
    with pytest.raises(ValueError):
        await store.append("s", 0, [b"e"], b"r", ix("A", "X"), -1)
    for cursor in ("!!", "YWJj", "", "YQBi="):  # not base64url, no separator, empty, not canonical
        with pytest.raises(ValueError, match="cursor"):
            await store.search("", (), cursor)
    assert await store.get("s") is None


# -- identifiers -------------------------------------------------------------------------------


async def test_an_identifier_has_one_owner_and_is_released_when_changed(store: Suppliers) -> None:
    await register(store, "a", "Acme", code="CN1")
    with pytest.raises(IdentifierTaken) as refused:
        await register(store, "b", "Beta", code="CN1")
    assert refused.value.owner == "a"
    assert await store.get("b") is None and await store.log("b") == []
    assert (await store.search("beta")).ids == []

    await store.append("a", 1, [b"code changed"], b"r", ix("Acme", "CN2"), None)
    assert await store.by_code("CN1") is None
    assert await store.by_code("CN2") == "a"
    assert (await store.search_code("CN1")).ids == []
    await register(store, "b", "Beta", code="CN1")
    assert await store.by_code("CN1") == "b"
    assert (await store.search_code("CN")).ids == ["b", "a"]  # CN1 < CN2


async def test_search_by_identifier_prefix_pages(store: Suppliers) -> None:
    codes = {f"s{i}": f"91{i:03d}" for i in range(12)} | {"other": "DE123"}
    for sid, code in codes.items():
        await register(store, sid, sid, code=code)
    seen: list[str] = []
    after = None
    while True:
        page = await store.search_code("91", after, limit=5)
        seen += page.ids
        if page.next is None:
            break
        after = page.next
    assert seen == [f"s{i}" for i in range(12)]
    assert (await store.search_code("DE")).ids == ["other"]
    assert (await store.search_code("")).ids[-1] == "other"


# -- indexes -----------------------------------------------------------------------------------


async def test_index_memberships_move_with_name_and_tags(store: Suppliers) -> None:
    await register(store, "s1", "Acme Ltd", "status:pending", "cat:1:pending")
    assert (await store.search("acme", ["status:pending"])).ids == ["s1"]
    assert await store.count("cat:1:pending") == 1

    await store.append("s1", 1, [b"renamed, qualified"], b"r",
                       ix("Zenith", "C-s1", "status:qualified", "cat:1:qualified", "cat:2:pending"),
                       None)
    assert (await store.search("acme")).ids == []
    assert (await store.search("zen")).ids == ["s1"]
    assert (await store.search("", ["status:pending"])).ids == []
    assert (await store.search("zen", ["status:qualified", "cat:2:pending"])).ids == ["s1"]
    assert [await store.count(t) for t in ("status:pending", "cat:1:pending", "status:qualified")] \
        == [0, 0, 1]
    assert await store.count() == 1

    # same name, one tag kept, one dropped, one added
    await store.append("s1", 2, [b"x"], b"r", ix("Zenith", "C-s1", "status:qualified", "cat:3:x"),
                       None)
    assert (await store.search("", ["status:qualified"])).ids == ["s1"]
    assert (await store.search("", ["cat:2:pending"])).ids == []
    assert (await store.search("", ["cat:3:x"])).ids == ["s1"]
    assert await store.count("cat:1:qualified") == 0


async def test_names_match_folded_and_sort_by_folded_name(store: Suppliers) -> None:
    names = {"a": "ACME Trading", "b": "acme builders", "c": "ＡＣＭＥ Export", "d": "Straße GmbH",
             "e": "北京建工集团", "f": "北京城建", "g": "上海电气", "h": "Acme builders"}
    for sid, name in names.items():
        await register(store, sid, name)
    assert (await store.search("Acme")).ids == ["b", "h", "c", "a"]
    assert (await store.search("STRASSE")).ids == ["d"]
    assert (await store.search("北京")).ids == ["f", "e"]  # by code point: 城 < 建
    assert (await store.search("上海")).ids == ["g"]
    assert (await store.search("")).ids == sorted(
        names, key=lambda s: (fold(names[s]).encode(), s.encode()))


async def test_prefix_and_tags_pages_yield_every_match_once_in_order(backend: Backend) -> None:
    """Tags are an AND; following the cursors yields every match once, in name order, whatever
    the page size and however short the scan budget makes the pages."""
    rng = random.Random(12)
    words = ["alpha", "alpine", "beta", "albatross", "Alps", "gamma", "AL", "北", "alto"]
    tags = ["status:qualified", "status:pending", "cat:1:qualified", "cat:2:qualified"]
    store = backend.make()
    records: dict[str, tuple[str, set[str]]] = {}
    for i in range(90):
        sid = f"s{i:02d}"
        name = f"{rng.choice(words)} {rng.randint(0, 5)}"
        chosen = {t for t in tags if rng.random() < 0.5}
        records[sid] = (name, chosen)
        await register(store, sid, name, *chosen)

    def matches(prefix: str, wanted: tuple[str, ...]) -> list[str]:
        hits = [(fold(n).encode(), s.encode(), s) for s, (n, t) in records.items()
                if fold(n).startswith(fold(prefix)) and set(wanted) <= t]
        return [s for _n, _s, s in sorted(hits)]

    queries = [("al", ("status:qualified", "cat:1:qualified")), ("", ("cat:2:qualified",)),
               ("AL", ()), ("", ()), ("北", ("status:pending",)), ("zzz", ("cat:1:qualified",)),
               ("alp", ("status:qualified", "status:qualified"))]
    for budget in (3, 2000):
        budgeted = backend.make(scan_budget=budget)
        for prefix, wanted in queries:
            for limit in (1, 4, 50):
                ids, _calls = await walk(budgeted, prefix, wanted, limit)
                assert ids == matches(prefix, wanted), (budget, prefix, wanted, limit)
    assert all(matches(*q) for q in queries[:5])  # the queries are not vacuous


async def test_the_walk_goes_through_the_rarest_tag(backend: Backend) -> None:
    """Twenty suppliers have one tag, one of them another: with a budget of 5 the search for both
    still finds it in one call, walking the one-member set and checking the other."""
    store = backend.make(scan_budget=5)
    for i in range(20):
        await register(store, f"s{i:02d}", f"n{i:02d}", "status:pending",
                       *(["cat:7:qualified"] if i == 17 else []))
    assert await store.search("", ["status:pending", "cat:7:qualified"], None, 10) \
        == Page(["s17"], None)
    assert await store.search("n1", ["status:pending", "cat:9:none-yet"]) == Page([], None)


async def test_the_scan_budget_bounds_a_call_and_hands_back_a_cursor(backend: Backend) -> None:
    """A call examines at most ``scan_budget`` members: it answers with what it found, maybe
    nothing, and a cursor to go on; the walk as a whole still finds every match once."""
    store = backend.make(scan_budget=4)
    for i in range(19):  # tag a: n00..n09, tag b: n09..n18, both: n09 only
        tags = [t for t, has in (("t:a", i <= 9), ("t:b", i >= 9)) if has]
        await register(store, f"s{i:02d}", f"n{i:02d}", *tags)
    first = await store.search("n", ["t:a", "t:b"], None, 10)  # equal counts: walks t:a
    assert first.ids == [] and first.next is not None  # n00..n03 examined, none in t:b
    second = await store.search("n", ["t:a", "t:b"], first.next, 10)
    assert second.ids == [] and second.next is not None
    assert await store.search("n", ["t:a", "t:b"], second.next, 10) == Page(["s09"], None)
    # walks t:b: n09 (a match) to n12; then t:a has nothing left after the cursor: done
    assert await walk(store, "n", ("t:b", "t:a"), 10) == (["s09"], 2)

    page = await store.search("", (), None, 50)  # no tag: limited by the budget all the same
    assert page.ids == ["s00", "s01", "s02", "s03"] and page.next is not None
    ids, calls = await walk(store, "", (), 50)
    assert ids == [f"s{i:02d}" for i in range(19)] and calls == 5


async def test_a_cursor_before_the_prefix_starts_at_the_prefix(store: Suppliers) -> None:
    for sid, name in (("a", "m1"), ("b", "m2"), ("c", "n1"), ("d", "n2"), ("e", "o1")):
        await register(store, sid, name)
    page = await store.search("", (), None, 1)
    assert page == Page(["a"], page.next) and page.next is not None
    assert await store.search("n", (), page.next) == Page(["c", "d"], None)
    last = await store.search("o", (), None, 1)
    assert await store.search("n", (), last.next) == Page([], None)  # past the prefix: nothing


async def test_counts(store: Suppliers) -> None:
    assert await store.count() == 0 and await store.count("status:pending") == 0
    await register(store, "a", "A", "status:pending")
    await register(store, "b", "B", "status:pending", "status:x")
    counts = [await store.count(t) for t in (None, "status:pending", "status:x")]
    assert counts == [2, 2, 1]


# -- the due queue, invitations ----------------------------------------------------------------


async def test_due_queue(store: Suppliers) -> None:
    await register(store, "a", "A", due_at=300)
    await register(store, "b", "B", due_at=100)
    await register(store, "c", "C", due_at=100)
    await register(store, "d", "D")
    assert await store.due(99, 10) == []
    assert await store.due(100, 10) == ["b", "c"]
    assert await store.due(1000, 10) == ["b", "c", "a"]
    assert await store.due(1000, 2) == ["b", "c"]
    await store.append("b", 1, [b"swept"], b"r", ix("B", "C-b"), None)  # nothing due any more
    await store.append("a", 1, [b"moved"], b"r", ix("A", "C-a"), 50)
    assert await store.due(1000, 10) == ["a", "c"]


async def test_invitations(store: Suppliers) -> None:
    assert await store.events_of("a") == set()
    await store.note_invitation("a", "ev1")
    await store.note_invitation("a", "ev2")
    await store.note_invitation("a", "ev1")
    await store.note_invitation("b", "ev1")
    assert await store.events_of("a") == {"ev1", "ev2"}
    await store.forget_event("a", "ev1")
    await store.forget_event("a", "never")
    assert await store.events_of("a") == {"ev2"}
    assert await store.events_of("b") == {"ev1"}


# -- outages and durability --------------------------------------------------------------------


async def test_a_store_that_is_down_raises_unavailable_then_recovers(backend: Backend) -> None:
    store = backend.make()
    await register(store, "a", "Acme", "status:pending")
    backend.down()
    calls = [
        store.append("a", 1, [b"e"], b"r", ix("Acme", "C-a"), None), store.get("a"),
        store.get_many(["a"]), store.log("a"), store.by_code("C-a"), store.search("ac"),
        store.search_code("C"), store.count(), store.due(0, 1), store.note_invitation("a", "e"),
        store.events_of("a"), store.forget_event("a", "e"),
    ]
    for call in calls:
        with pytest.raises(JournalUnavailable):
            await call
    backend.up()
    assert await store.append("a", 1, [b"e"], b"r", ix("Acme", "C-a"), None) == 2
    assert await store.get("a") == (b"r", 2)


async def test_an_unconnected_journal_writes_nothing(redis_server) -> None:
    journal = RedisJournal(redis_server.url)
    store = RedisSuppliers(journal)
    with pytest.raises(JournalError, match="connect"):
        await register(store, "a", "Acme")
    with pytest.raises(JournalError, match="connect"):
        await store.note_invitation("a", "ev")
    assert await journal.redis.keys("*") == []
    await journal.close()


async def test_everysec_without_waitaof_is_refused_unless_allowed(redis_factory, caplog) -> None:
    """The store writes on the journal's connection and mode: a Redis the journal refuses (a
    crash could lose acknowledged writes) is refused, unless the operator allows it, loudly."""
    server = redis_factory("everysec", overrides={"appendfsync": "everysec"})
    journal = RedisJournal(server.url)
    info = await journal.redis.execute_command("COMMAND INFO", "WAITAOF")
    if info and info[0]:
        pytest.skip("this redis-server has WAITAOF: everysec is durable with it")
    with pytest.raises(JournalNotDurable, match="appendfsync=everysec"):
        await journal.connect()
    with pytest.raises(JournalError, match="connect"):
        await register(RedisSuppliers(journal), "a", "Acme")
    await journal.close()

    unsafe = RedisJournal(server.url, allow_unsafe=True)
    with caplog.at_level(logging.CRITICAL, logger="bidserver.store.redis_journal"):
        assert await unsafe.connect() == "unsafe"
    assert any("UNSAFE" in r.getMessage() for r in caplog.records)
    store = RedisSuppliers(unsafe)
    assert await register(store, "a", "Acme") == 1
    await unsafe.close()


async def test_a_write_not_proven_durable_is_unavailable_and_its_retry_succeeds(
    waitaof_server,
) -> None:
    """WAITAOF fails (AOF switched off under us): the write is not acknowledged; sent again once
    the server is durable, it is recognised as stored and acknowledged (the fence covers it)."""
    journal = RedisJournal(waitaof_server.url)
    await journal.connect()
    store = RedisSuppliers(journal)
    await journal.redis.config_set("appendonly", "no")
    with pytest.raises(JournalUnavailable, match="not confirmed"):
        await register(store, "a", "Acme")
    with pytest.raises(JournalUnavailable, match="not confirmed"):
        await store.note_invitation("a", "ev")
    await journal.redis.config_set("appendonly", "yes")
    fence = int(await journal.redis.get(journal.fence_key) or 0)
    assert await register(store, "a", "Acme") == 1
    assert int(await journal.redis.get(journal.fence_key)) == fence + 1
    assert await store.log("a") == [b"a registered"]
    await journal.close()


async def test_the_keys_are_the_documented_ones(redis_server) -> None:
    journal = RedisJournal(redis_server.url, prefix="t1")
    await journal.connect()
    store = RedisSuppliers(journal)
    await store.append("a:log", 0, [b"e1"], b"rec", ix("Ａcme", "CN9", "status:pending"), 77)
    await store.note_invitation("a:log", "ev1")
    r = journal.redis
    keys = {k.decode(): (await r.type(k)).decode() for k in await r.keys("*")}
    assert keys == {
        "t1:supplier:a%3Alog": "hash", "t1:supplier:a%3Alog:log": "list",
        "t1:supplier:a%3Alog:events": "set", "t1:suppliers:code": "hash",
        "t1:suppliers:ix:all": "zset", "t1:suppliers:ix:code": "zset",
        "t1:suppliers:ix:status:pending": "zset", "t1:suppliers:due": "zset",
    }
    assert await r.hgetall("t1:supplier:a%3Alog") == {
        b"record": b"rec", b"version": b"1", b"name": b"acme", b"code": b"CN9",
        b"tags": b"status:pending"}
    await store.append("a:log", 1, [b"e2", b"e3"], b"rec", ix("Ａcme", "CN9", "status:pending"), 77)
    assert await r.lrange("t1:supplier:a%3Alog:log", 0, -1) == [b"e1", b"e2", b"e3"]
    assert await r.hget("t1:supplier:a%3Alog", "version") == b"3"
    assert await r.zrange("t1:suppliers:ix:all", 0, -1, withscores=True) == [(b"acme\x00a:log", 0)]
    assert await r.zrange("t1:suppliers:ix:code", 0, -1) == [b"CN9\x00a:log"]
    assert await r.zrange("t1:suppliers:due", 0, -1, withscores=True) == [(b"a:log", 77)]
    assert await r.hgetall("t1:suppliers:code") == {b"CN9": b"a:log"}
    assert store.fence_key == journal.fence_key == "t1:fence"  # a retry's fence: the journal's
    await journal.close()


async def test_on_a_cluster_the_registry_lives_in_one_slot(redis_cluster) -> None:
    """Every key of the registry, its tag indexes and its fence included, carries the
    ``{suppliers}`` hash tag: the write script's keys share a slot (else CROSSSLOT)."""
    journal = RedisJournal(redis_cluster.url, prefix="t1", replicas=1)
    await journal.connect()
    store = RedisSuppliers(journal)
    await store.append("a:log", 0, [b"e1"], b"rec", ix("Acme", "CN9", "status:pending", "x"), 77)
    await store.note_invitation("a:log", "ev1")
    await store.append("a:log", 1, [b"e2"], b"rec2", ix("Acme", "CN9", "status:qualified"), None)
    await store.append("a:log", 1, [b"e2"], b"rec2", ix("Acme", "CN9", "status:qualified"), None)
    keys: set[str] = set()
    for port in redis_cluster.masters():
        with redis_cluster.client(port) as client:
            keys |= {k.decode() for k in client.keys("t1:*")}
    keys -= {k for k in keys if k.startswith("t1:{fence.")}  # the journal's, one per master
    assert keys == {
        "t1:{suppliers}:supplier:a%3Alog", "t1:{suppliers}:supplier:a%3Alog:log",
        "t1:{suppliers}:supplier:a%3Alog:events", "t1:{suppliers}:suppliers:code",
        "t1:{suppliers}:suppliers:ix:all", "t1:{suppliers}:suppliers:ix:code",
        "t1:{suppliers}:suppliers:ix:status:qualified", "t1:{suppliers}:fence",
    }  # the retry bumped the fence; the emptied tag and due indexes are gone
    assert {key_slot(k.encode()) for k in keys} == {key_slot(b"suppliers")}
    assert await store.log("a:log") == [b"e1", b"e2"]
    assert await store.by_code("CN9") == "a:log"
    assert await store.events_of("a:log") == {"ev1"}
    await journal.close()


async def test_a_log_edited_by_hand_stops_the_writer(redis_server) -> None:
    journal = RedisJournal(redis_server.url)
    await journal.connect()
    store = RedisSuppliers(journal)
    await register(store, "a", "Acme")
    await journal.redis.rpush(store.log_key("a"), b"forged")
    with pytest.raises(JournalError, match="holds 2 events, not the record's version: edited by hand"):
        await store.append("a", 1, [b"e2"], b"r2", ix("Acme", "C-a"), None)
    assert await store.get("a") == (b"rec a", 1)
    assert await store.log("a") == [b"a registered", b"forged"]
    await journal.close()
