"""A sealed tender end to end against a real ``bidserver serve`` and its own Redis, over the HTTP
API and the live room: publication, a question and its anonymised answer, three sealed bids (one
revised, one withdrawn), a late bid refused, the opening by 2 of 3 officers, a MEAT evaluation by
two evaluators, the award, a complaint during the standstill, the hand-off to the awards stream.

Then the same with the server killed (-9) after every stage (in two runs, three stages each) and
restarted on the same Redis and data directory: every acknowledged step is still there, nothing opens early (one share presented before
the crash does not open it after: the server kept it in memory only, and its officer presents it
again), and the run completes. A stage with a time ahead (the end of
the enquiries, the deadline, the opening time, the standstill's end) is killed twice: restarted at
once (the views are as they were), then restarted only after that time has passed (what it brings
is decided once, on the restart). And before the opening, Annex IV (b):
nothing an operator holds (a Redis dump, the AOF, the logs, the data directory) has a price or an
officer's share in the clear, not even a share presented at the opening (then or ever).

Deadlines are real and a few seconds ahead (the server's clock is this machine's); every wait is
on a condition with a timeout. The periods a run's restarts fall in get ``SLACK_MS`` more.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json

import pytest

from tests import ocds_schema
from tests.test_ocds import assert_consistent

from .conftest import BUYER, ON_BOTH_BACKENDS, JournalStore, assert_slots_kept
from .harness import (
    Api, award_releases, LiveClient, ServerProcess, journal_events, now_ms, token, wait_clock_past,
    wait_until,
)
from .tender_flow import (
    REDIS_DUMP, Room, Sealed, assert_no_secrets, listed_on, make_tender_key, price_needles,
    run_cli, seal, secrets_found, share_needles, user_token,
)
from .test_audit_log import signed_up_to_the_end

S_A, S_B, S_C = "sup-alpha-7f3", "sup-bravo-91c", "sup-charlie-2d8"
NAMES = {S_A: "Alpha Logistics Ltd", S_B: "Bravo Freight GmbH", S_C: "Charlie Haulage SA"}
OFFICERS = ["officer-ana", "officer-ben", "officer-cho"]
EVALUATORS = ["eval-dora", "eval-emil"]
DOCS = "sha256:" + "5e" * 32
# Distinctive digit strings (minor units), so that a scan finds them if they are anywhere.
PRICE_A, PRICE_B1, PRICE_B2, PRICE_C, PRICE_LATE = (
    481_729_361, 593_817_246, 538_264_917, 672_938_154, 619_283_745)
# MEAT, 60 price + 40 quality: A is cheaper, B wins on quality (A 60 + 18 = 78, B 53.70 + 38).
QUALITY = {"eval-dora": {S_A: 40, S_B: 90}, "eval-emil": {S_A: 50, S_B: 100}}

STAGES = ("published", "bids", "closed", "one_share", "opened", "standstill")
SLACK_MS = 6000  # before a deadline, for a kill and restart (~0.4 s; seconds on a loaded 2-core VM)
# The enquiries hold a dozen calls from the creation to the last question, the bidding period
# nine: seconds on a loaded 2-core VM (a clean-clone CI took more than 2.2 s for the nine).
ENQUIRY_MS, BIDDING_MS, OPENING_GAP_MS, STANDSTILL_MS = 4000, 4000, 3000, 3000
PHASE_TIMEOUT = 10.0
HEAD_TIMEOUT = 4.0  # a phase change's head comes at once; other writes' within 10 s


class TenderRun:
    """One run of the scenario; ``kill_at`` names the stages after which the server is killed -9
    and restarted, ``scan`` makes it scan for secrets before the opening."""

    def __init__(self, server: ServerProcess, store: JournalStore, tmp_path,
                 kill_at: tuple[str, ...] = (), scan: bool = False) -> None:
        self.server = server
        self.redis = store
        self.tmp = tmp_path
        self.kill_at = kill_at
        self.scan = scan
        self.stdout: list[bytes] = []
        self.buyer = Api(server, token("buyer", BUYER, "Municipality of Example"))
        self.suppliers = {s: Api(server, user_token("supplier", s, f"{s}-clerk")) for s in NAMES}
        self.people = {u: Api(server, user_token("buyer", BUYER, u)) for u in OFFICERS + EVALUATORS}
        self.key = make_tender_key(tmp_path / "keys", OFFICERS, 2)
        self.bids: dict[str, Sealed] = {}
        self.live: Room | None = None  # a supplier in the live room
        self.buyer_live: Room | None = None  # and the buyer
        self.restarts = 0

    # -------------------------------------------------------------------------- plumbing

    @property
    def base(self) -> str:
        return f"/api/tenders/{self.tender_id}"

    async def ok(self, api: Api, path: str, body=None) -> dict:
        r = await api.call("POST", f"{self.base}/{path}", body)
        assert r.status_code == 200, (path, r.text)
        return r.json()["view"]

    async def refused(self, api: Api, path: str, body, status: int, reason: str) -> None:
        r = await api.call("POST", f"{self.base}/{path}", body)
        assert (r.status_code, r.json().get("reason")) == (status, reason), (path, r.text)

    async def view(self, api: Api) -> dict:
        r = await api.call("GET", f"/api/auctions/{self.tender_id}")
        assert r.status_code == 200, r.text
        return r.json()["view"]

    async def phase(self, phase: str) -> dict:
        async def reached():
            view = await self.view(self.buyer)
            return view if view["phase"] == phase else None
        return await wait_until(reached, PHASE_TIMEOUT, f"the tender's phase {phase}", poll=0.02)

    async def journal(self) -> list[dict]:
        return await journal_events(self.redis.url, self.tender_id)

    async def journal_past(self, length: int) -> list[dict] | None:
        journal = await self.journal()
        return journal if len(journal) > length else None

    async def connect_live(self) -> None:
        for room in self.rooms:
            await room.connect()

    async def checkpoint(self, stage: str, down_until: int | None = None) -> list[dict]:
        """After ``stage``, if it is this run's: kill -9, restart (once the clock is past
        ``down_until``, if given). Whatever was acknowledged before the kill is in the journal
        as it was, and the views are the same, unless time moved the tender on while it was down:
        the events after the kill, which only a restart past ``down_until`` may cause."""
        if stage not in self.kill_at:
            return []
        journal = await self.journal()
        views = {who: await self.view(api) for who, api in
                 (("buyer", self.buyer), *self.suppliers.items())}
        for room, api in ((self.live, self.suppliers[S_A]), (self.buyer_live, self.buyer)):
            seq = (await api.call("GET", f"/api/auctions/{self.tender_id}")).json()["seq"]
            await wait_until(lambda r=room: r.client.seq == seq, 10, "the room to catch up")
        rooms = [room.client.view for room in self.rooms]  # the supplier's own part ("you") too
        self.server.kill9()
        for room in self.rooms:
            await wait_until(lambda r=room: r.client.closed is not None, 10, "the room to see it")
        if down_until is not None:
            await wait_clock_past(down_until)
        self.server.start()
        self.restarts += 1
        if down_until is None:
            after = await self.journal()
        else:  # what came due while it was down is decided once it is back
            after = await wait_until(
                lambda: self.journal_past(len(journal)), PHASE_TIMEOUT, "what came due")
        assert after[:len(journal)] == journal, "the journal lost or changed acknowledged events"
        await self.connect_live()
        if down_until is not None:
            return after[len(journal):]
        assert after[len(journal):] == [], "a deadline passed during the restart: more slack"
        for who, api in (("buyer", self.buyer), *self.suppliers.items()):
            assert await self.view(api) == views[who], who
        assert [room.client.view for room in self.rooms] == rooms
        return []

    # -------------------------------------------------------------------------- the scenario

    def config(self) -> dict:
        def slack(*stages: str) -> int:
            """Time for the restarts of a stage killed in the period (or at its start)."""
            return SLACK_MS if set(self.kill_at) & set(stages) else 0

        created = now_ms()
        self.enquiry_end_at = created + ENQUIRY_MS + slack("published")
        self.deadline_at = self.enquiry_end_at + BIDDING_MS + slack("published", "bids")
        self.opening_at = self.deadline_at + OPENING_GAP_MS + slack("bids", "closed")
        return {
            "title": "Winter road maintenance 2027",
            "currency": "EUR",
            "lots": [{"lot_id": "L1", "title": "Road salt, 1200 t",
                      "estimated_value": 600_000_000}],
            "documents_hash": DOCS,
            "public_key": base64.b64encode(self.key.public).decode(),
            "officers": OFFICERS,
            "k": 2,
            "evaluators": EVALUATORS,
            "award": {"kind": "meat", "criteria": [{"name": "price", "weight": 60},
                                                   {"name": "quality", "weight": 40}]},
            "standstill_ms": STANDSTILL_MS,
            "buyer_name": "Municipality of Example",
            "schedule": {"enquiry_end_at": self.enquiry_end_at,
                         "submission_deadline_at": self.deadline_at, "opening_at": self.opening_at},
        }

    async def run(self) -> None:
        for officer in self.key.officers:  # each keeps its share offline until the opening
            officer.open_share()
        await self.publication()
        await self.checkpoint("published")
        await self.enquiry()
        await self.crossing("published", self.enquiry_end_at, "enquiries_closed")
        await self.enquiries_closed()
        await self.bidding()
        await self.checkpoint("bids")
        await self.own_bids()
        await self.resends()
        await self.crossing("bids", self.deadline_at, "submission_closed")
        await self.deadline()
        await self.early_share()  # at once: the scan below may take longer than the gap
        if self.scan:
            await self.scan_secrets()
        await self.checkpoint("closed")
        await self.crossing("closed", self.opening_at, "opening_started")
        await self.first_share()
        if self.scan:
            await self.scan_secrets()  # the share presented too: journaled by fingerprint only
        await self.checkpoint("one_share")
        await self.opening()
        if self.scan:
            await self.scan_finds_the_opened()
        await self.checkpoint("opened")
        await self.evaluation()
        await self.complaint()
        await self.checkpoint("standstill")  # held by the complaint
        await self.resolution()
        # Running again, for the time it had left: down across its end, final on the restart.
        await self.crossing("standstill", self.standstill_ends_at, "award_final")
        await self.award()
        for room in self.rooms:
            await room.client.close()
        await self.audit()

    async def crossing(self, stage: str, due_at: int, kind: str) -> None:
        """The second kill of a stage with a time ahead: the server is down when it comes, and
        what it brings is decided once, on the restart, at that time or later."""
        while_down = await self.checkpoint(stage, down_until=due_at)
        if stage in self.kill_at:
            assert [e["type"] for e in while_down] == [kind]
            assert while_down[0]["at"] >= due_at

    async def publication(self) -> None:
        r = await self.buyer.call("POST", "/api/tenders", {"config": self.config()})
        assert r.status_code == 201, r.text
        self.tender_id = r.json()["view"]["tender_id"]
        for supplier, name in NAMES.items():
            await self.ok(self.buyer, "invitations", {"supplier": supplier, "name": name})
        assert (await self.ok(self.buyer, "publish"))["phase"] == "published"
        # After the publication: the enquiry period runs from the configuration's creation.
        for user in OFFICERS + EVALUATORS:  # none has an interest in a bidder: they may act
            await self.ok(self.people[user], "declarations",
                          {"conflict": False, "statement": "No interest in any supplier."})
        self.live = Room(self.server, self.tender_id, user_token("supplier", S_A, f"{S_A}-clerk"))
        self.buyer_live = Room(self.server, self.tender_id, user_token("buyer", BUYER, "clerk"))
        self.rooms = (self.live, self.buyer_live)
        await self.connect_live()
        assert self.live.client.view["phase"] == "published"

    async def enquiry(self) -> None:
        question = "Is rock salt with 3% anti-caking agent acceptable?"
        await self.ok(self.suppliers[S_B], "questions",
                      {"question_id": "q-grain", "text": question})
        answer = "Yes, up to 5%."
        await self.ok(self.buyer, "questions/q-grain/answer", {"supplier": S_B, "answer": answer})
        # Published to everyone, numbered, without who asked; the buyer alone knows.
        event = await self.live.wait_listed("question_answered")
        assert (event["number"], event["question"], event["answer"]) == (1, question, answer)
        assert S_B not in json.dumps(event) and "q-grain" not in json.dumps(event)
        for supplier in (S_A, S_C):
            view = await self.view(self.suppliers[supplier])
            assert [(a["number"], a["question"], a["answer"]) for a in view["answers"]] == [
                (1, question, answer)]
            assert S_B not in json.dumps(view)
        [asked] = (await self.view(self.buyer))["buyer"]["questions"]
        assert (asked["supplier"], asked["number"]) == (S_B, 1)

    async def enquiries_closed(self) -> None:
        await wait_clock_past(self.enquiry_end_at)
        await self.refused(self.suppliers[S_C], "questions", {"question_id": "q-late", "text": "?"},
                           409, "enquiries_closed")
        await self.phase("submission")

    async def bidding(self) -> None:
        bids = [seal(self.key, self.tender_id, S_A, "a-1", "L1", PRICE_A),
                seal(self.key, self.tender_id, S_B, "b-1", "L1", PRICE_B1),
                seal(self.key, self.tender_id, S_C, "c-1", "L1", PRICE_C)]
        cursors = {}
        for bid in bids:
            r = await self.suppliers[bid.supplier].call("POST", f"{self.base}/bids", bid.body())
            assert r.status_code == 200, r.text
            cursors[bid.supplier] = r.json()["seq"]
            self.bids[bid.bid_id] = bid
        # A supplier's cursor counts what it was listed: C, after A and B, is where A was.
        assert cursors[S_A] == cursors[S_C]
        revised = seal(self.key, self.tender_id, S_B, "b-2", "L1", PRICE_B2)
        await self.ok(self.suppliers[S_B], "bids/b-1/revision", revised.body())
        self.bids["b-2"] = revised
        await self.ok(self.suppliers[S_C], "bids/c-1/withdrawal")
        # Each supplier sees its own bid only; nobody, the buyer included, counts them.
        views = [await self.view(api) for api in (self.buyer, *self.suppliers.values())]
        assert now_ms() < self.deadline_at, "too slow: the deadline came before the views were read"
        assert [v["received"] for v in views] == [None] * 4
        assert not any(b.commitment in json.dumps(views[0]) for b in self.bids.values())
        await self.own_bids()

    async def own_bids(self) -> None:
        """Each supplier's history is its own bids as it handed them in; the buyer's is empty."""
        expected = {S_A: [("submitted", "a-1", "current")],
                    S_B: [("submitted", "b-1", "replaced"), ("revised", "b-2", "current")],
                    S_C: [("submitted", "c-1", "withdrawn"), ("withdrawn", "c-1", None)]}
        for supplier, rows in expected.items():
            r = await self.suppliers[supplier].call("GET", f"/api/auctions/{self.tender_id}/bids")
            history = r.json()["bids"]
            assert [(h["kind"], h["bid_id"], h.get("status")) for h in history] == rows, history
            assert all(h["commitment"] == self.bids[h["bid_id"]].commitment
                       for h in history if "commitment" in h)
        r = await self.buyer.call("GET", f"/api/auctions/{self.tender_id}/bids")
        assert r.json()["bids"] == []
        mine = self.bids["a-1"].commitment
        await self.live.client.wait_view(
            lambda v: (v["you"]["bid"] or {}).get("commitment") == mine)

    async def resends(self) -> None:
        """A client whose answer was lost (with the server, say) sends again: each is answered
        as it was first decided, and nothing more is recorded."""
        journal = await self.journal()
        await self.ok(self.suppliers[S_A], "bids", self.bids["a-1"].body())
        await self.ok(self.suppliers[S_B], "bids/b-1/revision", self.bids["b-2"].body())
        await self.ok(self.suppliers[S_C], "bids/c-1/withdrawal")
        after = await self.journal()
        # Nothing more recorded for them; the deadline's timer may have closed the submissions
        # meanwhile (on a loaded machine), which the resends would then find, and be refused.
        assert after[:len(journal)] == journal
        assert all(e["type"] == "submission_closed" for e in after[len(journal):]), after

    async def deadline(self) -> None:
        await wait_clock_past(self.deadline_at)
        late = seal(self.key, self.tender_id, S_C, "c-late", "L1", PRICE_LATE)
        self.bids["c-late"] = late
        await self.refused(self.suppliers[S_C], "bids", late.body(), 409, "deadline_passed")
        view = await self.phase("closed")
        assert view["received"] == 2 and view["opening"] is None
        [late_record] = [e for e in await self.journal() if e["type"] == "submission_refused"]
        assert (late_record["bid_id"], late_record["reason"]) == ("c-late", "deadline_passed")
        await self.refused(self.suppliers[S_C], "bids", late.body(), 409, "deadline_passed")
        # Until the deadline the buyer's room was told nothing of the bids; the supplier's, of
        # its own only (and never its ciphertext); then the buyer is told of the late one.
        closed = await self.buyer_live.wait_listed("submission_closed")
        assert closed["received"] == 2
        kinds = [e["type"] for e in self.buyer_live.listed()]
        before = kinds[:kinds.index("submission_closed")]
        assert not {"bid_submitted", "bid_withdrawn", "submission_refused"} & set(before), before
        await self.live.wait_listed("submission_closed")
        own = [e for e in self.live.listed() if e["type"].startswith("bid_")]
        assert [(e["type"], e["bid_id"]) for e in own] == [("bid_submitted", "a-1")]
        assert "sealed" not in own[0]

    async def early_share(self) -> None:
        # Before the opening time a share is refused (and recorded), whoever presents it.
        early = self.key.officers[2]
        await self.refused(self.people[early.user], "shares", {"share": early.share_text}, 409,
                           "opening_not_due")
        assert now_ms() < self.opening_at, "too slow: the opening time came before the early share"
        await self.nothing_opened()

    async def first_share(self) -> None:
        await wait_clock_past(self.opening_at)
        await self.phase("opening")
        first = self.key.officers[0]
        view = await self.ok(self.people[first.user], "shares", {"share": first.share_text})
        assert (view["phase"], view["shares_presented"], view["opening"]) == ("opening", 1, None)
        await self.nothing_opened()

    async def nothing_opened(self) -> None:
        assert not [e for e in await self.journal() if e["type"] == "tender_opened"]
        for api in (self.buyer, *self.suppliers.values()):
            assert (await self.view(api))["opening"] is None
        assert not [e for e in self.live.listed() if e["type"] == "tender_opened"]

    async def opening(self) -> None:
        first, second = self.key.officers[:2]
        if "one_share" in self.kill_at:
            # The server held the first share in memory only: after the crash the journal has its
            # fingerprint, nobody its share. The second share is taken but opens nothing; another
            # share from the first officer is refused; its own, presented again, opens.
            view = await self.ok(self.people[second.user], "shares", {"share": second.share_text})
            assert (view["phase"], view["shares_presented"], view["opening"]) == ("opening", 2, None)
            await self.nothing_opened()
            await self.refused(self.people[first.user], "shares",
                               {"share": self.key.officers[2].share_text}, 409, "already_presented")
            opener = first
        else:
            # One share in does not open: the same officer again, or another officer with that
            # same share, is refused; k = 2 different shares are needed.
            await self.refused(self.people[first.user], "shares", {"share": first.share_text}, 409,
                               "already_presented")
            await self.refused(self.people[second.user], "shares", {"share": first.share_text},
                               422, "invalid_share")
            await self.nothing_opened()
            opener = second
        view = await self.ok(self.people[opener.user], "shares", {"share": opener.share_text})
        assert view["phase"] == "evaluation"
        opening = view["opening"]
        assert base64.b64decode(opening["private_key"]) == self.key.secret_forms[0]
        expected = {S_A: ("a-1", PRICE_A), S_B: ("b-2", PRICE_B2)}  # c-1 withdrawn: not opened
        got = {line["supplier"]: (line["bid_id"], line["prices"][0]["price"])
               for line in opening["record"]}
        assert got == expected and all(line["failed"] is None for line in opening["record"])
        assert view["buyer"]["opened_by"] == OFFICERS[:2]
        # The live room brings the opening record, with the key, to the supplier at once: the
        # record in the update's view, the event naming the key and the count (the record once).
        listed = await self.live.wait_listed("tender_opened")
        assert (await self.buyer_live.wait_listed("tender_opened"))["record"] == opening["record"]
        update = next(m for m in self.live.client.messages if m["type"] == "update"
                      and any(e["type"] == "tender_opened" for e in m["events"]))
        assert (update["view"]["opening"]["record"], listed["private_key"], listed["bids"]) == (
            opening["record"], opening["private_key"], len(opening["record"]))
        assert "officers" not in listed and "record" not in listed

    async def evaluation(self) -> None:
        for supplier in (S_A, S_B):
            await self.ok(self.buyer, "qualifications", {"supplier": supplier, "status": "valid"})
        for evaluator, scores in QUALITY.items():
            for supplier, score in scores.items():
                await self.ok(self.people[evaluator], "scores",
                              {"supplier": supplier, "criterion": "quality", "score": score})
        view = await self.ok(self.buyer, "award")
        assert view["phase"] == "standstill"
        [lot] = view["decision"]["lots"]
        assert (lot["winner"], lot["price"]) == (S_B, PRICE_B2)  # quality beats the lower price
        self.standstill_ends_at = view["decision"]["standstill_ends_at"]

    async def complaint(self) -> None:
        view = await self.ok(self.suppliers[S_A], "complaints",
                             {"complaint_id": "k-1", "text": "Bravo's quality score is too high"})
        assert view["decision"]["held"] is True
        assert now_ms() < self.standstill_ends_at, "too slow: the standstill ended first"

    async def resolution(self) -> None:
        view = await self.ok(self.buyer, "complaints/k-1/resolution",
                             {"supplier": S_A, "upheld": False,
                              "resolution": "The scores follow the published method."})
        assert view["decision"]["held"] is False and view["phase"] == "standstill"
        # It runs for the time it had left when the complaint held it.
        assert view["decision"]["standstill_ends_at"] > self.standstill_ends_at
        self.standstill_ends_at = view["decision"]["standstill_ends_at"]

    async def award(self) -> None:
        view = await self.phase("awarded")
        awards = [(a["lot_id"], a["award_id"], a["supplier"], a["price"]) for a in view["awards"]]
        assert awards == [("L1", f"{self.tender_id}:L1", S_B, PRICE_B2)]
        await self.live.wait_listed("award_final")
        releases = await wait_until(self.releases, 10, "the award on the awards stream")
        [(fields, release)] = releases
        assert fields["award_id"] == f"{self.tender_id}:L1"
        [awarded] = release["awards"]
        assert [s["id"] for s in awarded["suppliers"]] == [S_B]
        assert awarded["value"] == {"amount": PRICE_B2 / 100, "currency": "EUR"}
        if ocds_schema.available():  # else tests/engine/tender/test_ocds.py says how to get them
            assert ocds_schema.release_errors(release) == []
            assert_consistent(release)
        await self.whole_journal()

    async def releases(self) -> list[tuple[dict, dict]]:
        return await award_releases(self.redis.url, self.tender_id)

    async def audit(self) -> None:
        """``bidserver audit export`` and ``verify`` against the server's key: the log is whole
        and its hash chain and signed heads hold across the kills. The final award is a change
        of phase, signed at once: well before the interval of other writes' heads (10 s)."""
        try:
            async with asyncio.timeout(HEAD_TIMEOUT):
                size = await signed_up_to_the_end(self.redis.url, self.tender_id)
        except TimeoutError:
            raise AssertionError("no signed head covers the final award") from None
        assert size == len(await self.journal())
        pem = self.tmp / "server.pem"
        cli = functools.partial(asyncio.to_thread, run_cli)  # each command runs its own event loop
        pem.write_text(await cli("audit", "public-key", "--data-dir", str(self.server.data_dir)))
        out = self.tmp / "audit.jsonl"
        await cli("audit", "export", "--redis-url", self.redis.url, "--out", str(out),
                  self.tender_id)
        verified = await cli("audit", "verify", "--public-key", str(pem), str(out))
        assert verified.startswith(
            f"ok: auction {self.tender_id}: {size} entries, hash chain intact")

    async def whole_journal(self) -> None:
        """Each step once, whatever the crashes: the journal reads as the run went."""
        journal = await self.journal()
        assert [e["seq"] for e in journal] == list(range(1, len(journal) + 1))
        kinds = [e["type"] for e in journal]
        assert kinds.count("tender_opened") == 1 and kinds.count("share_accepted") == 2
        assert kinds.count("award_final") == 1 and kinds.count("award_decided") == 1
        assert kinds.count("submission_refused") == 1  # the late bid, sent twice
        assert [(e["bid_id"], e.get("replaces")) for e in journal if e["type"] == "bid_submitted"] \
            == [("a-1", None), ("b-1", None), ("c-1", None), ("b-2", "b-1")]
        refused_shares = [e["reason"] for e in journal if e["type"] == "share_refused"]
        assert refused_shares == ["opening_not_due", "already_presented"] + (
            [] if "one_share" in self.kill_at else ["invalid_share"])
        # The supplier in the room was listed the opening once, across its reconnections.
        for room in self.rooms:  # a cursor counts what its holder is listed, nothing else
            assert room.client.seq == len(room.listed())
        assert await self.buyer_live.wait_listed("award_final")
        listed = self.live.listed()
        assert [e["type"] for e in listed].count("tender_opened") == 1
        assert [e["type"] for e in listed].count("award_final") == 1
        # Across its reconnections it was listed what a new client is listed now: no gap, no repeat.
        fresh = await LiveClient(self.server, self.tender_id,
                                 user_token("supplier", S_A, f"{S_A}-clerk")).connect(0)
        await wait_until(lambda: len(listed_on(fresh)) >= len(listed), 10, "the catch-up")
        assert listed_on(fresh) == listed
        await fresh.close()

    def needles(self, bid_ids, officers, key: bool = True) -> dict[str, list[bytes]]:
        needles = {f"price of {bid_id}": price_needles(self.bids[bid_id]) for bid_id in bid_ids}
        if key:
            needles["the tender's private key"] = self.key.secret_forms
        for officer in self.key.officers:
            if officer.user in officers:
                needles[f"{officer.user}'s share"] = share_needles(officer.share_text)
        return needles

    async def scan_secrets(self) -> None:
        """Annex IV (b) before the opening: no price of any bid (revised, withdrawn and late ones
        too), no share (presented or not) nor the key, anywhere an operator can look."""
        needles = self.needles(self.bids, OFFICERS)
        await assert_no_secrets(self.server, self.redis, needles,
                                self.stdout, await self.shown())

    async def shown(self) -> dict[str, bytes]:
        """What every role is shown: each one's view and history over HTTP (the buyer's people,
        an observer, every supplier) and all the live room told the buyer and a supplier."""
        everyone = {"buyer": self.buyer, **self.people, **self.suppliers,
                    "observer": Api(self.server, token("observer", BUYER, "auditor"))}
        shown = {}
        for who, api in everyone.items():
            for path in ("", "/bids"):
                r = await api.call("GET", f"/api/auctions/{self.tender_id}{path}")
                assert r.status_code == 200, (who, r.text)
                shown[f"GET {path or '/'} as {who}"] = r.content
        for name, room in (("a supplier", self.live), ("the buyer", self.buyer_live)):
            shown[f"the live room of {name}"] = json.dumps(room.client.messages).encode()
        return shown

    async def scan_finds_the_opened(self) -> None:
        """The same scan after the opening finds what is public then (the record's prices, the
        key) in the dump, the AOF and the RDB: it sees what it looks for. No share is ever written:
        not the two that opened the bids, nor the one never presented."""
        opened = self.needles(["a-1", "b-2"], ())
        found = await secrets_found(self.server, self.redis, opened,
                                    self.stdout, await self.shown())
        for secret in opened:
            where = found.get(secret, [])
            assert REDIS_DUMP in where, (secret, where)
            assert any("appendonlydir" in place for place in where), (secret, where)
            assert any(place.endswith("dump.rdb") for place in where), (secret, where)
        for bid_id in ("a-1", "b-2"):  # and everyone is shown the record
            where = found[f"price of {bid_id}"]
            assert {f"GET / as {S_C}", "GET / as observer", "the live room of a supplier",
                    "the live room of the buyer"} <= set(where), where
        # The bids that were never opened stay sealed, key or not: nothing decrypted them.
        assert await secrets_found(self.server, self.redis,
                                   self.needles(["b-1", "c-1", "c-late"], OFFICERS, key=False),
                                   self.stdout, await self.shown()) == {}


