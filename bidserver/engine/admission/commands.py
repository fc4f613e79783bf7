"""Commands: what an actor asks of one supplier's record. Each carries its actor and the time
``at`` (ms), as the shell read it: the registry never reads a clock.

Who sends what: the supplier itself (its own record only) registers, updates its registration,
hands in documents, applies for categories and appeals; the platform's reviewers decide categories,
restrict and lift, and answer appeals; a buyer rates; the server's sweeper records what time did.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from ..values import Actor, Id, Name, Text
from .values import (
    MAX_CATEGORIES, MAX_CERTIFICATES, CpvCode, DocumentKind, DocumentNumber, DocumentTitle,
    Filename, Mark, Registration, RestrictionKind, Sha256, Size,
)


class _Command(
    msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True, tag_field="type", gc=False
):
    actor: Actor
    at: int


# ------------------------------------------------------------------ the supplier's own


class Register(_Command, tag="register"):
    """The record's id is the actor's organisation (the supplier token's ``org``)."""

    registration: Registration


class UpdateRegistration(_Command, tag="update_registration"):
    """Replaces the registration. Its categories are the whole set applied for: a new one is
    pending review, one left out is withdrawn with its decision."""

    registration: Registration


class AddDocument(_Command, tag="add_document"):
    """What a file handed in says; its bytes are already in the file store under ``sha256``, and
    ``size`` is what the store holds (the edge fills it, not the client)."""

    sha256: Sha256
    kind: DocumentKind
    title: DocumentTitle
    valid_from: int
    filename: Filename
    size: Size
    issuer: Name = ""
    number: DocumentNumber = ""
    expires_at: int | None = None


class ApplyForCategories(_Command, tag="apply_for_categories"):
    """Adds categories to those applied for; a rejected one applied for again is pending again."""

    categories: Annotated[tuple[CpvCode, ...], msgspec.Meta(min_length=1, max_length=MAX_CATEGORIES)]


class LodgeAppeal(_Command, tag="lodge_appeal"):
    appeal_id: Id
    about: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]  # a category or a restriction id
    text: Text


# ------------------------------------------------------------------ the platform's reviewers


class Qualify(_Command, tag="qualify"):
    """The supplier is qualified in a category it applied for, on these certificates of its
    record (possibly none): the qualification lapses when one of them expires."""

    category: CpvCode
    certificates: Annotated[tuple[Sha256, ...], msgspec.Meta(max_length=MAX_CERTIFICATES)] = ()
    reason: Text = ""


class Reject(_Command, tag="reject"):
    category: CpvCode
    reason: Text  # required: the supplier is told why, and may appeal


class Restrict(_Command, tag="restrict"):
    """Suspends or blacklists the supplier in every category, from ``start_at`` (default: now) to
    ``end_at`` (None: until lifted)."""

    kind: RestrictionKind
    reason: Text
    start_at: int | None = None
    end_at: int | None = None


class Lift(_Command, tag="lift"):
    restriction_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    reason: Text


class AnswerAppeal(_Command, tag="answer_appeal"):
    """The answer, upheld or not. Upholding changes nothing by itself: the reviewer then
    qualifies or lifts, each its own recorded decision."""

    appeal_id: Id
    upheld: bool
    answer: Text


# ------------------------------------------------------------------ buyers and time


class Rate(_Command, tag="rate"):
    """A buyer's marks for the supplier's work in one event (the edge checks that the buyer ran
    the event and awarded it to the supplier)."""

    event_id: Id
    delivery: Mark
    quality: Mark
    service: Mark
    comment: Text = ""


class Sweep(_Command, tag="sweep"):
    """The server's sweeper (system actor): record what time did by ``at`` (certificates expired,
    restrictions started or ended), for the history and the search indexes. Standing never
    waits for it: ``standing`` reads the time itself."""


Command = (
    Register
    | UpdateRegistration
    | AddDocument
    | ApplyForCategories
    | LodgeAppeal
    | Qualify
    | Reject
    | Restrict
    | Lift
    | AnswerAppeal
    | Rate
    | Sweep
)
