"""A tender's configuration rules (each refusal names its field) and each profile's rules, one
named test per rule of the law: checked on create and at publication, where the time limits run."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bidserver.engine.rejections import Reason
from bidserver.engine.tender import Phase, TenderState
from bidserver.engine.tender.commands import CreateTender, Publish, UpdateTender
from bidserver.engine.tender.rules import (
    PROFILE_RULES, china_bid_security, china_clarification_period, china_committee,
    china_min_bidders, china_public_opening, china_publicity_period, china_time_limit,
    config_fault, eu_standstill, eu_time_limit, profile_fault,
)
from bidserver.engine.tender.values import AwardCriteria, AwardKind, Criterion, Profile, TenderLot

from .builders import (
    BUYER, DAY, DEADLINE, MEAT, OPENING, T0, TENDER, Run, change, config, lots, refused, schedule,
)


@pytest.mark.parametrize(("overrides", "field"), [
    ({"title": "  "}, "config.title"),
    ({"currency": "XYZ"}, "config.currency"),
    ({"lots": lots(("L1", None), ("L1", None))}, "config.lots[1].lot_id"),
    ({"lots": (TenderLot(lot_id="L1", title="x", quantity=Decimal("NaN")),)}, "config.lots[0].quantity"),
    ({"lots": (TenderLot(lot_id="L1", title="x", estimated_value=0),)}, "config.lots[0].estimated_value"),
    ({"suite": "sm2-sm3-sm4"}, "config.suite"),
    ({"public_key": b"\x01" * 31}, "config.public_key"),
    ({"officers": ("off-1", "off-1")}, "config.officers[1]"),
    ({"officers": ("off-1", " ")}, "config.officers[1]"),
    ({"k": 4}, "config.k"),
    ({"k": 0}, "config.k"),
    ({"schedule": schedule(enquiry_end_at=DEADLINE)}, "config.schedule.enquiry_end_at"),
    ({"schedule": schedule(opening_at=DEADLINE - 1)}, "config.schedule.opening_at"),
    ({"evaluators": ("ev-1", "ev-1")}, "config.evaluators[1]"),
    ({"award": AwardCriteria(criteria=(Criterion("price", 100),))}, "config.award.criteria"),
    ({"award": AwardCriteria(kind=AwardKind.MEAT,
                             criteria=(Criterion("price", 60), Criterion("price", 40)))},
     "config.award.criteria[1].name"),
    ({"award": AwardCriteria(kind=AwardKind.MEAT, criteria=(Criterion("quality", 100),))},
     "config.award.criteria"),
    ({"award": AwardCriteria(kind=AwardKind.MEAT, criteria=(Criterion("price", 100),))},
     "config.award.criteria"),
    ({"award": AwardCriteria(kind=AwardKind.MEAT, criteria=(Criterion("price", 60), Criterion("q", 30)))},
     "config.award.criteria"),
    ({"award": MEAT, "evaluators": ()}, "config.evaluators"),
    ({"bid_security": 0}, "config.bid_security"),
    ({"abnormally_low_pct": 0}, "config.abnormally_low_pct"),
    ({"minor_units": 5}, "config.minor_units"),
])
def test_a_broken_rule_names_its_field(overrides, field):
    fault = config_fault(config(**overrides))
    assert fault is not None and fault.field == field, fault
    state = TenderState.new(TENDER)
    rejection = refused(state, CreateTender(actor=BUYER, at=T0, tender_id=TENDER,
                                            config=config(**overrides)))
    assert rejection.reason is Reason.INVALID_CONFIG and rejection.field == field


def test_the_default_and_meat_configurations_are_valid():
    assert config_fault(config()) is None
    assert config_fault(config(award=MEAT)) is None


def test_a_draft_is_checked_on_update_and_locked_once_published():
    run = Run()
    assert refused(run.state, UpdateTender(actor=BUYER, at=T0, config=config(k=9))).field == "config.k"
    run.do(UpdateTender(actor=BUYER, at=T0, config=config(title="Road salt, revised")))
    assert run.state.config.title == "Road salt, revised"
    run.publish()
    assert refused(run.state, UpdateTender(actor=BUYER, at=T0 + 1, config=config())).reason is (
        Reason.CONFIG_LOCKED)


def test_publication_after_the_enquiry_period_would_end_is_refused():
    run = Run(config(schedule=schedule(enquiry_end_at=T0)))
    rejection = refused(run.state, Publish(actor=BUYER, at=T0))
    assert rejection.field == "config.schedule.enquiry_end_at"


# ------------------------------------------------------------------ EU


def eu(**overrides):
    return config(profile=Profile.EU, **overrides)


def test_eu_30_days_from_publication_to_the_deadline():
    """Directive 2014/24/EU Art. 27: 35 days, 5 fewer for electronic submission."""
    cfg = eu(schedule=schedule(enquiry_end_at=T0 + 20 * DAY, deadline=T0 + 30 * DAY,
                               opening_at=T0 + 30 * DAY))
    assert eu_time_limit(cfg, T0) is None
    assert eu_time_limit(cfg, T0 + 1).field == "config.schedule.submission_deadline_at"
    assert eu_time_limit(cfg, None) is None  # a draft: checked at publication
    run = Run(cfg)
    assert refused(run.state, Publish(actor=BUYER, at=T0 + 1)).reason is Reason.INVALID_CONFIG
    run.publish(T0)
    assert run.state.phase is Phase.PUBLISHED


def test_eu_standstill_of_at_least_10_days():
    """Remedies Directive 2007/66/EC: 10 calendar days when the decision is sent electronically."""
    assert eu_standstill(eu(standstill_ms=10 * DAY), None) is None
    assert eu_standstill(eu(standstill_ms=10 * DAY - 1), None).field == "config.standstill_ms"
    state = TenderState.new(TENDER)
    rejection = refused(state, CreateTender(actor=BUYER, at=T0, tender_id=TENDER,
                                            config=eu(standstill_ms=DAY)))
    assert rejection.field == "config.standstill_ms"


# ------------------------------------------------------------------ China

def china(**overrides):
    base = {
        "profile": Profile.CHINA,
        "schedule": schedule(enquiry_end_at=T0 + 5 * DAY, deadline=T0 + 20 * DAY,
                             opening_at=T0 + 20 * DAY),
        "min_bidders": 3,
        "evaluators": ("e1", "e2", "e3", "e4", "e5"),
        "standstill_ms": 3 * DAY,
    }
    return config(**(base | overrides))


def test_china_valid_configuration_passes_every_rule():
    assert profile_fault(china(), T0) is None
    assert len(PROFILE_RULES[Profile.CHINA]) == 7


def test_china_20_days_from_issuing_the_documents_to_the_deadline():
    """招标投标法 Art. 24."""
    assert china_time_limit(china(), T0) is None
    assert china_time_limit(china(), T0 + 1).field == "config.schedule.submission_deadline_at"


def test_china_clarifications_end_15_days_before_the_deadline():
    """招标投标法 Art. 23."""
    late = china(schedule=schedule(enquiry_end_at=T0 + 5 * DAY + 1, deadline=T0 + 20 * DAY,
                                   opening_at=T0 + 20 * DAY))
    assert china_clarification_period(china(), None) is None
    assert china_clarification_period(late, None).field == "config.schedule.enquiry_end_at"


def test_china_a_change_of_the_documents_15_days_before_the_deadline():
    """招标投标法 Art. 23: a later change must move the deadline."""
    run = Run(china())
    run.publish(T0)
    rejection = refused(run.state, change(T0 + 5 * DAY + 1))
    assert rejection.reason is Reason.INVALID_CONFIG and rejection.field == "submission_deadline_at"
    run.do(change(T0 + 5 * DAY + 1, submission_deadline_at=T0 + 21 * DAY))
    assert run.state.config.schedule.submission_deadline_at == T0 + 21 * DAY
    assert run.state.config.schedule.opening_at == T0 + 21 * DAY  # it moves with the deadline


def test_china_the_opening_is_at_the_deadline():
    """招标投标法 Art. 34."""
    later = china(schedule=schedule(enquiry_end_at=T0 + 5 * DAY, deadline=T0 + 20 * DAY,
                                    opening_at=T0 + 20 * DAY + 1))
    assert china_public_opening(china(), None) is None
    assert china_public_opening(later, None).field == "config.schedule.opening_at"


def test_china_at_least_three_bidders():
    """招标投标法 Art. 28: fewer than three means the tender is run again."""
    assert china_min_bidders(china(), None) is None
    assert china_min_bidders(china(min_bidders=2), None).field == "config.min_bidders"


def test_china_bid_security_at_most_2_percent_of_the_estimated_value():
    """实施条例 Art. 26 (estimated 7,000,000: at most 140,000)."""
    assert china_bid_security(china(bid_security=140_000), None) is None
    assert china_bid_security(china(bid_security=140_001), None).field == "config.bid_security"
    unknown = china(bid_security=1, lots=lots(("L1", 5_000_000), ("L2", None)))
    assert china_bid_security(unknown, None).field == "config.lots"


@pytest.mark.parametrize(("members", "ok"), [(4, False), (5, True), (6, False), (7, True)])
def test_china_evaluation_committee_of_five_or_more_odd(members, ok):
    """招标投标法 Art. 37."""
    cfg = china(evaluators=tuple(f"e{i}" for i in range(members)))
    assert (china_committee(cfg, None) is None) is ok


def test_china_candidates_published_for_at_least_3_days():
    """实施条例 Art. 54: the standstill in which bidders may object."""
    assert china_publicity_period(china(), None) is None
    assert china_publicity_period(china(standstill_ms=3 * DAY - 1), None).field == "config.standstill_ms"


def test_the_none_profile_has_no_rules_of_its_own():
    cfg = config(standstill_ms=0, min_bidders=1, evaluators=())
    assert profile_fault(cfg, OPENING) is None
