"""A tender's configuration rules, and each profile's rules as one named function apiece.

``config_fault`` holds whatever the law: consistent dates, officers and threshold, the award
formula. ``profile_fault`` applies the profile's rules (``PROFILE_RULES``), each a function of the
configuration and the publication time (None for a draft: the time limits, which count from
publication, are checked when it is published). Checked when a configuration is decided and at
publication, never on replay: a journal keeps the rules it was decided by.
"""

from __future__ import annotations

from collections.abc import Callable

from ... import sealing
from .. import terms
from ..reverse.rules import ISO_4217, ConfigFault
from ..reverse.rules import ISO_4217, ConfigFault, category_ok
from .values import DAY_MS, PRICE, AwardKind, Profile, Schedule, TenderConfig, certificate_key

__all__ = [
    "PROFILE_RULES", "RFQ_PROFILE_RULES", "ConfigFault", "change_fault", "config_fault",
    "profile_fault",
]


def _at(field: str, message: str) -> ConfigFault:
    return ConfigFault(f"config.{field}" if field else "config", message)


def _unique(values: tuple[str, ...]) -> int | None:
    """The index of the first blank or repeated value, or None."""
    for i, value in enumerate(values):
        if not value.strip() or value in values[:i]:
            return i
    return None


def _public_key_size(suite: sealing.Suite) -> int:
    """The size of the suite's public keys: that of the public key of a fixed private key (the
    suite contract names no size; a public key of another size cannot be one of its keys)."""
    return len(suite.public_of(bytes(32)))


def schedule_fault(schedule: Schedule, field: str = "schedule") -> ConfigFault | None:
    """Enquiries end before the deadline (Prozorro's model: answers in time to bid on them), and
    the opening is at the deadline or after it. An RFQ's enquiry period may be none at all: it
    ends before publication (``Publish`` checks that a tender's is still running)."""
    if schedule.enquiry_end_at >= schedule.submission_deadline_at:
        return _at(f"{field}.enquiry_end_at", "the enquiry period must end before the deadline")
    if schedule.opening_at < schedule.submission_deadline_at:
        return _at(f"{field}.opening_at", "the opening cannot be before the deadline")
    return None


def _award_fault(config: TenderConfig) -> ConfigFault | None:
    award = config.award
    if award.kind is AwardKind.LOWEST_PRICE:
        if award.criteria:
            return _at("award.criteria", "lowest price has no weighted criteria")
        return None
    names = tuple(c.name for c in award.criteria)
    index = _unique(names)
    if index is not None:
        return _at(f"award.criteria[{index}].name", "criteria names must be unique and non-empty")
    if PRICE not in names:
        return _at("award.criteria", "MEAT weighs the price as one of its criteria")
    if len(names) < 2:
        return _at("award.criteria", "MEAT needs at least one quality criterion besides the price")
    if sum(c.weight for c in award.criteria) != 100:
        return _at("award.criteria", "the criteria's weights must sum to 100")
    if not config.evaluators:
        return _at("evaluators", "MEAT needs evaluators to score the quality criteria")
    return None


def config_fault(config: TenderConfig) -> ConfigFault | None:  # noqa: C901 - one rule a line
    """The first rule a configuration breaks, with the field that breaks it; None if none."""
    if not config.title.strip():
        return _at("title", "title is empty")
    if config.currency not in ISO_4217:
        return _at("currency", f"currency {config.currency!r} is not a current ISO 4217 code")
    if not 0 <= config.minor_units <= 4:
        return _at("minor_units", "minor_units must be between 0 and 4")
    if not config.lots:
        return _at("lots", "at least one lot is needed")
    index = _unique(tuple(lot.lot_id for lot in config.lots))
    if index is not None:
        return _at(f"lots[{index}].lot_id", "lot ids must be unique and non-empty")
    for i, lot in enumerate(config.lots):
        if not lot.quantity.is_finite() or lot.quantity <= 0:
            return _at(f"lots[{i}].quantity", f"lot {lot.lot_id}: the quantity must be positive")
        if lot.estimated_value is not None and lot.estimated_value <= 0:
            return _at(f"lots[{i}].estimated_value",
                       f"lot {lot.lot_id}: the estimated value must be positive")
    try:
        suite = sealing.suite(config.suite)
    except sealing.UnknownSuite as exc:
        return _at("suite", str(exc))
    if len(config.public_key) != _public_key_size(suite):
        return _at("public_key", f"not a public key of the suite {config.suite} "
                   f"({_public_key_size(suite)} bytes)")
    index = _unique(config.officers)
    if index is not None:
        return _at(f"officers[{index}]", "officers must be unique and non-empty")
    if not 1 <= config.k <= config.n:
        return _at("k", f"k must be between 1 and the number of officers ({config.n})")
    fault = schedule_fault(config.schedule)
    if fault is not None:
        return fault
    index = _unique(config.evaluators)
    if index is not None:
        return _at(f"evaluators[{index}]", "evaluators must be unique and non-empty")
    fault = _award_fault(config)
    if fault is not None:
        return fault
    if config.standstill_ms < 0:
        return _at("standstill_ms", "standstill_ms must not be negative")
    if config.min_bidders < 1:
        return _at("min_bidders", "min_bidders must be at least 1")
    if config.bid_security is not None and config.bid_security <= 0:
        return _at("bid_security", "a bid security must be positive")
    if not 1 <= config.abnormally_low_pct <= 100:
        return _at("abnormally_low_pct", "abnormally_low_pct must be between 1 and 100")
    if not category_ok(config.category):
        return _at("category", "the category must be a CPV code such as 14410000-8")
    return _certificates_fault(config) or _terms_and_approval_fault(config)


