"""``examples/award_consumer.py`` against a real ``bidserver serve``: by default it finds the
embedded journal of the data directory (not some Redis on localhost:6379), waits for it, says
what it does, and when the Redis dies and the server restarts it, reconnects and goes on."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from .conftest import SUPPLIERS, auction_config, create_auction
from .harness import Api, ServerProcess, token

EXAMPLE = Path(__file__).parents[2] / "examples" / "award_consumer.py"
S1 = next(iter(SUPPLIERS))


async def _until(predicate, what: str, timeout: float = 30.0) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not await predicate():
                await asyncio.sleep(0.05)  # poll interval
    except TimeoutError:
        raise AssertionError(f"timed out waiting until {what}") from None


async def _awarded_auction(server: ServerProcess) -> str:
    """An auction whose only lot closes within a second and is awarded (bid below reserve)."""
    buyer, auction_id = await create_auction(server, auction_config(duration_ms=800),
                                             suppliers={S1: "Alpha"})
    assert (await buyer.call("POST", f"/api/auctions/{auction_id}/start")).status_code == 200
    bid = {"bid_id": "b1", "lot_id": "L1", "amount": 97_500}
    placed = await Api(server, token("supplier", S1)).call(
        "POST", f"/api/auctions/{auction_id}/bids", bid)
    assert placed.status_code == 201, placed.text
    return auction_id


async def test_the_consumer_finds_the_embedded_journal_and_survives_its_restart(tmp_path):
    data = tmp_path / "data"
    socket_url = f"unix://{data / 'redis' / 'redis.sock'}"
    log_path = tmp_path / "consumer.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BIDSERVER_")}
    with open(log_path, "wb") as log:
        consumer = subprocess.Popen(
            [sys.executable, str(EXAMPLE), "--data-dir", str(data), "--consumer", "c1"],
            env={**env, "AWARD_SIGNING_KEY": "k", "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.DEVNULL, stderr=log,
        )
    server = ServerProcess("", data)

    async def logged(text: str, times: int = 1) -> bool:
        assert consumer.poll() is None, log_path.read_text()
        return log_path.read_text().count(text) >= times

    try:
        await _until(lambda: logged(f"waiting for Redis at {socket_url}"), "it waits")
        server.start()
        await _until(lambda: logged(f"connected to {socket_url}"), "it connects")
        r = aioredis.from_url(socket_url)
        try:
            first = await _awarded_auction(server)
            await _until(lambda: r.hexists("contracts:signatures", f"{first}:L1"), "signed")

            os.kill(int((data / "redis" / "embedded.pid").read_text()), signal.SIGKILL)
            await _until(lambda: logged(f"lost Redis at {socket_url}"), "it notices")
            await _until(lambda: logged(f"connected to {socket_url}", times=2), "it reconnects")
            second = await _awarded_auction(server)
            await _until(lambda: r.hexists("contracts:signatures", f"{second}:L1"), "signed")
            assert await r.hlen("contracts:signatures") == 2
        finally:
            await r.aclose()
        consumer.send_signal(signal.SIGTERM)
        assert consumer.wait(timeout=10) == 0
        assert "Traceback" not in log_path.read_text()
    finally:
        if consumer.poll() is None:
            consumer.kill()
            consumer.wait()
        server.stop()
