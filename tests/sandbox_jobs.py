"""Jobs for the sandbox's tests: module-level functions, since jobs are sent by reference."""

from __future__ import annotations

import os
import time

from warmrun.platform.errors import InvalidInput


def spin() -> None:
    """Burns CPU until the sandbox ends the worker."""
    n = 0
    while True:
        n += 1


def hog() -> int:
    """Asks for far more memory than a worker may have."""
    block = bytearray(4 * 1024 * 1024 * 1024)
    return len(block)


def sleep(seconds: float) -> None:
    """Holds the worker without using CPU (only the wall deadline can stop it)."""
    time.sleep(seconds)


def refuse() -> None:
    """A domain error whose constructor takes more than a message."""
    raise InvalidInput("gpx", "holds no route", "没有路线")


def crash() -> None:
    """A reader's bug."""
    raise KeyError("oops")


def pid() -> int:
    return os.getpid()
