"""The arithmetic of the rules, in integers: steps, limits, ends, the fat-finger guard.

Kept apart from ``decide`` so each rule is a small function with one job, shared by ``decide``
and by the views (which show a supplier its next acceptable amount).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

import iso4217
import msgspec

from .. import terms
from ..values import CPV_PATTERN
from .events import LotEnd
from .values import AuctionConfig, BidRule, DecrementKind, LotCloseMode, Visibility

# The codes of ISO 4217's current list (its table A.1, as the ``iso4217`` package ships it, dated by
# the package's version): a price in anything else is no price an award could be published in
# (the OCDS schema refuses such a release). Withdrawn codes (DEM, FRF) are not in it. Checked when
# a configuration is decided, never on replay: a journal keeps the currency it was created with.
ISO_4217 = frozenset(currency.code for currency in iso4217.Currency)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ConfigFault(NamedTuple):
    """What is wrong with a configuration, and where: ``field`` is the path of the offending
    value in the command (``config.lots[0].reserve``), so an edge can show the refusal next to
    the field a person typed it in."""

    field: str
    message: str


def config_problem(config: AuctionConfig) -> str:
    """What is wrong with a configuration, or "" if nothing."""
    fault = config_fault(config)
    return "" if fault is None else fault.message


def config_fault(config: AuctionConfig) -> ConfigFault | None:  # noqa: C901 - one rule a line
    """The first rule a configuration breaks, with the field that breaks it; None if none."""

    def at(field: str, message: str) -> ConfigFault:
        return ConfigFault(f"config.{field}" if field else "config", message)

    if not config.title.strip():
        return at("title", "title is empty")
    if config.currency not in ISO_4217:
        return at("currency", f"currency {config.currency!r} is not a current ISO 4217 code (such as EUR)")
    if not config.lots:
        return at("lots", "at least one lot is needed")
    ids = [lot.lot_id for lot in config.lots]
    for i, lot_id in enumerate(ids):
        if not lot_id.strip() or lot_id in ids[:i]:
            return at(f"lots[{i}].lot_id", "lot ids must be unique and non-empty")
    for i, lot in enumerate(config.lots):
        if lot.ceiling <= 0:
            return at(f"lots[{i}].ceiling", f"lot {lot.lot_id}: the ceiling must be positive")
        if lot.reserve is not None and not 0 < lot.reserve <= lot.ceiling:
            return at(f"lots[{i}].reserve",
                      f"lot {lot.lot_id}: the reserve must be positive and at most the ceiling")
        if not lot.quantity.is_finite() or lot.quantity <= 0:  # NaN, sNaN, Infinity: refused
            return at(f"lots[{i}].quantity",
                      f"lot {lot.lot_id}: the quantity must be a positive finite number")
    if config.duration_ms <= 0:
        return at("duration_ms", "duration_ms must be positive")
    if config.decrement.value <= 0:
        return at("decrement.value", "the decrement must be positive")
    if config.decrement.kind is DecrementKind.PERCENT and config.decrement.value > 10_000:
        return at("decrement.value", "a percentage decrement is at most 10000 basis points")
    if config.stagger_ms < 0:
        return at("stagger_ms", "stagger_ms must not be negative")
    if config.lot_close is LotCloseMode.STAGGERED and len(config.lots) > 1 and config.stagger_ms == 0:
        return at("stagger_ms", "staggered lots need stagger_ms > 0")
    soft = config.soft_close
    if soft is not None:
        if soft.window_ms <= 0:
            return at("soft_close.window_ms", "soft close window_ms and extension_ms must be positive")
        if soft.extension_ms <= 0:
            return at("soft_close.extension_ms", "soft close window_ms and extension_ms must be positive")
        if soft.max_extensions is not None and soft.max_extensions < 0:
            return at("soft_close.max_extensions", "max_extensions must not be negative")
    if config.fat_finger_bp is not None and not 0 < config.fat_finger_bp <= 10_000:
        return at("fat_finger_bp", "fat_finger_bp must be between 1 and 10000")
    if config.min_bid_interval_ms < 0:
        return at("min_bid_interval_ms", "min_bid_interval_ms must not be negative")
    if not 0 <= config.minor_units <= 4:
        return at("minor_units", "minor_units must be between 0 and 4")
    if config.start_at is not None and config.start_at < 0:
        return at("start_at", "start_at must be a time in ms since the epoch")
    if not category_ok(config.category):
        return at("category", "the category must be a CPV code such as 14410000-8")
    return _opening_bids_fault(config, at) or _terms_and_approval_fault(config, at)


def category_ok(category: str | msgspec.UnsetType) -> bool:
    """A configuration's category is a CPV code's shape, or none (whether the list has it is the
    edge's check: ``engine.admission``)."""
    return category is msgspec.UNSET or re.fullmatch(CPV_PATTERN, category) is not None


def _opening_bids_fault(config: AuctionConfig, at) -> ConfigFault | None:
    """Opening bids name lots of the auction, at most their ceilings, one per supplier and lot
    (whether their suppliers are invited is checked when the auction starts)."""
    ceilings = {lot.lot_id: lot.ceiling for lot in config.lots}
    seen: set[tuple[str, str]] = set()
    for i, bid in enumerate(config.opening_bids or ()):
        if bid.lot_id not in ceilings:
            return at(f"opening_bids[{i}].lot_id", f"no lot {bid.lot_id}")
        if not 0 < bid.amount <= ceilings[bid.lot_id]:
            return at(f"opening_bids[{i}].amount",
                      f"lot {bid.lot_id}: an opening bid is positive and at most the ceiling")
        if (bid.lot_id, bid.supplier) in seen:
            return at(f"opening_bids[{i}].supplier",
                      f"{bid.supplier} has an opening bid on lot {bid.lot_id} already")
        seen.add((bid.lot_id, bid.supplier))
    return None


def _terms_and_approval_fault(config: AuctionConfig, at) -> ConfigFault | None:
    """Terms, if any, say something (``engine.terms``); a threshold is an amount."""
    problem = terms.fault(config.terms)
    if problem is not None:
        return at("terms", problem)
    if isinstance(config.approval_threshold, int) and config.approval_threshold < 0:
        return at("approval_threshold", "the approval threshold must not be negative")
    return None


def lot_ends(config: AuctionConfig, open_at: int) -> tuple[LotEnd, ...]:
    """Parallel: every lot ends together; staggered: lot i ends i * stagger_ms after the first."""
    staggered = config.lot_close is LotCloseMode.STAGGERED
    return tuple(
        LotEnd(lot.lot_id, open_at + config.duration_ms + (i * config.stagger_ms if staggered else 0))
        for i, lot in enumerate(config.lots)
    )


def step(config: AuctionConfig, reference: int) -> int:
    """The minimum decrement from a reference price (percentages rounded up: never zero)."""
    if config.decrement.kind is DecrementKind.AMOUNT:
        return config.decrement.value
    return max(1, ceil_div(reference * config.decrement.value, 10_000))


def max_acceptable(config: AuctionConfig, lot, supplier: str, ceiling: int) -> int:
    """The highest amount this supplier may bid on this lot now."""
    own = lot.best.get(supplier)
    reference = None
    if config.bid_rule is BidRule.BEAT_LEADER:
        leader = lot.leader()
        if leader is not None:
            reference = leader.amount
    elif own is not None:
        reference = own.amount
    if reference is None:
        return ceiling if own is None else min(ceiling, own.amount - step(config, own.amount))
    limit = reference - step(config, reference)
    if own is not None:  # never worse than improving one's own best
        limit = min(limit, own.amount - step(config, own.amount))
    return min(ceiling, limit)


def told_limit(config: AuctionConfig, lot, supplier: str, limit: int) -> int | None:
    """``limit`` (``max_acceptable``) as the supplier may be told it, in a refusal's
    ``max_amount`` and in its view's ``max_bid``; None where telling it would tell more than the
    auction shows. Under rank-only visibility with "beat the leading bid" the limit is the
    leader's price minus a step, so only the leader itself (which knows its own price) is told.
    Not even a supplier on a lot nobody has bid on: its limit (the ceiling) would then vanish at
    the first bid, telling it that someone bid (a refusal never meets that case: with no bid on
    the lot, nothing under the ceiling is refused for its price)."""
    if config.visibility is Visibility.RANK_ONLY and config.bid_rule is BidRule.BEAT_LEADER:
        leader = lot.leader()
        if leader is None or leader.supplier != supplier:
            return None
    return limit


def confirm_below(config: AuctionConfig, lot, supplier: str, ceiling: int) -> int | None:
    """The fat-finger guard's threshold: a bid below it drops more than ``fat_finger_bp`` from
    the supplier's last valid bid (or the ceiling for a first bid) and must be confirmed; None
    without a guard. ``(reference - amount) * 10_000 > reference * bp`` is
    ``amount * 10_000 < reference * (10_000 - bp)``, and for an integer amount that is
    ``amount < ceil(reference * (10_000 - bp) / 10_000)``."""
    if config.fat_finger_bp is None:
        return None
    last = lot.last.get(supplier)
    reference = last.amount if last is not None else ceiling
    return ceil_div(reference * (10_000 - config.fat_finger_bp), 10_000)


def needs_confirmation(config: AuctionConfig, lot, supplier: str, ceiling: int, amount: int) -> bool:
    """Fat-finger guard: whether the bid is below ``confirm_below``, the one threshold the
    supplier's view shows too."""
    threshold = confirm_below(config, lot, supplier, ceiling)
    return threshold is not None and amount < threshold


def stagger_pushes(state, ends: dict[str, int | None]) -> Iterator[tuple[str, int]]:
    """In staggered mode, later open lots keep at least stagger_ms after the lot before them."""
    config = state.config
    if config.lot_close is not LotCloseMode.STAGGERED:
        return
    previous: int | None = None
    for spec in config.lots:
        end = ends.get(spec.lot_id)
        lot = state.lots[spec.lot_id]
        if end is None:
            continue
        if previous is not None and lot.phase.value == "open" and end < previous + config.stagger_ms:
            end = previous + config.stagger_ms
            ends[spec.lot_id] = end
            yield spec.lot_id, end
        previous = end
