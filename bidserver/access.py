"""Who may look at which auction: the server-side check behind every read and every socket.

Buyers see only their own organisation's auctions, suppliers only auctions they are invited to,
observers the auctions of the buyer organisation named in their token (an auditor or a public
viewing portal acting for that organisation), always anonymised (the engine's views decide what
each role sees *inside* an auction; this module decides whether they see it at all). An observer
token of one organisation must not open every other organisation's prices. An auction a principal may not see
is reported as unknown, so its existence does not leak either.
"""

from __future__ import annotations

from .engine import AuctionState
from .engine.values import Role
from .auth import Principal


def may_see(principal: Principal, state: AuctionState) -> bool:
    if principal.role is Role.BUYER:
        return state.buyer == principal.party
    if principal.role is Role.SUPPLIER:
        return principal.party in state.suppliers
    if principal.role is Role.OBSERVER:
        return state.buyer == principal.party
    return False
