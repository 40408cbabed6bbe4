"""Privacy zones over HTTP: every path that returns a resident's track to someone else leaves
out what lies near its start and end and inside the resident's home zones; only the owner gets
the original file."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.conftest import Web
from tests.web.test_runs import files
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import maps, views
from warmrun.platform.geo import haversine_m
from warmrun.web.pages import routes as page_routes
from warmrun.web.presenters import track_svg
from warmrun.web.routes import api

START = (31.2989, 120.5853)  # the runner's front door (the synthetic run starts there)
HOME = (31.3050, 120.5900)  # a home zone somewhere along the way

# Every route that returns a resident's track to someone. A route that shows a track and is
# missing here fails test_every_route_that_shows_a_track_to_staff_is_listed.
COORDINATE_PATHS = {
    "/api/v1/runs/{run_id:int}/map.svg",
    "/api/v1/runs/{run_id:int}/file",
    "/runs/{run_id:int}",
    "/api/v1/me/export",
}


async def uploaded_run(client: httpx.AsyncClient) -> tuple[int, bytes]:
    data = synthetic_run_gpx(points=1500, lat=START[0], lon=START[1], seed=11)
    r = await client.post("/api/v1/runs", files=files(("morning.gpx", data)))
    assert r.status_code == 200, r.text
    return int(r.json()["files"][0]["run_id"]), data


def gpx_points(text: str) -> list[tuple[float, float]]:
    return [
        (float(a), float(b)) for a, b in re.findall(r'<trkpt lat="([-\d.]+)" lon="([-\d.]+)"', text)
    ]


def polylines(text: str) -> list[str]:
    return re.findall(r'<polyline points="([^"]*)"', text)


def concrete(path: str, run_id: int) -> str | None:
    """The route's path with the run's id in it; None for paths with other parameters."""
    path = path.replace("{run_id:int}", str(run_id))
    return None if "{" in path else path


async def responses_for(client: httpx.AsyncClient, run_id: int) -> dict[str, httpx.Response]:
    """Every GET route of the API and the pages, with the run's id filled in."""
    paths = {r.path for r in [*api.routes(), *page_routes()] if "GET" in (r.methods or set())}
    out = {}
    for path in sorted(paths):
        url = concrete(path, run_id)
        if url is not None and not url.startswith(("/api/v1/webhooks", "/static")):
            out[path] = await client.get(url)
    return out


@pytest.fixture
async def setup(web: Web) -> tuple[int, bytes]:
    async with web.signed_in("resident") as client:
        run_id, data = await uploaded_run(client)
        r = await client.put(
            "/api/v1/me/privacy",
            json={"radius_m": 300, "zones": [{"lat": HOME[0], "lon": HOME[1], "radius_m": 200}]},
        )
        assert r.status_code == 200, r.text
        assert r.json()["zones"][0]["radius_m"] == 200
    return run_id, data


async def test_staff_get_the_trimmed_track_and_never_the_original(
    web: Web, setup: tuple[int, bytes]
) -> None:
    run_id, original = setup
    async with web.signed_in("organizer") as client:
        r = await client.get(f"/api/v1/runs/{run_id}/file")
    assert r.status_code == 200
    assert r.content != original and b"<time>" not in r.content
    points = gpx_points(r.text)
    assert len(points) > 100
    assert all(haversine_m(*p, *START) > 300 for p in points)
    assert all(haversine_m(*p, *HOME) > 200 for p in points)


async def test_the_owner_gets_the_original_file(web: Web, setup: tuple[int, bytes]) -> None:
    run_id, original = setup
    async with web.signed_in("resident") as client:
        assert (await client.get(f"/api/v1/runs/{run_id}/file")).content == original


@pytest.mark.parametrize("who", ["organizer", "admin", "resident"])
async def test_every_map_of_the_run_leaves_out_the_zones(
    web: Web, setup: tuple[int, bytes], who: str
) -> None:
    run_id, _ = setup
    view = await views.run(run_id=run_id)
    shown = await maps.shown_segments(
        parser=web.app.state.parser, run_id=run_id, owner_id=view.resident_id
    )
    assert all(haversine_m(*p, *HOME) > 200 for s in shown for p in s)
    expected = set(polylines(track_svg(shown)))
    async with web.signed_in(who) as client:
        seen = await responses_for(client, run_id)
    drawn = {path: polylines(r.text) for path, r in seen.items() if r.status_code == 200}
    assert any(drawn.values())
    for path, lines in drawn.items():
        assert set(lines) <= expected, f"{path} draws a track that is not the trimmed one"


async def test_every_route_that_shows_a_track_to_staff_is_listed(
    web: Web, setup: tuple[int, bytes]
) -> None:
    run_id, _ = setup
    async with web.signed_in("admin") as client:
        seen = await responses_for(client, run_id)
    showing = {
        path
        for path, r in seen.items()
        if r.status_code == 200 and (polylines(r.text) or gpx_points(r.text))
    }
    assert showing
    assert showing <= COORDINATE_PATHS


async def test_the_privacy_settings_are_bounded(web: Web) -> None:
    async with web.signed_in("resident") as client:
        too_small = await client.put("/api/v1/me/privacy", json={"radius_m": 50, "zones": []})
        too_many = await client.put(
            "/api/v1/me/privacy",
            json={"zones": [{"lat": 31.3, "lon": 120.6, "radius_m": 200}] * 6},
        )
        assert (too_small.status_code, too_many.status_code) == (422, 422)


async def test_the_account_page_saves_privacy_zones_with_the_api_bounds(web: Web) -> None:
    from tests.web.conftest import csrf

    async with web.signed_in("resident") as client:
        token = await csrf(client)
        r = await client.post(
            "/me/account",
            data={
                "csrf_token": token,
                "action": "privacy",
                "radius_m": "400",
                "zone_lat_0": str(HOME[0]),
                "zone_lon_0": str(HOME[1]),
                "zone_radius_m_0": "300",
            },
        )
        assert r.status_code in (302, 303)
        saved = (await client.get("/api/v1/me/privacy")).json()
        assert saved == {
            "radius_m": 400,
            "zones": [{"lat": HOME[0], "lon": HOME[1], "radius_m": 300}],
        }
        bad = await client.post(
            "/me/account",
            data={"csrf_token": token, "action": "privacy", "radius_m": "10"},
        )
        assert bad.status_code == 400
