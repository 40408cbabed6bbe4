"""One recording credits once, whatever the timing: re-exports of one activity uploaded at once
by one resident, and one track uploaded at once by two residents, end as they would one after
the other. Repeated, since a race shows only sometimes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from tests.integration.factory import START, upload, world
from warmrun.integrations.synthetic import synthetic_run_fit, synthetic_run_gpx
from warmrun.platform import settlement
from warmrun.platform.models import Contribution, Run

pytestmark = pytest.mark.usefixtures("database")
TRIALS = 5


def exports(seed: int, minutes: int) -> list[tuple[str, bytes]]:
    """One activity as four tools write it: GPX, GPX re-indented, GPX at 6 decimals, FIT."""
    start = START + timedelta(minutes=minutes)
    gpx = synthetic_run_gpx(points=900, start=start, seed=seed)
    six = gpx.replace(b'lat="', b'lat="').decode()
    import re

    six = re.sub(r'(l(?:at|on)="-?\d+\.\d{6})\d+"', r'\1"', six)
    return [
        ("watch.gpx", gpx),
        ("reindented.gpx", gpx.replace(b"\n", b"\r\n   ")),
        ("six-decimals.gpx", six.encode()),
        ("watch.fit", synthetic_run_fit(points=900, start=start, seed=seed)),
    ]


async def test_re_exports_of_one_activity_uploaded_at_once_credit_once() -> None:
    w = await world()
    for trial in range(TRIALS):
        files = exports(seed=100 + trial, minutes=240 * trial)
        results = await asyncio.gather(*(upload(w.alice.id, data, name) for name, data in files))
        outcomes = [o for (o,) in results]
        credited = [o for o in outcomes if o.outcome is not None and o.outcome.value_fen > 0]
        refused = [o.error.code for o in outcomes if o.error is not None]
        assert len(credited) == 1, [(o.name, o.outcome, o.error) for o in outcomes]
        assert refused == ["duplicate_run"] * 3
    assert await Run.filter(resident_id=w.alice.id).count() == TRIALS
    assert (await settlement.verify(campaign_id=w.campaign.id)).entries == TRIALS


async def test_one_track_from_two_residents_at_once_ends_as_in_sequence() -> None:
    w = await world()
    for trial in range(TRIALS):
        data = synthetic_run_gpx(
            points=900, start=START + timedelta(minutes=240 * trial), seed=200 + trial
        )
        await asyncio.gather(upload(w.alice.id, data, "a.gpx"), upload(w.bob.id, data, "b.gpx"))
    runs = await Run.all()
    # One after the other, the second upload flags both and the first one's credit is taken
    # back: the pair keeps nothing credited. At once, the same.
    assert len(runs) == 2 * TRIALS
    assert all(r.verdict == "flagged" and "shared_track" in r.reasons for r in runs)
    net = sum(c.value_fen for c in await Contribution.filter(campaign_id=w.campaign.id))
    assert net == 0
    assert (await settlement.verify(campaign_id=w.campaign.id)).entries % 2 == 0


async def test_the_daily_bound_holds_for_uploads_sent_at_once() -> None:
    from tests.integration.factory import run_file
    from warmrun.config import Limits, Sandbox
    from warmrun.integrations.parsing import SandboxedParser
    from warmrun.platform import ingest
    from warmrun.platform.uploads import Upload

    w = await world()
    parser = SandboxedParser(Sandbox(workers=2), Limits(uploads_per_day=2))
    try:
        results = await asyncio.gather(
            *(
                ingest.import_uploads(
                    parser=parser,
                    resident_id=w.alice.id,
                    uploads=[Upload(f"r{i}.gpx", run_file(seed=i, minutes_after=180 * i))],
                )
                for i in range(5)
            )
        )
    finally:
        parser.close()
    refused = [o.error.code for (o,) in results if o.error is not None]
    assert refused == ["daily_upload_limit"] * 3
    assert await Run.filter(resident_id=w.alice.id).count() == 2
