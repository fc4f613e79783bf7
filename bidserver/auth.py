"""Tokens, roles and Origin checks.

Tokens are JWTs (PyJWT) so that the procurement platform in front of bidserver can issue them with
a key it shares with bidserver (HS256) or with its private key (RS256/ES256/EdDSA, bidserver holding
the public key). Claims: ``sub`` (user), ``role`` (buyer | supplier | observer), ``org`` (the
party: buyer organisation, supplier id, observer id), optional ``name``, ``iss``, ``aud``, ``exp``.
The ``system`` role exists only inside the server and is never accepted from a token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import jwt
import msgspec

from .config import Settings, resolve_jwt_key
from .engine.values import Actor, Role

_TOKEN_ROLES = {Role.BUYER, Role.SUPPLIER, Role.OBSERVER}
_ASYMMETRIC = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"]


class Principal(msgspec.Struct, frozen=True):
    role: Role
    party: str
    user: str
    name: str = ""

    @property
    def actor(self) -> Actor:
        return Actor(self.role, self.party)


class AuthError(Exception):
    """``reason`` is machine-readable: missing_token, invalid_token, expired_token, bad_role."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason = reason


class TokenVerifier:
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
    def from_settings(cls, settings: Settings) -> "TokenVerifier":
        if settings.jwt_public_key_file is not None:
            key = Path(settings.jwt_public_key_file).read_text()
            algorithms: Sequence[str] = _ASYMMETRIC
        else:
            key, algorithms = resolve_jwt_key(settings), ("HS256",)
        return cls(
            key, algorithms=algorithms, issuer=settings.jwt_issuer, audience=settings.jwt_audience
        )

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self._issuer,
                audience=self._audience,
                leeway=5,
                options={"require": ["exp", "iss", "aud", "sub", "role", "org"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("expired_token") from None
        except jwt.PyJWTError as exc:
            raise AuthError("invalid_token", str(exc)) from None
        try:
            role = Role(claims["role"])
        except ValueError:
            raise AuthError("bad_role") from None
        if role not in _TOKEN_ROLES:
            raise AuthError("bad_role")
        party, user = claims["org"], claims["sub"]
        if not isinstance(party, str) or not party or not isinstance(user, str):
            raise AuthError("invalid_token", "org and sub must be non-empty strings")
        return Principal(role, party, user, str(claims.get("name", "")))


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
) -> str:
    """A signed token, as the platform in front of bidserver would issue it (development use)."""
    issued = int(time.time()) if now is None else now
    claims = {
        "sub": user or party,
        "role": str(Role(role)),
        "org": party,
        "iss": issuer,
        "aud": audience,
        "iat": issued,
        "exp": issued + ttl_s,
    }
    if name:
        claims["name"] = name
    return jwt.encode(claims, key, algorithm=algorithm)


def token_from_request(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """``Authorization: Bearer …``, or ``?access_token=`` (browsers cannot set WebSocket headers)."""
    header = headers.get("authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip()
    token = query.get("access_token")
    if token:
        return token
    raise AuthError("missing_token")


def origin_allowed(origin: str | None, host: str | None, allowed: Sequence[str]) -> bool:
    """No Origin (a non-browser client) is allowed; a browser's Origin must be listed, or, with no
    list, be the same origin as the server (its host:port equals the Host header)."""
    if origin is None:
        return True
    if allowed:
        return origin.rstrip("/") in {a.rstrip("/") for a in allowed}
    netloc = urlsplit(origin).netloc
    return bool(host) and netloc == host
