"""No bearer token in the logs, whatever logs the URL of a request or a handshake."""

from __future__ import annotations

import asyncio
import logging
import sys

import httpx
import pytest
from websockets.sync.client import connect

from bidserver.logs import redact, redact_record
from tests.integration.conftest import auction_config, create_auction
from tests.integration.harness import ServerProcess, token

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


def test_a_token_parameter_is_redacted_by_its_decoded_name():
    assert redact("/ws/auctions/a1?since=4&access_token=s3cret&x=1") == (
        "/ws/auctions/a1?since=4&access_token=<redacted>&x=1")
    for name in ("access%5Ftoken", "access%5ftoken", "%61ccess_token", "ACCESS_TOKEN"):
        assert redact(f"GET /x?{name}=s3cret HTTP/1.1") == f"GET /x?{name}=<redacted> HTTP/1.1"
    assert redact("/x?a=1;access%5Ftoken=s3cret") == "/x?a=1;access%5Ftoken=<redacted>"
    assert redact("/x?my_access_token=kept&access_tokens=kept") == "/x?my_access_token=kept&access_tokens=kept"
    assert redact("nothing to hide") == "nothing to hide"


def test_anything_shaped_like_a_jwt_is_redacted_wherever_it_is():
    assert redact(f"/ws/auctions/{JWT}") == "/ws/auctions/<redacted>"
    assert redact(f"/x?token={JWT}&y=2") == "/x?token=<redacted>&y=2"
    assert redact(f"bad token {JWT}.") == "bad token <redacted>."
    assert redact("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.") == "<redacted>"  # alg none: no signature
    assert redact("eyJhbGciOiJIUzI1NiJ9%2EeyJzdWIiOiJ4In0%2Ec2ln") == "<redacted>"  # escaped dots
    assert redact("eyJust a word. and.more") == "eyJust a word. and.more"


def _record(msg, args, exc_info=None):
    return logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, msg, args, exc_info)


def test_a_record_is_redacted_in_its_message_arguments_and_exception():
    record = _record('%s - "GET %s HTTP/%s" %d', ("127.0.0.1:5", "/x?access%5Ftoken=s3cret", "1.1", 200))
    redact_record(record)
    assert record.getMessage() == '127.0.0.1:5 - "GET /x?access%5Ftoken=<redacted> HTTP/1.1" 200'
    assert record.args[3] == 200  # types kept: uvicorn's access formatter unpacks them

    class Url:
        def __str__(self):
            return f"https://x/?access_token={JWT}"

    record = _record("calling %s", (Url(),))
    redact_record(record)
    assert record.getMessage() == "calling https://x/?access_token=<redacted>"
    try:
        raise ValueError(f"refused {JWT}")
    except ValueError:
        record = _record("failed", (), sys.exc_info())
    redact_record(record)
    text = logging.Formatter().format(record)
    assert "ValueError: refused <redacted>" in text and JWT not in text


@pytest.mark.slow
def test_the_server_logs_no_token_in_its_access_log_websocket_lines_or_its_own(redis_server, tmp_path):
    server = ServerProcess(redis_server.url, tmp_path / "d", ("--log-level", "info"))
    server.start()
    secret = token("supplier", "sup-alpha-7f3")
    try:
        _, auction_id = asyncio.run(create_auction(server, auction_config(), {"sup-alpha-7f3": "A"}))
        base = f"127.0.0.1:{server.port}"
        httpx.get(f"http://{base}/api/auctions?access%5Ftoken={secret}", timeout=5)
        httpx.get(f"http://{base}/api/auctions?q={secret}", timeout=5)  # shaped like a JWT
        with connect(f"ws://{base}/ws/auctions/{auction_id}?access%5Ftoken={secret}", open_timeout=5) as ws:
            ws.recv(5)  # accepted: the "[accepted]" line, with the query string
        for path in (f"nope?access%5Ftoken={secret}", f"{secret}?access_token={secret}"):
            with pytest.raises(Exception):  # refused (404): logged all the same
                with connect(f"ws://{base}/ws/auctions/{path}", open_timeout=5):
                    pass
    finally:
        server.stop()
    stdout = server.proc.stdout.read().decode()  # uvicorn's access log goes to stdout
    text = stdout + server.log_path.read_text()
    assert "GET /api/auctions?access%5Ftoken=<redacted>" in stdout  # the lines are there...
    assert "GET /api/auctions?q=<redacted>" in stdout
    assert "access%5Ftoken=<redacted>" in server.log_path.read_text()
    for part in secret.split("."):  # ...without any part of the token
        assert part not in text
