"""``bidserver serve --workers N``: N server processes on one listening socket, supervised.

The supervisor binds the socket (so ``--port 0`` and the printed address work as with one
process), starts the embedded Redis when no URL is given, and runs N workers, each a plain
``bidserver serve`` that inherits the socket (``BIDSERVER_LISTEN_FD``) and runs in cluster mode:
the kernel spreads connections over the workers, and Redis coordinates them (``ws/cluster.py``).
Their metrics meet in one directory (``PROMETHEUS_MULTIPROC_DIR``, ``<data_dir>/metrics`` unless
set), so that whichever worker answers ``/metrics`` tells every worker's numbers.
A worker that dies is started again; SIGTERM or SIGINT stops them all. Workers die with the
supervisor (``PR_SET_PDEATHSIG``), so a ``kill -9`` of it leaves nothing running.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import metrics
from .clock import monotonic_s
from .config import Settings, resolve_jwt_key
from .store.embedded import _set_pdeathsig

log = logging.getLogger("bidserver.workers")

RESTART_DELAY_S = 0.5
STOP_TIMEOUT_S = 10.0


def _worker_command(settings: Settings) -> list[str]:
    # The same command line (every flag the operator gave), made a single cluster worker.
    command = [
        sys.executable, "-m", "bidserver", *sys.argv[1:],
        "--workers", "1", "--cluster", "--redis-url", settings.redis_url,
    ]
    if settings.allow_single_machine_journal:  # the embedded Redis's, given by no flag
        command.append("--allow-single-machine-journal")
    return command


def supervise(settings: Settings, sock: socket.socket) -> None:
    resolve_jwt_key(settings)  # create <data_dir>/jwt.key once, before the workers read it
    metrics_dir = Path(os.environ.get(metrics.MULTIPROC_ENV) or settings.data_dir / "metrics")
    metrics.prepare_multiprocess_dir(metrics_dir)
    env = dict(os.environ, BIDSERVER_LISTEN_FD=str(sock.fileno()))
    env[metrics.MULTIPROC_ENV] = str(metrics_dir.resolve())
    parent = os.getpid()
    stopping = False

    def start() -> subprocess.Popen:
        return subprocess.Popen(
            _worker_command(settings),
            env=env,
            pass_fds=(sock.fileno(),),
            preexec_fn=lambda: _set_pdeathsig(parent),
        )

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    procs = [start() for _ in range(settings.workers)]
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:
                continue
            for i, proc in enumerate(procs):
                if proc.pid == pid and not stopping:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    metrics.worker_gone(pid, metrics_dir)
                    log.warning("worker %d exited with %s: starting it again", pid, proc.returncode)
                    time.sleep(RESTART_DELAY_S)
                    procs[i] = start()
        deadline = monotonic_s() + STOP_TIMEOUT_S
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - monotonic_s()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
