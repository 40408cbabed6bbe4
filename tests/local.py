"""Servers of the tests' own on loopback: a free port, a real redis-server on one, and a real
Redis Cluster of three redis-servers."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from warmrun.redis_server import redis_server_binary
from warmrun.resources import redis_cluster_client


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def redis_on_port(directory: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server on a free loopback port (no snapshots): its URL and its process."""
    port = free_port()
    proc = subprocess.Popen(
        [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""],
        cwd=directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0", proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def free_cluster_port() -> int:
    """A free loopback port whose cluster bus port (the port + 10000) is free as well."""
    for _ in range(200):
        port = free_port()
        if port + 10_000 > 65_535:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10_000))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair for a cluster node")


class Cluster:
    """A Redis Cluster of our own on loopback: ``masters`` redis-servers in cluster mode (no
    snapshots), each with an equal share of the 16384 slots. A node can be stopped and started
    again on its port: it comes back empty, with its place in the cluster (its nodes.conf)."""

    def __init__(self, directory: Path, masters: int = 3) -> None:
        self.directory = directory
        self.ports: list[int] = []
        while len(self.ports) < masters:
            port = free_cluster_port()
            if port not in self.ports:
                self.ports.append(port)
        self.processes: list[subprocess.Popen[bytes] | None] = [None] * masters

    @property
    def url(self) -> str:
        """The address of one node, from which a cluster client finds the others."""
        return f"redis://127.0.0.1:{self.ports[0]}/0"

    def node(self, i: int) -> redis.Redis:
        """A plain client of node ``i`` (close it after use)."""
        return redis.Redis(host="127.0.0.1", port=self.ports[i], socket_timeout=5)

    def start(self, i: int) -> None:
        node_dir = self.directory / f"node-{i}"
        node_dir.mkdir(parents=True, exist_ok=True)
        options = {
            "port": str(self.ports[i]),
            "bind": "127.0.0.1",
            "save": "",
            "appendonly": "no",
            "cluster-enabled": "yes",
            "cluster-config-file": str(node_dir / "nodes.conf"),
            "cluster-node-timeout": "5000",
            "dir": str(node_dir),
        }
        args = [redis_server_binary()]
        for name, value in options.items():
            args += [f"--{name}", value]
        self.processes[i] = subprocess.Popen(args, cwd=node_dir, stdout=subprocess.DEVNULL)

    def stop(self, i: int) -> None:
        proc = self.processes[i]
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
            self.processes[i] = None

    def create(self, timeout: float = 30.0) -> None:
        """Start every node, hand out the slots, introduce the nodes, and wait until all of
        them report the cluster healthy."""
        for i in range(len(self.ports)):
            self.start(i)
        share = 16_384 // len(self.ports)
        for i in range(len(self.ports)):
            last = 16_383 if i == len(self.ports) - 1 else (i + 1) * share - 1
            self.command(i, "CLUSTER ADDSLOTS", *range(i * share, last + 1), timeout=timeout)
        for port in self.ports[1:]:
            self.command(0, "CLUSTER MEET", "127.0.0.1", port)
        self.wait_healthy(timeout)

    def command(self, i: int, *args: Any, timeout: float = 10.0) -> Any:
        """One command to node ``i``, waiting for the node to listen first."""
        deadline = time.monotonic() + timeout
        node = self.node(i)
        try:
            while True:
                try:
                    return node.execute_command(*args)
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        finally:
            node.close()

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not all(self._healthy(i) for i in range(len(self.ports))):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster did not come up in time")
            time.sleep(0.05)

    def _healthy(self, i: int) -> bool:
        info = self.command(i, "CLUSTER INFO")  # redis-py parses it into a dict of text
        return bool(
            info.get("cluster_state") == "ok"
            and info.get("cluster_known_nodes") == str(len(self.ports))
        )

    def flush(self) -> None:
        """Empty every node."""
        for i in range(len(self.ports)):
            self.command(i, "FLUSHALL")

    def close(self) -> None:
        for i in range(len(self.ports)):
            self.stop(i)


@contextmanager
def redis_cluster(directory: Path, *, masters: int = 3) -> Iterator[Cluster]:
    """A healthy Redis Cluster of ``masters`` nodes (see :class:`Cluster`), ended afterwards."""
    cluster = Cluster(directory, masters)
    try:
        cluster.create()
        yield cluster
    finally:
        cluster.close()


class Backend:
    """Where the tests' boards and counters live: one redis-server, or a Redis Cluster (whose
    clients are made as the app makes them, by ``resources.redis_cluster_client``)."""

    def __init__(self, url: str, *, cluster: bool) -> None:
        self.url = url
        self.cluster = cluster

    def connect(self) -> Redis | RedisCluster:
        return redis_cluster_client(self.url) if self.cluster else Redis.from_url(self.url)

    def __repr__(self) -> str:
        return "cluster" if self.cluster else "server"
