"""The ``warmrun`` command. Sub-commands call platform services; errors print their message."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from warmrun.cli.boards import cmd_leaderboard
from warmrun.cli.context import err
from warmrun.cli.demo import cmd_demo
from warmrun.cli.files import cmd_import, cmd_track_stats
from warmrun.cli.ledgers import cmd_campaign, cmd_ledger
from warmrun.cli.server import cmd_admin, cmd_db, cmd_serve, cmd_worker
from warmrun.config import load_settings
from warmrun.platform.coordinates import Choice
from warmrun.platform.errors import WarmrunError

AddParser = Callable[..., argparse.ArgumentParser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warmrun", description=__doc__)
    add = parser.add_subparsers(dest="command", required=True).add_parser
    _add_site_and_runs(add)
    _add_campaign_and_ledger(add)
    _add_leaderboard(add)
    _add_operations(add)
    return parser


def _add_site_and_runs(add: AddParser) -> None:
    p = add("serve", help="run the web app")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL only; default 1)"
    )
    p.set_defaults(fn=cmd_serve)
    p = add("demo", help="create the four-city demo campaign and import sample runs")
    p.set_defaults(fn=cmd_demo)
    p = add("import", help="import run files, folders or zips for a resident")
    p.add_argument("paths", nargs="+")
    p.add_argument("--resident", type=int, required=True)
    p.add_argument(
        "--coords",
        choices=[c.value for c in Choice],
        default=Choice.AUTO.value,
        help="the files' coordinates: auto (by the app that wrote each file), wgs84 or gcj02",
    )
    p.add_argument(
        "--gcj02",
        dest="coords",
        action="store_const",
        const=Choice.GCJ02.value,
        help="same as --coords gcj02 (Keep, Joyrun, old Codoon)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_import)
    p = add("track-stats", help="analyse files without storing anything")
    p.add_argument("paths", nargs="+")
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=cmd_track_stats)


def _add_campaign_and_ledger(add: AddParser) -> None:
    p = add("campaign", help="verify the ledger, close or settle a campaign")
    p.add_argument("action", choices=["verify", "rebuild-totals", "close", "settle"])
    p.add_argument("campaign", help="campaign code")
    p.add_argument("--out", help="directory for the settlement report")
    p.set_defaults(fn=cmd_campaign)
    p = add(
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


def _add_leaderboard(add: AddParser) -> None:
    p = add("leaderboard", help="show, rebuild or relay the leaderboards")
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


def _add_operations(add: AddParser) -> None:
    p = add("admin", help="create an administrator")
    p.add_argument("action", choices=["create"])
    p.add_argument("email")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(fn=cmd_admin)
    p = add("worker", help="run queued jobs (Strava sync)")
    p.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    p.set_defaults(fn=cmd_worker)
    p = add("db", help="database migrations")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(fn=cmd_db)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        code: int = args.fn(args, settings)
    except WarmrunError as exc:
        err.print(f"[red]{exc.message('en')}[/] ({exc.code})")
        return 1
    return code
