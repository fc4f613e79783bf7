"""Journal before acknowledge: kill -9 of the server, and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import copy
import uuid

import websockets

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import Api, LiveClient, journal_events, lot_view, token, wait_until

S1, S2, S3 = SUPPLIERS


WINDOW = 4  # bids each bidding supplier keeps in flight (sent, not yet answered)
EXTENSION_MS = 30_000


class PipelinedBidder:
    """One supplier's live-room socket keeping ``WINDOW`` bids in flight, each ``step`` lower than
    the one before, until ``count`` bids were sent or the connection dies. Records what was sent,
    every answer, and the acknowledgements (bid id -> amount, seq)."""

    def __init__(self, client: LiveClient, supplier: str, start: int, step: int, count: int) -> None:
        self.client = client
        self.supplier = supplier
        self.next_amount = start
        self.step = step
        self.count = count
        self.sent: dict[str, int] = {}  # bid id -> amount, in the order sent
        self.answers: dict[str, dict] = {}
        self.acked: dict[str, tuple[int, int]] = {}

    def in_flight(self) -> int:
        return len(self.sent) - len(self.answers)

    async def run(self) -> None:
        read = 0
        died = False
        try:
            while len(self.answers) < self.count:
                while self.in_flight() < WINDOW and len(self.sent) < self.count:
                    bid_id = str(uuid.uuid4())
                    self.sent[bid_id] = self.next_amount
                    self.next_amount -= self.step
                    await self.client.send(
                        {"type": "bid", "bid_id": bid_id, "lot_id": "L1", "amount": self.sent[bid_id]}
                    )
                message = await self.client.wait_for(lambda m: True, start=read)
                read += 1
                if message["type"] != "bid_result":
                    assert message["type"] in ("welcome", "update"), message
                    continue
                self.answers[message["bid_id"]] = message
                if message["status"] == "accepted":
                    self.acked[message["bid_id"]] = (self.sent[message["bid_id"]], message["seq"])
        except websockets.ConnectionClosed:  # the server died under a send
            died = True
        except AssertionError:  # raised by wait_for when the connection closed under it
            if self.client.closed is None:
                raise
            died = True
        if not died:
            return
        # Answers the server wrote before it died are acknowledgements too: take them all.
        await wait_until(lambda: self.client.closed is not None, 10, "the reader to finish")
        for message in self.client.messages[read:]:
            if message["type"] == "bid_result":
                self.answers[message["bid_id"]] = message
                if message["status"] == "accepted":
                    self.acked[message["bid_id"]] = (self.sent[message["bid_id"]], message["seq"])


def _expected_board(recorded: list[dict], later_bids: list[dict]) -> list[dict]:
    """The buyer's board as recorded at some seq, updated with the bids journaled after it."""
    best = {entry["supplier"]: dict(entry) for entry in recorded}
    for row in sorted(later_bids, key=lambda r: r["seq"]):
        current = best.get(row["supplier"])
        if not row["voided"] and (current is None or row["amount"] < current["amount"]):
            best[row["supplier"]] = {
                "alias": row["alias"], "amount": row["amount"], "at": row["at"],
                "supplier": row["supplier"], "name": row["name"], "entered_by": row["entered_by"],
                "bid_id": row["bid_id"],
            }
    ordered = sorted(best.values(), key=lambda e: (e["amount"], e["at"]))
    return [dict(entry, rank=rank) for rank, entry in enumerate(ordered, 1)]


def _listed_to(role: str, events: list[dict]) -> list[dict]:
    """Journal events as a resumed client of ``role`` must get them listed (suppliers: all but
    plain accepted bids and invitations)."""
    if role == "buyer":
        return events
    return [e for e in events if e["type"] != "supplier_invited"
            and (e["type"] != "bid_accepted" or e.get("entered_by") is not None)]


def _cursor(role: str, journal: list[dict], seq: int) -> int:
    """A client's cursor at journal seq ``seq``: the buyer's is the seq, a supplier's counts the
    events listed to it (it must not learn how many others were invited or bid)."""
    return seq if role == "buyer" else len(_listed_to(role, journal[:seq]))


def _listed_as(role: str, journal: list[dict], since: int) -> list[dict]:
    """What a client of ``role`` resuming at cursor ``since`` is listed, numbered by its cursor."""
    listed = _listed_to(role, journal)
    if role == "buyer":
        return [e for e in listed if e["seq"] > since]
    return [dict(e, seq=number) for number, e in enumerate(listed, 1) if number > since]


