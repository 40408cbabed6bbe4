"""The sandbox's worker processes: a job over its CPU, memory or wall budget ends in a typed
refusal, its worker is replaced, and the pool goes on serving."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator

import pytest

from tests import sandbox_jobs as jobs
from warmrun.config import Sandbox
from warmrun.integrations.sandbox import WorkerPool
from warmrun.platform.errors import CorruptFile, InvalidInput, TooComplex, TooLarge

MiB = 1024 * 1024


@pytest.fixture
def pool() -> Iterator[WorkerPool]:
    p = WorkerPool(Sandbox(workers=1, cpu_s=0.3, wall_s=5.0, memory_bytes=1024 * MiB))
    yield p
    p.close()


def test_a_job_runs_in_another_process(pool: WorkerPool) -> None:
    import os

    assert pool.call(jobs.pid) != os.getpid()


def test_a_job_past_its_cpu_time_is_too_complex_and_the_pool_recovers(
    pool: WorkerPool, caplog: pytest.LogCaptureFixture
) -> None:
    first = pool.call(jobs.pid)
    with pytest.raises(TooComplex):
        pool.call(jobs.spin)
    # Ended by its CPU timer (SIGPROF), long before the parent's wall deadline.
    assert f"ended (exit code -{signal.SIGPROF})" in caplog.text
    assert pool.call(jobs.pid) != first  # the worker was replaced


def test_a_job_past_its_memory_is_too_large(pool: WorkerPool) -> None:
    with pytest.raises(TooLarge) as info:
        pool.call(jobs.hog)
    assert info.value.params["what"] == "memory"
    assert pool.call(jobs.pid) > 0


def test_a_job_past_its_wall_deadline_is_too_complex(caplog: pytest.LogCaptureFixture) -> None:
    pool = WorkerPool(Sandbox(workers=1, cpu_s=5.0, wall_s=0.3))
    try:
        with pytest.raises(TooComplex):
            pool.call(jobs.sleep, 30.0)
        assert "passed its wall deadline" in caplog.text
        assert pool.call(jobs.pid) > 0
    finally:
        pool.close()


def test_a_domain_error_comes_back_typed_with_its_parameters(pool: WorkerPool) -> None:
    with pytest.raises(InvalidInput) as info:
        pool.call(jobs.refuse)
    assert info.value.params["reason_zh"] == "没有路线"
    assert "holds no route" in info.value.message("en")


def test_a_readers_bug_refuses_the_file_as_corrupt(pool: WorkerPool) -> None:
    with pytest.raises(CorruptFile):
        pool.call(jobs.crash)
    assert pool.call(jobs.pid) > 0


async def test_async_callers_share_the_workers() -> None:
    pool = WorkerPool(Sandbox(workers=2, cpu_s=2.0))
    try:
        pids = await asyncio.gather(*(pool.run(jobs.pid) for _ in range(8)))
        assert len(set(pids)) <= 2
    finally:
        pool.close()


def test_a_closed_pool_ends_its_workers() -> None:
    import multiprocessing

    def parse_workers() -> set[int | None]:
        return {p.pid for p in multiprocessing.active_children() if p.name == "warmrun-parse"}

    before = parse_workers()  # other pools' (the suite's own parser)
    pool = WorkerPool(Sandbox(workers=2))
    pool.warm()
    mine = parse_workers() - before
    assert len(mine) == 2
    pool.close()
    assert not mine & parse_workers()
