"""Properties of standing over random records (Hypothesis): random histories of documents,
applications, decisions, restrictions, lifts and sweeps on a clock that only moves forward, then
standing asked at random instants, often at a change point or one millisecond before it."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bidserver.engine.admission import events as ev
from bidserver.engine.admission.commands import Command
from bidserver.engine.admission.decide import decide
from bidserver.engine.admission.evolve import evolve, record_bytes, replay
from bidserver.engine.admission.standing import (
    StandingReason, changes, due_at, next_change_at, standing,
)
from bidserver.engine.admission.values import DocumentKind, RestrictionKind, SupplierRecord

from .builders import (
    CONSTRUCTION, DAY, PIPES, STEEL, T0, Run, apply, document, lift, qualify, register, reject,
    restrict, sha, sweep,
)

CATEGORIES = (STEEL, CONSTRUCTION, PIPES)
ASKED = (*CATEGORIES, None)
FILES = tuple(sha(f"file-{i}") for i in range(4))  # two certificates, two licences
SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

days = st.integers(min_value=0, max_value=40).map(lambda n: n * DAY)
jitter = st.integers(min_value=0, max_value=DAY)


@st.composite
def step(draw, at: int) -> Command:
    kind = draw(st.sampled_from((  # qualifications on certificates, and lifts, made often
        "certificate", "certificate", "licence", "apply", "qualify", "qualify", "qualify",
        "reject", "restrict", "lift", "lift", "sweep")))
    category = draw(st.sampled_from(CATEGORIES))
    match kind:
        case "certificate" | "licence":
            expires = draw(st.one_of(st.none(), days.map(lambda d: at + d + 1)))
            files = FILES[2:] if kind == "licence" else FILES[:2]
            return document(draw(st.sampled_from(files)), at, expires_at=expires,
                            kind=DocumentKind(kind))
        case "apply":
            return apply(at, category)
        case "qualify":
            return qualify(at, category, *draw(st.lists(st.sampled_from(FILES[:3]), max_size=2)))
        case "reject":
            return reject(at, category)
        case "restrict":
            start = at + draw(st.one_of(st.just(0), days))
            end = draw(st.one_of(st.none(), days.map(lambda d: start + d + 1)))
            return restrict(at, draw(st.sampled_from(RestrictionKind)), start_at=start,
                            end_at=end, reason=draw(st.sampled_from(("a", "b"))))
        case "lift":
            return lift(at, f"r{draw(st.integers(min_value=1, max_value=2))}")
    return sweep(at)


@st.composite
def histories(draw) -> Run:
    """A registered supplier with a certificate, after up to 25 random commands; refused ones
    change nothing."""
    run = Run()
    run.do(register(T0, categories=(STEEL, CONSTRUCTION)))
    run.do(document(FILES[0], T0, expires_at=T0 + 1 + draw(days)))  # something to qualify on
    at = T0
    for _ in range(draw(st.integers(min_value=0, max_value=25))):
        at += draw(st.one_of(st.just(0), jitter, days))
        command = draw(step(at))
        decided = decide(run.record, command)
        if isinstance(decided, list):
            for event in decided:
                run.record = evolve(run.record, event)
            run.log.extend(decided)
    return run


@st.composite
def instants(draw, record: SupplierRecord) -> int:
    """A time worth asking about: a change point, just before one, or anywhere around."""
    points = [c.at for c in changes(record)]
    around = st.integers(min_value=T0 - DAY, max_value=T0 + 400 * DAY)
    if not points:
        return draw(around)
    point = st.sampled_from(points)
    return draw(st.one_of(around, point, point.map(lambda p: p - 1)))


@SETTINGS
@given(st.data())
def test_standing_holds_between_the_change_points(data):
    record = data.draw(histories()).record
    t = data.draw(instants(record))
    end = next_change_at(record, t)
    later = [t, t + 1, t + DAY] if end is None else [t, end - 1, (t + end) // 2]
    for category in ASKED:
        now = standing(record, category, t)
        for t2 in later:
            assert standing(record, category, t2) == now, (category, t, t2, end)
        if now.until is not None:  # exact: the eligibility or the reason changes right then
            assert now.until >= end
            then = standing(record, category, now.until)
            assert (then.eligible, then.reason) != (now.eligible, now.reason)
            before = standing(record, category, now.until - 1)
            assert (before.eligible, before.reason) == (now.eligible, now.reason)


@SETTINGS
@given(st.data())
def test_an_indefinite_blacklisting_is_never_eligible(data):
    run = data.draw(histories())
    at = run.record.registered_at + data.draw(days)
    start = at + data.draw(st.one_of(st.just(0), days))
    run.do(restrict(at, RestrictionKind.BLACKLISTED, start_at=start))
    for t in (start, start + 1, data.draw(st.integers(min_value=start, max_value=start + 10**12))):
        for category in ASKED:
            found = standing(run.record, category, t)
            assert (found.eligible, found.reason, found.until) == (
                False, StandingReason.BLACKLISTED, None)


@SETTINGS
@given(st.data())
def test_lifting_a_restriction_restores_the_standing_before_it(data):
    run = data.draw(histories())
    before = run.record
    at = max([e.at for e in run.log]) + data.draw(jitter)
    start = at + data.draw(st.one_of(st.just(0), days))
    end = data.draw(st.one_of(st.none(), days.map(lambda d: start + d + 1)))
    [restricted] = run.do(restrict(at, data.draw(st.sampled_from(RestrictionKind)),
                                   start_at=start, end_at=end))
    run.do(lift(data.draw(st.integers(min_value=at, max_value=(end or at + DAY) - 1)),
                restricted.restriction_id))
    for _ in range(3):
        t = data.draw(instants(run.record))
        for category in ASKED:
            assert standing(run.record, category, t) == standing(before, category, t)


@SETTINGS
@given(histories())
def test_replay_gives_the_same_record_byte_for_byte(run):
    stored = [ev.encode_event(e) for e in run.log]
    replayed = replay(ev.decode_event(data) for data in stored)
    assert record_bytes(replayed) == record_bytes(run.record) == msgspec.json.encode(run.record)
    assert replayed.version == len(run.log)


@SETTINGS
@given(st.data())
def test_a_sweep_records_everything_due_once(data):
    run = data.draw(histories())
    at = max(data.draw(instants(run.record)), max(e.at for e in run.log))  # time goes forward
    run.do(sweep(at))
    due = due_at(run.record)
    assert due is None or due > at
    assert run.do(sweep(at)) == []
