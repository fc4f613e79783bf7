"""A sealed tender as its people run it against a real server: the parts the end-to-end tests share.

The officers make their keypairs with ``bidserver tender keygen`` and open their handed-out shares
with ``bidserver tender open-share`` (the CLI, in process); the tender's key is made, split 2 of 3
and handed out sealed to each officer's key, then forgotten, as docs/tenders.md says the step
that makes a tender's key must. Suppliers seal with the same helpers as ``bidserver tender seal``
and keep the plaintext they sealed, so that a scan can look for it.

``secrets_found`` is the operator's view of Annex IV (b): every byte a server's operator holds
(a Redis dump, the append-only file, the server's logs, metrics and data directory), searched for
every form a secret could take in them.
"""

from __future__ import annotations

import base64
import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import redis.asyncio as aioredis
from click.testing import CliRunner

from bidserver import sealing
from bidserver.auth import mint_token
from bidserver.cli import main as cli
from bidserver.sealing.bid import LotPrice, SealedBidContent, bid_content, seal_bid
from bidserver.sealing.officers import seal_share
from bidserver.sealing.pem import private_pem, public_pem, read_public
from bidserver.sealing.shamir import Share, share_from_text, share_to_text, split

from .conftest import JournalStore
from .harness import JWT_KEY, LiveClient, ServerProcess

SUITE = sealing.FIRST


def user_token(role: str, party: str, user: str) -> str:
    """A token for one person of an organisation (an officer, an evaluator: the token's ``sub``)."""
    return mint_token(JWT_KEY, role=role, party=party, user=user)


def run_cli(*args: str) -> str:
    """A ``bidserver`` command in process; its output (it must succeed)."""
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


# ------------------------------------------------------------------------------ keys and shares


@dataclass
class Officer:
    user: str
    directory: Path
    sealed_share: Path | None = None  # the hand-out, as it travels (base64 text)
    share_text: str | None = None  # opened by the officer, kept offline until the opening

    @property
    def public(self) -> bytes:
        return read_public("x25519", (self.directory / "public.pem").read_text())

    def open_share(self) -> str:
        """``bidserver tender open-share``: the share, as the officer presents it."""
        self.share_text = run_cli("tender", "open-share", "--key",
                                  str(self.directory / "private.pem"),
                                  "--share", str(self.sealed_share)).strip()
        return self.share_text


@dataclass
class TenderKey:
    public: bytes
    public_pem: Path  # what the buyer publishes and suppliers seal to
    officers: list[Officer]
    # Kept by the test only to look for them where they must not be: the key (which nothing but
    # k shares gives) and each share in the clear.
    secret_forms: list[bytes] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)


def make_tender_key(root: Path, users: list[str], k: int) -> TenderKey:
    """Each officer's keypair (``tender keygen``), then the tender's key, split k of n, each share
    sealed to its officer; the key itself is dropped here and exists only as the shares."""
    officers = []
    for user in users:
        directory = root / user
        run_cli("tender", "keygen", "--out", str(directory))
        officers.append(Officer(user, directory))
    private, public = SUITE.keypair()
    shares = split(private, k, len(users))
    for officer, share in zip(officers, shares, strict=True):
        officer.sealed_share = root / f"{officer.user}.share.sealed"
        sealed = seal_share(officer.public, share)
        officer.sealed_share.write_text(base64.b64encode(sealed).decode())
    public_path = root / "tender.pem"
    public_path.write_text(public_pem("x25519", public))
    key = TenderKey(public=public, public_pem=public_path, officers=officers, shares=shares,
                    secret_forms=_byte_forms(private) + [private_pem("x25519", private).encode()])
    return key


def share_needles(share_text: str) -> list[bytes]:
    """Every form of one share in the clear: its text and its value however encoded."""
    share = share_from_text(share_text)
    needles = [share_text.encode(), share_to_text(share).encode()]
    for part in (share.value, share.value[:16], share.value[16:]):
        needles += _byte_forms(part)
    return needles


def _byte_forms(data: bytes) -> list[bytes]:
    return [data, data.hex().encode(), data.hex().upper().encode(), base64.b64encode(data),
            base64.urlsafe_b64encode(data).rstrip(b"=")]


# ------------------------------------------------------------------------------ sealed bids


@dataclass
class Sealed:
    supplier: str
    bid_id: str
    amount: int
    content: SealedBidContent
    blob: bytes

    @property
    def commitment(self) -> str:
        return SUITE.commitment(self.blob)

    def body(self) -> dict:
        return {"bid_id": self.bid_id, "sealed": base64.b64encode(self.blob).decode(),
                "commitment": self.commitment}


def seal(key: TenderKey, tender_id: str, supplier: str, bid_id: str, lot_id: str, amount: int,
         currency: str = "EUR") -> Sealed:
    """What ``bidserver tender seal`` does, keeping the content to search for later."""
    content = bid_content(tender_id, supplier, currency, (LotPrice(lot_id=lot_id, amount=amount),))
    return Sealed(supplier, bid_id, amount, content, seal_bid(SUITE, key.public, content))


def price_needles(bid: Sealed, minor_units: int = 2) -> list[bytes]:
    """Where an operator would grep for a sealed price: the digits, the amount as the currency
    shows it, its JSON in the plaintext, the plaintext itself (and its base64 and hex, at every
    alignment), and the integer's binary forms (RDB keeps integer-like strings as binary ints)."""
    amount = bid.amount
    digits = str(amount).encode()
    shown = f"{amount / 10 ** minor_units:.{minor_units}f}".encode()
    plaintext = msgspec.json.encode(bid.content)
    fragment = f'"amount":{amount}'.encode()
    needles = [digits, shown, shown.replace(b".", b","), plaintext, fragment.hex().encode()]
    for chunk in (plaintext, fragment):
        for shift in range(3):  # base64 of a substring depends on its offset mod 3
            encoded = base64.b64encode(b"\0" * shift + chunk)[4 if shift else 0:]
            needles.append(encoded[: len(encoded) - 4])  # without the padded tail
    needles += [amount.to_bytes(size, order) for size in (4, 8) for order in ("little", "big")]
    return needles


