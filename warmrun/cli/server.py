"""`warmrun serve`, `worker`, `db` and `admin`: running the site and its jobs, migrating its
database, creating its administrators."""

from __future__ import annotations

import argparse
import asyncio
import sys

from warmrun.cli.context import console, err, log_records, with_db
from warmrun.config import (
    Settings,
    serving_problem,
    share_metrics_dir_with_workers,
    share_redis_with_workers,
)
from warmrun.resources import open_resources


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:

    settings.home.mkdir(parents=True, exist_ok=True)
    asyncio.run(_upgrade(settings.database_url))
    console.print("database is up to date")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:

    import uvicorn

    from warmrun.web import logs, metrics
    from warmrun.web.app import create_app

    problem = serving_problem(settings, args.host)
    if problem is not None:
        console.print(
            f"[red]Not serving on {args.host}: {problem}.[/] Set WARMRUN_SECRET_KEY to a random "
            "value of 32 characters or more (e.g. `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'`)."
        )
        return 2
    log_config = logs.logging_config(settings.log_format)
    asyncio.run(_first_run_link(settings, args.host, args.port))
    if args.workers <= 1:
        if settings.metrics_dir is not None:
            metrics.prepare_multiprocess_dir(settings.metrics_dir)
        uvicorn.run(
            create_app(settings),
            host=args.host,
            port=args.port,
            log_level="info",
            log_config=log_config,
        )
        return 0
    if settings.database_url.startswith("sqlite"):
        console.print("[red]--workers needs PostgreSQL (DATABASE_URL); SQLite has one writer.")
        return 2
    # Each worker process counts in files of its own there; a scrape, answered by any one of
    # them, adds up all (prometheus-client's multiprocess mode).
    metrics_dir = settings.metrics_dir or settings.home / "metrics"
    metrics.prepare_multiprocess_dir(metrics_dir)
    share_metrics_dir_with_workers(metrics_dir)
    # The parent migrated once (above) and owns the embedded Redis; workers share both.
    embedded = None
    if settings.redis_url is None:
        from warmrun.redis_server import EmbeddedRedis

        embedded = EmbeddedRedis(settings.home)
        share_redis_with_workers(embedded.start())
    try:
        uvicorn.run(
            "warmrun.web.app:worker_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            log_config=log_config,
        )
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


async def _first_run_link(settings: Settings, host: str, port: int) -> None:
    """Migrate and heal the totals (:func:`_upgrade`); on an install without an administrator,
    print the one-time first-run link."""
    from warmrun import db
    from warmrun.platform import accounts
    from warmrun.web import first_run

    settings.home.mkdir(parents=True, exist_ok=True)
    await _upgrade(settings.database_url, keep=True)
    try:
        if await accounts.has_admin():
            return
    finally:
        await db.close()
    token = first_run.issue(settings.home)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - a comparison
    console.print(
        "No administrator yet. Create the first one, once, at "
        f"http://{shown}:{port}/first-run?token={token} (or: warmrun admin create EMAIL)"
    )


def cmd_admin(args: argparse.Namespace, settings: Settings) -> int:
    """Create an administrator from the command line (the password is asked for, or read from
    standard input with --password-stdin)."""
    import getpass

    from warmrun.platform import accounts
    from warmrun.platform.models import Role

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password for the new administrator: ")
        if getpass.getpass("The same again: ") != password:
            err.print("[red]The two passwords differ; nothing was created.[/]")
            return 1

    async def go() -> int:
        account = await accounts.create_staff(email=args.email, password=password, role=Role.ADMIN)
        console.print(f"administrator {account.email} created; sign in at /login")
        return 0

    return asyncio.run(with_db(settings, go))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run queued jobs (Strava sync) until interrupted; --burst: until the queue is empty."""
    from warmrun.integrations import jobs

    if settings.strava is None:
        console.print("Strava is not configured (STRAVA_CLIENT_ID): there are no jobs to run.")
        return 2

    log_records(settings)

    async def go() -> int:
        async with open_resources(settings) as res:
            if res.redis is None:  # pragma: no cover - open_resources always gives Redis here
                return 2
            worker = jobs.worker(settings, res.redis, res.parser, burst=args.burst)
            try:
                await worker.async_run()
            finally:
                await worker.close()
            console.print(
                f"jobs: {worker.jobs_complete} done, {worker.jobs_retried} retried, "
                f"{worker.jobs_failed} failed"
            )
        return 0

    try:
        return asyncio.run(go())
    except KeyboardInterrupt:
        return 0


async def _upgrade(url: str, *, keep: bool = False) -> None:
    """Migrate, then rebuild the campaign totals that do not match their ledger's length;
    ``keep``: leave the connection open for the caller to close."""
    from warmrun import db
    from warmrun.platform import rollups

    await db.connect(url)
    try:
        for campaign_id in await rollups.heal():
            console.print(f"rebuilt the totals of campaign {campaign_id} from its ledger")
    except BaseException:
        await db.close()
        raise
    if not keep:
        await db.close()
