"""`warmrun leaderboard`: show a board, rebuild the boards, or relay the outbox to them."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from rich.table import Table

from warmrun.cli.context import console, log_records
from warmrun.config import Settings
from warmrun.platform import clock
from warmrun.resources import open_resources

if TYPE_CHECKING:
    from warmrun.leaderboard.servers import Client
    from warmrun.platform.models import Campaign


def cmd_leaderboard(args: argparse.Namespace, settings: Settings) -> int:
    async def go() -> int:
        async with open_resources(settings) as res:
            redis = res.redis
            if redis is None:  # pragma: no cover - open_resources always gives Redis here
                return 1
            if args.action == "relay":
                return await _relay(args, settings, redis)
            if args.action == "rebuild":
                return await _rebuild(args, redis)
            return await _show(args, redis)

    return asyncio.run(go())


async def _relay(args: argparse.Namespace, settings: Settings, redis: Client) -> int:
    from warmrun.leaderboard.relay import drain, run_forever

    log_records(settings)
    if args.once:
        console.print(f"applied {await drain(redis)} outbox entries")
        return 0
    stop = asyncio.Event()
    await run_forever(redis, stop=stop)
    return 0


async def _rebuild(args: argparse.Namespace, redis: Client) -> int:
    from warmrun.leaderboard.rebuild import rebuild
    from warmrun.leaderboard.relay import drain
    from warmrun.platform.campaigns import get_campaign
    from warmrun.platform.models import Campaign

    targets = (
        [await get_campaign(code=args.campaign)] if args.campaign else list(await Campaign.all())
    )
    await drain(redis)
    for c in targets:
        result = await rebuild(redis, c.id)
        console.print(f"rebuilt {c.code}: {result.contributions} contributions, {result.keys} keys")
    return 0


async def _show(args: argparse.Namespace, redis: Client) -> int:
    from warmrun.leaderboard import keys
    from warmrun.leaderboard.boards import Boards
    from warmrun.leaderboard.campaigns import clocks
    from warmrun.leaderboard.present import rows
    from warmrun.leaderboard.relay import drain
    from warmrun.platform.campaigns import get_campaign

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
        entries, scope="R" if args.around is not None else scope, metric=metric, now=clock.now()
    )
    _print_board(args, campaign, window, metric, table_rows, total)
    return 0


def _print_board(
    args: argparse.Namespace,
    campaign: Campaign,
    window: str,
    metric: str,
    table_rows: list[dict[str, Any]],
    total: int | None,
) -> None:
    if args.json:
        print(
            json.dumps(
                {"campaign": campaign.code, "window": window, "total": total, "rows": table_rows},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
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
