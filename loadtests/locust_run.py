"""One command for the locust scenarios: start bidserver, run locust headless, print, stop.

    python -m loadtests.locust_run --users 200 --spawn-rate 50 --run-time 60s
    python -m loadtests.locust_run --host http://127.0.0.1:8000 --jwt-key "$KEY" ...   # a running server

Without ``--host`` it starts ``bidserver serve --port 0`` in its own process (embedded Redis in a
temporary directory, a generated key, default limits) and stops it at the end. The auction lasts
the run time, so suppliers' bursts come before its close. Exit code: locust's (1 if any request
failed). ``--csv PREFIX`` keeps locust's CSV files.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_LISTENING = re.compile(rb"listening on (http://[\d.]+:\d+)")


def _seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+)([smh]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError("use e.g. 60s, 5m")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def start_server(workdir: Path, key: str, workers: int) -> tuple[subprocess.Popen, str]:
    env = dict(os.environ, BIDSERVER_JWT_KEY=key, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bidserver", "serve", "--port", "0", "--data-dir", str(workdir),
         "--log-level", "warning", "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=open(workdir / "server.log", "ab"), env=env,
    )
    deadline = time.monotonic() + 60
    line = b""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = _LISTENING.search(line)
        if match:
            return proc, match.group(1).decode()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"bidserver did not start: {line!r}\n{(workdir / 'server.log').read_text()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--spawn-rate", type=float, default=25)
    parser.add_argument("--run-time", type=_seconds, default=60)
    parser.add_argument("--host", help="a running server (then --jwt-key or BIDSERVER_JWT_KEY)")
    parser.add_argument("--jwt-key", default=os.environ.get("BIDSERVER_JWT_KEY"))
    parser.add_argument("--workers", type=int, default=1, help="serve --workers N for our server")
    parser.add_argument("--csv", help="keep locust's CSV files under this prefix")
    parser.add_argument("--suppliers", type=int, default=500,
                        help="suppliers invited before the run (the run time counts meanwhile)")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="bidlocust-"))
    server = None
    key = args.jwt_key
    if args.host:
        if not key:
            parser.error("--host needs --jwt-key (or BIDSERVER_JWT_KEY)")
        host = args.host
    else:
        key = key or secrets.token_urlsafe(32)
        server, host = start_server(workdir, key, args.workers)
        print(f"bidserver at {host} (work dir {workdir})", flush=True)
    csv = args.csv or str(workdir / "locust")
    env = dict(os.environ, BIDSERVER_JWT_KEY=key, LOCUST_AUCTION_S=str(args.run_time + 5),
               LOCUST_SUPPLIERS=str(args.suppliers))
    cmd = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
        "--run-time", f"{int(args.run_time)}s", "--host", host, "--csv", csv,
        "--only-summary", "--stop-timeout", "5", "--loglevel", "WARNING",
    ]
    try:
        return subprocess.call(cmd, env=env)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main())
