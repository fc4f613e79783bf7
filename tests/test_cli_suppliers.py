"""``bidserver suppliers ...`` against a real server process on a real Redis: a reviewer's round
through every command (the queue, a record, a qualification resting on a certificate, a
rejection, a suspension for days, an indefinite blacklisting lifted, an appeal answered, the
history), and the server's refusals printed as its reason and detail, exit 1."""

from __future__ import annotations

import hashlib
import json
import re
import time

import httpx
import pytest
from click.testing import CliRunner
from stdnum.cn import uscc

from bidserver.auth import mint_token

from .integration.harness import JWT_KEY, ServerProcess
from .test_cli_sealing import run

DAY = 24 * 3600 * 1000
STEEL, PIPES = "44200000-2", "44160000-9"
CERTIFICATE = b"ISO 9001 certificate of Huadong Steel Pipe"
SHA = hashlib.sha256(CERTIFICATE).hexdigest()


@pytest.fixture
def server(redis_server, tmp_path):
    proc = ServerProcess(redis_server.url, tmp_path / "server")
    proc.start()
    yield proc
    proc.stop()


def token(role: str, party: str, user: str) -> str:
    return mint_token(JWT_KEY, role=role, party=party, user=user)


def as_user(server: ServerProcess, role: str, party: str, user: str) -> CliRunner:
    """A terminal whose environment names the server and the user's token."""
    return CliRunner(env={"BIDSERVER_URL": server.base_url,
                          "BIDSERVER_TOKEN": token(role, party, user)})


def api(server: ServerProcess, method: str, path: str, *, supplier: str = "sup-a", **kwargs):
    reply = httpx.request(method, server.base_url + path, timeout=10, headers={
        "authorization": f"Bearer {token('supplier', supplier, 'ann')}"}, **kwargs)
    assert reply.status_code < 300, reply.text
    return reply.json()


def register(server: ServerProcess, expires_at: int) -> None:
    """sup-a registers for two categories and hands in a certificate expiring at ``expires_at``."""
    body = "91310000MA01ABCD0"
    api(server, "POST", "/api/suppliers", json={"registration": {
        "legal_name": "华东钢管有限公司", "country": "CN", "identifier": body + uscc.calc_check_digit(body),
        "contacts": [{"name": "Ann Li", "email": "ann@example.cn"}], "categories": [STEEL, PIPES]}})
    api(server, "PUT", f"/api/suppliers/sup-a/files/{SHA}", content=CERTIFICATE)
    api(server, "POST", "/api/suppliers/sup-a/documents", json={
        "sha256": SHA, "kind": "certificate", "title": "ISO 9001", "issuer": "CQC",
        "number": "Q-0042", "valid_from": expires_at - 365 * DAY, "expires_at": expires_at,
        "filename": "iso9001.pdf"})