async def test_kill_9_mid_bidding_loses_no_acknowledged_bid(server_factory, redis_server):
    # No per-connection limit in the way: every refusal is then a failure of the test.
    server = server_factory(
        env={"BIDSERVER_RATE_LIMIT_PER_S": "100000", "BIDSERVER_RATE_LIMIT_BURST": "100000"}
    )
    config = auction_config(
        duration_ms=1500,
        decrement={"kind": "amount", "value": 1},
        lots=[{"lot_id": "L1", "title": "Road salt", "ceiling": 1_000_000}],
        tie_rule="rank_by_time",
        # Bids in the last 1.2 s move the end by 30 s, once: the end is then fixed, whatever the
        # bids in flight at the kill, and stays far ahead of the restart.
        soft_close={"window_ms": 1200, "extension_ms": EXTENSION_MS, "max_extensions": 1},
    )
    buyer_api, auction_id = await create_auction(server, config)
    buyer = await LiveClient(server, auction_id, token("buyer", BUYER)).connect()
    clients = [
        await LiveClient(server, auction_id, token("supplier", s)).connect() for s in SUPPLIERS
    ]
    started = await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")
    assert started.status_code == 200, started.text
    opened = await buyer.wait_view(lambda v: v["phase"] == "open")
    seq_at_open = opened["seq"]
    original_end = lot_view(opened, "L1")["end_at"]

    # Residues mod 3 differ: no two suppliers ever bid the same amount. S3 stops early, so its
    # place on the board comes from bids acknowledged long before the kill.
    bidders = [
        PipelinedBidder(clients[0], S1, 900_000, 3, 1_000_000),
        PipelinedBidder(clients[1], S2, 900_001, 3, 1_000_000),
        PipelinedBidder(clients[2], S3, 900_002, 3, 30),
    ]
    tasks = [asyncio.create_task(b.run()) for b in bidders]

    def extension() -> dict | None:
        for m in buyer.messages:
            for e in m.get("events", ()) if m["type"] == "update" else ():
                if e["type"] == "lot_extended":
                    return e
        return None

    def acked_after_extension() -> int:  # bid results carry the supplier's cursor, which
        count = 0  # the extension moved (listed to every supplier, the bids to none)
        for b in bidders:
            listed = [e for m in b.client.messages if m["type"] == "update" for e in m["events"]]
            at = next((e["seq"] for e in listed if e["type"] == "lot_extended"), None)
            count += 0 if at is None else sum(1 for _, s in b.acked.values() if s >= at)
        return count

    extended = await wait_until(extension, 20, "a soft-close extension")
    assert (extended["end_at"], extended["cause"], extended["extensions"]) == (
        original_end + EXTENSION_MS, "soft_close", 1)
    await wait_until(lambda: acked_after_extension() >= 60 and bidders[2].in_flight() == 0
                     and len(bidders[2].answers) == 30, 20, "bids after the extension")

    # What the clients saw, recorded before the kill: the buyer's board and end over HTTP and in
    # its last update, every acknowledgement. Then kill -9 with bids in flight.
    http_before = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()
    ws_before = (buyer.seq, copy.deepcopy(buyer.view))
    acked_before = {b: v for bidder in bidders for b, v in bidder.acked.items()}
    in_flight_at_kill = [bidder.in_flight() for bidder in bidders]
    server.kill9()
    assert in_flight_at_kill[0] > 0 and in_flight_at_kill[1] > 0, in_flight_at_kill
    await asyncio.wait_for(asyncio.gather(*tasks), 15)
    for client in (buyer, *clients):
        await wait_until(lambda c=client: c.closed is not None, 10, "the clients to see the kill")
    ws_final = (buyer.seq, buyer.view)  # the buyer's last update, including any read after
    last_seqs = {"buyer": buyer.seq, **{s: c.seq for s, c in zip(SUPPLIERS, clients)}}
    acked = {b: (bidder.supplier, *v) for bidder in bidders for b, v in bidder.acked.items()}
    assert set(acked_before) <= set(acked)
    assert not [a for b in bidders for a in b.answers.values() if a["status"] != "accepted"]
    sent = {b: (bidder.supplier, amount) for bidder in bidders for b, amount in bidder.sent.items()}
    unanswered = {b for bidder in bidders for b in bidder.sent if b not in bidder.answers}

    server.start()  # same Redis, same data dir
    history = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()
    after = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()
    head = after["seq"]
    assert history["seq"] == head
    rows = {row["bid_id"]: row for row in history["bids"]}
    journal = await journal_events(redis_server.url, auction_id)

    # Every acknowledged bid is there, with the same amount and seq (as its supplier's cursor
    # counts it); the rest of the journal's bids are bids that were sent and never answered (in
    # flight at the kill): they may or may not have landed, but nothing else may appear.
    lost = {b: v for b, v in acked.items()
            if b not in rows or (rows[b]["supplier"], rows[b]["amount"],
                                 _cursor("supplier", journal, rows[b]["seq"])) != v}
    assert not lost, f"{len(lost)} of {len(acked)} acknowledged bids lost or changed, e.g. " + str(
        dict(list(lost.items())[:3]))
    unexplained = {b for b in rows if b not in acked and b not in unanswered}
    assert not unexplained, unexplained
    assert all((rows[b]["supplier"], rows[b]["amount"]) == sent[b] for b in rows)
    # What the buyer was shown being accepted is what the journal holds.
    for m in buyer.messages:
        for e in m.get("events", ()) if m["type"] == "update" else ():
            if e["type"] == "bid_accepted":
                row = rows[e["bid_id"]]
                assert (row["seq"], row["supplier"], row["amount"]) == (
                    e["seq"], e["supplier"], e["amount"])

    # The journal itself: one event per seq, 1..head, nothing skipped or doubled.
    assert [e["seq"] for e in journal] == list(range(1, head + 1))
    assert [e for e in journal if e["type"] == "lot_extended"] == [extended]
    # Moved by a bid inside the window (bid and extension are decided together, at one time).
    trigger = journal[extended["seq"] - 2]
    assert trigger["type"] == "bid_accepted" and trigger["at"] == extended["at"]
    assert original_end - 1200 <= extended["at"] < original_end

    # The buyer's order book and end, as recorded before the kill, plus only what was journaled
    # after the recorded seq (landed bids that were in flight, answered or not).
    after_lot = lot_view(after["view"], "L1")
    assert after_lot["phase"] == "open"
    assert (after_lot["end_at"], after_lot["extensions"]) == (original_end + EXTENSION_MS, 1)
    for seq, view in ((http_before["seq"], http_before["view"]), ws_before, ws_final):
        lot = lot_view(view, "L1")
        assert (lot["end_at"], lot["extensions"]) == (after_lot["end_at"], 1)
        later = [row for row in history["bids"] if row["seq"] > seq]
        assert all(row["bid_id"] in sent for row in later)
        assert after_lot["board"] == _expected_board(lot["board"], later), seq
        assert after_lot["leading_price"] == after_lot["board"][0]["amount"]
    s3_best = min(amount for b, (s, amount, _) in acked.items() if s == S3)
    assert next(e for e in after_lot["board"] if e["supplier"] == S3)["amount"] == s3_best

    # Each client resumes from its last seq: one update with exactly the events after it.
    resumed = {}
    plans = [
        ("buyer", BUYER, last_seqs["buyer"]),
        *(("supplier", s, last_seqs[s]) for s in SUPPLIERS),
        ("buyer", BUYER, seq_at_open),  # and from before it all
        ("supplier", S1, _cursor("supplier", journal, seq_at_open)),
    ]
    for role, party, since in plans:
        client = await LiveClient(server, auction_id, token(role, party)).connect(since=since)
        welcome = client.messages[0]
        now_at = _cursor(role, journal, head)
        assert welcome["seq"] == now_at
        expected = _listed_as(role, journal, since)
        if since < now_at:
            catch_up = await client.wait_for(lambda m: m["type"] == "update")
            assert (catch_up["first_seq"], catch_up["seq"]) == (since + 1, now_at)
            assert catch_up["events"] == expected, (role, party, since)
        else:
            assert expected == []
        if role == "supplier":
            own = [r["amount"] for r in history["bids"] if r["supplier"] == party]
            assert client.view["lots"][0]["your_best"] == (min(own) if own else None)
        else:
            assert client.view == after["view"]
        resumed[(role, party, since)] = client
    # An extension listed once, to the clients that resumed from before it.
    for (role, party, since), client in resumed.items():
        listed = [e for m in client.messages if m["type"] == "update" for e in m["events"]]
        assert [e["seq"] for e in listed] == sorted({e["seq"] for e in listed})
        if since == _cursor(role, journal, seq_at_open):
            assert [e for e in listed if e["type"] == "lot_extended"] == [
                e for e in _listed_as(role, journal, 0) if e["type"] == "lot_extended"]

    # Bids whose answer died with the server: a resend of the same id tells the outcome (the
    # original one if it landed; else it is decided now, for the first time).
    for bidder in bidders:
        client = resumed[("supplier", bidder.supplier, last_seqs[bidder.supplier])]
        for bid_id in [b for b in bidder.sent if b not in bidder.answers]:
            again = await client.bid("L1", bidder.sent[bid_id], bid_id)
            assert again["status"] == "accepted", again
            if bid_id in rows:
                original = _cursor("supplier", journal, rows[bid_id]["seq"])
                assert (again["duplicate"], again["seq"]) == (True, original), again
            else:
                assert again["duplicate"] is False, again
                assert again["seq"] == _cursor("supplier", journal, head), again

    # And then live again: every resumed client's updates chain on from its catch-up, with no
    # gap and no repeat, and list exactly the journal's events.
    s1 = resumed[("supplier", S1, last_seqs[S1])]
    new_bid = await s1.bid("L1", min(a for s, a in sent.values() if s == S1) - 1000)
    assert new_bid["status"] == "accepted" and new_bid["duplicate"] is False, new_bid
    journal = await journal_events(redis_server.url, auction_id)
    final = journal[-1]["seq"]
    assert journal[-1]["bid_id"] == new_bid["bid_id"]
    assert [e["seq"] for e in journal] == list(range(1, final + 1))
    assert new_bid["seq"] == _cursor("supplier", journal, final)
    for (role, party, since), client in resumed.items():
        if role == "buyer":
            await client.wait_for(lambda m: m["type"] == "update" and m["seq"] >= final)
        elif party == S1:  # its own bid: in "you" (other suppliers see it only if it moves them)
            await client.wait_for(lambda m: m["type"] == "update" and m["you"]["lots"][0].get(
                "best") == journal[-1]["amount"])
        updates = [m for m in client.messages if m["type"] == "update"]
        if not updates:
            assert since == _cursor(role, journal, final), (role, party, since)
            continue
        assert updates[0]["first_seq"] == since + 1, (role, party, since)
        for previous, update in zip(updates, updates[1:]):
            assert update["first_seq"] == previous["seq"] + 1, (role, party, since)
        assert updates[-1]["seq"] == _cursor(role, journal, final)
        listed = [e for m in updates for e in m["events"]]
        assert listed == _listed_as(role, journal, since), (role, party, since)
    for client in (*resumed.values(), buyer, *clients):
        await client.close()


