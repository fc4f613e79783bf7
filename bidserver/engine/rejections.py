"""A refused command is data, not an exception: a reason code the client can act on.

Bugs are exceptions; refusals are :class:`Rejection` values. The edge maps both to wire codes in one
place (``bidserver.wire``).
"""

from __future__ import annotations

import enum

import msgspec


class Reason(enum.StrEnum):
    # who may do what
    FORBIDDEN = "forbidden"  # the actor's role may not send this command
    NOT_INVITED = "not_invited"  # the supplier is not invited to this auction
    # lifecycle
    UNKNOWN_AUCTION = "unknown_auction"  # any command but create on an empty state
    ALREADY_EXISTS = "already_exists"
    INVALID_CONFIG = "invalid_config"
    CONFIG_LOCKED = "config_locked"  # configuration changes after the auction opened
    ALREADY_INVITED = "already_invited"
    ALREADY_STARTED = "already_started"
    AUCTION_NOT_OPEN = "auction_not_open"  # not yet open
    AUCTION_PAUSED = "auction_paused"
    AUCTION_CLOSED = "auction_closed"
    AUCTION_CANCELLED = "auction_cancelled"
    NOT_PAUSED = "not_paused"
    # lots and bids
    UNKNOWN_LOT = "unknown_lot"
    LOT_CLOSED = "lot_closed"
    INVALID_AMOUNT = "invalid_amount"  # zero, negative
    ABOVE_CEILING = "above_ceiling"
    DECREMENT_TOO_SMALL = "decrement_too_small"
    TIE_NOT_ALLOWED = "tie_not_allowed"
    CONFIRMATION_REQUIRED = "confirmation_required"  # fat-finger guard
    RATE_LIMITED = "rate_limited"
    DUPLICATE_BID_ID = "duplicate_bid_id"  # a bid id reused for a different bid
    UNKNOWN_BID = "unknown_bid"
    ALREADY_VOIDED = "already_voided"
    UNKNOWN_SUPPLIER = "unknown_supplier"
    INVALID_EXTENSION = "invalid_extension"
    # award
    LOT_NOT_CLOSED = "lot_not_closed"
    ALREADY_AWARDED = "already_awarded"
    REASON_REQUIRED = "reason_required"
    NO_VALID_BID = "no_valid_bid"
    # sealed tenders
    WRONG_PHASE = "wrong_phase"  # not at this stage of the tender (the detail names both)
    DEADLINE_PASSED = "deadline_passed"  # a bid, revision, withdrawal or change after the deadline
    NOT_SEALED = "not_sealed"  # not a bid sealed with the tender's suite: a plaintext is refused
    COMMITMENT_MISMATCH = "commitment_mismatch"  # the commitment is not the sealed bytes' digest
    BAD_SIGNATURE = "bad_signature"  # a bid's signature is not its supplier's registered key's
    NO_SIGNING_KEY = "no_signing_key"  # a signed bid from a supplier with no registered key
    SIGNATURE_REQUIRED = "signature_required"  # an unsigned bid where the tender requires signing
    STALE_DOCUMENTS = "stale_documents"  # a confirmation against documents no longer current
    ENQUIRIES_CLOSED = "enquiries_closed"
    UNKNOWN_QUESTION = "unknown_question"
    ALREADY_ANSWERED = "already_answered"
    OPENING_NOT_DUE = "opening_not_due"  # a key share before the opening time
    INVALID_SHARE = "invalid_share"  # not a key share of this tender's key
    ALREADY_PRESENTED = "already_presented"  # this officer's share is in already
    INVALID_SCORE = "invalid_score"
    EVALUATION_INCOMPLETE = "evaluation_incomplete"  # bids to qualify or scores to give first
    UNKNOWN_COMPLAINT = "unknown_complaint"
    # terms (``engine.terms``) and approval of awards (``engine.approval``)
    TERMS_NOT_ACCEPTED = "terms_not_accepted"  # a bid before the current terms were accepted
    STALE_TERMS = "stale_terms"  # an acceptance of terms that are not the current ones
    APPROVAL_PENDING = "approval_pending"  # a proposed award awaits approval: decide it first
    SAME_USER = "same_user"  # four eyes: who proposed an award does not approve it
    NOTHING_TO_APPROVE = "nothing_to_approve"  # no award proposed
    # supplier admission (the registry: ``engine/admission``)
    NOT_REGISTERED = "not_registered"  # no record for this supplier in the registry
    ALREADY_REGISTERED = "already_registered"  # a registration different from the one on record
    INVALID_REGISTRATION = "invalid_registration"  # the field says which (country, categories)
    INVALID_IDENTIFIER = "invalid_identifier"  # not a valid company identifier of its country
    UNKNOWN_CATEGORY = "unknown_category"  # not a CPV 2008 code
    NOT_APPLIED = "not_applied"  # a decision on a category the supplier has not applied for
    UNKNOWN_DOCUMENT = "unknown_document"  # not a document of the record (or not a certificate)
    CERTIFICATE_EXPIRED = "certificate_expired"
    INVALID_PERIOD = "invalid_period"  # an end not after its start, a start in the past
    UNKNOWN_RESTRICTION = "unknown_restriction"
    ALREADY_LIFTED = "already_lifted"  # lifted, or ended by time
    UNKNOWN_APPEAL = "unknown_appeal"
    INVALID_RATING = "invalid_rating"  # a mark outside 1..5
    LIMIT_REACHED = "limit_reached"  # too many categories, documents or open appeals
    IDENTIFIER_TAKEN = "identifier_taken"  # the identifier is another supplier's on record
    CONTENDED = "contended"  # the record changed under every attempt to change it: retry
    SUPPLIER_NOT_ELIGIBLE = "supplier_not_eligible"  # the registry's standing refuses it (detail)
    # a supplier's standing, pushed in by the supplier registry (``engine.standing``)
    SUPPLIER_RESTRICTED = "supplier_restricted"  # suspended, blacklisted, a qualification lapsed
    # conflicts of interest of a tender's officers and evaluators (``engine.tender.conflicts``)
    DECLARATION_REQUIRED = "declaration_required"  # declare your interests first
    CONFLICTED = "conflicted"  # you declared a conflict: removed from the tender's work
    ALREADY_DECLARED = "already_declared"  # a declaration is made once


class Rejection(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    reason: Reason
    detail: str = ""  # human-readable, safe to show to the sender
    max_amount: int | None = None  # for price refusals: the highest amount that would be accepted
    field: str | None = None  # where the refused value is in the command ("config.lots[0].reserve")
    retry_after_ms: int | None = None  # for rate limits: how long until the same bid may pass
