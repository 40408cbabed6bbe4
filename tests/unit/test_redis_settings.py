"""Which Redis the settings name: the embedded one, one server, or a cluster with the job queue
on a server of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from warmrun.config import load_settings

NODE = "redis://10.0.0.5:7000/0"
QUEUE = "redis://10.0.0.9:6379/0"


def test_nothing_set_is_the_embedded_redis(tmp_path: Path) -> None:
    settings = load_settings({"WARMRUN_HOME": str(tmp_path)})
    assert settings.uses_embedded_redis
    assert not settings.redis_cluster and settings.queue_redis_url is None


def test_a_cluster_is_one_of_its_nodes_and_a_flag(tmp_path: Path) -> None:
    settings = load_settings(
        {"WARMRUN_HOME": str(tmp_path), "REDIS_URL": NODE, "WARMRUN_REDIS_CLUSTER": "true"}
    )
    assert settings.redis_cluster and settings.redis_url == NODE
    assert settings.queue_redis_url is None  # no Strava: no jobs to queue


def test_a_cluster_needs_an_address(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="REDIS_URL"):
        load_settings({"WARMRUN_HOME": str(tmp_path), "WARMRUN_REDIS_CLUSTER": "true"})


def test_strava_on_a_cluster_needs_a_queue_server(tmp_path: Path) -> None:
    env = {
        "WARMRUN_HOME": str(tmp_path),
        "REDIS_URL": NODE,
        "WARMRUN_REDIS_CLUSTER": "true",
        "STRAVA_CLIENT_ID": "1",
    }
    with pytest.raises(ValueError, match="WARMRUN_QUEUE_REDIS_URL"):
        load_settings(env)
    settings = load_settings({**env, "WARMRUN_QUEUE_REDIS_URL": QUEUE})
    assert settings.queue_redis_url == QUEUE
