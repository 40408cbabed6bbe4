"""What a run is worth crediting: the plausibility rules and their verdict (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from warmrun.platform.errors import NotAnActivity, NoTimestamps
from warmrun.platform.tracks import (
    ELIGIBLE_SPORTS,
    HIKE,
    RUN,
    WALK,
    Array,
    Track,
    elevation_gain,
    hop_distances,
    moving_average,
)


class Verdict(StrEnum):
    ACCEPTED = "accepted"
    FLAGGED = "flagged"  # held for organizer review, not yet credited
    REJECTED = "rejected"


class Reason(StrEnum):
    VEHICLE_SPEED = "vehicle_speed"
    FAST_HOPS = "fast_hops"
    WALK_TOO_FAST = "walk_too_fast"
    SYNTHETIC = "synthetic_regularity"
    NO_GPS = "no_gps"
    GAPS = "gaps"
    FUTURE_TIME = "future_time"
    TIME_NOT_INCREASING = "time_not_increasing"
    IMPLAUSIBLE_TIME = "implausible_time"
    SPORT_NOT_ELIGIBLE = "sport_not_eligible"
    NO_CREDITED_DISTANCE = "no_credited_distance"
    DEVICE_MISMATCH = "device_distance_mismatch"
    DAILY_CAP = "daily_cap"
    OVERLAP = "overlap"
    SHARED_TRACK = "shared_track"
    REVIEWED = "reviewed"
    SOURCE_WITHDRAWN = "source_withdrawn"  # deleted at its source (Strava), or no longer eligible


@dataclass(frozen=True)
class PlausibilityRules:
    """Defaults from physical anchors (see docs/plausibility.md); every value is configurable.

    12.5 m/s sits just above a sprinter's peak (≈12.3 m/s): no runner covers a hop faster.
    7.5 m/s over a minute beats the mile record (≈7.2 m/s); 6.0 m/s on average beats the marathon
    record (≈5.8 m/s): such tracks are vehicles or bikes.
    """

    max_hop_speed_mps: float = 12.5
    fast_hop_share: float = 0.02
    fast_hop_distance_m: float = 200.0
    window_s: float = 60.0
    max_window_speed_mps: float = 7.5
    max_avg_moving_speed_mps: float = 6.0
    max_walk_avg_speed_mps: float = 2.5
    max_gap_s: float = 60.0
    gap_flag_share: float = 0.2
    gap_flag_distance_m: float = 1000.0
    stopped_speed_mps: float = 0.5
    # GPS jitter (~5 m) adds up over thousands of hops: credited distance is measured on a
    # centred moving average of this many points, and only while moving.
    smoothing_points: int = 5
    synthetic_min_hops: int = 120
    synthetic_speed_cv: float = 0.01
    non_increasing_share: float = 0.1
    device_mismatch_share: float = 0.25
    earliest_year: int = 2000
    future_tolerance_s: float = 300.0


@dataclass(frozen=True)
class TrackSummary:
    """What analysis found; distances in whole metres are computed by the caller's rounding."""

    points: int
    distance_m: float
    credited_distance_m: float
    moving_time_s: float
    elapsed_time_s: float
    elevation_gain_m: float
    start_time: datetime | None
    end_time: datetime | None
    sport: str
    device_distance_m: float | None
    verdict: Verdict
    reasons: tuple[str, ...]
    fast_hop_distance_m: float
    gap_distance_m: float
    start: tuple[float, float] | None
    avg_hr: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "points": self.points,
            "distance_m": round(self.distance_m),
            "credited_distance_m": round(self.credited_distance_m),
            "moving_time_s": round(self.moving_time_s),
            "elapsed_time_s": round(self.elapsed_time_s),
            "elevation_gain_m": round(self.elevation_gain_m),
            "start_time": self.start_time.isoformat() if self.start_time else None,
            "sport": self.sport,
            "device_distance_m": (
                None if self.device_distance_m is None else round(self.device_distance_m)
            ),
            "verdict": self.verdict.value,
            "reasons": list(self.reasons),
        }


_SEVERITY = {Verdict.ACCEPTED: 0, Verdict.FLAGGED: 1, Verdict.REJECTED: 2}


