"""A hardened expat front end shared by the GPX and TCX readers.

DTDs and entity declarations are refused outright (that closes billion-laughs and external
entity attacks, as defusedxml does), nesting depth and namespace declarations are bounded, and
documents in encodings expat does not know natively are transcoded to UTF-8 or refused.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from typing import Any
from xml.parsers import expat

from warmrun.config import Limits
from warmrun.platform.errors import (
    CorruptFile,
    DtdForbidden,
    InvalidTrack,
    TooLarge,
    UnsupportedEncoding,
)

_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
_EXPAT_NATIVE = {"utf-8", "utf-16", "iso-8859-1", "us-ascii"}
CHUNK = 1 << 16


def _refuse_dtd(*_args: Any) -> None:
    raise DtdForbidden()


def prepare(data: bytes) -> bytes:
    """Return bytes expat can read: transcode declared non-native encodings to UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return data
    m = _DECL.match(data[:512])
    if not m:
        return data
    declared = m.group(1).decode("ascii").lower()
    try:
        name = codecs.lookup(declared).name
    except LookupError as exc:
        raise UnsupportedEncoding() from exc
    if name in {codecs.lookup(x).name for x in _EXPAT_NATIVE}:
        return data
    try:
        text = data.decode(name)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnsupportedEncoding() from exc
    head, sep, rest = text.partition("?>")
    return (
        re.sub(r"encoding\s*=\s*[\"'][^\"']*[\"']", 'encoding="utf-8"', head) + sep + rest
    ).encode()


def parse(
    data: bytes,
    *,
    start: Callable[[str, dict[str, str]], None],
    end: Callable[[str], None],
    chars: Callable[[str], None],
    limits: Limits,
) -> None:
    """Feed ``data`` through expat with the given handlers; every failure is an InvalidTrack."""
    data = prepare(data)
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = CHUNK
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    parser.UnparsedEntityDeclHandler = _refuse_dtd
    parser.ExternalEntityRefHandler = _refuse_dtd  # type: ignore[assignment]
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    view = memoryview(data)
    try:
        for offset in range(0, len(view), CHUNK):
            parser.Parse(view[offset : offset + CHUNK].tobytes(), False)
        parser.Parse(b"", True)
    except InvalidTrack:
        raise
    except expat.ExpatError as exc:
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_UNKNOWN_ENCODING]:
            raise UnsupportedEncoding() from exc
        if exc.code == expat.errors.codes[expat.errors.XML_ERROR_INCORRECT_ENCODING]:
            raise UnsupportedEncoding() from exc
        raise CorruptFile(str(exc)) from exc
    except RecursionError as exc:  # pragma: no cover - depth is bounded before this
        raise TooLarge(what="nesting", limit=str(limits.xml_depth)) from exc


def local(name: str) -> str:
    """Element name without its namespace prefix."""
    return name.rpartition(":")[2]


class Guard:
    """Counts depth and namespace declarations as elements open."""

    __slots__ = ("depth", "limits", "namespaces")

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.depth = 0
        self.namespaces = 0

    def attrs(self, attrs: dict[str, str]) -> None:
        for key in attrs:
            if key == "xmlns" or key.startswith("xmlns:"):
                self.namespaces += 1
                if self.namespaces > self.limits.xml_namespaces:
                    raise TooLarge(what="namespaces", limit=str(self.limits.xml_namespaces))

    def too_deep(self) -> None:
        raise TooLarge(what="nesting", limit=str(self.limits.xml_depth))
