"""The key that signs sessions: generated per install when none is given, refused in public
when it is missing or a development value."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.datastructures import Secret

from warmrun.config import load_settings, serving_problem


def test_without_a_key_one_is_generated_private_and_reused(tmp_path: Path) -> None:
    first = load_settings({"WARMRUN_HOME": str(tmp_path)})
    again = load_settings({"WARMRUN_HOME": str(tmp_path)})
    key = str(first.secret_key)
    assert len(key) >= 64 and key == str(again.secret_key)
    assert first.key_generated
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_two_installs_get_different_keys(tmp_path: Path) -> None:
    a = load_settings({"WARMRUN_HOME": str(tmp_path / "a")})
    b = load_settings({"WARMRUN_HOME": str(tmp_path / "b")})
    assert str(a.secret_key) != str(b.secret_key)


def test_a_cut_short_key_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short")
    key = str(load_settings({"WARMRUN_HOME": str(tmp_path)}).secret_key)
    assert len(key) >= 64


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_loopback_serves_with_the_generated_key(tmp_path: Path, host: str) -> None:
    assert serving_problem(load_settings({"WARMRUN_HOME": str(tmp_path)}), host) is None


@pytest.mark.parametrize(
    ("env_key", "refused"),
    [
        (None, True),
        ("dev-insecure-change-me", True),
        ("test-secret", True),
        ("too-short-a-key", True),
        ("k" * 48, False),
    ],
)
def test_a_public_address_needs_a_real_key(
    tmp_path: Path, env_key: str | None, refused: bool
) -> None:
    env = {"WARMRUN_HOME": str(tmp_path)}
    if env_key is not None:
        env["WARMRUN_SECRET_KEY"] = env_key
    problem = serving_problem(load_settings(env), "0.0.0.0")  # noqa: S104
    assert (problem is not None) == refused


def test_serve_refuses_a_public_address_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WARMRUN_SECRET_KEY"}
    env["WARMRUN_HOME"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "warmrun.cli", "serve", "--host", "0.0.0.0", "--port", "9"],  # noqa: S104
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    assert "WARMRUN_SECRET_KEY" in proc.stdout


def test_a_cookie_signed_with_the_old_development_key_signs_nobody_in(tmp_path: Path) -> None:
    from warmrun.web.security import Session, SessionCodec

    settings = load_settings({"WARMRUN_HOME": str(tmp_path)})
    forged = SessionCodec("dev-insecure-change-me").dumps(
        Session(account_id=1, epoch=0, key="k" * 43)
    )
    assert SessionCodec(str(settings.secret_key)).loads(forged) is None
    assert isinstance(settings.secret_key, Secret)