async def test_redis_down_refuses_bids_then_bidding_goes_on(server, redis_server):
    buyer_api, auction_id = await create_auction(server, auction_config())
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    assert (await s1.bid("L1", 99000))["status"] == "accepted"

    redis_server.stop()
    refused = await s1.bid("L1", 98000, "bid-during-outage")
    assert (refused["status"], refused["reason"]) == ("rejected", "journal_unavailable")
    ready = await Api(server, "").call("GET", "/readyz")
    assert ready.status_code == 503 and ready.json()["reason"] == "journal_unavailable"
    http_bid = await Api(server, token("supplier", S1)).call(
        "POST", f"/api/auctions/{auction_id}/bids",
        {"bid_id": "http-during-outage", "lot_id": "L1", "amount": 97500},
    )
    assert http_bid.status_code == 503 and http_bid.json()["reason"] == "journal_unavailable"
    view = (await buyer_api.call("GET", f"/api/auctions/{auction_id}")).json()["view"]
    assert lot_view(view, "L1")["leading_price"] == 99000  # nothing changed

    redis_server.start()
    again = await s1.bid("L1", 98000, "bid-during-outage")  # the same id, resent
    assert again["status"] == "accepted" and again["rank"] == 1
    assert (await s1.bid("L1", 97000))["status"] == "accepted"
    ready = await Api(server, "").call("GET", "/readyz")
    assert ready.status_code == 200
    await s1.close()


