"""`bidserver audit export | verify | public-key` against a real Redis whose auction was written
and signed by the runtime (rooms, head signer), as a server writes it."""

from __future__ import annotations

import asyncio
import os

import pytest
from click.testing import CliRunner

from bidserver import cli
from bidserver.audit import audit_signing_key
from bidserver.config import Settings
from bidserver.engine.formats import FORMATS
from bidserver.engine.reverse.commands import (
    CancelAuction, InviteSupplier, PlaceBid, StartAuction,
)
from bidserver.runtime.archiver import archive_finished
from bidserver.runtime.heads import HeadSigner
from bidserver.runtime.registry import Rooms
from bidserver.store.archive import Archives
from bidserver.store.head_store import RedisTreeHeads
from bidserver.store.redis_journal import RedisJournal
from tests.runtime.support import BUYER, S1, clock, config


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    for name in list(os.environ):
        if name.startswith("BIDSERVER_"):
            monkeypatch.delenv(name)
    return CliRunner()


async def signed_auction(redis_url: str, data_dir, *, archive_to=None) -> tuple[str, int]:
    """A cancelled auction with bids, journaled and signed as a server does; its id and seq."""
    journal = RedisJournal(redis_url)
    await journal.connect()
    store = RedisTreeHeads(journal)
    key = audit_signing_key(Settings(data_dir=data_dir))
    rooms = Rooms(journal, clock, FORMATS, heads=HeadSigner(store, journal, key, clock))
    try:
        auction, _ = await rooms.create(BUYER, config())
        commands = [InviteSupplier(actor=BUYER, at=0, supplier="s1"), StartAuction(actor=BUYER, at=0)]
        commands += [PlaceBid(actor=S1, at=0, lot_id="L1", amount=9_000 - 100 * n, bid_id=f"b{n}")
                     for n in range(5)]
        commands.append(CancelAuction(actor=BUYER, at=0, reason="budget withdrawn"))
        for command in commands:
            assert (await auction.submit(command)).ok
        await auction.listed()  # marked finished
    finally:
        await rooms.close()  # signs what is due
    seq = auction.state.seq
    assert (await store.last(auction.auction_id)).head.tree_size == seq
    if archive_to is not None:
        assert await archive_finished(journal, Archives(archive_to), clock) == 1
    await journal.close()
    return auction.auction_id, seq


def test_export_then_verify_against_the_published_key(runner, redis_server, tmp_path):
    auction_id, seq = asyncio.run(signed_auction(redis_server.url, tmp_path / "data"))
    key = runner.invoke(cli.main, ["audit", "public-key", "--data-dir", str(tmp_path / "data")])
    assert key.exit_code == 0 and key.output.startswith("-----BEGIN PUBLIC KEY-----"), key.output
    (tmp_path / "server.pem").write_text(key.output)

    out = tmp_path / "audit.jsonl"
    exported = runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url,
                                        "--out", str(out), auction_id])
    assert exported.exit_code == 0, exported.output
    assert f"{seq} entries and" in exported.output

    verified = runner.invoke(cli.main, ["audit", "verify", "--public-key",
                                        str(tmp_path / "server.pem"), str(out)])
    assert verified.exit_code == 0, verified.output
    line = verified.output.strip()
    assert "\n" not in line
    assert line.startswith(f"ok: auction {auction_id}: {seq} entries, hash chain intact;")
    assert f"the last covering entries 1..{seq}" in line and "pin it" not in line

    unpinned = runner.invoke(cli.main, ["audit", "verify", str(out)])
    assert unpinned.exit_code == 0 and "pin it with --public-key" in unpinned.output

    to_stdout = runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url,
                                         auction_id])
    assert to_stdout.exit_code == 0
    assert to_stdout.stdout_bytes.split(b"\n")[1:] == out.read_bytes().split(b"\n")[1:]


