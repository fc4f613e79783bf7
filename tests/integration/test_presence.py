"""The suppliers' presence in the buyer's console, over real sockets on real servers and Redis:
one process, and two processes (a supplier's socket on one, the buyer's on the other)."""

from __future__ import annotations

import asyncio

from .conftest import BUYER, SUPPLIERS, auction_config, create_auction
from .harness import Api, LiveClient, ServerProcess, now_ms, token
from .test_cluster import pair  # noqa: F401 - the fixture: two --cluster processes, leases of 1 s

S1, S2, S3 = SUPPLIERS


def status(message: dict, supplier: str) -> dict:
    return next(s for s in message["suppliers"] if s["supplier"] == supplier)


async def wait_presence(buyer: LiveClient, supplier: str, online: bool, timeout: float = 10.0) -> dict:
    """The first presence message (from the newest back) telling ``supplier`` is (not) online."""
    message = await buyer.wait_for(
        lambda m: m["type"] == "presence" and status(m, supplier)["online"] is online,
        timeout=timeout, start=max(0, len(buyer.messages) - 1),
    )
    return status(message, supplier) | {"server_time": message["server_time"]}


async def read_presence(server: ServerProcess, auction_id: str, role: str, party: str):
    return await Api(server, token(role, party)).call("GET", f"/api/auctions/{auction_id}/presence")


async def test_the_buyer_sees_suppliers_come_and_go_and_suppliers_see_nothing_of_it(server):
    _, auction_id = await create_auction(server, auction_config())
    buyer = await LiveClient(server, auction_id, token("buyer", BUYER)).connect()
    first = await buyer.wait_for(lambda m: m["type"] == "presence")
    assert buyer.messages.index(first) == 1  # right after the welcome
    assert first["suppliers"] == [
        {"supplier": s, "online": False, "last_seen": None} for s in SUPPLIERS]

    s1 = await LiveClient(server, auction_id, token("supplier", S1)).connect()
    online = await wait_presence(buyer, S1, True)
    assert online["last_seen"] == online["server_time"]
    s2 = await LiveClient(server, auction_id, token("supplier", S2)).connect()
    await wait_presence(buyer, S2, True)
    before = now_ms()
    await s2.close()
    offline = await wait_presence(buyer, S2, False)
    assert before <= offline["last_seen"] <= now_ms()

    answer = await read_presence(server, auction_id, "buyer", BUYER)
    assert answer.status_code == 200
    body = answer.json()
    assert [(s["supplier"], s["online"]) for s in body["suppliers"]] == [
        (S1, True), (S2, False), (S3, False)]
    assert status(body, S2)["last_seen"] == offline["last_seen"]
    for role, party in (("supplier", S1), ("observer", BUYER)):
        refused = await read_presence(server, auction_id, role, party)
        assert (refused.status_code, refused.json()["reason"]) == (404, "unknown_auction")

    await s1.send({"type": "ping", "client_time": 1})
    await s1.wait_for(lambda m: m["type"] == "pong")  # everything sent to s1 before is in
    assert all(m["type"] != "presence" for m in s1.messages)
    for client in (s1, buyer):
        await client.close()


async def test_presence_crosses_processes_and_a_killed_processs_suppliers_go_offline(pair):  # noqa: F811
    a, b = pair
    _, auction_id = await create_auction(a, auction_config())
    buyer = await LiveClient(a, auction_id, token("buyer", BUYER)).connect()
    await buyer.wait_for(lambda m: m["type"] == "presence")
    s1 = await LiveClient(b, auction_id, token("supplier", S1)).connect()
    await wait_presence(buyer, S1, True)
    before = now_ms()
    await s1.close()
    offline = await wait_presence(buyer, S1, False)
    assert before <= offline["last_seen"] <= now_ms()

    s2 = await LiveClient(b, auction_id, token("supplier", S2)).connect()
    await wait_presence(buyer, S2, True)
    assert status((await read_presence(a, auction_id, "buyer", BUYER)).json(), S2)["online"]
    killed_at = now_ms()
    b.kill9()  # no goodbye: its heartbeats stop (1 s apart here), stale after 3
    gone = await wait_presence(buyer, S2, False, timeout=10)
    # last seen: b's last heartbeat before the kill; offline once it is 3 heartbeats old
    assert gone["last_seen"] <= killed_at and gone["server_time"] > gone["last_seen"] + 3_000
    assert not status((await read_presence(a, auction_id, "buyer", BUYER)).json(), S2)["online"]
    await buyer.close()
    await asyncio.gather(s2.close(), return_exceptions=True)  # its server is gone
