"""Families: a guardian registers children with consent, checks them in at stations, and
their data goes with the guardian's; children are never named on public boards."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime

from tests.conftest import PARSER
from tests.web.conftest import Web
from tests.web.site import PASSWORD
from tests.web.test_events import set_up_event
from tests.web.test_pages import form_token
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.leaderboard.boards import Entry
from warmrun.leaderboard.present import rows
from warmrun.platform import clock, ingest
from warmrun.platform.models import Account, CheckIn, Resident, Run
from warmrun.platform.uploads import Upload

CHILD = {"display_name": "小明", "birth_year": 2016, "consent": True}


async def test_a_child_is_not_registered_without_the_guardians_consent(web: Web) -> None:
    async with web.signed_in("resident") as me:
        r = await me.post("/api/v1/me/children", json={**CHILD, "consent": False})
        assert r.status_code == 422 and r.json()["error"]["code"] == "consent_needed"
        assert (await me.get("/api/v1/me/children")).json()["items"] == []


async def test_a_registered_child_has_the_guardians_compound_and_the_consent_time(
    web: Web,
) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
        assert child["consent_at"] is not None
        listed = (await me.get("/api/v1/me/children")).json()["items"]
    assert [c["display_name"] for c in listed] == ["小明"]
    row = await Resident.get(id=child["id"])
    assert row.compound_id == web.site.compound and row.public_board is False


async def test_an_adult_cannot_be_registered_as_a_child(web: Web) -> None:
    async with web.signed_in("resident") as me:
        r = await me.post("/api/v1/me/children", json={**CHILD, "birth_year": 1990})
        assert r.status_code == 422 and "3 到 17 岁" in r.text


async def test_a_guardian_checks_in_the_child_they_registered(web: Web) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
    e = await set_up_event(web)
    try:
        async with web.signed_in("resident") as me:
            r = await me.post(
                "/api/v1/checkins", json={"token": e["token"], "for_resident_id": child["id"]}
            )
    finally:
        clock.set_clock(None)
    assert r.status_code == 200 and r.json()["check_in"]["resident_id"] == child["id"]
    assert (await CheckIn.get(resident_id=child["id"])).via == "guardian"


async def test_another_resident_cannot_act_for_or_remove_my_child(web: Web) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
    async with web.signed_in("other_resident") as other:
        r = await other.request(
            "DELETE", f"/api/v1/me/children/{child['id']}", json={"password": PASSWORD}
        )
        assert r.status_code in (401, 404)
    assert (await Resident.get(id=child["id"])).erased_at is None


async def test_a_child_is_never_named_on_a_public_board(web: Web) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
    shown = await rows(
        [Entry(member=child["id"], rank=1, score=5000)],
        scope="R",
        metric="m",
        now=datetime(2026, 11, 30, tzinfo=UTC),
    )
    assert "小明" not in str(shown)


async def test_the_childs_data_is_erased_with_the_guardians(web: Web) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
        page = (await me.get("/me/account")).text
        r = await me.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
        assert r.status_code == 200, r.text or page
    erased = await Resident.get(id=child["id"])
    assert erased.erased_at is not None and erased.display_name == ""


async def test_the_family_page_adds_a_child_and_keeps_the_form_on_a_refusal(web: Web) -> None:
    async with web.signed_in("resident") as me:
        page = (await me.get("/me/family")).text
        refused = await me.post(
            "/me/family",
            data={"csrf_token": form_token(page), "action": "add", "display_name": "小红",
                  "birth_year": "2017"},
        )  # fmt: skip
        assert refused.status_code == 422 and 'value="小红"' in refused.text
        done = await me.post(
            "/me/family",
            data={"csrf_token": form_token(page), "action": "add", "display_name": "小红",
                  "birth_year": "2017", "consent": "yes"},
        )  # fmt: skip
        assert done.status_code == 303
        assert "小红" in (await me.get("/me/family")).text


async def test_a_guardian_and_child_running_together_are_not_flagged_as_a_shared_track(
    web: Web,
) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
    guardian = await Account.get(email=web.site.emails["resident"])
    track = synthetic_run_gpx(points=900, seed=77)
    for who in (guardian.resident_id, child["id"]):
        assert who is not None
        (done,) = await ingest.import_uploads(
            parser=PARSER, resident_id=who, uploads=[Upload(name="family.gpx", data=track)]
        )
        assert done.outcome is not None and done.outcome.run.verdict == "accepted"
    neighbour = await Account.get(email=web.site.emails["other_resident"])
    assert neighbour.resident_id is not None
    (copy,) = await ingest.import_uploads(
        parser=PARSER, resident_id=neighbour.resident_id, uploads=[Upload(name="x.gpx", data=track)]
    )
    assert copy.outcome is not None and copy.outcome.run.verdict == "flagged"


async def test_a_guardian_uploads_a_run_that_counts_for_the_child(web: Web) -> None:
    track = synthetic_run_gpx(points=900, seed=88)
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
        r = await me.post(
            "/api/v1/runs",
            files=[("files", ("kid.gpx", track, "application/gpx+xml"))],
            data={"for_resident_id": str(child["id"])},
        )
        assert r.status_code == 200, r.text
    (run,) = await Run.filter(file_name="kid.gpx")
    assert run.resident_id == child["id"] and run.verdict == "accepted"


async def test_no_one_uploads_for_a_child_not_in_their_care(web: Web) -> None:
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
    track = synthetic_run_gpx(points=900, seed=89)
    async with web.signed_in("other_resident") as other:
        r = await other.post(
            "/api/v1/runs",
            files=[("files", ("kid.gpx", track, "application/gpx+xml"))],
            data={"for_resident_id": str(child["id"])},
        )
    assert r.status_code == 404
    assert not await Run.exists(file_name="kid.gpx")


async def test_the_childs_runs_are_exported_with_the_guardians_data(web: Web) -> None:
    track = synthetic_run_gpx(points=900, seed=90)
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
        await me.post(
            "/api/v1/runs",
            files=[("files", ("kid.gpx", track, "application/gpx+xml"))],
            data={"for_resident_id": str(child["id"])},
        )
        export = await me.get("/api/v1/me/export")
    with zipfile.ZipFile(io.BytesIO(export.content)) as z:
        data = json.loads(z.read("warmrun.json"))
    (kid,) = data["children"]
    assert kid["child"]["display_name"] == "小明" and len(kid["runs"]) == 1


async def test_more_family_copies_of_one_track_than_a_family_run_wait_for_review(
    web: Web,
) -> None:
    guardian = await Account.get(email=web.site.emails["resident"])
    assert guardian.resident_id is not None
    async with web.signed_in("resident") as me:
        kids = [
            (await me.post("/api/v1/me/children", json={**CHILD, "display_name": f"孩{n}"})).json()[
                "child"
            ]["id"]
            for n in range(3)
        ]
    track = synthetic_run_gpx(points=900, seed=91)
    verdicts = []
    for who in (guardian.resident_id, *kids):
        (done,) = await ingest.import_uploads(
            parser=PARSER, resident_id=who, uploads=[Upload(name="f.gpx", data=track)]
        )
        assert done.outcome is not None
        verdicts.append(done.outcome.run.verdict)
    assert verdicts == ["accepted", "accepted", "accepted", "flagged"]


async def test_a_guardian_opens_the_page_of_a_childs_run_and_no_one_else_does(web: Web) -> None:
    track = synthetic_run_gpx(points=900, seed=92)
    async with web.signed_in("resident") as me:
        child = (await me.post("/api/v1/me/children", json=CHILD)).json()["child"]
        await me.post(
            "/api/v1/runs",
            files=[("files", ("kid.gpx", track, "application/gpx+xml"))],
            data={"for_resident_id": str(child["id"])},
        )
        (run,) = await Run.filter(file_name="kid.gpx")
        assert (await me.get(f"/me/runs/{run.id}")).status_code == 200
    async with web.signed_in("other_resident") as other:
        assert (await other.get(f"/me/runs/{run.id}")).status_code == 404