SNAPSHOT_EVERY_EVENT = {"BIDSERVER_SNAPSHOT_EVERY": "1"}
# Every stage is killed in one of two runs: one whose restarts start from a snapshot (one at seq
# 1, 2, 4, 8...) and the events after it, one whose restarts replay the whole journal (the
# default: no snapshot before 1,000 events). A stage's kills test what was acknowledged before
# it; an earlier stage's restart in the same run changes nothing of that (its checkpoint proved
# the journal and every view the same as before it).
KILL_RUNS = {"snapshots": ("bids", "one_share", "standstill"),
             "replay": ("published", "closed", "opened")}


@pytest.fixture
def debug_server(journal_url, tmp_path):
    """The server at its most talkative (debug logs), with its state's snapshots in Redis too,
    for the scan."""
    proc = ServerProcess(journal_url, tmp_path / "server", ("--log-level", "debug"),
                         SNAPSHOT_EVERY_EVENT)
    proc.start()
    yield proc
    proc.stop()
    assert_slots_kept(proc)


@ON_BOTH_BACKENDS
async def test_a_tender_end_to_end_with_nothing_readable_before_the_opening(
    debug_server, journal_store, tmp_path
):
    run = TenderRun(debug_server, journal_store, tmp_path, scan=True)
    await run.run()


@pytest.mark.parametrize("restarts_from", KILL_RUNS)
async def test_a_tender_survives_kill_9_at_every_stage(restarts_from, server_factory,
                                                      journal_store, tmp_path):
    stages = KILL_RUNS[restarts_from]
    server = server_factory(env=SNAPSHOT_EVERY_EVENT if restarts_from == "snapshots" else {})
    run = TenderRun(server, journal_store, tmp_path, kill_at=stages)
    await run.run()
    # A stage with a time ahead is killed twice (at once, then across that time), the others once.
    assert run.restarts == sum(1 if stage in ("one_share", "opened") else 2 for stage in stages)


def test_every_stage_is_killed_in_one_run_or_the_other():
    assert sorted(sum(KILL_RUNS.values(), ())) == sorted(STAGES)
