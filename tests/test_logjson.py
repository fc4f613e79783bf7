"""``--log-format json``: one JSON object per line, uvicorn's access log included, the auction id
where the log site knows it, and tokens redacted before the formatter sees them."""

from __future__ import annotations

import json
import logging
import sys

import httpx
import pytest
from websockets.sync.client import connect

from bidserver.config import Settings
from bidserver.logjson import JsonFormatter
from tests.integration.conftest import BUYER, auction_config
from tests.integration.harness import ServerProcess, token


def test_a_record_is_one_json_object_with_the_auction_id_and_the_traceback():
    try:
        raise ValueError("cannot build the award")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("bidserver.runtime.room", logging.ERROR, __file__, 1,
                               "room %s: its timer failed", ("a1",), exc_info)
    record.auction_id = "a1"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "bidserver.runtime.room"
    assert entry["message"] == "room a1: its timer failed" and entry["auction_id"] == "a1"
    assert entry["time"].endswith("+00:00") and "ValueError: cannot build" in entry["exception"]


def test_the_format_is_a_setting():
    assert Settings.from_env({"BIDSERVER_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(ValueError, match="log_format"):
        Settings.from_env({"BIDSERVER_LOG_FORMAT": "xml"})


@pytest.mark.slow
def test_the_server_logs_json_lines_with_auction_ids_and_no_token(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "d",
                           ("--log-level", "info", "--log-format", "json"))
    server.start()
    secret = token("observer", BUYER)
    try:
        created = httpx.post(
            f"{server.base_url}/api/auctions", json={"config": auction_config()}, timeout=5,
            headers={"authorization": f"Bearer {token('buyer', BUYER)}"},
        )
        assert created.status_code == 201
        auction_id = created.json()["view"]["auction_id"]
        listed = httpx.get(f"{server.base_url}/api/auctions?access_token={secret}", timeout=5)
        assert listed.status_code == 200
        with connect(f"ws://127.0.0.1:{server.port}/ws/auctions/{auction_id}?access_token={secret}",
                     open_timeout=5) as ws:
            ws.recv(timeout=5)  # the welcome
    finally:
        server.stop()

    text = server.log_path.read_text()
    assert secret not in text
    entries = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line
    assert all({"time", "level", "logger", "message"} <= entry.keys() for entry in entries)
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any(e["path"] == "/api/auctions?access_token=<redacted>" and e["status"] == 200
               and e["method"] == "GET" for e in access)
    assert any(e.get("auction_id") == auction_id and "created" in e["message"] for e in entries)
    handshakes = [e for e in entries if "WebSocket" in e["message"]]
    assert handshakes and all("access_token=<redacted>" in e["message"] for e in handshakes)
