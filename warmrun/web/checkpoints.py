"""The hourly housekeeping of the app while it serves: the daily checkpoints of every
campaign's public log, and the points that lapse under a campaign's expiry policy.

Every process of ``warmrun serve`` runs the loop; the campaign's lock and the "latest
checkpoint is a day old" rule make one of them sign, and an expiry is keyed by resident and day
so that it happens once. An hour between rounds keeps a checkpoint at most a day and an hour
old.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from warmrun import outages
from warmrun.platform import expiry, transparency
from warmrun.platform.signing import SiteKey

log = logging.getLogger("warmrun.checkpoints")
INTERVAL_S = 3600.0
DELAY_S = 60.0


async def run_forever(
    key: SiteKey, *, stop: asyncio.Event, interval: float = INTERVAL_S, delay: float = DELAY_S
) -> None:
    # The first round waits a little: a process starting up serves its first requests first.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=delay)
    while not stop.is_set():
        try:
            done = await transparency.checkpoint_due(key=key)
            for campaign_id in done.signed:
                log.info("signed a checkpoint of campaign %s", campaign_id)
            for campaign_id, exc in done.refused.items():
                # Nothing more is copied or signed for that campaign until someone looks
                # (warmrun campaign verify).
                log.error("no checkpoint for campaign %s: %s", campaign_id, exc.message("en"))
            lapsed = await expiry.run_round()
            if lapsed.expired_points or lapsed.notices:
                log.info(
                    "points expired: %s from %s residents; %s told of points about to expire",
                    lapsed.expired_points,
                    lapsed.residents,
                    lapsed.notices,
                )
        except Exception as exc:
            what = outages.component(exc)
            if what is None:
                raise
            log.warning("ledger checkpoints waiting for the %s: %s", what, exc)
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except TimeoutError:
            pass
