"""A small local Strava: OAuth tokens, activities and their streams, deauthorization, rate limits.

Paths, parameters and the activity example follow Strava's swagger
(``tests/data/specs/strava_swagger.json``); the token endpoint answers like Strava's (access tokens
for six hours, a new refresh token on every refresh, the old one refused from then on). Every
response carries ``X-RateLimit-*`` and ``X-ReadRateLimit-*``; tests can set the usage and make
the next requests answer 429 or 500.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warmrun.platform import clock
from warmrun.platform.geo import haversine_m
from warmrun.platform.tracks import Track

SWAGGER = Path(__file__).parent.parent / "data" / "specs" / "strava_swagger.json"
TOKEN_LIFETIME_S = 6 * 3600


def _activity_example() -> dict[str, Any]:
    paths = json.loads(SWAGGER.read_text())["paths"]
    example: dict[str, Any] = paths["/activities/{id}"]["get"]["responses"]["200"]["examples"][
        "application/json"
    ]
    return example


@dataclass
class Athlete:
    id: int
    firstname: str
    activities: dict[int, dict[str, Any]] = field(default_factory=dict)
    streams: dict[int, dict[str, Any]] = field(default_factory=dict)
    refresh_token: str = ""
    authorized: bool = True


class FakeStrava:
    def __init__(self, *, client_id: str, client_secret: str) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.example = _activity_example()
        self.athletes: dict[int, Athlete] = {}
        self.codes: dict[str, int] = {}
        self.access: dict[str, tuple[int, int]] = {}  # token → athlete, expires_at
        self.requests: list[tuple[str, str]] = []
        self.times: list[float] = []  # monotonic time of each request
        self._window: tuple[str, str] = ("", "")
        self.refreshes = 0
        self.limit = (200, 2000)
        self.read_limit = (100, 1000)
        self.usage = [0, 0]
        self.read_usage = [0, 0]
        self._faults: list[int] = []
        self._next_activity = 10_000_000_001
        self.app = Starlette(
            routes=[
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/oauth/deauthorize", self._deauthorize, methods=["POST"]),
                Route("/api/v3/activities/{id:int}", self._activity, methods=["GET"]),
                Route("/api/v3/activities/{id:int}/streams", self._streams, methods=["GET"]),
            ]
        )

    # --- test controls ---------------------------------------------------------------------

    def athlete(self, athlete_id: int, firstname: str = "Runner") -> Athlete:
        return self.athletes.setdefault(athlete_id, Athlete(athlete_id, firstname))

    def authorize(self, athlete_id: int) -> str:
        """The athlete approves warmrun on Strava's page: the code sent to the callback."""
        self.athlete(athlete_id)
        code = secrets.token_hex(16)
        self.codes[code] = athlete_id
        return code

    def revoke(self, athlete_id: int) -> None:
        """The athlete revokes warmrun in their Strava settings."""
        a = self.athletes[athlete_id]
        a.authorized = False
        a.refresh_token = ""
        self.access = {k: v for k, v in self.access.items() if v[0] != athlete_id}

    def expire_access_tokens(self) -> None:
        self.access = {k: (a, int(time.time()) - 1) for k, (a, _) in self.access.items()}

    def fail_next(self, count: int, status: int) -> None:
        self._faults += [status] * count

    def add_activity(
        self,
        athlete_id: int,
        track: Track,
        *,
        every: int = 1,
        sport_type: str = "Run",
        **fields: Any,
    ) -> int:
        """An activity recorded from ``track`` (every ``every``-th point)."""
        activity_id = self._next_activity
        self._next_activity += 1
        idx = np.arange(0, len(track), every)
        lat, lon = track.lat[idx], track.lon[idx]
        t = track.t[idx]
        dist = [0.0]
        for i in range(1, len(idx)):
            dist.append(dist[-1] + haversine_m(lat[i - 1], lon[i - 1], lat[i], lon[i]))
        start = datetime.fromtimestamp(float(t[0]), UTC)
        a = copy.deepcopy(self.example)
        a.update(
            id=activity_id,
            athlete={"id": athlete_id, "resource_state": 1},
            name=f"Morning {sport_type}",
            distance=round(dist[-1], 1),
            moving_time=int(t[-1] - t[0]),
            elapsed_time=int(t[-1] - t[0]),
            type="Run" if sport_type in ("Run", "TrailRun", "VirtualRun") else sport_type,
            sport_type=sport_type,
            start_date=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            start_date_local=start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            start_latlng=[float(lat[0]), float(lon[0])],
            end_latlng=[float(lat[-1]), float(lon[-1])],
            manual=False,
            trainer=False,
            flagged=False,
            private=False,
            external_id=f"warmrun-test-{activity_id}",
        )
        a.update(fields)
        n = len(idx)

        def stream(data: list[Any]) -> dict[str, Any]:
            return {
                "data": data,
                "series_type": "distance",
                "original_size": n,
                "resolution": "high",
            }

        streams = {
            "latlng": stream([[float(x), float(y)] for x, y in zip(lat, lon, strict=True)]),
            "time": stream([round(float(x - t[0])) for x in t]),
            "distance": stream([round(d, 1) for d in dist]),
        }
        ele = track.ele[idx]
        if len(ele) == n and not np.isnan(ele).all():
            streams["altitude"] = stream([round(float(e), 1) for e in ele])
        self.athlete(athlete_id).activities[activity_id] = a
        self.athletes[athlete_id].streams[activity_id] = streams
        return activity_id

    def update_activity(self, athlete_id: int, activity_id: int, **fields: Any) -> None:
        self.athletes[athlete_id].activities[activity_id].update(fields)

    def delete_activity(self, athlete_id: int, activity_id: int) -> None:
        del self.athletes[athlete_id].activities[activity_id]
        del self.athletes[athlete_id].streams[activity_id]

    def event(
        self, athlete_id: int, object_id: int, aspect: str, updates: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """An activity webhook event as Strava posts it."""
        return {
            "aspect_type": aspect,
            "event_time": int(time.time()),
            "object_id": object_id,
            "object_type": "activity",
            "owner_id": athlete_id,
            "subscription_id": 120475,
            "updates": updates or {},
        }

    def deauthorization_event(self, athlete_id: int) -> dict[str, Any]:
        return {
            "aspect_type": "update",
            "event_time": int(time.time()),
            "object_id": athlete_id,
            "object_type": "athlete",
            "owner_id": athlete_id,
            "subscription_id": 120475,
            "updates": {"authorized": "false"},
        }

    # --- API -----------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": f"{self.limit[0]},{self.limit[1]}",
            "X-RateLimit-Usage": f"{self.usage[0]},{self.usage[1]}",
            "X-ReadRateLimit-Limit": f"{self.read_limit[0]},{self.read_limit[1]}",
            "X-ReadRateLimit-Usage": f"{self.read_usage[0]},{self.read_usage[1]}",
        }

    def _answer(self, body: Any, status: int = 200) -> Response:
        return JSONResponse(body, status_code=status, headers=self._headers())

    def set_usage(self, used15: int, usedday: int) -> None:
        """The application's usage so far in the current windows."""
        self._roll()
        self.usage = [used15, usedday]

    def _roll(self) -> None:
        # Strava's windows: quarter hours and UTC days (on the same clock as the app's).
        now = clock.now().astimezone(UTC)
        quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
        window = (quarter.isoformat(), now.date().isoformat())
        if window[0] != self._window[0]:
            self.usage[0] = self.read_usage[0] = 0
        if window[1] != self._window[1]:
            self.usage[1] = self.read_usage[1] = 0
        self._window = window

    def _count(self, request: Request) -> Response | None:
        self.requests.append((request.method, request.url.path))
        self.times.append(time.monotonic())
        self._roll()
        self.usage[0] += 1
        self.usage[1] += 1
        if request.method == "GET":
            self.read_usage[0] += 1
            self.read_usage[1] += 1
        if self._faults:
            status = self._faults.pop(0)
            if status == 429:
                # This window is full; Strava's counter starts again in the next one.
                headers = self._headers() | {
                    "X-RateLimit-Usage": f"{self.limit[0]},{self.usage[1]}"
                }
                return JSONResponse(
                    {
                        "message": "Rate Limit Exceeded",
                        "errors": [
                            {"resource": "Application", "field": "rate limit", "code": "exceeded"}
                        ],
                    },
                    status_code=429,
                    headers=headers,
                )
            return self._answer({"message": "Internal Server Error"}, status)
        return None

    def _fault(self, message: str, status: int, resource: str, code: str = "invalid") -> Response:
        return self._answer(
            {"message": message, "errors": [{"resource": resource, "field": "", "code": code}]},
            status,
        )

    def _bearer(self, request: Request) -> Athlete | None:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip()
        found = self.access.get(token)
        if found is None or found[1] < time.time():
            return None
        a = self.athletes.get(found[0])
        return a if a is not None and a.authorized else None

    def _issue(self, a: Athlete, *, with_athlete: bool) -> dict[str, Any]:
        access = secrets.token_hex(20)
        expires = int(time.time()) + TOKEN_LIFETIME_S
        self.access[access] = (a.id, expires)
        a.refresh_token = secrets.token_hex(20)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access,
            "expires_at": expires,
            "expires_in": TOKEN_LIFETIME_S,
            "refresh_token": a.refresh_token,
        }
        if with_athlete:
            body["athlete"] = {
                "id": a.id,
                "firstname": a.firstname,
                "lastname": "",
                "resource_state": 2,
            }
        return body

    async def _token(self, request: Request) -> Response:
        failed = self._count(request)
        if failed is not None:
            return failed
        form = dict(await request.form())
        if (
            form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return self._fault("Bad Request", 400, "Application", "invalid")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            athlete_id = self.codes.pop(str(form.get("code")), None)
            if athlete_id is None:
                return self._fault("Bad Request", 400, "AuthorizationCode", "invalid")
            a = self.athletes[athlete_id]
            a.authorized = True
            return self._answer(self._issue(a, with_athlete=True))
        if grant == "refresh_token":
            token = str(form.get("refresh_token"))
            for a in self.athletes.values():
                if a.authorized and token and a.refresh_token == token:
                    self.refreshes += 1
                    return self._answer(self._issue(a, with_athlete=False))
            return self._fault("Bad Request", 400, "RefreshToken", "invalid")
        return self._fault("Bad Request", 400, "GrantType", "invalid")

    async def _deauthorize(self, request: Request) -> Response:
        failed = self._count(request)
        if failed is not None:
            return failed
        a = self._bearer(request)
        if a is None:
            return self._fault("Authorization Error", 401, "Athlete", "invalid")
        token = request.headers["authorization"].removeprefix("Bearer ").strip()
        self.revoke(a.id)
        return self._answer({"access_token": token})

    async def _activity(self, request: Request) -> Response:
        failed = self._count(request)
        if failed is not None:
            return failed
        a = self._bearer(request)
        if a is None:
            return self._fault("Authorization Error", 401, "Athlete", "invalid")
        activity = a.activities.get(request.path_params["id"])
        if activity is None:
            return self._fault("Record Not Found", 404, "Activity", "not found")
        return self._answer(activity)

    async def _streams(self, request: Request) -> Response:
        failed = self._count(request)
        if failed is not None:
            return failed
        a = self._bearer(request)
        if a is None:
            return self._fault("Authorization Error", 401, "Athlete", "invalid")
        streams = a.streams.get(request.path_params["id"])
        if streams is None:
            return self._fault("Record Not Found", 404, "Activity", "not found")
        keys = request.query_params.get("keys", "").split(",")
        if request.query_params.get("key_by_type") != "true" or not keys:
            return self._fault("Bad Request", 400, "Stream", "invalid")
        wanted = {k for k in keys if k} | {"distance"}
        return self._answer({k: v for k, v in streams.items() if k in wanted})
