"""Properties of the sealed tender over random runs (Hypothesis), with the real sealing suite.

- Before the deadline nothing anyone is shown (views, personal parts, listed events, history,
  results, the listing's summary) depends on other suppliers' submissions: runs that differ only
  in them show every other participant the same bytes.
- The bids open exactly when k good key shares are in, never with k-1, whatever the order,
  early or bad shares; the key found is the tender's.
- No price is in anything anyone is shown, nor in the journal, before the opening.
"""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidserver.engine.tender import FORMAT, Phase
from bidserver.engine.tender import events as ev
from bidserver.engine.rejections import Reason
from bidserver.engine.tender.commands import PresentShare, ReviseBid, SubmitBid
from bidserver.engine.values import Actor, Role
from bidserver.sealing.shamir import share_to_text, split

from .builders import (
    BUYER, DAY, DEADLINE, DOCS_2, ENQUIRY_END, OBSERVER, OPENING, PRIVATE, SUITE, T0, Run, answer,
    ask, bid, change, config, confirm, evaluator, officer, published, sealed, submit, supplier,
    tick, withdraw,
)

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ME = "sup-a"
OTHERS = ("sup-b", "sup-c")
WATCHERS = (BUYER, officer("off-1"), evaluator("ev-1"), OBSERVER, supplier(ME),
            Actor(Role.SUPPLIER, "sup-d"))  # invited, never bids
# A few sealed bids per supplier, sealed once (sealing draws randomness; the runs reuse them).
POOL = {party: [sealed(party, {"L1": 4_000_000 + i}) for i in range(3)]
        for party in (ME, *OTHERS)}


def seen_by(run: Run, actor: Actor) -> bytes:
    """Everything ``actor`` is shown, as bytes: view, own part, listed events, history, results,
    and the listing's summary."""
    state = run.state
    listed = [FORMAT.shown_to(state, e, actor) for e in run.log]
    return msgspec.json.encode([
        FORMAT.view(state, actor) if FORMAT.may_see(state, actor) else None,
        FORMAT.you_view(state, actor),
        [x for x in listed if x is not None],
        FORMAT.history(state, actor),
        FORMAT.results(state, actor),
        FORMAT.summary(state),
    ])


# ------------------------------------------------------------------ independence before the deadline

my_steps = st.lists(st.tuples(st.sampled_from(["bid", "revise", "withdraw", "ask", "confirm"]),
                              st.integers(0, 2)), max_size=6)
other_steps = st.lists(st.tuples(st.sampled_from(OTHERS),
                                 st.sampled_from(["bid", "revise", "withdraw", "plaintext",
                                                  "mismatch", "confirm", "resend"]),
                                 st.integers(0, 2)), max_size=8)


def _revision(party: str, bid_id: str, replaces: str, blob: bytes, at: int) -> ReviseBid:
    return ReviseBid(actor=supplier(party), at=at, bid_id=bid_id, replaces=replaces, sealed=blob,
                     commitment=SUITE.commitment(blob))


def _mine(run: Run, kind: str, i: int, at: int, n: int) -> None:
    current = run.state.current.get(ME)
    match kind:
        case "bid" if current is None:
            run.try_(submit(ME, f"m{n}", POOL[ME][i], at))
        case "revise" if current is not None:
            run.try_(_revision(ME, f"m{n}", current, POOL[ME][i], at))
        case "withdraw" if current is not None:
            run.try_(withdraw(ME, current, at))
        case "ask":
            run.try_(ask(ME, f"q{n}", f"question {n}?", at))
        case "confirm" if current is not None:
            run.try_(confirm(ME, current, at, documents_hash=run.state.config.documents_hash))


def _theirs(run: Run, party: str, kind: str, i: int, at: int, n: int) -> None:
    current = run.state.current.get(party)
    blob = POOL[party][i]
    match kind:
        case "bid":
            run.try_(submit(party, f"o{n}", blob, at))
        case "revise" if current is not None:
            run.try_(_revision(party, f"o{n}", current, blob, at))
        case "withdraw" if current is not None:
            run.try_(withdraw(party, current, at))
        case "plaintext":
            run.try_(submit(party, f"o{n}", b'{"L1": 3900000}' * 70, at))
        case "mismatch":
            run.try_(submit(party, f"o{n}", blob, at, commitment="sha256:" + "e" * 64))
        case "confirm" if current is not None:
            run.try_(confirm(party, current, at, documents_hash=run.state.config.documents_hash))
        case "resend" if current is not None:
            bid_record = run.state.bids[party][current]
            run.try_(SubmitBid(actor=supplier(party), at=at, bid_id=current, sealed=bid_record.sealed,
                               commitment=bid_record.commitment))


