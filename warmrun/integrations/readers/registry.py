"""Pick a reader by what the bytes are, never by the file name.

A single upload may be an archive (a resident's export, a zip of zips, ``.fit.gz`` files from a
bulk export): :func:`read_any` yields one :class:`ParsedFile` per activity file found, each with
its own bytes and either a Track or the typed error that rejected it.
"""

from __future__ import annotations

import codecs
import gzip
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from warmrun.config import Limits
from warmrun.integrations.readers.fit import is_fit, read_fit
from warmrun.integrations.readers.gpx import read_gpx
from warmrun.integrations.readers.tcx import read_tcx
from warmrun.platform.errors import (
    CorruptFile,
    EmptyArchive,
    InvalidTrack,
    NotATrack,
    TooLarge,
)
from warmrun.platform.tracks import Track
from warmrun.platform.uploads import Budget, UploadBounds

GPX, TCX, FIT, ZIP, GZIP = "gpx", "tcx", "fit", "zip", "gzip"
_READERS: dict[str, Callable[[bytes, Limits], Track]] = {
    GPX: read_gpx,
    TCX: read_tcx,
    FIT: read_fit,
}
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?(gpx|TrainingCenterDatabase)[\s>/]")
MAX_NESTING = 3


@dataclass
class ParsedFile:
    """One activity file: its name inside the upload, its bytes, and a Track or an error."""

    name: str
    data: bytes
    format: str | None
    track: Track | None = None
    error: InvalidTrack | None = None


def sniff(data: bytes) -> str | None:
    """The format of ``data`` by its content, or None."""
    head = data[:4096]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return ZIP
    if head.startswith(b"\x1f\x8b"):
        return GZIP
    if is_fit(head):
        return FIT
    text = head
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = head.decode("utf-16", errors="ignore").encode("utf-8")
    elif head.startswith(codecs.BOM_UTF8):
        text = head[3:]
    if not text.lstrip().startswith(b"<"):
        return None
    m = _ROOT.search(text)
    if m is None:
        return None
    return GPX if m.group(1) == b"gpx" else TCX


def read_track(data: bytes, limits: Limits) -> Track:
    """Parse a single (non-archive) activity file."""
    if len(data) > limits.upload_bytes:
        raise TooLarge(what="file size", limit=f"{limits.upload_bytes // (1024 * 1024)} MiB")
    fmt = sniff(data)
    if fmt is None or fmt not in _READERS:
        raise NotATrack()
    return _READERS[fmt](data, limits)


def bounds_of(limits: Limits) -> UploadBounds:
    """The request and account bounds of :class:`Limits`, as the platform counts them."""
    return UploadBounds(
        activities=limits.activities,
        inflated_bytes=limits.decompressed_bytes,
        per_day=limits.uploads_per_day,
    )


@dataclass
class Member:
    """One file found in an upload: the upload itself, or a file inside its archives."""

    name: str
    data: bytes
    format: str | None


def expand(data: bytes, name: str, limits: Limits, budget: Budget) -> list[Member]:
    """The activity files of one uploaded file: itself, or its archives' members (nested
    archives flattened). Every member counts against ``budget``; files that are not tracks
    inside an archive (READMEs, images) are passed over, a top-level one is kept so that its
    outcome can say so."""
    if len(data) > limits.upload_bytes:
        raise TooLarge(what="file size", limit=f"{limits.upload_bytes // (1024 * 1024)} MiB")
    if sniff(data) not in (ZIP, GZIP):
        budget.take(activities=1, inflated=len(data))
    out = list(_expand(data, name, budget, depth=0))
    if not out:
        raise EmptyArchive()
    return out


def read_member(member: Member, limits: Limits) -> ParsedFile:
    """Parse one activity file found by :func:`expand`."""
    if member.format is None or member.format not in _READERS:
        return ParsedFile(name=member.name, data=member.data, format=None, error=NotATrack())
    try:
        track = _READERS[member.format](member.data, limits)
    except InvalidTrack as exc:
        return ParsedFile(name=member.name, data=member.data, format=member.format, error=exc)
    return ParsedFile(name=member.name, data=member.data, format=member.format, track=track)


def read_any(data: bytes, name: str, limits: Limits) -> list[ParsedFile]:
    """Every activity file in ``data`` (an archive expands to its members), each parsed.

    In-process: for files the operator hands the CLI and for tests. Uploads go through the
    sandboxed worker processes of :mod:`warmrun.integrations.parsing`.
    """
    return [
        read_member(m, limits) for m in expand(data, name, limits, Budget.of(bounds_of(limits)))
    ]


def _expand(data: bytes, name: str, budget: Budget, depth: int) -> Iterator[Member]:
    fmt = sniff(data)
    if fmt not in (ZIP, GZIP):
        yield Member(name=name, data=data, format=fmt)
        return
    if depth >= MAX_NESTING:
        raise TooLarge(what="archive nesting", limit=str(MAX_NESTING))
    if fmt == GZIP:
        budget.take(activities=1)
    members = (
        _zip_members(data, budget)
        if fmt == ZIP
        else [(name.removesuffix(".gz"), _gunzip(data, budget))]
    )
    found = False
    for member_name, member in members:
        inner = sniff(member)
        if inner is None:
            continue  # READMEs, images, JSON in an export: not ours, not an error
        found = True
        yield from _expand(
            member,
            f"{name}/{member_name}" if fmt == ZIP else member_name,
            budget,
            depth + 1,
        )
    if not found and depth == 0:
        raise EmptyArchive()


def _zip_members(data: bytes, budget: Budget) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
        # Counted before any is read: an archive of 100,000 empty files costs one look.
        budget.take(activities=len(infos))
        members = []
        for info in infos:
            # Declared sizes can lie (zip bombs): read in bounded chunks and count real bytes.
            chunks = []
            with archive.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    budget.take(inflated=len(chunk))
                    chunks.append(chunk)
            members.append((info.filename, b"".join(chunks)))
        return members
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        NotImplementedError,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,
    ) as exc:
        raise CorruptFile(str(exc)) from exc


def _gunzip(data: bytes, budget: Budget) -> bytes:
    try:
        chunks = []
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            while chunk := fh.read(1 << 20):
                budget.take(inflated=len(chunk))
                chunks.append(chunk)
        return b"".join(chunks)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptFile(str(exc)) from exc
