"""Worker processes that run parsers on untrusted bytes, each job within CPU, memory and time.

A file from outside may be built to make a parser slow or hungry. It is therefore never parsed
on the event loop's process: a job runs in one of a few worker processes, which hold
- a CPU-time limit per job (``RLIMIT_CPU``, raised by the job's allowance before each job; the
  kernel ends a worker that passes it),
- an address-space limit (``RLIMIT_AS``: an allocation past it fails inside the worker),
- and a wall deadline kept by the parent, which kills a worker that has not answered in time.
A worker that dies or overruns is replaced and the job is refused with :class:`TooComplex`.

Workers are forked from a forkserver that imported the readers first (numpy included), so a
replacement is ready in milliseconds. The pool is independent of any event loop: a job is a
blocking exchange on a pipe, run on one of as many threads as there are workers, and an
``async`` caller awaits that thread. Jobs are module-level functions (sent by reference) with
picklable arguments and results.
"""

from __future__ import annotations

import asyncio
import logging
import math
import multiprocessing
import queue
import resource
import signal
import sys
import threading
import traceback
import types
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from warmrun.config import Sandbox
from warmrun.platform.errors import CorruptFile, TooComplex, TooLarge, TryLater, WarmrunError

log = logging.getLogger("warmrun.sandbox")
_T = TypeVar("_T")
# Imported by the forkserver before it forks any worker: the readers and what they use.
PRELOAD = ["warmrun.integrations.parsing"]


_MAIN = threading.Lock()


def _start(process: multiprocessing.process.BaseProcess) -> None:
    """Start a worker without the parent's ``__main__``. Otherwise multiprocessing has every
    worker run the parent's script again (the `warmrun` command, a benchmark): the forkserver
    never imports it itself, since CPython hands it over under a key the server does not read."""
    with _MAIN:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            process.start()
        finally:
            sys.modules["__main__"] = main


class _Overran(Exception):
    """The worker did not answer within the wall deadline."""


def _rebuild(cls: type[WarmrunError], detail: str | None, params: dict[str, Any]) -> WarmrunError:
    """A domain error sent across the pipe (its class, detail and parameters: the
    constructors' signatures differ, so the exception itself is not pickled)."""
    exc = cls.__new__(cls)
    exc.detail, exc.params = detail, params
    Exception.__init__(exc, exc.message("en"))
    return exc


def _allow_cpu(seconds: float) -> None:
    """Let the next job use ``seconds`` more CPU time, then end the worker.

    The profiling timer counts this process's CPU time to the microsecond and its signal's
    default action ends the process, even inside C code that never returns to Python.
    ``RLIMIT_CPU`` (whole seconds) stands behind it.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft, resource.RLIM_INFINITY))
    signal.setitimer(signal.ITIMER_PROF, seconds)


def _serve(conn: Connection, cpu_s: float, memory_bytes: int) -> None:
    """A worker's life: take a job, run it, send back its result or typed error; repeat."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which ends us
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            fn, args = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or died
        _allow_cpu(cpu_s)
        try:
            reply: tuple[Any, ...] = ("ok", fn(*args))
            signal.setitimer(signal.ITIMER_PROF, 0)
        except WarmrunError as exc:
            reply = ("error", type(exc), exc.detail, exc.params)
        except MemoryError:
            reply = ("memory",)
        except RecursionError:
            reply = ("memory",)
        except Exception:  # a reader's bug: the parent logs it and refuses the file
            reply = ("bug", traceback.format_exc(limit=20))
        signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            conn.send(reply)
        except (MemoryError, OSError):
            return
        del reply


class _Worker:
    """The parent's handle on one worker process."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process, self.conn = process, conn
        self.exitcode: int | None = None

    def exchange(self, job: tuple[Callable[..., Any], tuple[Any, ...]], wall_s: float) -> Any:
        self.conn.send(job)
        if not self.conn.poll(wall_s):
            raise _Overran
        return self.conn.recv()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.exitcode = self.process.exitcode
        self.conn.close()
        self.process.close()


class WorkerPool:
    """A few worker processes with their limits; ``run`` sends one job to an idle one."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD)
        size = max(1, sandbox.workers)
        # None is a slot whose worker is not started yet (or could not be restarted).
        self._idle: queue.SimpleQueue[_Worker | None] = queue.SimpleQueue()
        for _ in range(size):
            self._idle.put(None)
        self._size = size
        self._threads = ThreadPoolExecutor(max_workers=size, thread_name_prefix="warmrun-parse")
        self._closed = False
        self._lock = threading.Lock()

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=_serve,
            args=(child, self.sandbox.cpu_s, self.sandbox.memory_bytes),
            name="warmrun-parse",
            daemon=True,
        )
        _start(process)
        child.close()
        return _Worker(process, parent)

    def warm(self) -> None:
        """Start every worker now (blocking) rather than on first use."""
        slots = [self._idle.get() for _ in range(self._size)]
        try:
            slots = [w if w is not None else self._spawn() for w in slots]
        finally:
            for w in slots:
                self._idle.put(w)

    def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` in a worker (blocking): its result, or its typed error raised."""
        if self._closed:
            raise TryLater()
        worker = self._idle.get()
        try:
            if worker is None:
                worker = self._spawn()
            reply = worker.exchange((fn, args), self.sandbox.wall_s)
        except (_Overran, EOFError, OSError) as exc:
            if worker is not None:
                worker.kill()
                why = "passed its wall deadline" if isinstance(exc, _Overran) else "ended"
                log.warning(
                    "a parse worker %s (exit code %s) on %s; refused as too complex, replaced",
                    why,
                    worker.exitcode,
                    getattr(fn, "__name__", fn),
                )
            worker = None
            raise TooComplex() from None
        except BaseException:
            if worker is not None:  # a failure while sending (pickling): the pipe is unusable
                worker.kill()
            worker = None
            raise
        finally:
            if self._closed and worker is not None:
                worker.kill()
            else:
                self._idle.put(worker)
        result: _T = self._result(reply)
        return result

    async def run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """``call`` from async code: the exchange runs on one of the pool's threads."""
        return await asyncio.wrap_future(self._threads.submit(self.call, fn, *args))

    def _result(self, reply: tuple[Any, ...]) -> Any:
        kind = reply[0]
        if kind == "ok":
            return reply[1]
        if kind == "error":
            raise _rebuild(reply[1], reply[2], reply[3])
        if kind == "memory":
            mib = self.sandbox.memory_bytes // (1024 * 1024)
            raise TooLarge(what="memory", limit=f"{mib} MiB")
        log.error("a reader failed on a file (refused as corrupt):\n%s", reply[1])
        raise CorruptFile()

    def close(self) -> None:
        """Stop every worker (after the jobs under way end)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._threads.shutdown(wait=True)
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                break
            if worker is not None:
                worker.kill()
