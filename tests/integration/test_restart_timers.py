"""Timers resume after a restart: closes happen on the server's clock, awards are written once.

A lot whose end passed while the server was down closes (and, with the default award mode
``auto_lowest``, is awarded) as soon as the server is back; a lot whose end is still ahead closes
at that end (the extended one, if a soft close moved it), not at restart and not much later. The
awards stream is read the way a contract-signing service reads it: with a consumer group.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from bidserver.store.awards import AWARDS_STREAM

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import (
    Api,
    LiveClient,
    journal_events,
    lot_view,
    now_ms,
    token,
    wait_clock_past,
    wait_until,
)

S1, S2, S3 = SUPPLIERS
GROUP, CONSUMER = "contract-signing", "signer-1"
CLOSE_TOLERANCE_MS = 2000  # generous: a shared 2-core machine, a tick, an fsync
# What is still ahead at a restart is this far ahead of what passed while the server was down:
# a restart took 2.3 s in a loaded clean-clone CI (3 s was too short for it).
EXTENSION_MS = STAGGER_MS = 6000


async def _awards_group(redis_url: str) -> aioredis.Redis:
    """A client with the consumer group created from the start of the stream (before any award)."""
    client = aioredis.from_url(redis_url, socket_timeout=30)  # above any BLOCK used here
    await client.xgroup_create(AWARDS_STREAM, GROUP, id="0", mkstream=True)
    return client


async def _read_awards(client: aioredis.Redis, block_ms: int | None) -> list[tuple[bytes, dict]]:
    """New entries for our consumer (XREADGROUP ... >), acknowledged once read."""
    reply = await client.xreadgroup(GROUP, CONSUMER, {AWARDS_STREAM: ">"}, count=100, block=block_ms)
    entries = [entry for _, batch in (reply or []) for entry in batch]  # [[stream, [(id, f)]]]
    out = [(entry_id, {k.decode(): v for k, v in fields.items()}) for entry_id, fields in entries]
    if out:
        await client.xack(AWARDS_STREAM, GROUP, *[entry_id for entry_id, _ in out])
    return out


def _only(events: list[dict], kind: str, **match) -> dict:
    found = [e for e in events if e["type"] == kind and all(e.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (kind, match, found)
    return found[0]


def _check_award_entry(fields: dict, auction_id: str, lot_id: str, supplier: str, amount: int) -> None:
    assert fields["award_id"].decode() == f"{auction_id}:{lot_id}"
    assert fields["auction_id"].decode() == auction_id
    assert fields["lot_id"].decode() == lot_id
    release = json.loads(fields["release"])
    assert release["ocid"] == f"ocds-bidsrv-{auction_id}"
    assert "award" in release["tag"]
    award = release["awards"][0]
    assert [s["id"] for s in award["suppliers"]] == [supplier]
    assert award["value"]["currency"] == "EUR" and award["value"]["amount"] * 100 == amount
    assert award["relatedLots"] == [lot_id]


async def _bid(api: Api, auction_id: str, bid_id: str, lot_id: str, amount: int) -> dict:
    r = await api.call("POST", f"/api/auctions/{auction_id}/bids",
                       {"bid_id": bid_id, "lot_id": lot_id, "amount": amount})
    assert r.status_code in (200, 201), r.text
    return r.json()


async def test_a_lot_that_ended_while_down_closes_and_is_awarded_once_after_restart(
    server, redis_server
):
    awards = await _awards_group(redis_server.url)
    try:
        buyer_api, auction_id = await create_auction(server, auction_config(duration_ms=2000))
        assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
        s1_api, s2_api = Api(server, token("supplier", S1)), Api(server, token("supplier", S2))
        assert (await _bid(s1_api, auction_id, "s1-a", "L1", 99000))["status"] == "accepted"
        assert (await _bid(s2_api, auction_id, "s2-a", "L1", 97500))["status"] == "accepted"
        view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
        end_at = lot_view(view, "L1")["end_at"]
        server.kill9()
        assert now_ms() < end_at, "the server must die before the lot's end"
        assert await _read_awards(awards, None) == []  # nothing awarded before the close

        await wait_clock_past(end_at + 300)  # the end passes while the server is down
        restart_at = now_ms()
        server.start()
        up_at = now_ms()

        async def awarded() -> dict | None:
            v = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
            return v if lot_view(v, "L1")["award"] is not None else None

        view = await wait_until(awarded, 10, "the award after the restart")
        seen_at = now_ms()
        assert seen_at - up_at <= CLOSE_TOLERANCE_MS, "the close must come right after the restart"
        lot = lot_view(view, "L1")
        assert (lot["phase"], lot["end_at"], view["phase"]) == ("awarded", end_at, "closed")
        assert (lot["award"]["supplier"], lot["award"]["basis"]) == (S2, "lowest")

        # On the server's clock after the restart: not stamped with the old end, nor before it.
        journal = await journal_events(redis_server.url, auction_id)
        closed = _only(journal, "lot_closed", lot_id="L1")
        assert end_at < restart_at <= closed["at"] <= seen_at
        award_event = _only(journal, "lot_awarded", lot_id="L1")
        assert (award_event["supplier"], award_event["amount"], award_event["bid_id"]) == (
            S2, 97500, "s2-a")
        assert award_event["at"] == closed["at"] and award_event["award_id"] == f"{auction_id}:L1"
        _only(journal, "auction_closed")
        assert [e["type"] for e in journal[-3:]] == ["lot_closed", "lot_awarded", "auction_closed"]

        # The award on the awards stream, once.
        entries = await _read_awards(awards, 5000)
        assert len(entries) == 1, entries
        _check_award_entry(entries[0][1], auction_id, "L1", S2, 97500)

        # A second crash right after the award, and a restart: no second award, no new event.
        server.kill9()
        server.start()
        resend = await _bid(s2_api, auction_id, "s2-a", "L1", 97500)  # through the room: a barrier
        assert (resend["status"], resend["duplicate"]) == ("accepted", True)
        assert await _read_awards(awards, 500) == []
        assert len(await awards.xrange(AWARDS_STREAM)) == 1
        assert await journal_events(redis_server.url, auction_id) == journal
        supplier = await LiveClient(server, auction_id, token("supplier", S2)).connect()
        assert lot_view(supplier.view, "L1")["award"]["yours"] is True
        await supplier.close()
    finally:
        await awards.aclose()


async def test_a_lot_extended_before_the_crash_closes_at_its_extended_end(server, redis_server):
    """Two such auctions: one gets a bid after the restart (the lot still takes bids past its
    original end), the other nothing at all (its close comes from the timer re-armed by the
    recovery alone, not from a timer re-armed by new activity)."""
    awards = await _awards_group(redis_server.url)
    try:
        # Every bid is in the window (window = duration): the first one moves the end by 6 s,
        # once. The original end passes while the server is down; the extended one does not (a
        # restart takes seconds on a loaded 2-core VM).
        config = auction_config(
            duration_ms=1000,
            soft_close={"window_ms": 1000, "extension_ms": EXTENSION_MS, "max_extensions": 1},
        )
        auctions = {}  # auction id -> (buyer api, original end, extended end)
        for supplier in (S1, S3):
            buyer_api, auction_id = await create_auction(server, config)
            r = await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")
            assert r.status_code == 200, r.text
            original_end = lot_view(r.json()["view"], "L1")["end_at"]
            client = await LiveClient(server, auction_id, token("supplier", supplier)).connect()
            assert (await client.bid("L1", 97500))["status"] == "accepted"  # meets the reserve
            await client.close()
            view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
            extended_end = lot_view(view, "L1")["end_at"]
            assert (extended_end, lot_view(view, "L1")["extensions"]) == (original_end + EXTENSION_MS, 1)
            auctions[auction_id] = (buyer_api, original_end, extended_end)
        active, idle = auctions
        server.kill9()

        await wait_clock_past(max(original for _, original, _ in auctions.values()) + 200)
        server.start()
        assert now_ms() < min(ext for _, _, ext in auctions.values()) - 500, (
            "restart too slow for this test's timing")
        buyers = {}
        for auction_id, (buyer_api, original_end, extended_end) in auctions.items():
            view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
            lot = lot_view(view, "L1")
            assert (lot["phase"], lot["end_at"], lot["extensions"]) == ("open", extended_end, 1)
            # Watching goes through the fan-out only: it gives the room nothing to decide.
            buyers[auction_id] = await LiveClient(server, auction_id, token("buyer", BUYER)).connect()
        # Past the original end the lot still takes bids (it did not close at the restart).
        s2 = await LiveClient(server, active, token("supplier", S2)).connect()
        late = await s2.bid("L1", 97000)  # better than S1's 97500
        assert late["status"] == "accepted", late
        assert now_ms() > auctions[active][1]

        winners = {active: (S2, 97000), idle: (S3, 97500)}
        for auction_id, (_, _, extended_end) in auctions.items():
            update = await buyers[auction_id].wait_for(
                lambda m: m["type"] == "update"
                and any(e["type"] == "lot_closed" for e in m["events"]),
                timeout=(extended_end - now_ms()) / 1000 + 10,
            )
            closed = _only(update["events"], "lot_closed", lot_id="L1")
            assert extended_end <= closed["at"] <= extended_end + CLOSE_TOLERANCE_MS, (
                auction_id == idle, closed["at"] - extended_end)
            assert now_ms() >= extended_end
            lot = lot_view(update["view"], "L1")
            assert (lot["end_at"], lot["extensions"], lot["phase"]) == (extended_end, 1, "awarded")
            assert lot["award"]["supplier"] == winners[auction_id][0]
            journal = await journal_events(redis_server.url, auction_id)
            assert [e for e in journal if e["type"] == "lot_closed"] == [closed]
            assert [e["type"] for e in journal].count("lot_extended") == 1

        entries = await _read_awards(awards, 5000)
        if len(entries) < 2:
            entries += await _read_awards(awards, 5000)
        assert sorted(f["auction_id"].decode() for _, f in entries) == sorted(auctions), entries
        for _, fields in entries:
            auction_id = fields["auction_id"].decode()
            _check_award_entry(fields, auction_id, "L1", *winners[auction_id])
        for client in (*buyers.values(), s2):
            await client.close()
    finally:
        await awards.aclose()


async def test_staggered_lots_one_due_at_restart_one_still_ahead(server, redis_server):
    awards = await _awards_group(redis_server.url)
    try:
        config = auction_config(
            duration_ms=1000,
            lot_close="staggered",
            stagger_ms=STAGGER_MS,
            lots=[
                {"lot_id": "L1", "title": "Road salt", "ceiling": 100000},
                {"lot_id": "L2", "title": "Grit", "ceiling": 50000},
            ],
        )
        buyer_api, auction_id = await create_auction(server, config)
        assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
        s1_api, s2_api = Api(server, token("supplier", S1)), Api(server, token("supplier", S2))
        assert (await _bid(s1_api, auction_id, "s1-l1", "L1", 95000))["status"] == "accepted"
        assert (await _bid(s2_api, auction_id, "s2-l2", "L2", 45000))["status"] == "accepted"
        view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
        end1, end2 = lot_view(view, "L1")["end_at"], lot_view(view, "L2")["end_at"]
        assert end2 == end1 + STAGGER_MS
        server.kill9()

        await wait_clock_past(end1 + 200)
        restart_at = now_ms()
        server.start()
        assert now_ms() < end2 - 500, "restart too slow for this test's timing"
        first = await _read_awards(awards, 5000)  # L1's award, right after the restart
        assert len(first) == 1, first
        _check_award_entry(first[0][1], auction_id, "L1", S1, 95000)
        view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
        assert [lot_view(view, lot)["phase"] for lot in ("L1", "L2")] == ["awarded", "open"]
        assert view["phase"] == "open"
        assert (await _bid(s1_api, auction_id, "s1-l2", "L2", 44000))["status"] == "accepted"

        async def l2_awarded() -> bool:
            v = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
            return lot_view(v, "L2")["award"] is not None

        await wait_until(l2_awarded, (end2 - now_ms()) / 1000 + 10, "L2's award", poll=0.05)
        journal = await journal_events(redis_server.url, auction_id)
        closed1 = _only(journal, "lot_closed", lot_id="L1")
        closed2 = _only(journal, "lot_closed", lot_id="L2")
        assert restart_at <= closed1["at"] < end2
        assert end2 <= closed2["at"] <= end2 + CLOSE_TOLERANCE_MS
        assert _only(journal, "lot_awarded", lot_id="L2")["supplier"] == S1
        second = await _read_awards(awards, 5000)
        assert len(second) == 1, second
        _check_award_entry(second[0][1], auction_id, "L2", S1, 44000)
        assert len(await awards.xrange(AWARDS_STREAM)) == 2
    finally:
        await awards.aclose()


async def test_a_scheduled_start_that_passed_while_down_opens_on_time_after_restart(
    server, redis_server
):
    """The opening is a timer too: missed while down, it happens at the restart, and the lots'
    ends count from the scheduled start (the downtime does not lengthen the auction)."""
    start_at = now_ms() + 3000  # the creation's calls and a read before it: seconds when loaded
    config = auction_config(start_at=start_at, duration_ms=6000)  # a restart: seconds when loaded
    buyer_api, auction_id = await create_auction(server, config)
    view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
    assert view["phase"] == "draft"
    server.kill9()
    assert now_ms() < start_at, "the server must die before the scheduled start"

    await wait_clock_past(start_at + 500)
    restart_at = now_ms()
    server.start()
    end_at = start_at + 6000
    assert now_ms() < end_at - 500, "restart too slow for this test's timing"

    async def opened() -> dict | None:
        v = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
        return v if v["phase"] == "open" else None

    view = await wait_until(opened, CLOSE_TOLERANCE_MS / 1000, "the opening after the restart")
    assert lot_view(view, "L1")["end_at"] == end_at
    journal = await journal_events(redis_server.url, auction_id)
    opening = _only(journal, "auction_opened")
    assert restart_at <= opening["at"] and opening["lot_ends"] == [{"lot_id": "L1", "end_at": end_at}]

    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert (await s1.bid("L1", 97000))["status"] == "accepted"
    closing = await s1.wait_for(
        lambda m: m["type"] == "update" and any(e["type"] == "lot_closed" for e in m["events"]),
        timeout=(end_at - now_ms()) / 1000 + 10,
    )
    closed = _only(closing["events"], "lot_closed", lot_id="L1")
    assert end_at <= closed["at"] <= end_at + CLOSE_TOLERANCE_MS, closed["at"] - end_at
    assert lot_view(s1.view, "L1")["award"]["yours"] is True
    await s1.close()
