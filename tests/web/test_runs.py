"""Uploading and reading runs over HTTP, export and erasure."""

from __future__ import annotations

import html
import io
import json
import re
import zipfile
from datetime import UTC, datetime

from tests.conftest import DATA
from tests.gcj02_files import farthest_m, tcx, to_gcj02, track_of, written_by
from tests.web.conftest import Web, sign_in
from tests.web.site import PASSWORD
from warmrun.integrations.synthetic import synthetic_run_gpx
from warmrun.platform import ingest
from warmrun.platform.tracks import Track

RUN_GPX = DATA / "gpx" / "togeojson__run.gpx"
RUN_FIT = DATA / "fit" / "fitdecode__garmin-fenix-5-run.fit"


def files(*paths: object) -> list[tuple[str, tuple[str, bytes, str]]]:
    out = []
    for p in paths:
        name, data = (p.name, p.read_bytes()) if hasattr(p, "read_bytes") else p  # type: ignore[union-attr,misc]
        out.append(("files", (name, data, "application/octet-stream")))
    return out


async def test_uploading_two_real_files_credits_both(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX, RUN_FIT))
        assert r.status_code == 200, r.text
        outcomes = r.json()["files"]
        assert [o["status"] for o in outcomes] == ["accepted", "accepted"]
        assert outcomes[0]["credited_m"] > 2800 and outcomes[0]["points"] > 0
        listed = (await client.get("/api/v1/runs")).json()
        assert listed["total"] == 2
        impact = (await client.get("/api/v1/me/impact")).json()["campaigns"]
        assert impact[0]["metres"] == sum(o["credited_m"] for o in outcomes)


