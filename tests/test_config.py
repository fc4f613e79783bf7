"""Settings from defaults, BIDSERVER_* variables and flags; the generated JWT key file."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from bidserver.config import Settings, resolve_jwt_key

KEY = "config-test-key-0123456789abcdef012345"


def test_defaults():
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 8000, None)
    assert settings.data_dir == Path("data")
    assert (settings.jwt_issuer, settings.jwt_audience) == ("bidserver", "bidserver")
    assert settings.allowed_origins == ()
    assert (settings.max_message_bytes, settings.rate_limit_per_s, settings.rate_limit_burst) == (4096, 20, 40)
    assert (settings.heartbeat_s, settings.outbox_limit, settings.allow_unsafe_journal) == (20, 256, False)


def test_environment():
    settings = Settings.from_env(
        {
            "BIDSERVER_HOST": "0.0.0.0",
            "BIDSERVER_PORT": "9001",
            "BIDSERVER_REDIS_URL": "redis://db:6379/0",
            "BIDSERVER_DATA_DIR": "/var/lib/bidserver",
            "BIDSERVER_ALLOWED_ORIGINS": "https://a.example, https://b.example,",
            "BIDSERVER_ALLOW_UNSAFE_JOURNAL": "true",
            "BIDSERVER_RATE_LIMIT_PER_S": "5.5",
            "BIDSERVER_JWT_PUBLIC_KEY_FILE": "/etc/bidserver/platform.pem",
            "BIDSERVER_LOG_LEVEL": "debug",
            "BIDSERVER_OUTBOX_LIMIT": "",  # empty: as if unset
            "UNRELATED": "x",
        }
    )
    assert (settings.host, settings.port, settings.redis_url) == ("0.0.0.0", 9001, "redis://db:6379/0")
    assert settings.data_dir == Path("/var/lib/bidserver")
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.allow_unsafe_journal is True
    assert settings.rate_limit_per_s == 5.5
    assert settings.jwt_public_key_file == Path("/etc/bidserver/platform.pem")
    assert settings.outbox_limit == 256


def test_flags_win_over_environment():
    env = {"BIDSERVER_PORT": "9001", "BIDSERVER_ALLOWED_ORIGINS": "https://env.example", "BIDSERVER_HOST": "0.0.0.0"}
    settings = Settings.from_env(env, port=9002, allowed_origins=("https://flag.example",), data_dir=Path("/tmp/x"), host=None)
    assert settings.port == 9002
    assert settings.allowed_origins == ("https://flag.example",)
    assert settings.data_dir == Path("/tmp/x")
    assert settings.host == "0.0.0.0"  # None: the flag was not given
    assert Settings.from_env(env, allowed_origins=()).allowed_origins == ("https://env.example",)


def test_reads_the_process_environment(monkeypatch):
    monkeypatch.setenv("BIDSERVER_PORT", "7777")
    assert Settings.from_env().port == 7777


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("BIDSERVER_PORT", "eighty"),
        ("BIDSERVER_PORT", "70000"),
        ("BIDSERVER_ALLOW_UNSAFE_JOURNAL", "maybe"),
        ("BIDSERVER_LOG_LEVEL", "loud"),
        ("BIDSERVER_MAX_MESSAGE_BYTES", "0"),
        ("BIDSERVER_JWT_KEY", "too-short"),
    ],
)
def test_bad_values_fail_at_start(var, value):
    with pytest.raises(ValueError):
        Settings.from_env({var: value})


def test_unknown_override_is_a_bug():
    with pytest.raises(TypeError):
        Settings.from_env({}, prot=1)


def test_frozen():
    with pytest.raises(AttributeError):
        Settings().port = 1  # type: ignore[misc]


def test_configured_key_is_used_and_no_file_written(tmp_path):
    assert resolve_jwt_key(Settings(jwt_key=KEY, data_dir=tmp_path)) == KEY
    assert not (tmp_path / "jwt.key").exists()


def test_key_file_generated_once_and_reused(tmp_path):
    data_dir = tmp_path / "fresh" / "data"
    settings = Settings(data_dir=data_dir)
    first = resolve_jwt_key(settings)
    path = data_dir / "jwt.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert resolve_jwt_key(settings) == first
    assert resolve_jwt_key(Settings(data_dir=data_dir)) == first  # another process, same key
    assert resolve_jwt_key(Settings(data_dir=tmp_path / "other")) != first
    assert [p.name for p in data_dir.iterdir()] == ["jwt.key"]  # no temporary files left


def test_concurrent_first_use_agrees(tmp_path):
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(resolve_jwt_key(Settings(data_dir=tmp_path)))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1


def test_truncated_key_file_is_refused(tmp_path):
    (tmp_path / "jwt.key").write_text("short\n")
    os.chmod(tmp_path / "jwt.key", 0o600)
    with pytest.raises(ValueError):
        resolve_jwt_key(Settings(data_dir=tmp_path))


def test_the_console_and_development_sign_in():
    settings = Settings.from_env({"BIDSERVER_WEB_DIR": "/srv/console"})
    assert settings.web_dir == Path("/srv/console") and settings.dev_sign_in == "auto"
    assert Settings.from_env({}).web_dir is None
    # auto: on exactly while the key is the generated one
    assert Settings.from_env({}).dev_sign_in_enabled() is True
    for network in ("0.0.0.0", "::", "192.0.2.7", "bids.example.org"):  # reachable from a network
        assert Settings.from_env({"BIDSERVER_HOST": network}).dev_sign_in_enabled() is False
        assert Settings.from_env(
            {"BIDSERVER_HOST": network, "BIDSERVER_DEV_SIGN_IN": "on"}
        ).dev_sign_in_enabled() is True
    assert Settings.from_env({"BIDSERVER_HOST": "::1"}).dev_sign_in_enabled() is True
    assert Settings.from_env({"BIDSERVER_JWT_KEY": KEY}).dev_sign_in_enabled() is False
    platform = {"BIDSERVER_JWT_PUBLIC_KEY_FILE": "/etc/bidserver/platform.pem"}
    assert Settings.from_env(platform).dev_sign_in_enabled() is False
    assert Settings.from_env({"BIDSERVER_DEV_SIGN_IN": "off"}).dev_sign_in_enabled() is False
    assert Settings.from_env({"BIDSERVER_DEV_SIGN_IN": "on"}).dev_sign_in_enabled() is True
    for external in ({"BIDSERVER_JWT_KEY": KEY}, platform):
        on = Settings.from_env({"BIDSERVER_DEV_SIGN_IN": "on", **external})
        with pytest.raises(ValueError, match="BIDSERVER_DEV_SIGN_IN=on"):
            on.dev_sign_in_enabled()
    with pytest.raises(ValueError, match="dev_sign_in must be one of auto, on, off"):
        Settings.from_env({"BIDSERVER_DEV_SIGN_IN": "yes"})


def test_journal_replicas_and_the_single_machine_flag():
    unset = Settings.from_env({})
    assert (unset.journal_replicas, unset.allow_single_machine_journal) == (None, False)
    given = Settings.from_env({"BIDSERVER_JOURNAL_REPLICAS": "2",
                               "BIDSERVER_ALLOW_SINGLE_MACHINE_JOURNAL": "yes"})
    assert (given.journal_replicas, given.allow_single_machine_journal) == (2, True)
    with pytest.raises(ValueError, match="journal_replicas"):
        Settings.from_env({"BIDSERVER_JOURNAL_REPLICAS": "-1"})
    embedded = unset.on_embedded_redis("unix:///data/redis/redis.sock")
    assert embedded.allow_single_machine_journal and embedded.redis_url.startswith("unix://")
