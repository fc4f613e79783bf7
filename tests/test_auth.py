"""Tokens, roles and Origin checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bidserver.auth import (
    LEEWAY_S,
    AuthError,
    Principal,
    TokenVerifier,
    mint_token,
    origin_allowed,
    public_key_algorithms,
    token_from_request,
)
from bidserver.config import Settings
from bidserver.engine.reverse.values import Actor, Role
from bidserver.engine.values import TeamRole

KEY = "auth-test-key-0123456789abcdef0123456789"
OTHER_KEY = "another-key-0123456789abcdef0123456789ab"


def reason(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.reason


def raw_token(key: str = KEY, algorithm: str = "HS256", **claims) -> str:
    base = {"sub": "u1", "role": "buyer", "org": "acme", "iss": "bidserver", "aud": "bidserver", "exp": int(time.time()) + 60}
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, key, algorithm=algorithm)


def test_round_trip():
    now = int(time.time())
    token = mint_token(KEY, role="supplier", party="s1", user="alice", name="Salt & Co", now=now)
    principal = TokenVerifier(KEY).verify(token)
    expires_at = (now + 8 * 3600) * 1000
    assert principal == Principal(Role.SUPPLIER, "s1", "alice", "Salt & Co", expires_at=expires_at)
    assert principal.actor == Actor(Role.SUPPLIER, "s1", "alice")  # the person, for the record


def test_expiry_is_known_to_the_principal_as_the_verifier_applies_it():
    """A live room closes the socket at ``refused_after_ms``: it must be the very instant the
    verifier starts answering expired_token (exp plus the tolerated skew), no sooner, no later."""
    now = int(time.time())
    principal = TokenVerifier(KEY).verify(mint_token(KEY, role="buyer", party="acme", ttl_s=2, now=now))
    assert principal.expires_at == (now + 2) * 1000
    assert principal.refused_after_ms == (now + 2 + LEEWAY_S) * 1000
    # A float exp is read as PyJWT reads it (truncated).
    principal = TokenVerifier(KEY).verify(raw_token(exp=now + 60.9))
    assert principal.expires_at == (now + 60) * 1000
    assert Principal(Role.BUYER, "acme", "u").refused_after_ms is None  # built in code: no expiry


def test_user_defaults_to_party():
    principal = TokenVerifier(KEY).verify(mint_token(KEY, role=Role.OBSERVER, party="auditor"))
    assert (principal.user, principal.name) == ("auditor", "")


def test_expired_token():
    issued = int(time.time()) - 3600
    assert reason(TokenVerifier(KEY), mint_token(KEY, role="buyer", party="acme", ttl_s=60, now=issued)) == "expired_token"


def test_leeway_tolerates_small_clock_skew():
    token = mint_token(KEY, role="buyer", party="acme", ttl_s=10, now=int(time.time()) - 13)  # expired 3 s ago
    assert TokenVerifier(KEY).verify(token).party == "acme"


def test_wrong_key():
    assert reason(TokenVerifier(KEY), mint_token(OTHER_KEY, role="buyer", party="acme")) == "invalid_token"


def test_wrong_audience_and_issuer():
    verifier = TokenVerifier(KEY)
    assert reason(verifier, mint_token(KEY, role="buyer", party="acme", audience="elsewhere")) == "invalid_token"
    assert reason(verifier, mint_token(KEY, role="buyer", party="acme", issuer="mallory")) == "invalid_token"
    custom = TokenVerifier(KEY, issuer="platform", audience="auctions")
    assert custom.verify(mint_token(KEY, role="buyer", party="acme", issuer="platform", audience="auctions")).party == "acme"


@pytest.mark.parametrize("missing", ["exp", "iss", "aud", "sub", "role", "org"])
def test_required_claims(missing):
    assert reason(TokenVerifier(KEY), raw_token(**{missing: None})) == "invalid_token"


def test_bad_role():
    verifier = TokenVerifier(KEY)
    assert reason(verifier, raw_token(role="admin")) == "bad_role"
    assert reason(verifier, raw_token(role=["buyer"])) == "bad_role"


def test_team_roles_claim():
    now = int(time.time())
    token = mint_token(KEY, role="buyer", party="acme", user="ann", roles=["auditor"], now=now)
    principal = TokenVerifier(KEY).verify(token)
    assert principal.roles == {TeamRole.AUDITOR}
    assert principal.actor == Actor(Role.BUYER, "acme", "ann", frozenset({TeamRole.AUDITOR}))
    assert jwt.decode(token, KEY, algorithms=["HS256"], audience="bidserver")["roles"] == ["auditor"]
    both = TokenVerifier(KEY).verify(raw_token(roles=["evaluator", "opening_officer"]))
    assert both.roles == {TeamRole.EVALUATOR, TeamRole.OPENING_OFFICER}
    # No claim: None, the side's defaults (``permissions.DEFAULT_ROLES``), as before roles.
    assert TokenVerifier(KEY).verify(raw_token()).roles is None
    assert TokenVerifier(KEY).verify(raw_token()).actor.roles is None
    reviewer = TokenVerifier(KEY).verify(raw_token(role="platform", roles=["supplier_reviewer"]))
    assert (reviewer.role, reviewer.roles) == (Role.PLATFORM, {TeamRole.SUPPLIER_REVIEWER})


@pytest.mark.parametrize("roles", [
    ["manager"],  # no such team role
    ["supplier_admin"],  # a supplier's, in a buyer's token
    ["auditor", "supplier_reviewer"],  # one of them the platform's
    "auditor",  # not a list
    [],  # names nobody: not the defaults either
    [1],
    [["auditor"]],
])
def test_a_team_role_that_is_none_or_of_another_side_is_a_bad_role(roles):
    assert reason(TokenVerifier(KEY), raw_token(roles=roles)) == "bad_role"
    if isinstance(roles, list) and all(isinstance(r, str) for r in roles):
        with pytest.raises(ValueError):
            mint_token(KEY, role="buyer", party="acme", roles=roles)


def test_the_platform_side_is_a_token_role():
    principal = TokenVerifier(KEY).verify(mint_token(KEY, role="platform", party="operator"))
    assert (principal.role, principal.roles) == (Role.PLATFORM, None)
    with pytest.raises(ValueError):
        mint_token(KEY, role="supplier", party="s1", roles=["supplier_reviewer"])


def test_system_role_is_refused():
    assert reason(TokenVerifier(KEY), raw_token(role="system")) == "bad_role"
    with pytest.raises(ValueError):
        mint_token(KEY, role="system", party="system")


def test_empty_org_is_invalid():
    assert reason(TokenVerifier(KEY), raw_token(org="")) == "invalid_token"


def test_garbage_and_alg_none():
    verifier = TokenVerifier(KEY)
    assert reason(verifier, "not-a-jwt") == "invalid_token"
    unsigned = jwt.encode(jwt.decode(raw_token(), options={"verify_signature": False}), None, algorithm="none")
    assert reason(verifier, unsigned) == "invalid_token"


def hs256_signed_with(secret: str) -> str:
    """A token HMAC-signed with ``secret`` by hand (PyJWT itself refuses a PEM as HMAC key)."""
    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    claims = jwt.decode(raw_token(), options={"verify_signature": False})
    signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()) + b"." + b64(json.dumps(claims).encode())
    signature = hmac.new(secret.encode(), signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + b64(signature)).decode()


def _pem(private_key) -> tuple[str, str]:
    private = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


@pytest.mark.parametrize(
    ("make_key", "algorithm"),
    [
        (lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (lambda: ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (lambda: ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
)
def test_public_key_tokens(tmp_path, make_key, algorithm):
    private, public = _pem(make_key())
    key_file = tmp_path / "platform.pem"
    key_file.write_text(public)
    verifier = TokenVerifier.from_settings(Settings(jwt_public_key_file=key_file, data_dir=tmp_path))
    token = mint_token(private, role="buyer", party="acme", algorithm=algorithm)
    assert verifier.verify(token).party == "acme"
    # Key confusion: an HS256 token "signed" with the public key text must not pass.
    assert reason(verifier, hs256_signed_with(public)) == "invalid_token"
    assert not (tmp_path / "jwt.key").exists()  # no shared secret was generated


def test_hand_signed_token_is_well_formed():
    """The forger above makes real tokens: with the right secret, one verifies."""
    assert TokenVerifier(KEY).verify(hs256_signed_with(KEY)).party == "acme"


def test_public_key_algorithms_follow_the_key():
    assert public_key_algorithms(_pem(ec.generate_private_key(ec.SECP384R1()))[1]) == ["ES384"]
    with pytest.raises(ValueError):
        public_key_algorithms("not a key")


def test_from_settings_with_shared_key(tmp_path):
    verifier = TokenVerifier.from_settings(Settings(jwt_key=KEY, data_dir=tmp_path, jwt_audience="x"))
    assert verifier.verify(mint_token(KEY, role="buyer", party="acme", audience="x")).role is Role.BUYER


# ---------------------------------------------------------------- token_from_request


def test_bearer_header():
    assert token_from_request({"authorization": "Bearer abc.def"}, {}) == "abc.def"
    assert token_from_request({"Authorization": "bearer   abc.def "}, {}) == "abc.def"


def test_query_parameter_for_browsers():
    assert token_from_request({}, {"access_token": "q.q"}) == "q.q"
    assert token_from_request({"authorization": "Basic dXNlcg=="}, {"access_token": "q.q"}) == "q.q"


@pytest.mark.parametrize(
    ("headers", "query"),
    [({}, {}), ({"authorization": "Bearer "}, {}), ({"authorization": "Basic x"}, {}), ({}, {"access_token": ""})],
)
def test_missing_token(headers, query):
    with pytest.raises(AuthError) as caught:
        token_from_request(headers, query)
    assert caught.value.reason == "missing_token"


# ---------------------------------------------------------------- origins


def test_no_origin_is_a_non_browser_client():
    assert origin_allowed(None, "bids.example", [])
    assert origin_allowed(None, None, ["https://app.example"])


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),
        ("https://bids.example", "bids.example", True),
        ("https://bids.example", "bids.example:443", True),
        ("http://BIDS.example", "bids.example", True),
        ("http://127.0.0.1:8001", "127.0.0.1:8000", False),
        ("https://evil.example", "bids.example", False),
        ("https://bids.example.evil.example", "bids.example", False),
        ("http://bids.example", "bids.example:443", False),
        ("null", "bids.example", False),
        ("file://", "bids.example", False),
        ("https://bids.example", None, False),
        ("https://bids.example:99999", "bids.example", False),
    ],
)
def test_same_origin(origin, host, ok):
    assert origin_allowed(origin, host, []) is ok


def test_allowed_list_is_an_exact_match():
    allowed = ["https://app.example", "http://localhost:5173/"]
    assert origin_allowed("https://app.example", "api.example", allowed)
    assert origin_allowed("http://localhost:5173", "api.example", allowed)
    assert not origin_allowed("http://app.example", "api.example", allowed)  # scheme differs
    assert not origin_allowed("https://app.example:8443", "api.example", allowed)  # port differs
    assert not origin_allowed("https://sub.app.example", "api.example", allowed)
    assert not origin_allowed("https://evil.example", "api.example", allowed)
    # The server's own pages (its web UI) stay allowed when a list adds other origins.
    assert origin_allowed("https://api.example", "api.example", allowed)


def test_auth_error_carries_reason():
    error = AuthError("origin_not_allowed", "https://evil.example")
    assert error.reason == "origin_not_allowed" and "evil" in str(error)
