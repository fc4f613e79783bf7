"""The journal's backup and restore as docs/operations.md tells it ("Backing up the journal"):
Redis's own AOF directory, copied while the server runs with AOF rewrites held off, restored
into a fresh server's directory. The restored journal holds every write made before the copy,
byte for byte, and its hash chain goes on from there."""

from __future__ import annotations

import shutil
import time

import redis

from bidserver.store.embedded import EmbeddedRedis
from bidserver.store.redis_journal import RedisJournal

from .chained import numbered, sealed


def back_up(server: EmbeddedRedis, into) -> None:
    """The documented steps: no AOF rewrite may start (or be running) while the files are
    copied, then rewrites are allowed again."""
    client = redis.Redis(unix_socket_path=str(server.socket_path))
    try:
        before = client.config_get("auto-aof-rewrite-percentage")["auto-aof-rewrite-percentage"]
        client.config_set("auto-aof-rewrite-percentage", 0)
        deadline = time.monotonic() + 30
        while client.info("persistence")["aof_rewrite_in_progress"]:
            assert time.monotonic() < deadline, "an AOF rewrite did not finish"
            time.sleep(0.05)  # polling a condition, with a deadline
        shutil.copytree(server.data_dir / "appendonlydir", into / "appendonlydir")
        client.config_set("auto-aof-rewrite-percentage", before)
    finally:
        client.close()


async def test_a_copy_of_the_aof_directory_restores_the_journal(redis_server, tmp_path):
    journal = RedisJournal(redis_server.url)
    await journal.connect()
    await journal.append("a", 1, sealed(1, 40))
    await journal.redis.bgrewriteaof()  # a base file and an increment, as a long-lived server has
    await journal.append("a", 41, sealed(41, 60))
    backup = tmp_path / "backup"
    back_up(redis_server, backup)
    await journal.append("a", 61, sealed(61, 61))  # after the copy: not in it
    await journal.close()

    restored_dir = tmp_path / "restored"
    shutil.copytree(backup, restored_dir)
    with EmbeddedRedis(restored_dir) as restored:
        again = RedisJournal(restored.url)
        await again.connect()
        assert await again.read("a") == numbered(1, 60)
        assert "a" in await again.auction_ids()
        await again.append("a", 61, sealed(61, 61))  # and the chain goes on where it stopped
        await again.close()
