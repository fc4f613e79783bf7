"""Tokens, roles and Origin checks: who is on the other end of a request or a live room.

Tokens are JWTs (PyJWT) so that the procurement platform in front of bidserver, which already knows
its users, can issue them: with a secret it shares with bidserver (HS256), or with its private key
(RS256/ES256/EdDSA, bidserver holding only the public key, so bidserver cannot mint tokens then).
Claims: ``sub`` (user), ``role`` (buyer | supplier | observer | platform: the party's side),
``org`` (the party: buyer organisation, supplier id, observer id, the platform operator), optional
``name``, optional ``roles`` (the person's team roles, each of the ``role``'s side: see
``engine.permissions``; absent, the side's defaults), and ``iss``, ``aud``, ``exp``.
The ``system`` role exists only inside the server (timer ticks) and is never accepted from a token.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from . import clock
from .config import Settings, resolve_jwt_key
from .engine.permissions import SIDE
from .engine.values import Actor, Role, TeamRole

TOKEN_ROLES = frozenset({Role.BUYER, Role.SUPPLIER, Role.OBSERVER, Role.PLATFORM})
LEEWAY_S = 5  # tolerated clock skew between the token issuer and this server


class Principal(msgspec.Struct, frozen=True):
    """A verified caller. ``party`` is what the engine's rules see; ``user`` is for the record.

    ``expires_at`` is the token's ``exp`` (ms since the epoch): a live room outlives its handshake,
    so the socket is closed when the token would no longer pass one (see ``refused_after_ms``).
    """

    role: Role
    party: str
    user: str
    name: str = ""
    expires_at: int | None = None
    roles: frozenset[TeamRole] | None = None  # the token's ``roles``; None: the side's defaults

    @property
    def actor(self) -> Actor:
        return Actor(self.role, self.party, self.user, self.roles)

    @property
    def refused_after_ms(self) -> int | None:
        """When this server starts refusing the token: ``exp`` plus the tolerated clock skew, the
        very instant ``TokenVerifier.verify`` would answer ``expired_token``."""
        return None if self.expires_at is None else self.expires_at + LEEWAY_S * 1000


class AuthError(Exception):
    """``reason`` is machine-readable (sent to clients): missing_token, invalid_token,
    expired_token, bad_role, origin_not_allowed."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class TokenVerifier:
    """Verifies tokens with one key and a fixed list of algorithms.

    The algorithms follow from the key, never from the token's header: an HS256 secret accepts
    only HS256, a public key only the algorithms of its type. That rules out the classic
    confusion attack (an HS256 token "signed" with the public key) and ``alg: none``.
    """

    def __init__(
        self,
        key: str,
        *,
        algorithms: Sequence[str] = ("HS256",),
        issuer: str = "bidserver",
        audience: str = "bidserver",
    ) -> None:
        self._key = key
        self._algorithms = list(algorithms)
        self._issuer = issuer
        self._audience = audience

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        if settings.jwt_public_key_file is not None:
            key = Path(settings.jwt_public_key_file).read_text()
            algorithms = public_key_algorithms(key)
        else:
            key, algorithms = resolve_jwt_key(settings), ["HS256"]
        return cls(key, algorithms=algorithms, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub", "role", "org"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("expired_token") from None
        except jwt.PyJWTError as exc:
            raise AuthError("invalid_token", str(exc)) from None
        role = claims["role"]
        if not isinstance(role, str) or role not in TOKEN_ROLES:
            raise AuthError("bad_role", f"role {role!r} cannot be used in a token")
        party, user, name = claims["org"], claims["sub"], claims.get("name", "")
        if not (isinstance(party, str) and party and isinstance(user, str) and user):
            raise AuthError("invalid_token", "org and sub must be non-empty strings")
        if not isinstance(name, str):
            raise AuthError("invalid_token", "name must be a string")
        roles = None
        if "roles" in claims:
            try:
                roles = team_roles(Role(role), claims["roles"])
            except ValueError as exc:
                raise AuthError("bad_role", str(exc)) from None
        expires_at = int(claims["exp"]) * 1000  # as PyJWT reads it (the claim may be a float)
        return Principal(Role(role), party, user, name, expires_at=expires_at, roles=roles)


def team_roles(role: Role, names: object) -> frozenset[TeamRole]:
    """The team roles a token's ``roles`` claim names for a party of ``role``: a non-empty list
    of team role names, each of that side (``permissions.SIDE``). Anything else is a ValueError:
    a supplier's token naming an auditor, or a typo, must not quietly fall back to the defaults
    (a person meant to only read would then act)."""
    if not isinstance(names, list) or not names:
        raise ValueError("roles must be a non-empty list of team roles")
    roles = set()
    for name in names:
        try:
            team_role = TeamRole(name)
        except ValueError:
            raise ValueError(f"{name!r} is not a team role") from None
        if SIDE[team_role] is not role:
            raise ValueError(f"{name} is a {SIDE[team_role]}'s role, not a {role}'s")
        roles.add(team_role)
    return frozenset(roles)


def public_key_algorithms(pem: str) -> list[str]:
    """The JWT algorithms a PEM public key can verify (RSA: RS*/PS*, EC: its curve's ES*, Ed: EdDSA)."""
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ValueError(f"not a PEM public key: {exc}") from None
    if isinstance(key, rsa.RSAPublicKey):
        return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
    if isinstance(key, ec.EllipticCurvePublicKey):
        by_curve = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512", "secp256k1": "ES256K"}
        if key.curve.name in by_curve:
            return [by_curve[key.curve.name]]
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return ["EdDSA"]
    raise ValueError(f"unsupported public key type for JWT: {type(key).__name__}")


def mint_token(
    key: str,
    *,
    role: str | Role,
    party: str,
    user: str | None = None,
    name: str = "",
    ttl_s: int = 8 * 3600,
    issuer: str = "bidserver",
    audience: str = "bidserver",
    now: int | None = None,
    algorithm: str = "HS256",
    roles: Iterable[str | TeamRole] | None = None,
) -> str:
    """A signed token, as the platform in front of bidserver would issue it (development and tests).

    ``user`` defaults to ``party``; ``key`` is the HS256 secret, or a PEM private key with another
    ``algorithm``. ``roles``: the person's team roles (None: no claim, the side's defaults).
    Refuses the ``system`` role, which no token may carry, and team roles the verifier would
    refuse (``team_roles``).
    """
    role = Role(role)
    if role not in TOKEN_ROLES:
        raise ValueError(f"role {role} cannot be put in a token")
    if not party:
        raise ValueError("party (org) must not be empty")
    named = None if roles is None else sorted(team_roles(role, [str(r) for r in roles]))
    issued = clock.now_ms() // 1000 if now is None else now
    claims: dict[str, object] = {
        "sub": user or party,
        "role": str(role),
        "org": party,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    if name:
        claims["name"] = name
    if named is not None:
        claims["roles"] = [str(r) for r in named]
    return jwt.encode(claims, key, algorithm=algorithm)


def token_from_request(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """``Authorization: Bearer …``, else ``?access_token=`` (browsers cannot set headers on a
    WebSocket handshake). Raises ``AuthError("missing_token")``."""
    header = headers.get("authorization") or headers.get("Authorization") or ""
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    token = query.get("access_token")
    if token:
        return token
    raise AuthError("missing_token")


_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """Whether a browser page from ``origin`` may open a live room: the guard against cross-site
    WebSocket hijacking (the same-origin policy does not cover WebSockets, and a hostile page can
    open one to us from a user's browser).

    No Origin header: a non-browser client, allowed (it must present a token anyway). A page of
    the server's own origin (the Origin's host and port equal the ``Host`` header's) is always
    allowed, so the bundled web UI works; ``allowed`` adds other origins, each matched exactly
    (``scheme://host[:port]``, case-insensitive, a trailing slash ignored). The ``Host`` header
    can be trusted here only because the app refuses every Host it does not serve before
    routing (``hosts.HostCheck``): otherwise a DNS-rebinding page would send a Host and an
    Origin of its own that agree.
    """
    if origin is None:
        return True
    origin = origin.strip().lower()
    if origin.rstrip("/") in {a.strip().lower().rstrip("/") for a in allowed}:
        return True
    return _same_origin(origin, host)


def _same_origin(origin: str, host: str | None) -> bool:
    if not host:
        return False
    try:
        parts = urlsplit(origin)
        served = urlsplit("//" + host.strip().lower())
        default = _DEFAULT_PORTS.get(parts.scheme)
        if default is None or not parts.hostname:  # "null" (sandboxed page, file://) and the like
            return False
        return parts.hostname == served.hostname and (parts.port or default) == (served.port or default)
    except ValueError:  # a malformed port
        return False
