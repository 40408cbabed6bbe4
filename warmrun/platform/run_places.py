"""Where runs were run and what coordinate system their files were in, for their pages and the
API: the start city (Run.start_city_id, placed by geo.city_at when the run was stored) and the
system kept with the original (warmrun.platform.coordinates.stored_format).

The start city is what a run page says ("ran in Chengdu") and what the all-cities badge counts;
the money a run brings is credited to the resident's compound and its city, whatever it says.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warmrun.platform.coordinates import stored_datum
from warmrun.platform.models import City, Run, RunFile


@dataclass(frozen=True)
class Place:
    city_id: int | None = None  # None: outside every city's area, or no GPS
    city_zh: str = ""
    city_en: str = ""
    coords: str = ""  # the system the original was in (wgs84, gcj02); "" when none is kept

    def city(self, lang: str) -> str:
        return self.city_en if lang.startswith("en") else self.city_zh


async def places_of(run_ids: Sequence[int]) -> dict[int, Place]:
    """Each run's place, by its id (three statements for any number of runs)."""
    if not run_ids:
        return {}
    starts = dict(await Run.filter(id__in=list(run_ids)).values_list("id", "start_city_id"))
    formats = dict(await RunFile.filter(run_id__in=list(run_ids)).values_list("run_id", "format"))
    ids = {int(str(c)) for c in starts.values() if c is not None}
    names = {
        int(c["id"]): (c["name_zh"], c["name_en"])
        for c in await City.filter(id__in=list(ids)).values("id", "name_zh", "name_en")
    }
    out: dict[int, Place] = {}
    for run_id, city in starts.items():
        zh, en = names.get(int(str(city)), ("", "")) if city is not None else ("", "")
        stored = formats.get(run_id)
        coords = stored_datum(str(stored))[1].value if stored is not None else ""
        out[int(str(run_id))] = Place(
            None if city is None else int(str(city)), str(zh), str(en), coords
        )
    return out


async def place_of(*, run_id: int) -> Place:
    return (await places_of([run_id])).get(run_id, Place())
