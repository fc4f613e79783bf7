"""``bidserver serve`` for the browser: a real process, restartable on the same port.

The port is the page's origin, and a page's sessionStorage (where the console keeps its token)
belongs to its origin: a page that must survive a server restart needs the server back on the
same port. The first start takes a free port (``--port 0``); restarts ask for that port again
(``serve`` binds with SO_REUSEADDR, so connections left in TIME_WAIT do not block it).

The server keys its tokens with the key it generates in its data dir (no ``BIDSERVER_JWT_KEY``):
only then does it sign in development users (``POST /api/dev/tokens``), and the key, in the data
dir, outlives restarts, so do the tokens.
"""

from __future__ import annotations

import time

import httpx

from tests.integration.harness import ServerProcess

from .browser import wait_until


class WebServer(ServerProcess):
    def environment(self) -> dict[str, str]:
        env = super().environment()
        for platform_key in ("BIDSERVER_JWT_KEY", "BIDSERVER_JWT_PUBLIC_KEY_FILE"):
            env.pop(platform_key, None)
        return dict(env, BIDSERVER_DEV_SIGN_IN="on")

    def command(self) -> list[str]:
        cmd = super().command()
        if self.port is not None:  # a restart: the port it had
            cmd[cmd.index("--port") + 1] = str(self.port)
        return cmd

    def start(self, timeout: float = 20.0) -> None:
        super().start(timeout)
        self.wait_ready()

    def restart(self, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL: a crash) and start again: same data dir, same port."""
        port = self.port
        self.kill9() if kill else self.stop()
        self.start()
        assert self.port == port, f"restarted on port {self.port}, not {port}"

    def wait_ready(self) -> None:
        """Until ``/readyz`` says ready: the journal answers and the auctions are loaded."""

        def ready() -> bool:
            try:
                return httpx.get(f"{self.base_url}/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 20, "the server to be ready")

    def dev_token(self, role: str, org: str, name: str = "") -> str:
        """A token from ``POST /api/dev/tokens`` (``{"role", "org", "name"}`` -> ``{"token"}``).
        The endpoint is rate limited per client address: a 429 is waited out as its
        ``retry-after`` says, within the usual timeout."""

        not_before = 0.0

        def mint() -> str | None:
            nonlocal not_before
            if time.monotonic() < not_before:
                return None
            answer = httpx.post(f"{self.base_url}/api/dev/tokens", timeout=5,
                                json={"role": role, "org": org, "name": name})
            if answer.status_code == 429:
                not_before = time.monotonic() + float(answer.headers.get("retry-after", "1"))
                return None
            assert answer.status_code in (200, 201), (
                f"POST /api/dev/tokens: {answer.status_code} {answer.text}")
            return answer.json()["token"]

        return wait_until(mint, 30, f"a development token for {role} {org}")
