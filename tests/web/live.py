"""A real uvicorn server in a thread, on a copy of the seeded database and its own private
redis-server, for end-to-end tests (schemathesis, the browser)."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from tests.local import free_port
from tests.web.conftest import settings_for
from warmrun.web.app import create_app


@contextmanager
def live_server(template: Path, home: Path) -> Iterator[str]:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, home / "web.sqlite3")
    port = free_port()
    config = uvicorn.Config(
        create_app(settings_for(home)),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
