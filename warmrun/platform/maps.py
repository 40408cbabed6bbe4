"""What a run's map shows: its simplified line with the owner's privacy zones applied."""

from __future__ import annotations

from warmrun.platform import ingest, privacy_zones
from warmrun.platform.geo import decode_polyline
from warmrun.platform.privacy import Point, visible
from warmrun.platform.uploads import Parser


async def shown_segments(*, parser: Parser, run_id: int, owner_id: int) -> list[list[Point]]:
    """The run's track as anyone sees it on a map or in a track download: every point near
    its start and end or in the owner's home zones left out (see warmrun.platform.privacy)."""
    line = await ingest.map_line(parser=parser, run_id=run_id)
    if not line:
        return []
    policy = await privacy_zones.policy_of(resident_id=owner_id)
    return visible(decode_polyline(line), policy)
