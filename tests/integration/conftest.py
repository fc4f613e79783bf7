from __future__ import annotations

import pytest

from .harness import Api, ServerProcess, token


@pytest.fixture
def server(redis_server, tmp_path):
    proc = ServerProcess(redis_server.url, tmp_path / "server")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def server_factory(redis_server, tmp_path):
    """Servers with their own settings on the test's Redis: ``server_factory(env={...})``
    (``BIDSERVER_*`` variables, see bidserver/config.py); all stopped at teardown."""
    started: list[ServerProcess] = []

    def make(name: str = "custom", env: dict[str, str] | None = None, extra_args=()) -> ServerProcess:
        proc = ServerProcess(redis_server.url, tmp_path / name, tuple(extra_args), env)
        started.append(proc)
        proc.start()
        return proc

    yield make
    for proc in started:
        proc.stop()


BUYER = "org-buyer-municipality"
SUPPLIERS = {
    "sup-alpha-7f3": "Alpha Logistics Ltd",
    "sup-bravo-91c": "Bravo Freight GmbH",
    "sup-charlie-2d8": "Charlie Haulage SA",
}


def auction_config(**overrides):
    config = {
        "title": "Road salt, winter 2027",
        "currency": "EUR",
        "lots": [
            {"lot_id": "L1", "title": "Road salt", "quantity": "1200", "unit": "t",
             "ceiling": 100000, "reserve": 98000}
        ],
        "duration_ms": 60_000,
        "decrement": {"kind": "amount", "value": 500},
        "visibility": "rank_only",
    }
    config.update(overrides)
    return config


async def create_auction(server: ServerProcess, config: dict, suppliers=SUPPLIERS) -> tuple[Api, str]:
    buyer = Api(server, token("buyer", BUYER, "Municipality of Example"))
    response = await buyer.call("POST", "/api/auctions", {"config": config})
    assert response.status_code == 201, response.text
    auction_id = response.json()["view"]["auction_id"]
    for supplier, name in suppliers.items():
        r = await buyer.call(
            "POST", f"/api/auctions/{auction_id}/invitations", {"supplier": supplier, "name": name}
        )
        assert r.status_code == 200, r.text
    return buyer, auction_id