def test_a_reviewers_round_through_every_command(server):
    now = int(time.time() * 1000)
    register(server, now + 10 * DAY)
    rita = as_user(server, "platform", "platform", "rita")

    queue = run(rita, "suppliers", "list", "--review-queue").splitlines()
    assert queue[0].split() == ["ID", "LEGAL", "NAME", "IDENTIFIER", "STATUS", "RATING"]
    assert queue[1].split()[:2] == ["sup-a", "华东钢管有限公司"] and queue[1].split()[-2:] == ["pending", "-"]
    # Aligned on a terminal: each of the name's eight Chinese characters takes two columns.
    assert queue[1].index("pending") + 8 == queue[0].index("STATUS")
    page = json.loads(run(rita, "suppliers", "list", "--json", "--q", "华东", "--limit", "5"))
    assert [s["supplier_id"] for s in page["items"]] == ["sup-a"] and page["next_cursor"] is None

    shown = run(rita, "suppliers", "show", "sup-a")
    assert shown.startswith("sup-a: 华东钢管有限公司 (CN 91310000MA01ABCD0")
    assert f"{STEEL} Structural products: pending, not eligible: pending_review" in shown
    assert f"  {SHA} certificate ISO 9001, CQC no. Q-0042" in shown and "(EXPIRES WITHIN 30 DAYS)" in shown
    assert json.loads(run(rita, "suppliers", "show", "sup-a", "--json"))["supplier"]["version"] == 2

    out = run(rita, "suppliers", "qualify", "sup-a", STEEL, "--certificate", SHA, "--reason", "ISO 9001 checked")
    assert out.startswith(f"qualified sup-a: {STEEL} Structural products: qualified, eligible until ")
    out = run(rita, "suppliers", "reject", "sup-a", PIPES, "--reason", "no pipe certificate")
    assert out.endswith(": rejected, not eligible: rejected (no pipe certificate)\n")
    assert run(rita, "suppliers", "list", "--review-queue").count("\n") == 1  # the header alone
    listed = run(rita, "suppliers", "list", "--category", STEEL).splitlines()
    assert listed[0].split()[-1] == STEEL and re.search(r" qualified +- +qualified, eligible until ", listed[1])

    out = run(rita, "suppliers", "suspend", "sup-a", "--reason", "complaint under review", "--days", "30")
    assert out.startswith("suspended sup-a: restriction r1 from ") and out.endswith("status now suspended\n")
    out = run(rita, "suppliers", "blacklist", "sup-a", "--reason", "forged certificate")
    assert out.startswith("blacklisted sup-a: restriction r2 from ") and "indefinitely; status now blacklisted" in out
    out = run(rita, "suppliers", "lift", "sup-a", "r2", "--reason", "the certificate was genuine")
    assert out == "lifted r2 of sup-a; status now suspended\n"
    record = json.loads(run(rita, "suppliers", "show", "sup-a", "--json"))["supplier"]
    suspension = record["restrictions"][0]
    assert 30 * DAY - 5_000 < suspension["end_at"] - suspension["start_at"] <= 30 * DAY  # the server's days

    api(server, "POST", "/api/suppliers/sup-a/appeals",
        json={"appeal_id": "a1", "about": PIPES, "text": "our pipes are certified"})
    out = run(rita, "suppliers", "answer-appeal", "sup-a", "a1", "--not-upheld", "--answer", "no certificate was handed in")
    assert out == "answered appeal a1 of sup-a: not upheld\n"

    shown = run(rita, "suppliers", "show", "sup-a")
    assert "  r2 blacklisted from " in shown and " indefinitely, by rita: forged certificate" in shown
    assert "lifted at " in shown and "by rita: the certificate was genuine" in shown
    assert "  a1 about 44160000-9, lodged " in shown and "by rita: no certificate was handed in" in shown
    assert f"    rests on {SHA}" in shown

    lines = run(rita, "suppliers", "history", "sup-a").splitlines()
    assert [line.split()[3] for line in lines] == [
        "registered", "document_added", "category_qualified", "category_rejected", "restricted",
        "restricted", "restriction_lifted", "appeal_lodged", "appeal_answered"]
    assert lines[3].split()[:3] == ["4", lines[3].split()[1], "rita"]
    assert 'reason="no pipe certificate"' in lines[3]
    assert len(json.loads(run(rita, "suppliers", "history", "sup-a", "--json"))["entries"]) == 9


def test_refusals_are_the_servers_reason_in_one_line(server):
    register(server, int(time.time() * 1000) + 400 * DAY)
    rita = as_user(server, "platform", "platform", "rita")
    ann = as_user(server, "supplier", "sup-a", "ann")

    out = run(ann, "suppliers", "list", code=1)
    assert out == ("Error: refused (403 forbidden): read_registry needs one of the roles approver, "
                   "auditor, procurement_manager, supplier_reviewer; yours: supplier_admin, "
                   "supplier_bidder\n")
    out = run(rita, "suppliers", "suspend", "sup-a", "--reason", "late", "--until", "2020-01-01", code=1)
    assert out == "Error: refused (422 invalid_period): a restriction ends after it starts\n"
    out = run(rita, "suppliers", "lift", "sup-a", "r9", "--reason", "x", code=1)
    assert out.startswith("Error: refused (4") and "unknown_restriction): no restriction r9" in out
    out = run(rita, "suppliers", "show", "sup-nobody", code=1)
    assert out == "Error: refused (404 not_registered): no such supplier\n"
    assert "give --days or --until" in run(rita, "suppliers", "suspend", "sup-a", "--reason", "x",
                                           "--days", "1", "--until", "2030-01-01", code=2)
    assert "give --upheld or --not-upheld" in run(rita, "suppliers", "answer-appeal", "sup-a", "a1",
                                                  "--answer", "x", code=2)
    assert "--until" in run(rita, "suppliers", "suspend", "sup-a", "--reason", "x", "--until", "soon", code=2)
    assert json.loads(run(rita, "suppliers", "show", "sup-a", "--json"))["supplier"]["restrictions"] == []