def test_a_tampered_export_fails_naming_the_entry(runner, redis_server, tmp_path):
    auction_id, _ = asyncio.run(signed_auction(redis_server.url, tmp_path / "data"))
    out = tmp_path / "audit.jsonl"
    runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url,
                             "--out", str(out), auction_id])
    lines = out.read_bytes().split(b"\n")
    bid = next(i for i, line in enumerate(lines) if b'"bid_id":"b2"' in line)
    lines[bid] = lines[bid].replace(b'"amount":8800', b'"amount":7800')
    out.write_bytes(b"\n".join(lines))
    failed = runner.invoke(cli.main, ["audit", "verify", str(out)])
    assert failed.exit_code == 1
    assert failed.output.startswith("FAILED: ") and failed.output.count("\n") == 1
    assert "was altered: its hash does not match its content" in failed.output

    other = tmp_path / "other"
    audit_signing_key(Settings(data_dir=other))
    pem = runner.invoke(cli.main, ["audit", "public-key", "--data-dir", str(other)]).output
    (tmp_path / "other.pem").write_text(pem)
    runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url,
                             "--out", str(out), auction_id])
    wrong_key = runner.invoke(cli.main, ["audit", "verify", "--public-key",
                                         str(tmp_path / "other.pem"), str(out)])
    assert wrong_key.exit_code == 1 and "which is not a trusted key" in wrong_key.output


def test_the_default_data_dir_is_exported_through_its_embedded_redis(runner, tmp_path, monkeypatch):
    """As an operator on the server's machine: no flags, the data dir ./data."""
    from bidserver.store.embedded import EmbeddedRedis

    server = EmbeddedRedis.of_data_dir(tmp_path / "data")
    server.start()
    try:
        auction_id, seq = asyncio.run(signed_auction(server.url, tmp_path / "data"))
    finally:
        server.stop()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "server.pem").write_text(runner.invoke(cli.main, ["audit", "public-key"]).output)
    exported = runner.invoke(cli.main, ["audit", "export", "--out", "audit.jsonl", auction_id])
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(cli.main, ["audit", "verify", "--public-key", "server.pem",
                                        "audit.jsonl"])
    assert verified.exit_code == 0, verified.output
    assert f"ok: auction {auction_id}: {seq} entries" in verified.output


def test_an_archived_auction_is_exported_from_its_archive(runner, redis_server, tmp_path):
    archive = tmp_path / "archive"
    auction_id, seq = asyncio.run(
        signed_auction(redis_server.url, tmp_path / "data", archive_to=archive))
    out = tmp_path / "audit.jsonl"
    trimmed = runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url,
                                       "--out", str(out), auction_id])
    assert trimmed.exit_code == 1 and "export it with --archive" in trimmed.output
    exported = runner.invoke(cli.main, [
        "audit", "export", "--redis-url", redis_server.url, "--out", str(out),
        "--archive", str(archive / f"{auction_id}.jsonl.gz"), auction_id])
    assert exported.exit_code == 0, exported.output
    verified = runner.invoke(cli.main, ["audit", "verify", str(out)])
    assert verified.exit_code == 0 and f"ok: auction {auction_id}: {seq} entries" in verified.output


def test_what_cannot_be_done_is_one_line(runner, redis_server, tmp_path):
    missing = runner.invoke(cli.main, ["audit", "export", "--redis-url", redis_server.url, "nope"])
    assert missing.exit_code == 1 and "no journal for auction 'nope'" in missing.output
    no_key = runner.invoke(cli.main, ["audit", "public-key", "--data-dir", str(tmp_path)])
    assert no_key.exit_code == 1 and "no signing.key in" in no_key.output
    (tmp_path / "bad.pem").write_text("not a key")
    (tmp_path / "file.jsonl").write_text("{}\n")
    bad_key = runner.invoke(cli.main, ["audit", "verify", "--public-key", str(tmp_path / "bad.pem"),
                                       str(tmp_path / "file.jsonl")])
    assert bad_key.exit_code == 1 and "is not a PEM public key" in bad_key.output
    not_export = runner.invoke(cli.main, ["audit", "verify", str(tmp_path / "file.jsonl")])
    assert not_export.exit_code == 1 and "FAILED: line 1 is not a bidserver-audit/1 header" in (
        not_export.output)


def test_serve_refuses_a_signing_key_it_cannot_read(runner, tmp_path):
    (tmp_path / "signing.key").write_text("not a key")
    (tmp_path / "signing.key").chmod(0o600)
    result = runner.invoke(cli.main, ["serve", "--data-dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    assert "signing.key: not an Ed25519 private key" in result.output


def test_the_signing_key_is_created_once_and_private(tmp_path):
    first = audit_signing_key(Settings(data_dir=tmp_path / "d"))
    again = audit_signing_key(Settings(data_dir=tmp_path / "d"))
    assert first.private_bytes_raw() == again.private_bytes_raw()
    assert (tmp_path / "d" / "signing.key").stat().st_mode & 0o777 == 0o600
