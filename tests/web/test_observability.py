"""The app can be watched: /metrics (for the right callers only), request ids in headers and in
log records, JSON log lines."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.datastructures import Secret

from tests.web.conftest import BASE, Web, settings_for
from tests.web.test_runs import RUN_GPX, files
from warmrun.config import load_settings
from warmrun.integrations import jobs
from warmrun.leaderboard.relay import LOCK_KEY
from warmrun.platform import clock, outbox, sql
from warmrun.platform.models import Outbox
from warmrun.resources import redis_client
from warmrun.web import logs, metrics, ratelimit

OUTSIDE = ("203.0.113.9", 1234)
TOKEN = "metrics-token-for-the-tests-0123456789"
BOARDS = "/api/v1/campaigns/{code}/boards/{scope}"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(web: Web) -> str:
    async with web.client() as client:
        r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def outside_client(web: Web, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web.app, client=OUTSIDE),
        base_url=BASE,
        headers=headers,
    )


def with_token(web: Web) -> None:
    settings = web.app.state.settings
    web.app.state.settings = dataclasses.replace(settings, metrics_token=Secret(TOKEN))


async def test_an_upload_is_counted_by_outcome_and_timed_by_route_template(web: Web) -> None:
    before = await scrape(web)
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX, ("notes.gpx", b"<html/>")))
        assert [f["status"] for f in r.json()["files"]] == ["accepted", "error"]
        run_id = r.json()["files"][0]["run_id"]
        assert (await client.get(f"/api/v1/runs/{run_id}")).status_code == 200
    after = await scrape(web)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("warmrun_uploads_total", outcome="accepted", code="", format="gpx") == 1
    assert grew("warmrun_uploads_total", outcome="error", code="not_a_track", format="") == 1
    assert grew("warmrun_upload_duration_seconds_count") == 1
    assert grew("warmrun_parse_duration_seconds_count") == 2  # each file, in the sandbox
    timed = {"route": "/api/v1/runs", "method": "POST", "status": "2xx"}
    assert grew("warmrun_http_request_duration_seconds_count", **timed) == 1
    one = {"route": "/api/v1/runs/{run_id:int}", "method": "GET", "status": "2xx"}
    assert grew("warmrun_http_request_duration_seconds_count", **one) == 1
    assert f'/api/v1/runs/{run_id}"' not in after  # never the raw path


async def test_an_address_nobody_routes_is_one_series_whatever_the_path(web: Web) -> None:
    async with web.client() as client:
        for n in range(3):
            assert (await client.get(f"/no-such-page-{n}")).status_code == 404
    text = await scrape(web)
    assert "no-such-page" not in text
    labels = {"route": metrics.UNMATCHED, "method": "GET", "status": "4xx"}
    assert value(text, "warmrun_http_request_duration_seconds_count", **labels) >= 3


async def test_metrics_are_404_for_an_outside_client_without_the_token(web: Web) -> None:
    with_token(web)
    async with outside_client(web) as client:
        refused = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        posted = await client.post("/metrics")
        unknown = await client.get("/no-such-page")
    # Nothing tells it from an address that does not exist (the page names the address).
    like_unknown = unknown.text.replace("/no-such-page", "/metrics")
    for r in (refused, wrong, posted):
        assert r.status_code == 404
        assert "warmrun_" not in r.text
        assert r.text == like_unknown


async def test_metrics_are_served_to_an_outside_client_with_the_token(web: Web) -> None:
    with_token(web)
    async with outside_client(web, Authorization=f"Bearer {TOKEN}") as client:
        r = await client.get("/metrics")
    assert r.status_code == 200
    assert "warmrun_http_request_duration_seconds" in r.text


async def test_without_a_token_setting_only_loopback_clients_are_served(web: Web) -> None:
    async with outside_client(web, Authorization="Bearer ") as client:
        assert (await client.get("/metrics")).status_code == 404
    async with web.client() as client:
        assert (await client.get("/metrics")).status_code == 200
        # Through a reverse proxy on this machine everyone arrives from loopback.
        proxied = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
        assert proxied.status_code == 404


@pytest.fixture
async def relay_held(web: Web) -> AsyncIterator[None]:
    """The relay lock taken by the test (once the app's relay has let go of it), so the app's
    relay leaves the outbox alone."""
    redis = web.app.state.redis
    for _ in range(200):
        if await redis.set(LOCK_KEY, "the-test", nx=True, px=60_000):
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the relay never let go of its lock")
    yield
    await redis.delete(LOCK_KEY)


@pytest.mark.usefixtures("relay_held")
async def test_outbox_depth_and_relay_lag_are_measured_at_scrape(web: Web) -> None:
    two_hours_ago = clock.now() - timedelta(hours=2)
    clock.set_clock(lambda: two_hours_ago)
    try:
        await outbox.emit(sql.default(), "probe", {"note": "waits for the relay"})
    finally:
        clock.set_clock(None)
    pending = await Outbox.filter(processed_at=None).count()
    text = await scrape(web)
    assert pending >= 1
    assert value(text, "warmrun_outbox_depth") == pending
    assert 2 * 3600 - 60 <= value(text, "warmrun_relay_lag_seconds") <= 2 * 3600 + 600


async def test_job_queue_depth_is_the_size_of_the_queue(web: Web) -> None:
    redis = web.app.state.redis
    before = value(await scrape(web), "warmrun_job_queue_depth")
    await redis.zadd(jobs.QUEUE, {"job-a": 1, "job-b": 2})
    try:
        assert value(await scrape(web), "warmrun_job_queue_depth") == before + 2
    finally:
        await redis.zrem(jobs.QUEUE, "job-a", "job-b")


async def test_rate_limit_refusals_are_counted_by_limit(web: Web) -> None:
    before = value(await scrape(web), "warmrun_rate_limit_refusals_total", limit="export")
    async with web.signed_in("resident") as client:
        codes = [(await client.get("/api/v1/me/export")).status_code for _ in range(6)]
    assert codes.count(429) == 1
    after = value(await scrape(web), "warmrun_rate_limit_refusals_total", limit="export")
    assert after - before == 1


async def test_a_valid_request_id_is_echoed(web: Web) -> None:
    async with web.client() as client:
        r = await client.get("/healthz", headers={"X-Request-ID": "edge-1234.abc_DEF"})
        missing = await client.get("/no-such-page", headers={"X-Request-ID": "edge-5678"})
    assert r.headers["x-request-id"] == "edge-1234.abc_DEF"
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "edge-5678"


@pytest.mark.parametrize(
    "sent", ["short", "x" * 65, "has space in it", "semi;colon1", "slash/in/the/id", None]
)
async def test_an_unacceptable_or_missing_request_id_is_replaced(
    web: Web, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent}
    async with web.client() as client:
        first = await client.get("/healthz", headers=headers)
        second = await client.get("/healthz", headers=headers)
    made = first.headers["x-request-id"]
    assert made != sent and re.fullmatch(r"[0-9a-f]{32}", made)
    assert second.headers["x-request-id"] != made
    assert logs.current_request_id() is None  # nothing left behind in the caller's context


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_log_record_written_during_a_request_carries_its_id(
    web: Web, caplog: pytest.LogCaptureFixture
) -> None:
    try_later_before = value(await scrape(web), "warmrun_http_try_later_total", route=BOARDS)
    real = web.app.state.redis
    away = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    web.app.state.redis = away  # so that the request logs a warning (Redis unavailable)
    caplog.handler.addFilter(logs.RequestIdFilter())
    try:
        with caplog.at_level(logging.WARNING, logger="warmrun"):
            logging.getLogger("warmrun.web").warning("before the request")
            async with web.client() as client:
                r = await client.get(
                    f"/api/v1/campaigns/{web.site.campaign}/boards/residents",
                    headers={"X-Request-ID": "trace-0001"},
                )
    finally:
        web.app.state.redis = real
        await away.aclose()
        ratelimit.LOCAL.values.clear()
    assert r.status_code == 503 and r.headers["x-request-id"] == "trace-0001"
    try_later = value(await scrape(web), "warmrun_http_try_later_total", route=BOARDS)
    assert try_later - try_later_before == 1
    during = [rec for rec in caplog.records if "unavailable" in rec.getMessage()]
    assert during, [rec.getMessage() for rec in caplog.records]
    assert all(getattr(rec, "request_id", None) == "trace-0001" for rec in during)
    before = [rec for rec in caplog.records if rec.getMessage() == "before the request"]
    assert [getattr(rec, "request_id", None) for rec in before] == [logs.NO_REQUEST]


def formatted(logger: logging.Logger, emit: object) -> list[dict[str, object]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.RequestIdFilter())
    logger.addHandler(handler)
    try:
        assert callable(emit)
        emit()
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    return [json.loads(line) for line in lines]


def test_the_json_formatter_writes_one_object_per_line_with_the_fields() -> None:
    logger = logging.getLogger("warmrun.test-json")
    logger.propagate = False
    logger.setLevel(logging.INFO)

    def emit() -> None:
        token = logs.REQUEST_ID.set("req-12345678")
        try:
            logger.info("uploaded %s 跑步\nsecond line", "run.gpx")
            try:
                raise ValueError("bad value")
            except ValueError:
                logger.exception("it failed")
        finally:
            logs.REQUEST_ID.reset(token)
        logger.warning("outside")

    try:
        first, failed, outside = formatted(logger, emit)
    finally:
        logger.propagate = True
    assert first["message"] == "uploaded run.gpx 跑步\nsecond line"
    assert first["level"] == "INFO" and first["logger"] == "warmrun.test-json"
    assert first["request_id"] == "req-12345678"
    assert str(first["time"]).endswith("+00:00") and "exception" not in first
    assert failed["request_id"] == "req-12345678"
    assert "Traceback" in str(failed["exception"]) and "bad value" in str(failed["exception"])
    assert outside["request_id"] is None and outside["level"] == "WARNING"


def test_successful_probes_and_scrapes_leave_no_access_line() -> None:
    quiet = logs.QuietProbes()

    def access(path: str, status: int) -> logging.LogRecord:
        args = ("127.0.0.1:5000", "GET", path, "1.1", status)
        return logging.LogRecord(
            "uvicorn.access", logging.INFO, "", 0, "%s %s %s %s %d", args, None
        )

    assert not quiet.filter(access("/healthz", 200))
    assert not quiet.filter(access("/metrics?x=1", 200))
    assert quiet.filter(access("/readyz", 503))
    assert quiet.filter(access("/api/v1/runs", 200))


def test_logging_config_refuses_an_unknown_format() -> None:
    assert logs.logging_config("text")["formatters"]["main"]["format"] == logs.TEXT_FORMAT
    assert logs.logging_config("json")["handlers"]["main"]["filters"] == ["request_id"]
    with pytest.raises(ValueError, match="log format"):
        logs.logging_config("xml")


def test_the_metrics_directory_is_emptied_of_other_processes_files(tmp_path: Path) -> None:
    old = tmp_path / "counter_999999999.db"
    own = tmp_path / f"histogram_{os.getpid()}.db"
    old.write_bytes(b"x")
    own.write_bytes(b"x")
    metrics.prepare_multiprocess_dir(tmp_path)
    assert not old.exists() and own.exists()


def test_several_processes_counts_are_added_up_in_multiprocess_mode(tmp_path: Path) -> None:
    shared = tmp_path / "metrics"
    metrics.prepare_multiprocess_dir(shared)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    count = "from warmrun.web import metrics; metrics.UPLOADS.labels('flagged', '', 'fit').inc()"
    for _ in range(2):  # two worker processes
        subprocess.run([sys.executable, "-c", count], env=env, check=True, timeout=120)
    settings = dataclasses.replace(settings_for(tmp_path), metrics_dir=shared)
    from prometheus_client import generate_latest

    text = generate_latest(metrics._counted(settings)).decode()
    assert value(text, "warmrun_uploads_total", outcome="flagged", code="", format="fit") == 2


def test_settings_read_the_metrics_and_log_variables(tmp_path: Path) -> None:
    env = {
        "WARMRUN_HOME": str(tmp_path),
        "WARMRUN_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "m"),
        "WARMRUN_LOG_FORMAT": "text",
    }
    s = load_settings(env)
    assert str(s.metrics_token) == TOKEN and s.metrics_dir == tmp_path / "m"
    assert s.log_format == "text"
    plain = load_settings({"WARMRUN_HOME": str(tmp_path)})
    assert plain.metrics_token is None and plain.metrics_dir is None
    assert plain.log_format == "json"
    with pytest.raises(ValueError, match="WARMRUN_LOG_FORMAT"):
        load_settings({**env, "WARMRUN_LOG_FORMAT": "xml"})


async def test_a_server_error_carries_the_request_id_in_its_answer_and_its_log(
    web: Web, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(redis: object) -> dict[str, str]:
        raise RuntimeError("a bug")

    monkeypatch.setattr("warmrun.web.app.readiness", broken)
    caplog.handler.addFilter(logs.RequestIdFilter())
    crashed = {"route": "/readyz", "method": "GET", "status": "5xx"}
    before = value(await scrape(web), "warmrun_http_request_duration_seconds_count", **crashed)
    transport = httpx.ASGITransport(app=web.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        with caplog.at_level(logging.ERROR, logger="warmrun"):
            r = await client.get("/readyz", headers={"X-Request-ID": "crash-0001"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "crash-0001"
    [record] = [rec for rec in caplog.records if rec.getMessage().startswith("unhandled error")]
    assert getattr(record, "request_id", None) == "crash-0001" and record.exc_info
    after = value(await scrape(web), "warmrun_http_request_duration_seconds_count", **crashed)
    assert after - before == 1


async def test_webhook_deliveries_are_counted_by_provider_and_outcome(integrated: Web) -> None:
    def counts(text: str) -> tuple[float, float, float]:
        return (
            value(text, "warmrun_webhooks_total", provider="stripe", outcome="rejected"),
            value(text, "warmrun_webhooks_total", provider="strava", outcome="rejected"),
            value(text, "warmrun_webhooks_total", provider="strava", outcome="unknown_athlete"),
        )

    before = counts(await scrape(integrated))
    event = {
        "object_type": "activity",
        "aspect_type": "create",
        "object_id": 11,
        "owner_id": 424242,  # no resident connected this athlete
        "event_time": 1_700_000_000,
    }
    async with integrated.client() as client:
        stripe = await client.post("/api/v1/webhooks/stripe", content=b"{}")
        forged = await client.post("/api/v1/webhooks/strava", json={"object_type": "route"})
        unknown = await client.post("/api/v1/webhooks/strava", json=event)
    assert stripe.status_code == 400 and forged.status_code == 422
    assert unknown.json() == {"queued": False}
    after = counts(await scrape(integrated))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]
