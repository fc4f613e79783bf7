"""Terms a supplier accepts before it bids: the one home of the rule, for every format.

An event's configuration may carry ``terms`` (the conditions of participation, as text). A
supplier accepts them by their hash, the SHA-256 of the text's UTF-8 bytes as ``sha256:<hex>``:
what it accepted is then exactly the text it was shown, whatever is configured later. Each new
text is a new version (1 for the first); a change of the text makes every earlier acceptance
stale, so the supplier accepts again before its next bid. Without terms nothing is to be accepted
and nothing is refused for them.

Who is refused what: a bid for a supplier that has not accepted the current version
(``terms_not_accepted``), whoever sends it, the buyer's phone-in bid included (the supplier
accepts for itself: a buyer cannot consent for it); an acceptance of another text than the current
one (``stale_terms``). An acceptance of the version already accepted is answered as done without
a second event (a resend). The formats keep a ``TermsRecord`` in their state, folded from their
configuration events and their ``terms_accepted`` events.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Annotated

import msgspec
from msgspec import UnsetType

from .rejections import Reason, Rejection
from .values import Actor, Role

MAX_TERMS = 20_000  # characters

TermsText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TERMS, description=(
    "Terms a supplier accepts (`POST .../terms/acceptance` with their hash) before it may bid; "
    "a change of the text makes earlier acceptances stale. Absent: no terms"))]
TermsHash = Annotated[str, msgspec.Meta(pattern=r"^sha256:[0-9a-f]{64}$", description=(
    "The terms accepted: `sha256:<hex>` of their UTF-8 text, as the view's `terms.hash` says"))]


def terms_hash(text: str) -> str:
    """What a supplier accepts: the digest of the very text it was shown."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def fault(text: str | UnsetType) -> str | None:
    """What is wrong with configured terms (a configuration's rule), or None."""
    if isinstance(text, str) and not text.strip():
        return "the terms are blank: leave them out for an event without terms"
    return None


@dataclass(slots=True)
class Acceptance:
    """A supplier's latest acceptance: which version of the terms, when, by whom."""

    version: int
    hash: str
    at: int
    user: str = ""


@dataclass(slots=True)
class TermsRecord:
    """An event's terms as they stand, and each supplier's latest acceptance."""

    version: int = 0  # of the current terms; 0: there never were any
    hash: str = ""  # the current terms' (``terms_hash``); "": none now
    accepted: dict[str, Acceptance] = field(default_factory=dict)  # supplier ->

    def configure(self, text: str | UnsetType) -> None:
        """A configuration was created or replaced (``evolve``): a new text is a new version;
        leaving the terms out leaves none to accept (a later text is a version after it)."""
        new = terms_hash(text) if isinstance(text, str) else ""
        if new and new != self.hash:
            self.version += 1
        self.hash = new

    def accept(self, supplier: str, version: int, hash_: str, at: int, user: str) -> None:
        self.accepted[supplier] = Acceptance(version, hash_, at, user)

    def accepted_now(self, supplier: str) -> bool:
        """Whether the supplier may bid as far as the terms go: none, or their version accepted."""
        if not self.hash:
            return True
        mine = self.accepted.get(supplier)
        return mine is not None and mine.version == self.version


def acceptance_refusal(record: TermsRecord, actor: Actor, invited: bool,
                       hash_: str) -> Rejection | None:
    """Why an acceptance of the terms by their hash is refused: not an invited supplier's own,
    or not of the current terms."""
    if actor.role is not Role.SUPPLIER:
        return Rejection(reason=Reason.FORBIDDEN,
                         detail="suppliers accept the terms, for themselves")
    if not invited:
        return Rejection(reason=Reason.NOT_INVITED, detail="not invited to this event")
    if not record.hash:
        return Rejection(reason=Reason.STALE_TERMS, detail="this event has no terms to accept")
    if hash_ != record.hash:
        return Rejection(reason=Reason.STALE_TERMS, detail=(
            f"these are not the current terms (version {record.version}): read them again"))
    return None


def acceptance(record: TermsRecord, actor: Actor, invited: bool,
               hash_: str) -> Rejection | dict[str, object] | None:
    """An acceptance decided, for every format: its refusal; None when the supplier accepted
    these terms already (done: nothing to record); else the fields of the format's
    ``terms_accepted`` event (``supplier``, ``hash``, ``version``)."""
    refusal = acceptance_refusal(record, actor, invited, hash_)
    if refusal is not None:
        return refusal
    if record.accepted_now(actor.party):
        return None
    return {"supplier": actor.party, "hash": record.hash, "version": record.version}


def bid_refusal(record: TermsRecord, supplier: str, phoned_in: bool) -> Rejection | None:
    """Why a bid for ``supplier`` is refused for the terms (None: it is not)."""
    if record.accepted_now(supplier):
        return None
    detail = f"the terms (version {record.version}) must be accepted before bidding"
    if phoned_in:
        detail = (f"{supplier} has not accepted the terms (version {record.version}): it "
                  "accepts them itself")
    return Rejection(reason=Reason.TERMS_NOT_ACCEPTED, detail=detail)


# ------------------------------------------------------------------ what the views show


class TermsView(msgspec.Struct, frozen=True, kw_only=True):
    """The current terms, for everyone who may see the event."""

    text: str
    hash: str  # what an acceptance names
    version: int


class AcceptanceView(msgspec.Struct, frozen=True, kw_only=True):
    """A supplier's latest acceptance, as the buyer sees it."""

    supplier: str
    version: int
    hash: str
    at: int
    user: str
    current: bool  # of the current terms: the supplier may bid as far as the terms go


def terms_view(record: TermsRecord, text: str | UnsetType) -> TermsView | None:
    if not isinstance(text, str):
        return None
    return TermsView(text=text, hash=record.hash, version=record.version)


def acceptances(record: TermsRecord) -> tuple[AcceptanceView, ...]:
    """Who accepted which version (the buyer's), by supplier id."""
    return tuple(
        AcceptanceView(supplier=supplier, version=a.version, hash=a.hash, at=a.at, user=a.user,
                       current=bool(record.hash) and a.version == record.version)
        for supplier, a in sorted(record.accepted.items())
    )