async def test_a_refused_bid_is_journalled_before_its_answer_and_survives_a_crash(server, redis_server):
    """Refused attempts are recorded durably (Annex IV (g)), not in a process's memory: after a
    kill -9 and a restart, the buyer's history still lists one, and its id is still used up
    (docs/protocol.md, "Bid ids")."""
    buyer_api, auction_id = await create_auction(server, auction_config())
    assert (await buyer_api.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    refused = await s1.bid("L1", 150_000, "too-high")
    assert (refused["status"], refused["reason"], refused["max_amount"]) == (
        "rejected", "above_ceiling", 100_000)
    [record] = [e for e in await journal_events(redis_server.url, auction_id)
                if e["type"] == "bid_refused"]  # durable before the answer: it is in Redis now
    assert (record["bid_id"], record["supplier"], record["reason"], record["user"]) == (
        "too-high", S1, "above_ceiling", S1)

    server.kill9()
    await wait_until(lambda: s1.closed is not None, 10, "the client to see the kill")
    server.start()  # same Redis, same data dir
    rows = (await buyer_api.call("GET", f"/api/auctions/{auction_id}/bids")).json()["bids"]
    assert [(r["bid_id"], r["status"], r["reason"]) for r in rows] == [
        ("too-high", "refused", "above_ceiling")]
    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    again = await s1.bid("L1", 150_000, "too-high")  # the lost answer, asked again
    assert (again["reason"], again["max_amount"]) == ("above_ceiling", 100_000)
    reused = await s1.bid("L1", 99_000, "too-high")
    assert reused["reason"] == "duplicate_bid_id"
    events = [e["type"] for e in await journal_events(redis_server.url, auction_id)]
    assert events.count("bid_refused") == 1 and "bid_accepted" not in events
    await s1.close()