# ------------------------------------------------------------------------------ an operator's view


async def redis_dump(store: JournalStore) -> bytes:
    """Every key and every value of every master, read logically (what ``redis-cli --rdb``
    holds, uncompressed); and an uncompressed RDB snapshot written by every node, beside its AOF,
    for the file scan."""
    out = []
    for url in store.masters:
        out += await _dump_one(url)
    for url in store.nodes:
        client = aioredis.from_url(url)
        try:
            await client.config_set("rdbcompression", "no")
            await client.save()
        finally:
            await client.aclose()
    return b"\n".join(out)


async def _dump_one(redis_url: str) -> list[bytes]:
    client = aioredis.from_url(redis_url)
    out = []
    try:
        async for name in client.scan_iter(count=1000):
            kind = (await client.type(name)).decode()
            if kind == "none":  # gone since the SCAN named it (a lease or presence key expired)
                continue
            out.append(name)
            if kind == "string":
                out.append(await client.get(name) or b"")
            elif kind == "hash":
                out += [x for kv in (await client.hgetall(name)).items() for x in kv]
            elif kind == "list":
                out += await client.lrange(name, 0, -1)
            elif kind == "set":
                out += list(await client.smembers(name))
            elif kind == "zset":
                out += [member for member, _ in await client.zrange(name, 0, -1, withscores=True)]
            elif kind == "stream":
                for entry_id, fields in await client.xrange(name):
                    out += [entry_id, *(x for kv in fields.items() for x in kv)]
            else:
                raise AssertionError(f"a Redis key of a type the scan does not read: {kind}")
    finally:
        await client.aclose()
    return out


def drain_stdout(server: ServerProcess) -> bytes:
    """What the server wrote to stdout since the harness stopped reading it."""
    fd = server.proc.stdout.fileno()
    os.set_blocking(fd, False)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def _files(*roots: Path) -> dict[str, bytes]:
    found = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if not path.is_file():  # sockets, directories
                continue
            data = path.read_bytes()
            found[str(path)] = data
            if path.suffix == ".gz":
                found[f"{path} (gunzipped)"] = gzip.decompress(data)
    return found


async def secrets_found(
    server: ServerProcess, store: JournalStore, needles: dict[str, list[bytes]],
    stdout: list[bytes], shown: dict[str, bytes] | None = None,
) -> dict[str, list[str]]:
    """Each secret of ``needles`` (its name -> its forms) found, with the places it is in: the
    logical Redis dump, any file of Redis's directory (its RDB, written now, and its AOF), the
    server's stdout (accumulated in ``stdout`` across calls), its metrics and any file under its
    data directory (its stderr log among them); and ``shown``, what the participants were
    shown (name -> bytes)."""
    stdout.append(drain_stdout(server))
    places = {REDIS_DUMP: await redis_dump(store), "server stdout": b"".join(stdout),
              "/metrics": server.metrics().text.encode(),
              **_files(*store.data_dirs, server.data_dir),
              **(shown or {})}
    assert places[REDIS_DUMP], "the dump is empty: the scan would prove nothing"
    found = {secret: [place for place, data in places.items() if any(f in data for f in forms)]
             for secret, forms in needles.items()}
    return {secret: where for secret, where in found.items() if where}


REDIS_DUMP = "redis (every key and value)"


async def assert_no_secrets(server: ServerProcess, store: JournalStore,
                            needles: dict[str, list[bytes]], stdout: list[bytes],
                            shown: dict[str, bytes] | None = None) -> None:
    found = await secrets_found(server, store, needles, stdout, shown)
    assert not found, "secrets an operator can read before the opening:\n" + "\n".join(
        f"{secret} in {', '.join(where)}" for secret, where in found.items())


# ------------------------------------------------------------------------------ the live room


class Room:
    """One participant in a tender's live room across the server's restarts: it connects from the
    start (cursor 0) and, after a kill, resumes from its cursor; ``listed`` is every event it was
    listed, over all its connections, in order."""

    def __init__(self, server: ServerProcess, tender_id: str, bearer: str) -> None:
        self.server = server
        self.tender_id = tender_id
        self.bearer = bearer
        self.client: LiveClient | None = None
        self.earlier: list[dict] = []  # listed on the connections before this one

    async def connect(self) -> "Room":
        since = 0
        if self.client is not None:
            self.earlier += listed_on(self.client)
            since = self.client.seq
        self.client = await LiveClient(self.server, self.tender_id, self.bearer).connect(since)
        if self.client.seq > since:  # the catch-up: exactly what came after its cursor
            catch_up = await self.client.wait_for(lambda m: m["type"] == "update")
            assert catch_up["first_seq"] == since + 1, catch_up
        return self

    def listed(self) -> list[dict]:
        return self.earlier + listed_on(self.client)

    async def wait_listed(self, kind: str, timeout: float = 10.0) -> dict:
        """The event of type ``kind`` once it is listed on the current connection."""
        await self.client.wait_for(lambda m: m["type"] == "update" and any(
            e["type"] == kind for e in m["events"]), timeout)
        return next(e for e in listed_on(self.client) if e["type"] == kind)


def listed_on(client: LiveClient) -> list[dict]:
    return [e for m in client.messages if m["type"] == "update" for e in m["events"]]