async def test_same_file_again_returns_the_existing_run(web: Web) -> None:
    async with web.signed_in("resident") as client:
        first = (await client.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"][0]
        again = (await client.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"][0]
        assert again["status"] == "existing" and again["run_id"] == first["run_id"]
        assert (await client.get("/api/v1/runs")).json()["total"] == 1


async def test_a_bad_file_gets_its_reason_and_the_good_one_still_counts(web: Web) -> None:
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/lang", json={"lang": "en"})
        r = await client.post(
            "/api/v1/runs", files=files(("notes.gpx", b"<html>hello</html>"), RUN_GPX)
        )
        bad, good = r.json()["files"]
        assert bad["status"] == "error" and bad["error"]["code"] == "not_a_track"
        assert "GPX" in bad["error"]["message"]
        assert good["status"] == "accepted"


async def test_upload_without_files_is_a_clear_error(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", data={"x": "1"})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "invalid_input"


async def test_body_over_the_limit_is_413_by_content_length(web: Web) -> None:
    async with web.signed_in("resident") as client:
        big = b"0" * (25 * 1024 * 1024 + 1)
        r = await client.post("/api/v1/runs", files=files(("big.gpx", big)))
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "body_too_large"


async def test_chunked_body_over_the_limit_is_413(web: Web) -> None:
    async def chunks():  # type: ignore[no-untyped-def]
        yield b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.gpx"\r\n\r\n'
        for _ in range(26):
            yield b"0" * (1024 * 1024)

    async with web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/runs",
            content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413
        assert (await client.get("/api/v1/runs")).json()["total"] == 0


async def test_run_map_hides_the_ends_and_escapes_the_file_name(web: Web) -> None:
    data = synthetic_run_gpx(points=900)
    async with web.signed_in("resident") as client:
        name = '<script>alert("x")</script>.gpx'
        r = await client.post("/api/v1/runs", files=files((name, data)))
        run_id = r.json()["files"][0]["run_id"]
        svg = (await client.get(f"/api/v1/runs/{run_id}/map.svg")).text
        assert svg.startswith("<svg") and "<polyline" in svg
        assert "<script>" not in svg
        page = (await client.get(f"/me/runs/{run_id}")).text
        assert "<script>alert" not in page and "&lt;script&gt;" in page


async def test_another_resident_cannot_read_my_run(web: Web) -> None:
    async with web.signed_in("resident") as mine:
        run_id = (await mine.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"][0][
            "run_id"
        ]
    async with web.signed_in("other_resident") as other:
        for path in (
            f"/api/v1/runs/{run_id}",
            f"/api/v1/runs/{run_id}/map.svg",
            f"/api/v1/runs/{run_id}/file",
            f"/me/runs/{run_id}",
        ):
            assert (await other.get(path)).status_code == 404, path


async def test_export_holds_my_data_and_original_files(web: Web) -> None:
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/runs", files=files(RUN_GPX))
        r = await client.get("/api/v1/me/export")
        assert r.headers["content-type"] == "application/zip"
        z = zipfile.ZipFile(io.BytesIO(r.content))
        data = json.loads(z.read("warmrun.json"))
        assert data["account"]["email"] == web.site.emails["resident"]
        assert len(data["runs"]) == 1
        (original,) = [n for n in z.namelist() if n.startswith("files/")]
        assert z.read(original) == RUN_GPX.read_bytes()


async def test_exports_are_limited_per_account(web: Web) -> None:
    async with web.signed_in("resident") as client:
        statuses = [(await client.get("/api/v1/me/export")).status_code for _ in range(6)]
        assert statuses == [200] * 5 + [429]
        assert int((await client.get("/api/v1/me/export")).headers["retry-after"]) >= 1


async def test_erasure_removes_tracks_and_keeps_totals_and_the_ledger_valid(web: Web) -> None:
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/runs", files=files(RUN_GPX))
        run_id = (await client.get("/api/v1/runs")).json()["items"][0]["id"]
    async with web.signed_in("admin") as admin:
        before = (await admin.get(f"/api/v1/campaigns/{web.site.campaign}/dashboard")).json()
        async with web.signed_in("resident") as client:
            r = await client.request("DELETE", "/api/v1/me", json={"password": PASSWORD})
            assert r.status_code == 200
            assert (await client.get("/api/v1/me")).status_code == 401
        after = (await admin.get(f"/api/v1/campaigns/{web.site.campaign}/dashboard")).json()
        assert after["dashboard"]["overall"] == before["dashboard"]["overall"]
        assert (await admin.get(f"/api/v1/campaigns/{web.site.campaign}/verify")).json()["ok"]
        assert (await admin.get(f"/api/v1/runs/{run_id}/file")).status_code == 404
    async with web.client() as client:
        try:
            await sign_in(client, web.site.emails["resident"])
        except AssertionError:
            pass
        else:
            raise AssertionError("the erased account can still sign in")


async def test_an_upload_says_what_it_credited_and_every_later_read_agrees(web: Web) -> None:
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/lang", json={"lang": "en"})
        (told,) = (await client.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"]
        o = told["outcome"]
        assert o["kind"] == "credited" and o["status"] == "credited"
        assert o["message"].startswith("Credited to Warm run: ")
        assert f"+{o['points']} points" in o["message"] and o["points"] > 0
        run = (await client.get(f"/api/v1/runs/{told['run_id']}")).json()
        assert run["outcome"]["message"] == o["message"]
        assert run["points_earned"] == o["points"] and run["gps_points"] == run["points"]
        (impact,) = (await client.get("/api/v1/me/impact")).json()["campaigns"]
        assert (impact["metres"], impact["kcal"]) == (o["credited_m"], o["kcal"])
        assert (await client.get("/api/v1/me/points")).json()["balance"] == o["points"]
        listed = (await client.get("/api/v1/runs")).json()["items"][0]
        assert listed["outcome"]["kind"] == "credited"


async def test_a_duplicate_and_a_refused_file_say_why(web: Web) -> None:
    data = synthetic_run_gpx(points=900)
    async with web.signed_in("resident") as client:
        first = (await client.post("/api/v1/runs", files=files(("a.gpx", data)))).json()
        copy = data.replace(b'creator="warmrun-synthetic"', b'creator="another-tool"')
        r = await client.post(
            "/api/v1/runs", files=files(("b.gpx", copy), ("notes.gpx", b"<html>hello</html>"))
        )
        assert r.status_code == 422
        dup, bad = r.json()["files"]
        run_id = first["files"][0]["run_id"]
        assert dup["outcome"]["kind"] == "duplicate" and dup["outcome"]["run_id"] == run_id
        assert f"#{run_id}" in dup["outcome"]["message"] and dup["outcome"]["day"]
        assert bad["outcome"]["kind"] == "file_refused"
        assert bad["outcome"]["message"].startswith("未计入：文件未被接受。")
        assert bad["error"]["message"] in bad["outcome"]["message"]


async def test_the_run_page_shows_counted_figures_and_labels_gps_points(web: Web) -> None:
    async with web.signed_in("resident") as client:
        (told,) = (await client.post("/api/v1/runs", files=files(RUN_GPX))).json()["files"]
        page = (await client.get(f"/me/runs/{told['run_id']}")).text
        (impact,) = (await client.get("/api/v1/me/impact")).json()["campaigns"]
        run = (await client.get(f"/api/v1/runs/{told['run_id']}")).json()
    assert told["outcome"]["message"] in page
    assert "<th>获得积分</th><td>+{}</td>".format(told["outcome"]["points"]) in page
    assert "<th>千卡</th><td>{:,}".format(impact["kcal"]) in page
    assert "<th>GPS 轨迹点数</th><td>{:,}</td>".format(run["gps_points"]) in page
    assert "<th>积分</th>" not in page  # the GPS points are no longer called points


def form_token(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert m, "no CSRF field in the form"
    return m.group(1)


async def test_the_upload_form_works_without_a_script(web: Web) -> None:
    async with web.signed_in("resident") as client:
        page = (await client.get("/me")).text
        assert 'action="/me"' in page and 'enctype="multipart/form-data"' in page
        r = await client.post(
            "/me",
            data={"csrf_token": form_token(page)},
            files=files(RUN_GPX, ("notes.gpx", b"<html>hello</html>")),
        )
        assert r.status_code == 200, r.text
        run = (await client.get("/api/v1/runs")).json()["items"][0]
        balance = (await client.get("/api/v1/me/points")).json()["balance"]
    assert html.escape(run["outcome"]["message"], quote=False) in r.text
    assert 'data-outcome="credited"' in r.text and 'data-outcome="not_counted"' in r.text
    assert "未计入：文件未被接受。" in r.text
    assert f'id="balance" data-live>{balance}</div>' in r.text and balance > 0
    assert f'href="/me/runs/{run["id"]}"' in r.text


async def test_the_upload_form_without_files_explains(web: Web) -> None:
    async with web.signed_in("resident") as client:
        page = (await client.get("/me")).text
        r = await client.post(
            "/me",
            data={"csrf_token": form_token(page)},
            files=[("files", ("", b"", "application/octet-stream"))],
        )
        assert r.status_code == 422
        assert "请至少选择一个文件" in r.text


# --- coordinates: GCJ-02 files from Chinese apps, detected or chosen per upload ----------------
TRUE_GPX = synthetic_run_gpx(points=1200, seed=41)  # Suzhou, 2025-11-01
KEEP_GPX = to_gcj02(written_by(TRUE_GPX, "Keep"))


async def stored_of(web: Web, run_id: int) -> Track:
    """The run's track as maps and event days read it back."""
    track = await ingest.stored_track(parser=web.app.state.parser, run_id=run_id)
    assert track is not None
    return track


async def test_a_keep_export_uploaded_on_the_web_is_stored_in_wgs84(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("keep.gpx", KEEP_GPX)))
        (result,) = r.json()["files"]
        run = (await client.get(f"/api/v1/runs/{result['run_id']}")).json()
        page = (await client.get(f"/me/runs/{result['run_id']}")).text
    coords = result["coordinates"]
    assert coords["system"] == "gcj02" and coords["converted"] and coords["basis"] == "app"
    assert coords["app"] == "keep" and coords["message"].startswith("由Keep以 GCJ-02")
    assert farthest_m(await stored_of(web, result["run_id"]), track_of(TRUE_GPX)) < 0.01
    assert run["coordinates"] == "gcj02"
    assert run["start_city"] == {"id": web.site.city, "name": "苏州"}
    assert '<td id="ran-in">苏州</td>' in page and "GCJ-02，已转换为 WGS-84" in page


async def test_the_same_keep_export_with_the_wgs84_choice_is_stored_as_is(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.post(
            "/api/v1/runs", files=files(("keep.gpx", KEEP_GPX)), data={"coords": "wgs84"}
        )
        (result,) = r.json()["files"]
        run = (await client.get(f"/api/v1/runs/{result['run_id']}")).json()
    assert result["coordinates"]["system"] == "wgs84"
    assert result["coordinates"]["basis"] == "choice"
    assert farthest_m(await stored_of(web, result["run_id"]), track_of(KEEP_GPX)) == 0
    assert run["coordinates"] == "wgs84"


async def test_a_codoon_tcx_is_detected_and_read_by_its_date(web: Web) -> None:
    old = synthetic_run_gpx(points=1200, seed=42, start=datetime(2013, 10, 1, 0, 30, tzinfo=UTC))
    new = synthetic_run_gpx(points=1200, seed=43)
    old_tcx = tcx(track_of(to_gcj02(old)), creator="Codoon")
    new_tcx = tcx(track_of(new), creator="Codoon")
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/lang", json={"lang": "en"})
        r = await client.post(
            "/api/v1/runs", files=files(("2013.tcx", old_tcx), ("2025.tcx", new_tcx))
        )
        before, after = r.json()["files"]
    assert before["coordinates"]["app"] == after["coordinates"]["app"] == "codoon"
    assert before["coordinates"]["app_name"] == "Codoon"
    assert before["coordinates"]["system"] == "gcj02"  # Codoon recorded GCJ-02 until 2014
    assert after["coordinates"]["system"] == "wgs84"
    assert after["coordinates"]["message"].endswith("stored as is.")
    assert farthest_m(await stored_of(web, before["run_id"]), track_of(old)) < 0.01
    assert farthest_m(await stored_of(web, after["run_id"]), track_of(new)) < 0.01


async def test_a_file_from_an_unknown_app_is_stored_as_is_by_default(web: Web) -> None:
    other = to_gcj02(written_by(TRUE_GPX, "SomeTracker 3"))
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(("other.gpx", other)))
        (result,) = r.json()["files"]
    assert result["coordinates"] == {
        "system": "wgs84",
        "converted": False,
        "basis": "default",
        "app": None,
        "app_name": None,
        "message": "",
    }
    assert farthest_m(await stored_of(web, result["run_id"]), track_of(other)) == 0


async def test_an_unknown_coordinate_choice_is_refused(web: Web) -> None:
    async with web.signed_in("resident") as client:
        r = await client.post("/api/v1/runs", files=files(RUN_GPX), data={"coords": "bd09"})
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
        assert (await client.get("/api/v1/runs")).json()["total"] == 0


async def test_the_upload_form_sends_the_choice_and_says_what_became_of_it(web: Web) -> None:
    async with web.signed_in("resident") as client:
        page = (await client.get("/me")).text
        assert '<select id="coords" name="coords">' in page
        assert '<option value="auto" selected>' in page
        r = await client.post(
            "/me",
            data={"csrf_token": form_token(page), "coords": "gcj02"},
            files=files(("plain.gpx", to_gcj02(TRUE_GPX))),
        )
        assert r.status_code == 200, r.text
        run_id = (await client.get("/api/v1/runs")).json()["items"][0]["id"]
    assert "按您的选择视为 GCJ-02 坐标，已转换为 WGS-84。" in r.text
    assert '<option value="gcj02" selected>' in r.text
    assert farthest_m(await stored_of(web, run_id), track_of(TRUE_GPX)) < 0.01


async def test_a_run_page_says_where_it_was_run_not_where_it_was_credited(web: Web) -> None:
    chongqing = synthetic_run_gpx(points=1200, seed=44, lat=29.563, lon=106.5516)
    async with web.signed_in("resident") as client:
        await client.post("/api/v1/lang", json={"lang": "en"})
        (result,) = (await client.post("/api/v1/runs", files=files(("cq.gpx", chongqing)))).json()[
            "files"
        ]
        page = (await client.get(f"/me/runs/{result['run_id']}")).text
        run = (await client.get("/api/v1/runs")).json()["items"][0]
        impact = (await client.get("/api/v1/me/impact")).json()["campaigns"][0]
    assert '<td id="ran-in">Chongqing</td>' in page
    assert run["start_city"] == {"id": web.site.other_city, "name": "Chongqing"}
    assert result["outcome"]["status"] == "credited" and impact["metres"] > 0