def _certificates_fault(config: TenderConfig) -> ConfigFault | None:
    """Requested certificates are an RFQ's (a tender states its requirements in its documents),
    each named once as ``certificate_key`` matches them."""
    if config.requested_certificates and not config.rfq:
        return _at("requested_certificates", "requested certificates are for an RFQ "
                   "(procedure `rfq`); a tender states its requirements in its documents")
    index = _unique(tuple(certificate_key(c) for c in config.requested_certificates))
    if index is not None:
        return _at(f"requested_certificates[{index}]",
                   "requested certificates must be unique and non-empty")
    return None


def _terms_and_approval_fault(config: TenderConfig) -> ConfigFault | None:
    """Terms, if any, say something (``engine.terms``); a threshold is an amount."""
    problem = terms.fault(config.terms)
    if problem is not None:
        return _at("terms", problem)
    if isinstance(config.approval_threshold, int) and config.approval_threshold < 0:
        return _at("approval_threshold", "the approval threshold must not be negative")
    return None


# ------------------------------------------------------------------ the profiles' rules

# (config, the publication time or None) -> what breaks the rule
ProfileRule = Callable[[TenderConfig, "int | None"], "ConfigFault | None"]


def eu_time_limit(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """Directive 2014/24/EU Art. 27: an open procedure gives at least 35 days from the notice to
    the deadline, 5 fewer when tenders are submitted electronically (as here): 30 days."""
    if published_at is not None and config.schedule.submission_deadline_at - published_at < 30 * DAY_MS:
        return _at("schedule.submission_deadline_at",
                   "EU: at least 30 days from publication to the deadline (Art. 27, electronic)")
    return None


def eu_standstill(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """Remedies Directive 2007/66/EC: at least 10 calendar days between the award decision sent
    electronically and the contract."""
    if config.standstill_ms < 10 * DAY_MS:
        return _at("standstill_ms", "EU: a standstill of at least 10 days (Directive 2007/66/EC)")
    return None


def china_time_limit(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """招标投标法 Art. 24: at least 20 days from issuing the documents to the deadline."""
    if published_at is not None and config.schedule.submission_deadline_at - published_at < 20 * DAY_MS:
        return _at("schedule.submission_deadline_at",
                   "China: at least 20 days from publication to the deadline (Law Art. 24)")
    return None


def china_clarification_period(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """招标投标法 Art. 23: clarifications at least 15 days before the deadline, so the enquiry
    period ends 15 days before it at the latest."""
    schedule = config.schedule
    if schedule.submission_deadline_at - schedule.enquiry_end_at < 15 * DAY_MS:
        return _at("schedule.enquiry_end_at",
                   "China: enquiries end at least 15 days before the deadline (Law Art. 23)")
    return None


def china_public_opening(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """招标投标法 Art. 34: the opening is public, at the deadline itself."""
    if config.schedule.opening_at != config.schedule.submission_deadline_at:
        return _at("schedule.opening_at", "China: the opening is at the deadline (Law Art. 34)")
    return None


def china_min_bidders(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """招标投标法 Art. 28: fewer than three bidders means the tender is run again."""
    if config.min_bidders < 3:
        return _at("min_bidders", "China: at least 3 bidders (Law Art. 28)")
    return None


def china_bid_security(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """实施条例 Art. 26: a bid security of at most 2% of the estimated price, which must then be
    stated."""
    if config.bid_security is None:
        return None
    if any(lot.estimated_value is None for lot in config.lots):
        return _at("lots", "China: a bid security needs every lot's estimated value (Reg. Art. 26)")
    estimated = sum(lot.estimated_value for lot in config.lots)
    if config.bid_security * 100 > estimated * 2:
        return _at("bid_security",
                   "China: the bid security is at most 2% of the estimated value (Reg. Art. 26)")
    return None


def china_committee(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """招标投标法 Art. 37: an evaluation committee of five or more members, an odd number."""
    count = len(config.evaluators)
    if count < 5 or count % 2 == 0:
        return _at("evaluators", "China: an evaluation committee of 5 or more, odd (Law Art. 37)")
    return None


def china_publicity_period(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """实施条例 Art. 54: the winning candidates are published for at least 3 days, the standstill
    in which bidders may object."""
    if config.standstill_ms < 3 * DAY_MS:
        return _at("standstill_ms", "China: candidates are published for at least 3 days (Reg. Art. 54)")
    return None


def china_rfq_suppliers(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """政府采购法 Art. 40: an RFQ (询价) asks no fewer than three suppliers, so fewer than three
    quotes at the deadline make it unsuccessful."""
    if config.min_bidders < 3:
        return _at("min_bidders", "China: an RFQ needs quotes from at least 3 suppliers "
                   "(Government Procurement Law Art. 40)")
    return None


def china_rfq_time_limit(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """政府采购非招标采购方式管理办法 Art. 45: at least 3 working days from the request to the
    deadline. The engine has no holiday calendar, so it checks the floor those days cannot be
    under, 3 calendar days; the working days are the buyer's to count."""
    deadline = config.schedule.submission_deadline_at
    if published_at is not None and deadline - published_at < 3 * DAY_MS:
        return _at("schedule.submission_deadline_at", "China: an RFQ gives at least 3 working "
                   "days from publication to the deadline (Non-Tender Measures Art. 45)")
    return None


PROFILE_RULES: dict[Profile, tuple[ProfileRule, ...]] = {
    Profile.EU: (eu_time_limit, eu_standstill),
    Profile.CHINA: (
        china_time_limit, china_clarification_period, china_public_opening, china_min_bidders,
        china_bid_security, china_committee, china_publicity_period,
    ),
    Profile.NONE: (),
}


# An RFQ is not a tender: the EU Directive's time limits and standstill are those of the open
# procedure for contracts above its thresholds (a small purchase by quotations is national law's,
# which the buyer applies), and China's Tendering Law is not what governs 询价 (the Government
# Procurement Law is: at least three suppliers, three working days, a bid security of at most 2%
# (Measures Art. 14, as the Regulations' Art. 26 for tenders), no committee of five, no public
# opening). A quote is also given once in China (Art. 40(3): ``submissions.once_only``).
RFQ_PROFILE_RULES: dict[Profile, tuple[ProfileRule, ...]] = {
    Profile.EU: (),
    Profile.CHINA: (china_rfq_suppliers, china_rfq_time_limit, china_bid_security),
    Profile.NONE: (),
}


def profile_fault(config: TenderConfig, published_at: int | None) -> ConfigFault | None:
    """The first rule of the tender's profile (for its procedure) it breaks, published at
    ``published_at`` (None: a draft, whose time limits are checked at publication)."""
    rules = RFQ_PROFILE_RULES if config.rfq else PROFILE_RULES
    for rule in rules[config.profile]:
        fault = rule(config, published_at)
        if fault is not None:
            return fault
    return None


def change_fault(config: TenderConfig, schedule: Schedule, at: int) -> ConfigFault | None:
    """Documents changed at ``at`` with this schedule from then on: China's Law Art. 23 wants a
    change at least 15 days before the deadline (moved later if need be)."""
    if (config.profile is Profile.CHINA and not config.rfq
            and schedule.submission_deadline_at - at < 15 * DAY_MS):
        return ConfigFault("submission_deadline_at", "China: a change of the documents at least "
                           "15 days before the deadline (Law Art. 23): move the deadline")
    return None
