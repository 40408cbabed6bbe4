"""The warmrun command end to end, in a subprocess, on embedded defaults (real redis-server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATA


def warmrun(
    *args: str, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    environ["WARMRUN_HOME"] = str(home)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "warmrun.cli", *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=300,
        check=False,
    )


def test_track_stats_reports_each_file_and_fails_on_bad_ones(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpx"
    bad.write_text("not xml")
    proc = warmrun(
        "track-stats", str(DATA / "gpx/togeojson__run.gpx"), str(bad), "--json", home=tmp_path
    )
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert rows[0]["verdict"] == "accepted" and rows[0]["distance_m"] > 3000
    assert rows[1]["error"]["code"] == "not_a_track"


@pytest.mark.slow
def test_demo_is_idempotent_and_verifies(tmp_path: Path, database_url: str) -> None:
    env = {"DATABASE_URL": database_url} if database_url.startswith("postgres") else {}
    if env:
        pytest.skip("the demo test owns its SQLite file; the PostgreSQL run covers services")
    first = warmrun("demo", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "warm packs funded" in first.stdout
    second = warmrun("demo", home=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "already imported" in second.stdout
    verify = warmrun("campaign", "verify", "four-city-warm-run-2025", home=tmp_path)
    entries = re.search(r"ledger OK: (\d+) entries", verify.stdout)
    assert verify.returncode == 0 and entries is not None
    assert int(entries.group(1)) >= 500  # hundreds of residents' runs, once each
    for line in first.stdout.splitlines():
        if line.startswith("│ ") and "total" not in line:
            assert re.search(r"│ [1-9]\d* \+", line), line  # a warm pack in every city
    assert not (tmp_path / "redis.sock").exists()  # the private redis-server was stopped
    board = warmrun(
        "leaderboard", "show", "four-city-warm-run-2025", "--scope", "city", "--json", home=tmp_path
    )
    assert board.returncode == 0, board.stderr
    data = json.loads(board.stdout)
    assert data["total"] == 4  # boards survived the restart of the private redis-server
    rebuilt = warmrun("leaderboard", "rebuild", home=tmp_path)
    assert rebuilt.returncode == 0 and re.search(r"\d{3,} contributions", rebuilt.stdout)


def test_import_command_prints_per_file_outcome(tmp_path: Path) -> None:
    proc = warmrun(
        "import",
        str(DATA / "fit/fitdecode__Settings.fit"),
        "--resident",
        "1",
        "--json",
        home=tmp_path,
    )
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert rows[0]["error"]["code"] == "not_an_activity"


def test_admin_create_makes_an_administrator_who_can_sign_in(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "warmrun.cli", "admin", "create", "Boss@Example.com",
         "--password-stdin"],
        input="correct horse battery\n",
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
             "WARMRUN_HOME": str(tmp_path)},
        timeout=300,
        check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "administrator boss@example.com created" in proc.stdout
    again = subprocess.run(
        [sys.executable, "-m", "warmrun.cli", "admin", "create", "boss@example.com",
         "--password-stdin"],
        input="another password\n",
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
             "WARMRUN_HOME": str(tmp_path)},
        timeout=300,
        check=False,
    )  # fmt: skip
    assert again.returncode == 1 and "email_taken" in again.stderr
