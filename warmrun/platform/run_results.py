"""What became of stored runs, for the upload's answer, the pages and the API alike: each
run's outcome (platform/outcomes.py) read from the run, what its campaigns credited (net of
reversals) and the campaigns its reasons name."""

from __future__ import annotations

from collections.abc import Sequence

from warmrun.platform import run_store, sql, views
from warmrun.platform.outcomes import Campaign, Credited, Outcome, campaign_ids, of_existing, of_run
from warmrun.platform.views import RunView


async def outcomes_of(runs: Sequence[RunView]) -> dict[int, Outcome]:
    """The outcome of each run, by its id (three statements for any number of runs)."""
    conn = sql.default()
    credits = await run_store.credits_of(conn, [r.id for r in runs])
    named: set[int] = set()
    for r in runs:
        named |= campaign_ids(r.reasons)
    campaigns = {
        int(c["id"]): Campaign(int(c["id"]), c["name"], c["starts_on"], c["ends_on"], c["timezone"])
        for c in await run_store.campaigns_named(conn, named)
    }
    return {
        r.id: of_run(
            verdict=r.verdict,
            reasons=r.reasons,
            review_note=r.review_note,
            started_at=r.started_at,
            credits=[Credited(cid, **v) for cid, v in credits.get(r.id, {}).items()],
            campaigns=campaigns,
        )
        for r in runs
    }


async def outcome_of(run: RunView) -> Outcome:
    return (await outcomes_of([run]))[run.id]


async def of_upload(*, run_id: int, existing: bool) -> Outcome:
    """What an upload that stored (or found) ``run_id`` did, read after its commit."""
    run = await views.run(run_id=run_id)
    found = await outcome_of(run)
    return of_existing(run.id, run.started_at, found) if existing else found
