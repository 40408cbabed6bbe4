"""`warmrun campaign` and `warmrun ledger`: verify, close and settle a campaign; its public
ledger as files."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from warmrun.cli.context import console, err, ledger_key, with_db
from warmrun.config import Settings


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
                campaign_id=campaign.id, to=CampaignState.CLOSED, key=ledger_key(settings)
            )
            console.print(f"campaign {campaign.code} closed")
        else:
            data = await settlement.settle(campaign_id=campaign.id, key=ledger_key(settings))
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

    return asyncio.run(with_db(settings, go))


async def _check_public_log(campaign_id: int, settings: Settings) -> int:
    """The public log checked as a partner checks it (warmrun/verify.py), once it has a
    checkpoint."""
    from warmrun import verify
    from warmrun.platform import transparency

    if not await transparency.checkpoints(campaign_id=campaign_id):
        console.print("public log: no checkpoint yet")
        return 0
    key = ledger_key(settings)
    data = b"".join([c async for c in transparency.export(campaign_id=campaign_id, key=key)])
    try:
        result = verify.verify_export(data, public_key=key.public)
    except verify.Failure as exc:
        console.print(f"public log fails: {exc}")
        return 1
    console.print(f"public log OK: {result.entries} entries, root {result.root[:16]}…")
    return 0


def cmd_ledger(args: argparse.Namespace, settings: Settings) -> int:
    """The public ledger: an export, a signed checkpoint, the public key, as files."""
    from warmrun.platform import transparency
    from warmrun.platform.campaigns import get_campaign

    key = ledger_key(settings)
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

    return asyncio.run(with_db(settings, go))


def _write(path: str | None, data: bytes) -> None:
    if path in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(str(path)).write_bytes(data)