def worst(a: Verdict, b: Verdict) -> Verdict:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def analyse(
    track: Track,
    *,
    rules: PlausibilityRules | None = None,
    now: datetime,
) -> TrackSummary:
    """Distances, times and the plausibility verdict of ``track``.

    Raises :class:`NotAnActivity` for a track with no points and :class:`NoTimestamps` for one
    whose points carry no time at all (GPS but no clock: nothing can be checked or credited).
    """
    rules = rules or PlausibilityRules()
    n = len(track.lat)
    if n == 0 and not track.device_distance_m:
        raise NotAnActivity()
    sport = track.sport or ""
    if not track.has_gps or n == 0:
        return _no_gps_summary(track, sport or RUN)
    timed_mask = np.isfinite(track.t)
    if not timed_mask.any():
        raise NoTimestamps()
    h = _hops(track, rules)
    credited = _credited_m(track, rules, h)
    if not sport:
        sport = RUN if h.avg_moving_mps > rules.max_walk_avg_speed_mps else WALK
    first_t = float(np.min(track.t[timed_mask]))
    last_t = float(np.max(track.t[timed_mask]))
    reasons = _judge(track, rules, h, sport, (first_t, last_t), credited, now)
    dev = track.device_distance_m
    if dev and dev > 0 and credited > dev:
        # A watch's own odometer is the better measure when our sum of GPS hops exceeds it.
        credited = dev
    verdict = Verdict.ACCEPTED
    for v in reasons.values():
        verdict = worst(verdict, v)
    first_timed = int(np.argmax(timed_mask))
    hr = track.hr[np.isfinite(track.hr)]
    return TrackSummary(
        points=n,
        distance_m=h.distance_m,
        credited_distance_m=credited,
        moving_time_s=h.moving_time_s,
        elapsed_time_s=last_t - first_t,
        elevation_gain_m=elevation_gain(track.ele),
        start_time=datetime.fromtimestamp(first_t, UTC),
        end_time=datetime.fromtimestamp(last_t, UTC),
        sport=sport,
        device_distance_m=dev,
        verdict=verdict,
        reasons=tuple(sorted(reasons)),
        fast_hop_distance_m=h.fast_m,
        gap_distance_m=h.gap_m,
        start=(float(track.lat[first_timed]), float(track.lon[first_timed])),
        avg_hr=float(hr.mean()) if hr.size else None,
    )


@dataclass(frozen=True)
class _Hops:
    """The track's hops (point i-1 to point i) classified: within a segment, timed, a gap in
    time, faster than a runner can be, or good; with the sums the verdict is made of."""

    in_seg: npt.NDArray[np.bool_]
    d: Array
    dt: Array
    speed: Array
    good: npt.NDArray[np.bool_]
    distance_m: float
    gap_m: float
    fast_m: float
    fast_hops: int
    timed_hops: int
    non_increasing: int
    moving_time_s: float
    avg_moving_mps: float


def _hops(track: Track, rules: PlausibilityRules) -> _Hops:
    n = len(track.lat)
    # Hop i joins point i-1 to point i; hops that start a segment do not exist.
    in_seg = np.ones(max(n - 1, 0), dtype=bool)
    starts = track.segment_starts[(track.segment_starts > 0) & (track.segment_starts < n)]
    in_seg[starts - 1] = False
    d = hop_distances(track.lat, track.lon) * in_seg
    dt = np.diff(track.t)
    timed = in_seg & np.isfinite(dt)
    with np.errstate(invalid="ignore", divide="ignore"):
        speed = np.where(timed & (dt > 0), d / np.where(dt > 0, dt, 1.0), np.nan)
    gap = timed & (dt > rules.max_gap_s)
    fast = timed & (dt > 0) & ~gap & (speed > rules.max_hop_speed_mps)
    good = timed & (dt > 0) & ~gap & ~fast
    moving = good & (speed >= rules.stopped_speed_mps)
    moving_time = float(dt[moving].sum())
    moving_dist = float(d[moving].sum())
    return _Hops(
        in_seg=in_seg,
        d=d,
        dt=dt,
        speed=speed,
        good=good,
        distance_m=float(d.sum()),
        gap_m=float(d[gap].sum()),
        fast_m=float(d[fast].sum()),
        fast_hops=int(fast.sum()),
        timed_hops=int((timed & (dt > 0)).sum()),
        non_increasing=int((timed & (dt <= 0)).sum()),
        moving_time_s=moving_time,
        avg_moving_mps=moving_dist / moving_time if moving_time > 0 else 0.0,
    )


def _credited_m(track: Track, rules: PlausibilityRules, h: _Hops) -> float:
    """Credited distance: hops of a lightly smoothed line (centred moving average over a few
    seconds, within segments) so GPS jitter does not add up, and only while moving. Pieces are
    split at segment starts and at every gap, spike or clock fault, so smoothing never blends
    points across them."""
    breaks = np.concatenate([track.segment_starts, np.flatnonzero(h.in_seg & ~h.good) + 1])
    slat, slon = _smoothed(track, rules.smoothing_points, breaks)
    ds = hop_distances(slat, slon) * h.in_seg
    with np.errstate(invalid="ignore", divide="ignore"):
        s_speed = np.where(h.good, ds / np.where(h.dt > 0, h.dt, 1.0), 0.0)
    return float(ds[h.good & (s_speed >= rules.stopped_speed_mps)].sum())