def _run(mine, theirs, change_at: int | None, answer_mine: bool) -> Run:
    """My steps and the buyer's at fixed times, the others' between them; all before the deadline."""
    run = published(suppliers=(ME, *OTHERS, "sup-d"))
    slots: dict[int, list] = {}
    for n, (kind, i) in enumerate(mine):
        slots.setdefault(T0 + (n + 1) * DAY, []).append(("me", kind, i, n))
    for n, (party, kind, i) in enumerate(theirs):
        slots.setdefault(T0 + (n % 7) * DAY + DAY // 2, []).append(("them", party, kind, i, n))
    if change_at is not None:
        slots.setdefault(T0 + change_at * DAY + 3, []).append(("change",))
    for at in sorted(slots):
        for step in slots[at]:
            if step[0] == "me":
                _mine(run, *step[1:3], at, step[3])
            elif step[0] == "them":
                _theirs(run, step[1], step[2], step[3], at, step[4])
            else:
                run.try_(change(at, documents_hash=DOCS_2))
    if answer_mine:
        for question_id in sorted(run.state.questions.get(ME, {})):
            run.try_(answer(ME, question_id, "see the documents", ENQUIRY_END - 1))
    run.try_(tick(ENQUIRY_END))
    return run


@PROPERTY
@given(my_steps, other_steps, other_steps, st.none() | st.integers(0, 8), st.booleans())
def test_before_the_deadline_nobody_is_shown_anything_of_other_suppliers_submissions(
        mine, theirs, others_instead, change_at, answer_mine):
    a = _run(mine, theirs, change_at, answer_mine)
    b = _run(mine, others_instead, change_at, answer_mine)
    assert a.state.phase is Phase.SUBMISSION
    for actor in WATCHERS:
        assert seen_by(a, actor) == seen_by(b, actor), actor
    # and the live room numbers what it lists the same way: the same count for every watcher
    for actor in WATCHERS:
        assert sum(FORMAT.shown_to(a.state, e, actor) is not None for e in a.log) == sum(
            FORMAT.shown_to(b.state, e, actor) is not None for e in b.log)


# ------------------------------------------------------------------ k of n


@st.composite
def openings(draw):
    n = draw(st.integers(1, 5))
    k = draw(st.integers(1, n))
    order = draw(st.permutations(range(n)))
    count = draw(st.integers(0, n))  # how many officers come
    bad = draw(st.sets(st.integers(0, n - 1)))  # who brings a share of another key
    early = draw(st.sets(st.integers(0, n - 1)))  # who first tries before the opening time
    return n, k, list(order)[:count], bad, early


@PROPERTY
@given(openings())
def test_the_bids_open_with_k_good_shares_and_never_with_fewer(plan):
    n, k, order, bad, early = plan
    private, public = SUITE.keypair()
    good = [share_to_text(s) for s in split(private, k, n)]
    other = [share_to_text(s) for s in split(SUITE.keypair()[0], k, n)]
    officers = tuple(f"off-{i}" for i in range(n))
    run = published(config(public_key=public, officers=officers, k=k))
    for party, price in (("sup-a", 123_456_789), ("sup-b", 987_654_321)):
        run.do(bid(party, "x", {"L1": price}, T0 + 1, public=public))
    run.do(tick(DEADLINE))
    for i in early:
        outcome = run.try_(PresentShare(actor=officer(officers[i]), at=OPENING - 1, share=good[i]))
        assert outcome.rejection.reason is Reason.OPENING_NOT_DUE
    run.do(tick(OPENING))
    presented_good = 0
    for step, i in enumerate(order):
        text = other[i] if i in bad else good[i]
        events = run.do(PresentShare(actor=officer(officers[i]), at=OPENING + 1 + step, share=text))
        presented_good += i not in bad
        opened = [e for e in events if type(e) is ev.TenderOpened]
        assert bool(opened) is (presented_good == k and i not in bad), (presented_good, k)
        if opened:
            assert opened[0].private_key == private
            assert sorted(line.prices[0].price for line in opened[0].record) == [123_456_789, 987_654_321]
            break
    else:
        assert run.state.private_key is None and run.state.phase is Phase.OPENING
        assert presented_good < k


# ------------------------------------------------------------------ no price before the opening


@PROPERTY
@given(st.lists(st.integers(100_000_000, 999_999_999), min_size=1, max_size=3, unique=True),
       st.integers(1, 3))
def test_no_price_is_shown_or_journalled_before_the_opening(prices, k):
    run = published(config(k=k))
    parties = ("sup-a", "sup-b", "sup-c")
    for party, price in zip(parties, prices):
        run.do(bid(party, "x", {"L1": price, "L2": price // 2}, T0 + 1))
    run.do(tick(DEADLINE))
    run.do(tick(OPENING))
    shares = [share_to_text(s) for s in split(PRIVATE, k, 3)]  # the builders' key, k of 3
    for i in range(k - 1):  # all but the last share the key needs
        run.do(PresentShare(actor=officer(f"off-{i + 1}"), at=OPENING + 1 + i, share=shares[i]))
    texts = [str(p).encode() for price in prices for p in (price, price // 2)]
    journal = b"".join(FORMAT.encode_event(e) for e in run.log)
    for actor in (*WATCHERS, supplier("sup-b"), supplier("sup-c")):
        seen = seen_by(run, actor)
        assert not any(text in seen for text in texts)
    assert not any(text in journal for text in texts)
    assert run.state.phase is Phase.OPENING

