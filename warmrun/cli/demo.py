"""`warmrun demo`: the four-city demo campaign, its totals and its signed public ledger."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.table import Table

from warmrun.cli.context import console, ledger_key
from warmrun.config import Settings
from warmrun.resources import open_resources


def _yuan(fen: int) -> str:
    """Fen as yuan with two decimals, exactly (no float)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _print_imports(imported: list[Any]) -> None:
    """How the demo's runs fared, in one line (``warmrun import`` lists files one by one)."""
    verdicts: dict[str, int] = {}
    for o in imported:
        key = o.outcome.run.verdict if o.outcome is not None else "refused"
        if o.outcome is not None and o.outcome.existing:
            key = "already imported"
        verdicts[key] = verdicts.get(key, 0) + 1
    parts = ", ".join(f"{n} {k}" for k, n in sorted(verdicts.items()))
    console.print(f"{len(imported)} run files: {parts}.")


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    async def with_resources() -> int:
        async with open_resources(settings) as res:
            return await _demo(settings, res)

    return asyncio.run(with_resources())


async def _demo(settings: Settings, res: Any) -> int:
    from warmrun.demo import DEMO_PASSWORD, DEMO_RESIDENT, run_demo

    result = await run_demo(settings, res.parser)
    _print_imports(result.imported)
    if res.redis is not None:
        from warmrun.leaderboard.relay import drain

        await drain(res.redis)
    await _print_totals(result.campaign_id)
    await _print_ledger(settings, result.campaign_id)
    console.print(
        "Try it: [bold]warmrun serve[/bold], open http://127.0.0.1:8000 and sign in as "
        f"{DEMO_RESIDENT}, partner@warmrun.example, organizer@warmrun.example, "
        f"desk@warmrun.example (pickup desk) or admin@warmrun.example "
        f"(password: {DEMO_PASSWORD})."
    )
    return 0


async def _print_totals(campaign_id: int) -> None:
    """The campaign's totals per city and overall, and the warm packs they fund."""
    from warmrun.platform.campaigns import totals
    from warmrun.platform.models import City

    per_city = await totals(campaign_id=campaign_id, by="city")
    overall = (await totals(campaign_id=campaign_id))[None]
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
        f"{overall.goods.bundles} warm packs funded and {overall.goods.next_percent}% of the next."
    )


async def _print_ledger(settings: Settings, campaign_id: int) -> None:
    """A signed checkpoint of the public ledger, and how to check it offline."""
    from warmrun.demo import CAMPAIGN_CODE
    from warmrun.platform import transparency

    cp = await transparency.checkpoint_now(campaign_id=campaign_id, key=ledger_key(settings))
    console.print(
        f"Public ledger: {cp.size} entries, checkpoint {cp.number} signed (root "
        f"{cp.root[:16]}…). Check it offline: warmrun ledger export {CAMPAIGN_CODE} -o "
        f"ledger.jsonl; warmrun ledger checkpoint {CAMPAIGN_CODE} -o checkpoint.txt; "
        "warmrun ledger key -o key.pem; python3 -m warmrun.verify ledger.jsonl "
        "--checkpoint checkpoint.txt --public-key key.pem"
    )