def _judge(
    track: Track,
    rules: PlausibilityRules,
    h: _Hops,
    sport: str,
    span: tuple[float, float],
    credited: float,
    now: datetime,
) -> dict[str, Verdict]:
    """Every reason the track gives for doubt, with the verdict each one asks for."""
    reasons: dict[str, Verdict] = {}

    def add(reason: Reason, verdict: Verdict) -> None:
        reasons[reason.value] = worst(reasons.get(reason.value, verdict), verdict)

    if sport not in ELIGIBLE_SPORTS:
        add(Reason.SPORT_NOT_ELIGIBLE, Verdict.REJECTED)
    best_window = _best_window_speed(track.t, h.d * h.good, rules.window_s)
    # Mostly hops beyond a sprinter's peak is a vehicle, not a run with GPS spikes.
    mostly_fast = h.timed_hops > 0 and h.fast_hops > 0.5 * h.timed_hops
    if (
        best_window > rules.max_window_speed_mps
        or h.avg_moving_mps > rules.max_avg_moving_speed_mps
        or mostly_fast
    ):
        add(Reason.VEHICLE_SPEED, Verdict.REJECTED)
    if (
        h.fast_hops > rules.fast_hop_share * max(h.timed_hops, 1)
        or h.fast_m > rules.fast_hop_distance_m
    ):
        add(Reason.FAST_HOPS, Verdict.FLAGGED)
    if sport in (WALK, HIKE) and h.avg_moving_mps > rules.max_walk_avg_speed_mps:
        add(Reason.WALK_TOO_FAST, Verdict.FLAGGED)
    good_speeds = h.speed[h.good]
    if good_speeds.size >= rules.synthetic_min_hops:
        mean = float(good_speeds.mean())
        if mean > 0 and float(good_speeds.std()) / mean < rules.synthetic_speed_cv:
            add(Reason.SYNTHETIC, Verdict.FLAGGED)
    first_t, last_t = span
    if last_t > now.timestamp() + rules.future_tolerance_s:
        add(Reason.FUTURE_TIME, Verdict.REJECTED)
    if first_t < datetime(rules.earliest_year, 1, 1, tzinfo=UTC).timestamp():
        add(Reason.IMPLAUSIBLE_TIME, Verdict.REJECTED)
    if h.non_increasing > rules.non_increasing_share * (h.timed_hops + h.non_increasing):
        add(Reason.TIME_NOT_INCREASING, Verdict.FLAGGED)
    if h.gap_m > rules.gap_flag_distance_m and h.gap_m > rules.gap_flag_share * h.distance_m:
        add(Reason.GAPS, Verdict.FLAGGED)
    dev = track.device_distance_m
    if dev and dev > 0 and credited > dev * (1 + rules.device_mismatch_share):
        add(Reason.DEVICE_MISMATCH, Verdict.FLAGGED)
    capped = min(credited, dev) if dev and dev > 0 else credited
    if capped <= 0.0:
        add(Reason.NO_CREDITED_DISTANCE, Verdict.REJECTED)
    return reasons


def _smoothed(track: Track, width: int, breaks: npt.NDArray[np.int64]) -> tuple[Array, Array]:
    n = len(track.lat)
    if width <= 1 or n < width:
        return track.lat, track.lon
    bounds = [*(int(s) for s in np.unique(breaks) if 0 < s < n), n]
    lat = np.empty(n)
    lon = np.empty(n)
    begin = 0
    for end in bounds:
        lat[begin:end] = moving_average(track.lat[begin:end], width)
        lon[begin:end] = moving_average(track.lon[begin:end], width)
        begin = end
    return lat, lon


def _best_window_speed(ts: Array, good_d: Array, window_s: float) -> float:
    """Fastest average speed over any stretch of at least ``window_s`` seconds, counting only
    credited-quality hops (a lone GPS spike cannot fake a fast minute)."""
    timed = np.isfinite(ts)
    if timed.sum() < 2:
        return 0.0
    t = np.maximum.accumulate(np.where(timed, ts, -np.inf))
    valid = np.isfinite(t)
    cum = np.concatenate([[0.0], np.cumsum(good_d)])
    t, cum = t[valid], cum[valid]
    j = np.searchsorted(t, t - window_s, side="right") - 1
    ok = j >= 0
    if not ok.any():
        return 0.0
    i = np.nonzero(ok)[0]
    span = t[i] - t[j[ok]]
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(span > 0, (cum[i] - cum[j[ok]]) / span, 0.0)
    return float(v.max()) if v.size else 0.0


def _no_gps_summary(track: Track, sport: str) -> TrackSummary:
    """Treadmill or manual entries: real effort, but no donation credit by default."""
    dev = track.device_distance_m or 0.0
    t = [float(x) for x in track.t if x == x]
    return TrackSummary(
        points=len(track.lat),
        distance_m=dev,
        credited_distance_m=0.0,
        moving_time_s=track.device_elapsed_s or 0.0,
        elapsed_time_s=track.device_elapsed_s or ((max(t) - min(t)) if t else 0.0),
        elevation_gain_m=0.0,
        start_time=datetime.fromtimestamp(min(t), UTC) if t else None,
        end_time=datetime.fromtimestamp(max(t), UTC) if t else None,
        sport=sport,
        device_distance_m=track.device_distance_m,
        verdict=Verdict.REJECTED,
        reasons=(Reason.NO_GPS.value,),
        fast_hop_distance_m=0.0,
        gap_distance_m=0.0,
        start=None,
        avg_hr=float(np.nanmean(track.hr)) if np.isfinite(track.hr).any() else None,
    )
