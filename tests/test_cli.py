"""The command line, through click's CliRunner (in process) and one real `python -m bidserver`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner

from bidserver import cli
from bidserver.auth import TokenVerifier
from bidserver.config import Settings
from bidserver.engine.reverse import FORMAT, AuctionState
from bidserver.engine.reverse.events import AuctionCreated, AuctionOpened, LotEnd
from bidserver.runtime.journaling import Chain, to_journal
from bidserver.engine.reverse.values import AuctionConfig, Decrement, DecrementKind, LotSpec, Role
from bidserver.engine.values import TeamRole
from bidserver.store.redis_journal import RedisJournal

KEY = "cli-test-key-0123456789abcdef0123456789"


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    for name in list(os.environ):
        if name.startswith("BIDSERVER_"):
            monkeypatch.delenv(name)
    return CliRunner()


def test_token_verifies_with_the_servers_key(runner, tmp_path):
    result = runner.invoke(
        cli.main,
        ["token", "--role", "supplier", "--org", "s1", "--user", "u1", "--name", "Salt & Co", "--ttl", "15m", "--data-dir", str(tmp_path)],
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    # serve would build its verifier from the same data dir: the generated key is shared.
    principal = TokenVerifier.from_settings(Settings(data_dir=tmp_path)).verify(token)
    assert (principal.role, principal.party, principal.user, principal.name) == (Role.SUPPLIER, "s1", "u1", "Salt & Co")
    assert (tmp_path / "jwt.key").exists()


def test_token_with_explicit_key_and_env(runner, tmp_path, monkeypatch):
    result = runner.invoke(cli.main, ["token", "--role", "buyer", "--org", "acme", "--jwt-key", KEY, "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert TokenVerifier(KEY).verify(result.output.strip()).party == "acme"
    assert not (tmp_path / "jwt.key").exists()

    monkeypatch.setenv("BIDSERVER_JWT_KEY", KEY)
    result = runner.invoke(cli.main, ["token", "--role", "observer", "--org", "auditor"])
    assert result.exit_code == 0, result.output
    assert TokenVerifier(KEY).verify(result.output.strip()).role is Role.OBSERVER


def test_token_ttl(runner):
    import jwt

    result = runner.invoke(cli.main, ["token", "--role", "buyer", "--org", "acme", "--jwt-key", KEY, "--ttl", "2h"])
    claims = jwt.decode(result.output.strip(), KEY, algorithms=["HS256"], audience="bidserver")
    assert claims["exp"] - claims["iat"] == 7200
    assert abs(claims["iat"] - time.time()) < 60


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "system", "--org", "x"],
        ["--role", "buyer"],
        ["--role", "buyer", "--org", "acme", "--ttl", "soon"],
        ["--role", "buyer", "--org", "acme", "--ttl", "0"],
        ["--role", "buyer", "--org", "acme", "--jwt-key", "short"],
    ],
)
def test_token_usage_errors(runner, args):
    result = runner.invoke(cli.main, ["token", *args])
    assert result.exit_code == 2, result.output


def test_token_names_the_persons_team_roles(runner):
    result = runner.invoke(cli.main, ["token", "--role", "buyer", "--org", "acme", "--jwt-key", KEY,
                                      "--roles", "evaluator, opening_officer"])
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(KEY).verify(result.output.strip())
    assert principal.roles == {TeamRole.EVALUATOR, TeamRole.OPENING_OFFICER}
    result = runner.invoke(cli.main, ["token", "--role", "platform", "--org", "op", "--jwt-key", KEY])
    assert result.exit_code == 0, result.output
    principal = TokenVerifier(KEY).verify(result.output.strip())
    assert (principal.role, principal.roles) == (Role.PLATFORM, None)  # the side's defaults
    for roles in ("supplier_admin", "manager", ","):  # another side's, none, an empty list
        result = runner.invoke(cli.main, ["token", "--role", "buyer", "--org", "acme",
                                          "--jwt-key", KEY, "--roles", roles])
        assert result.exit_code == 2 and "--roles" in result.output, result.output


def test_tokens_mints_one_for_every_team_role_of_each_side_given(runner):
    result = runner.invoke(cli.main, ["tokens", "--buyer", "org-b", "--platform", "op",
                                      "--jwt-key", KEY, "--ttl", "15m"])
    assert result.exit_code == 0, result.output
    lines = [line.split(" ") for line in result.output.splitlines()]
    assert [role for role, _ in lines] == [
        "procurement_manager", "opening_officer", "evaluator", "approver", "auditor",
        "supplier_reviewer"]
    for role, token in lines:
        principal = TokenVerifier(KEY).verify(token)
        side, org = (Role.PLATFORM, "op") if role == "supplier_reviewer" else (Role.BUYER, "org-b")
        assert (principal.role, principal.party, principal.roles) == (side, org, {TeamRole(role)})
        assert principal.user == f"{org}.{role}"  # a person each: four eyes are two users
    result = runner.invoke(cli.main, ["tokens", "--supplier", "s1", "--observer", "org-b",
                                      "--jwt-key", KEY])
    assert [line.split(" ")[0] for line in result.output.splitlines()] == [
        "supplier_admin", "supplier_bidder", "observer"]
    result = runner.invoke(cli.main, ["tokens", "--jwt-key", KEY])
    assert result.exit_code == 2 and "--buyer" in result.output


def test_token_refuses_when_tokens_come_from_the_platform(runner, tmp_path, monkeypatch):
    monkeypatch.setenv("BIDSERVER_JWT_PUBLIC_KEY_FILE", str(tmp_path / "platform.pem"))
    for args in (["token", "--role", "buyer", "--org", "acme"], ["tokens", "--buyer", "acme"]):
        result = runner.invoke(cli.main, [*args, "--data-dir", str(tmp_path)])
        assert result.exit_code == 2
        assert "private key" in result.output


def test_serve_help(runner):
    result = runner.invoke(cli.main, ["serve", "--help"])
    assert result.exit_code == 0
    for flag in ("--host", "--port", "--redis-url", "--data-dir", "--allowed-origin", "--allow-unsafe-journal",
                 "--journal-replicas", "--allow-single-machine-journal", "--log-level"):
        assert flag in result.output


def test_serve_builds_settings_from_flags_and_env(runner, tmp_path, monkeypatch):
    seen: list[Settings] = []
    import bidserver.app

    monkeypatch.setattr(bidserver.app, "serve", seen.append)
    monkeypatch.setenv("BIDSERVER_REDIS_URL", "redis://env:6379/0")
    monkeypatch.setenv("BIDSERVER_PORT", "9000")
    result = runner.invoke(
        cli.main,
        ["serve", "--port", "0", "--data-dir", str(tmp_path), "--allowed-origin", "https://a.example", "--allowed-origin", "https://b.example", "--log-level", "DEBUG"],
    )
    assert result.exit_code == 0, result.output
    [settings] = seen
    assert settings.port == 0  # the flag wins
    assert settings.redis_url == "redis://env:6379/0"  # the environment fills the rest
    assert settings.data_dir == tmp_path
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.allow_unsafe_journal is False
    assert settings.log_level == "debug"

    monkeypatch.setenv("BIDSERVER_ALLOW_UNSAFE_JOURNAL", "1")
    runner.invoke(cli.main, ["serve"])
    assert seen[-1].allow_unsafe_journal is True  # no flag: the environment's value stands


def test_serve_bad_environment_is_a_usage_error(runner, monkeypatch):
    monkeypatch.setenv("BIDSERVER_PORT", "eighty")
    result = runner.invoke(cli.main, ["serve"])
    assert result.exit_code == 2
    assert "port" in result.output


def test_python_dash_m(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bidserver", "token", "--role", "buyer", "--org", "acme", "--jwt-key", KEY],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert TokenVerifier(KEY).verify(done.stdout.strip()).party == "acme"
    helped = subprocess.run([sys.executable, "-m", "bidserver", "--help"], capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "Usage: bidserver" in helped.stdout


async def _write_auction(redis_url: str, auction_id: str) -> None:
    """Two events of an open auction, journaled."""
    config = AuctionConfig(
        title="Salt", currency="EUR", lots=(LotSpec(lot_id="L1", title="Lot 1", ceiling=10_000),),
        duration_ms=60_000, decrement=Decrement(DecrementKind.AMOUNT, 100),
    )
    events = [
        AuctionCreated(at=1, auction_id=auction_id, buyer="acme", config=config),
        AuctionOpened(at=2, lot_ends=(LotEnd("L1", 60_002),)),
    ]
    journal = RedisJournal(redis_url)
    await journal.connect()
    entries, _, _ = to_journal(FORMAT, AuctionState.new(auction_id), Chain(), events)
    await journal.append(auction_id, 1, entries)
    await journal.close()


def test_replay(runner, redis_server):
    asyncio.run(_write_auction(redis_server.url, "A1"))
    result = runner.invoke(cli.main, ["replay", "--redis-url", redis_server.url, "--events", "A1"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    view = json.loads(lines[-1])
    assert (view["auction_id"], view["seq"], view["phase"]) == ("A1", 2, "open")

    missing = runner.invoke(cli.main, ["replay", "--redis-url", redis_server.url, "nope"])
    assert missing.exit_code == 1


def test_replay_of_a_redis_nothing_answers_is_one_line(tmp_path):
    import socket

    with socket.create_server(("127.0.0.1", 0)) as closed:  # a port nothing will answer on
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    done = subprocess.run([sys.executable, "-m", "bidserver", "replay", "--redis-url", url, "A1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot read the journal at {url}" in lines[0], lines


def _journal_of(data_dir, auction_id: str = "A1") -> None:
    """A journaled auction in the embedded Redis of ``data_dir``, which is then stopped."""
    from bidserver.store.embedded import EmbeddedRedis

    server = EmbeddedRedis.of_data_dir(data_dir)
    server.start()
    try:
        asyncio.run(_write_auction(server.url, auction_id))
    finally:
        server.stop()


def test_replay_without_a_server_starts_the_embedded_redis_and_stops_it(runner, tmp_path, monkeypatch):
    from bidserver.store.embedded import EmbeddedRedis
    from tests.procs import children

    _journal_of(tmp_path / "data")
    monkeypatch.chdir(tmp_path)  # the default data dir, ./data, as for serve
    before = children(os.getpid())  # servers a session fixture keeps (the shared test cluster)
    result = runner.invoke(cli.main, ["replay", "A1"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout.strip().splitlines()[-1])
    assert (view["auction_id"], view["seq"]) == ("A1", 2)
    assert children(os.getpid()) == before  # its Redis is stopped (and reaped)
    EmbeddedRedis.of_data_dir(tmp_path / "data").lock()  # and the data dir released

    missing = runner.invoke(cli.main, ["replay", "--data-dir", str(tmp_path / "nothing"), "A1"])
    assert missing.exit_code == 1 and "no journal in" in missing.output
    assert not (tmp_path / "nothing").exists()


@pytest.mark.slow
def test_replay_while_a_server_runs_reads_through_its_redis(tmp_path):
    from tests.integration.harness import ServerProcess
    from tests.procs import alive

    data = tmp_path / "data"
    _journal_of(data)
    server = ServerProcess("", data)
    server.start()
    try:
        redis_pid = int((data / "redis" / "embedded.pid").read_text())
        done = subprocess.run(
            [sys.executable, "-m", "bidserver", "replay", "--data-dir", str(data), "A1"],
            env={k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")},
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["auction_id"] == "A1" and done.stderr == ""
        assert alive(redis_pid) and int((data / "redis" / "embedded.pid").read_text()) == redis_pid
        assert server.proc.poll() is None
        assert httpx.get(f"{server.base_url}/healthz", timeout=5).status_code == 200
    finally:
        server.stop()
