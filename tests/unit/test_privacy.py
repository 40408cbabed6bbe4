"""Privacy zones (pure): nothing near a track's start, end or the resident's home zones is
shown, however the track is drawn."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from warmrun.platform.geo import haversine_m
from warmrun.platform.privacy import DEFAULT_RADIUS_M, Policy, Zone, visible

HOME = (31.30000, 120.58000)


def near(p: tuple[float, float], q: tuple[float, float], r: float) -> bool:
    return haversine_m(p[0], p[1], q[0], q[1]) <= r


def shown(segments: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    return [p for s in segments for p in s]


tracks = st.lists(
    st.tuples(st.floats(31.28, 31.32, allow_nan=False), st.floats(120.56, 120.60, allow_nan=False)),
    min_size=2,
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(tracks, st.integers(0, 1500))
def test_no_shown_point_is_within_the_radius_of_start_or_end(
    points: list[tuple[float, float]], radius: int
) -> None:
    r = max(radius, DEFAULT_RADIUS_M)
    for p in shown(visible(points, Policy(radius_m=radius))):
        assert not near(p, points[0], r - 0.01)
        assert not near(p, points[-1], r - 0.01)


@settings(max_examples=200, deadline=None)
@given(tracks, st.integers(100, 1000))
def test_no_shown_point_is_inside_a_home_zone(points: list[tuple[float, float]], r: int) -> None:
    zone = Zone(lat=HOME[0], lon=HOME[1], radius_m=r)
    for p in shown(visible(points, Policy(zones=(zone,)))):
        assert not near(p, HOME, r - 0.01)


def test_a_straight_edge_across_a_home_zone_is_cut_in_two() -> None:
    # Two vertices 4 km apart, the zone in the middle: the simplified line has no vertex in it.
    west, east = (31.30, 120.56), (31.30, 120.60)
    segments = visible([west, east], Policy(zones=(Zone(lat=31.30, lon=120.58, radius_m=300),)))
    assert len(segments) == 2
    for p in shown(segments):
        assert not near(p, (31.30, 120.58), 299.9)


def test_a_track_that_never_leaves_the_door_shows_nothing() -> None:
    loop = [(31.3, 120.58), (31.3005, 120.5805), (31.3, 120.581), (31.3, 120.58)]
    assert visible(loop, Policy()) == []


def test_a_smaller_radius_than_the_default_is_not_honoured() -> None:
    line = [(31.30, 120.58), (31.30, 120.60)]
    shown_small = shown(visible(line, Policy(radius_m=10)))
    assert all(not near(p, line[0], DEFAULT_RADIUS_M - 0.01) for p in shown_small)


def test_the_middle_of_a_long_run_is_shown() -> None:
    line = [(31.30, 120.56), (31.30, 120.60)]
    segments = visible(line, Policy())
    assert len(segments) == 1 and len(segments[0]) > 300
