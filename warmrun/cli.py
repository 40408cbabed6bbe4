"""The ``warmrun`` command. Sub-commands call platform services; errors print their message."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from warmrun.config import (
    Settings,
    load_settings,
    serving_problem,
    share_metrics_dir_with_workers,
    share_redis_with_workers,
)
from warmrun.integrations.readers import read_any
from warmrun.platform import clock, ingest
from warmrun.platform.errors import InvalidTrack, UploadTooLarge, WarmrunError
from warmrun.platform.ingest import FileOutcome
from warmrun.platform.uploads import Parser, Upload
from warmrun.resources import open_resources

if TYPE_CHECKING:
    from warmrun.platform.signing import SiteKey

console = Console()
err = Console(stderr=True)


def _files(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file())
        else:
            out.append(p)
    return out


def track_stats(paths: list[str], settings: Settings) -> tuple[list[dict[str, Any]], bool]:
    """Parse and analyse only; no database. Returns rows and whether any file failed."""
    from warmrun.platform.plausibility import analyse

    rows: list[dict[str, Any]] = []
    failed = False
    for path in _files(paths):
        try:
            data = path.read_bytes()
            parsed = read_any(data, path.name, settings.limits)
        except OSError as exc:
            rows.append({"file": str(path), "error": {"code": "unreadable", "message": str(exc)}})
            failed = True
            continue
        except InvalidTrack as exc:
            rows.append({"file": str(path), "error": exc.as_dict("en")})
            failed = True
            continue
        for item in parsed:
            label = str(path) if item.name == path.name else f"{path}:{item.name}"
            if item.track is None:
                error = item.error or InvalidTrack()
                rows.append({"file": label, "error": error.as_dict("en")})
                failed = True
                continue
            try:
                summary = analyse(item.track, now=clock.now())
            except InvalidTrack as exc:
                rows.append({"file": label, "error": exc.as_dict("en")})
                failed = True
                continue
            rows.append({"file": label, **summary.as_dict()})
    return rows, failed


def _print_outcomes(outcomes: list[FileOutcome], as_json: bool) -> bool:
    failed = False
    rows: list[dict[str, Any]] = []
    for o in outcomes:
        if o.error is not None:
            failed = True
            rows.append({"file": o.name, "error": o.error.as_dict("en")})
        elif o.outcome is not None:
            run = o.outcome.run
            rows.append(
                {
                    "file": o.name,
                    "run_id": run.id,
                    "existing": o.outcome.existing,
                    "verdict": run.verdict,
                    "reasons": run.reasons,
                    "credited_distance_m": run.credited_m,
                    "value_fen": o.outcome.value_fen,
                    "points": o.outcome.points,
                }
            )
    if as_json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for r in rows:
            if "error" in r:
                err.print(f"[red]✗[/] {r['file']}: {r['error']['message']} ({r['error']['code']})")
            else:
                note = " (already imported)" if r["existing"] else ""
                console.print(
                    f"[green]✓[/] {r['file']}: run #{r['run_id']} {r['verdict']} "
                    f"{r['credited_distance_m'] / 1000:.2f} km, "
                    f"+{r['points']} points{note}"
                )
    return failed


async def _with_db(
    settings: Settings, fn: Callable[[], Awaitable[int]], *, redis: bool = False
) -> int:
    async with open_resources(settings, with_redis=redis):
        return await fn()


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        files = _files(args.paths)
        outcomes: list[FileOutcome] = []
        async with open_resources(settings, with_redis=False) as res:
            with Progress(console=err, transient=True, disable=args.json) as progress:
                task = progress.add_task("importing", total=len(files))
                for path in files:
                    outcomes += await _import_file(res.parser, path, args)
                    progress.advance(task)
        return 1 if _print_outcomes(outcomes, args.json) else 0

    return asyncio.run(go())


async def _import_file(parser: Parser, path: Path, args: argparse.Namespace) -> list[FileOutcome]:
    """One file as one upload (its own request bounds)."""
    try:
        upload = Upload(name=path.name, data=path.read_bytes())
    except OSError as exc:
        err.print(f"[red]✗[/] {path}: {exc}")
        return [FileOutcome(name=str(path), error=WarmrunError(str(exc)))]
    try:
        return await ingest.import_uploads(
            parser=parser, resident_id=args.resident, uploads=[upload], gcj02=args.gcj02
        )
    except UploadTooLarge as exc:
        return [FileOutcome(name=str(path), error=exc)]


def cmd_track_stats(args: argparse.Namespace, settings: Settings) -> int:
    rows, failed = track_stats(args.paths, settings)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        table = Table("file", "km", "credited km", "moving", "verdict", "reasons")
        for r in rows:
            if "error" in r:
                table.add_row(r["file"], "-", "-", "-", "error", r["error"]["code"])
            else:
                table.add_row(
                    r["file"],
                    f"{r['distance_m'] / 1000:.2f}",
                    f"{r['credited_distance_m'] / 1000:.2f}",
                    f"{r['moving_time_s'] // 60} min",
                    r["verdict"],
                    ", ".join(r["reasons"]),
                )
        console.print(table)
    return 1 if failed else 0


def _yuan(fen: int) -> str:
    """Fen as yuan with two decimals, exactly (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from warmrun.demo import run_demo
    from warmrun.platform.campaigns import totals
    from warmrun.platform.models import City

    async def go(res: Any) -> int:
        result = await run_demo(settings, res.parser)
        _print_outcomes(result.imported, False)
        if res.redis is not None:
            from warmrun.leaderboard.relay import drain

            await drain(res.redis)
        per_city = await totals(campaign_id=result.campaign_id, by="city")
        overall = (await totals(campaign_id=result.campaign_id))[None]
        cities = {c.id: c for c in await City.all()}
        table = Table(
            "city",
            "km",
            "kcal",
            "participants",
            "CNY funded",
            "warm packs",
            title="Four-city warm run",
        )
        for city_id, t in sorted(per_city.items(), key=lambda kv: cities[kv[0]].code):
            c = cities[city_id]
            table.add_row(
                f"{c.name_zh} {c.name_en}",
                f"{t.metres / 1000:.1f}",
                str(t.kcal),
                str(t.participants),
                _yuan(t.funded_fen),
                f"{t.goods.bundles} + {t.goods.next_percent}%",
            )
        table.add_row(
            "total",
            f"{overall.metres / 1000:.1f}",
            str(overall.kcal),
            str(overall.participants),
            _yuan(overall.funded_fen),
            f"{overall.goods.bundles} + {overall.goods.next_percent}%",
        )
        console.print(table)
        console.print(
            f"{overall.goods.bundles} warm packs funded and "
            f"{overall.goods.next_percent}% of the next."
        )
        from warmrun.demo import CAMPAIGN_CODE, DEMO_PASSWORD, DEMO_RESIDENT
        from warmrun.platform import transparency

        cp = await transparency.checkpoint_now(
            campaign_id=result.campaign_id, key=_ledger_key(settings)
        )
        console.print(
            f"Public ledger: {cp.size} entries, checkpoint {cp.number} signed (root "
            f"{cp.root[:16]}…). Check it offline: warmrun ledger export {CAMPAIGN_CODE} -o "
            f"ledger.jsonl; warmrun ledger checkpoint {CAMPAIGN_CODE} -o checkpoint.txt; "
            "warmrun ledger key -o key.pem; python3 -m warmrun.verify ledger.jsonl "
            "--checkpoint checkpoint.txt --public-key key.pem"
        )

        console.print(
            "Try it: [bold]warmrun serve[/bold], open http://127.0.0.1:8000 and sign in as "
            f"{DEMO_RESIDENT}, partner@warmrun.example, organizer@warmrun.example or "
            f"admin@warmrun.example (password: {DEMO_PASSWORD})."
        )
        return 0

    async def with_resources() -> int:
        async with open_resources(settings) as res:
            return await go(res)

    return asyncio.run(with_resources())


def cmd_campaign(args: argparse.Namespace, settings: Settings) -> int:
    from warmrun.platform import rollups, settlement
    from warmrun.platform.campaigns import advance, get_campaign
    from warmrun.platform.models import CampaignState

    async def go() -> int:
        campaign = await get_campaign(code=args.campaign)
        if args.action == "verify":
            v = await settlement.verify(campaign_id=campaign.id)
            console.print(f"ledger OK: {v.entries} entries, head {v.head_hash[:16]}…")
            wrong = await rollups.check(campaign.id)
            for line in wrong:
                console.print(f"totals differ: {line}")
            if wrong:
                console.print("rebuild them with: warmrun campaign rebuild-totals " + campaign.code)
                return 1
            console.print("totals OK: they equal the ledger's sums")
            return await _check_public_log(campaign.id, settings)
        elif args.action == "rebuild-totals":
            await rollups.rebuild(campaign.id)
            console.print(f"totals of {campaign.code} rebuilt from its ledger")
        elif args.action == "close":
            await advance(
                campaign_id=campaign.id, to=CampaignState.CLOSED, key=_ledger_key(settings)
            )
            console.print(f"campaign {campaign.code} closed")
        else:
            data = await settlement.settle(campaign_id=campaign.id, key=_ledger_key(settings))
            out = Path(args.out or settings.home / "reports")
            out.mkdir(parents=True, exist_ok=True)
            (out / f"{campaign.code}-settlement.json").write_bytes(settlement.render_json(data))
            (out / f"{campaign.code}-settlement.csv").write_bytes(settlement.render_csv(data))
            if data.get("checkpoint"):
                # The report's signed checkpoint, as the file warmrun/verify.py reads.
                note = data["checkpoint"]["note"]
                (out / f"{campaign.code}-checkpoint.txt").write_text(note)
            console.print(f"settled; report in {out}")
        return 0

    return asyncio.run(_with_db(settings, go))


async def _check_public_log(campaign_id: int, settings: Settings) -> int:
    """The public log checked as a partner checks it (warmrun/verify.py), once it has a
    checkpoint."""
    from warmrun import verify
    from warmrun.platform import transparency

    if not await transparency.checkpoints(campaign_id=campaign_id):
        console.print("public log: no checkpoint yet")
        return 0
    key = _ledger_key(settings)
    data = b"".join([c async for c in transparency.export(campaign_id=campaign_id, key=key)])
    try:
        result = verify.verify_export(data, public_key=key.public)
    except verify.Failure as exc:
        console.print(f"public log fails: {exc}")
        return 1
    console.print(f"public log OK: {result.entries} entries, root {result.root[:16]}…")
    return 0


def _ledger_key(settings: Settings) -> SiteKey:
    """The site's checkpoint signing key (made in WARMRUN_HOME on first use)."""
    from warmrun.platform import signing

    return signing.load_or_create(settings.home)


def cmd_ledger(args: argparse.Namespace, settings: Settings) -> int:
    """The public ledger: an export, a signed checkpoint, the public key, as files."""
    from warmrun.platform import transparency
    from warmrun.platform.campaigns import get_campaign

    key = _ledger_key(settings)
    if args.action == "key":
        _write(args.out, key.public_pem().encode())
        return 0
    if args.campaign is None:
        err.print("[red]give the campaign's code[/]")
        return 2

    async def go() -> int:
        campaign = await get_campaign(code=args.campaign)
        if args.action == "checkpoint":
            cp = await transparency.checkpoint_now(campaign_id=campaign.id, key=key)
            _write(args.out, cp.note.encode())
            err.print(
                f"checkpoint {cp.number} of {campaign.code}: {cp.size} entries, root {cp.root}"
            )
            return 0
        out = sys.stdout.buffer if args.out in (None, "-") else Path(args.out).open("wb")
        try:
            async for chunk in transparency.export(campaign_id=campaign.id, key=key):
                out.write(chunk)
        finally:
            if out is not sys.stdout.buffer:
                out.close()
        if args.out not in (None, "-"):
            err.print(f"exported the ledger of {campaign.code} to {args.out}")
        return 0

    return asyncio.run(_with_db(settings, go))


def _write(path: str | None, data: bytes) -> None:
    if path in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(str(path)).write_bytes(data)


def cmd_leaderboard(args: argparse.Namespace, settings: Settings) -> int:
    from warmrun.leaderboard import keys
    from warmrun.leaderboard.boards import Boards
    from warmrun.leaderboard.campaigns import clocks
    from warmrun.leaderboard.present import rows
    from warmrun.leaderboard.rebuild import rebuild
    from warmrun.leaderboard.relay import drain, run_forever
    from warmrun.platform.campaigns import get_campaign
    from warmrun.platform.models import Campaign

    async def go() -> int:
        async with open_resources(settings) as res:
            redis = res.redis
            if redis is None:  # pragma: no cover - open_resources always gives Redis here
                return 1
            if args.action == "relay":
                _log_records(settings)
                if args.once:
                    console.print(f"applied {await drain(redis)} outbox entries")
                    return 0
                stop = asyncio.Event()
                await run_forever(redis, stop=stop)
                return 0
            if args.action == "rebuild":
                targets = (
                    [await get_campaign(code=args.campaign)]
                    if args.campaign
                    else list(await Campaign.all())
                )
                await drain(redis)
                for c in targets:
                    result = await rebuild(redis, c.id)
                    console.print(
                        f"rebuilt {c.code}: {result.contributions} contributions, "
                        f"{result.keys} keys"
                    )
                return 0
            campaign = await get_campaign(code=args.campaign)
            await drain(redis)
            boards = Boards(redis)
            window = (await clocks())[campaign.id].current(clock.now(), args.window)
            scope = keys.SCOPE_NAMES[args.scope]
            metric = "pc" if args.per_capita else "pr" if args.participation else "m"
            if args.around is not None:
                entries = await boards.around(campaign.id, args.around, window)
                total = None
            else:
                entries, total = await boards.top(
                    campaign.id, scope, window, metric, offset=args.offset, limit=args.limit
                )
            table_rows = await rows(
                entries,
                scope="R" if args.around is not None else scope,
                metric=metric,
                now=clock.now(),
            )
            if args.json:
                print(
                    json.dumps(
                        {
                            "campaign": campaign.code,
                            "window": window,
                            "total": total,
                            "rows": table_rows,
                        },
                        ensure_ascii=False,
                        indent=2,
                    )
                )
                return 0
            value = {"m": "km", "pc": "m / household", "pr": "active ‰ of households"}[metric]
            table = Table("rank", "name", value, title=f"{campaign.name} · {window}")
            for r in table_rows:
                if metric == "m":
                    shown = f"{r['metres'] / 1000:.2f}"
                elif metric == "pc":
                    shown = f"{r['mm_per_household'] / 1000:.2f}"
                else:
                    shown = f"{r['active_per_million_households'] / 1000:.1f}"
                table.add_row(str(r["rank"]), r["name"], shown)
            console.print(table)
            if total is not None:
                console.print(f"{total} on this board")
            return 0

    return asyncio.run(go())


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
    # The parent migrates once and owns the embedded Redis; workers share both.
    asyncio.run(_upgrade(settings.database_url))
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
    """Migrate; on an install without an administrator, print the one-time first-run link."""
    from warmrun import db
    from warmrun.platform import accounts
    from warmrun.web import first_run

    settings.home.mkdir(parents=True, exist_ok=True)
    await db.connect(settings.database_url)
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

    return asyncio.run(_with_db(settings, go))


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run queued jobs (Strava sync) until interrupted; --burst: until the queue is empty."""
    from warmrun.integrations import jobs

    if settings.strava is None:
        console.print("Strava is not configured (STRAVA_CLIENT_ID): there are no jobs to run.")
        return 2

    _log_records(settings)

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


def _log_records(settings: Settings) -> None:
    """Log records of a long-running command go out as `warmrun serve`'s do."""
    import logging.config

    from warmrun.web import logs

    logging.config.dictConfig(logs.logging_config(settings.log_format))


async def _upgrade(url: str) -> None:
    """Migrate, then rebuild the campaign totals that do not match their ledger's length."""
    from warmrun import db
    from warmrun.platform import rollups

    await db.connect(url)
    try:
        for campaign_id in await rollups.heal():
            console.print(f"rebuilt the totals of campaign {campaign_id} from its ledger")
    finally:
        await db.close()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warmrun", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("serve", help="run the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL only; default 1)"
    )
    p.set_defaults(fn=cmd_serve)
    p = sub.add_parser("demo", help="create the four-city demo campaign and import sample runs")
    p.set_defaults(fn=cmd_demo)
    p = sub.add_parser("import", help="import run files, folders or zips for a resident")
    p.add_argument("paths", nargs="+")
    p.add_argument("--resident", type=int, required=True)
    p.add_argument("--gcj02", action="store_true", help="coordinates are GCJ-02 (Keep, Codoon)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_import)
    p = sub.add_parser("track-stats", help="analyse files without storing anything")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_track_stats)
    p = sub.add_parser("campaign", help="verify the ledger, close or settle a campaign")
    p.add_argument("action", choices=["verify", "rebuild-totals", "close", "settle"])
    p.add_argument("campaign", help="campaign code")
    p.add_argument("--out", help="directory for the settlement report")
    p.set_defaults(fn=cmd_campaign)
    p = sub.add_parser(
        "ledger",
        help="the public ledger: export it, sign a checkpoint, write the site's public key",
        description="export: every entry of the campaign's public log as JSON Lines; "
        "checkpoint: a signed checkpoint of the log as it is now (the latest if it has not "
        "grown); key: the public key that checks the signatures. Check them offline with "
        "python3 -m warmrun.verify EXPORT --checkpoint FILE --public-key KEY.",
    )
    p.add_argument("action", choices=["export", "checkpoint", "key"])
    p.add_argument("campaign", nargs="?", help="campaign code (export, checkpoint)")
    p.add_argument("-o", "--out", help="file to write (default: standard output)")
    p.set_defaults(fn=cmd_ledger)
    p = sub.add_parser("leaderboard", help="show, rebuild or relay the leaderboards")
    p.add_argument("action", choices=["show", "rebuild", "relay"])
    p.add_argument("campaign", nargs="?", help="campaign code (rebuild: all when omitted)")
    p.add_argument("--scope", choices=["resident", "compound", "city"], default="resident")
    p.add_argument("--window", choices=["campaign", "week", "month"], default="campaign")
    p.add_argument("--per-capita", action="store_true", help="metres per registered household")
    p.add_argument("--participation", action="store_true", help="active residents / households")
    p.add_argument("--around", type=int, metavar="RESIDENT", help="my rank, five above and below")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--once", action="store_true", help="relay: drain the outbox and exit")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_leaderboard)
    p = sub.add_parser("admin", help="create an administrator")
    p.add_argument("action", choices=["create"])
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(fn=cmd_admin)
    p = sub.add_parser("worker", help="run queued jobs (Strava sync)")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.set_defaults(fn=cmd_worker)
    p = sub.add_parser("db", help="database migrations")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(fn=cmd_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        code: int = args.fn(args, settings)
    except WarmrunError as exc:
        err.print(f"[red]{exc.message('en')}[/] ({exc.code})")
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
