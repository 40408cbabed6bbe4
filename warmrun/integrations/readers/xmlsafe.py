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
_DECL_TEXT = re.compile(r"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)[\"']")
# The declaration is looked for in this many leading bytes (and, once decoded, characters).
_DECL_SPAN = 512
_EXPAT_NATIVE = {"utf-8", "utf-16", "iso-8859-1", "us-ascii"}
# Codecs that name no document character set: hostname codecs (punycode decoding is quadratic:
# a 256 KiB body took 14 s), besides the bytes-to-bytes ones (base64, zlib...) that
# bytes.decode refuses with a LookupError.
_NOT_CHARSETS = {"idna", "punycode"}
CHUNK = 1 << 16
# pyexpat hands libexpat at most 1 MiB per XML_Parse call, splitting longer buffers itself.
_MAX_FEED = 1 << 20
# Expat 2.5.0 (no reparse deferral) re-tokenises an unfinished token (a start tag with its
# attributes, a comment, a processing instruction) from its first byte on every call, so a
# token longer than one call costs its length once per call: quadratic. No GPX or TCX writer
# emits a tag or comment near this size; longer ones are refused (text and CDATA content are
# consumed as they arrive and are not bounded by this).
MAX_TOKEN = 1 << 20


def _refuse_dtd(*_args: Any) -> None:
    raise DtdForbidden()


def prepare(data: bytes) -> bytes:
    """Return bytes expat can read: transcode declared non-native encodings to UTF-8."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8)):
        return data
    m = _DECL.match(data[:_DECL_SPAN])
    if not m:
        return data
    declared = m.group(1).decode("ascii").lower()
    try:
        name = codecs.lookup(declared).name
    except LookupError as exc:
        raise UnsupportedEncoding() from exc
    if name in {codecs.lookup(x).name for x in _EXPAT_NATIVE}:
        return data
    if name in _NOT_CHARSETS:
        raise UnsupportedEncoding()
    try:
        text = data.decode(name)
    except (UnicodeDecodeError, ValueError, LookupError) as exc:
        raise UnsupportedEncoding() from exc
    # Only the declaration's own value is rewritten, and it is looked for where the byte
    # pattern found it: never a pass over the document (which may hold no "?>" at all).
    decl = _DECL_TEXT.match(text, 0, _DECL_SPAN)
    if decl is None:
        raise UnsupportedEncoding()  # the declaration does not survive its own encoding
    return (text[: decl.start(1)] + "utf-8" + text[decl.end(1) :]).encode()


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
    try:
        _feed(parser, data)
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


def _feed(parser: expat.XMLParserType, data: bytes) -> None:
    """Feed ``data`` in 64 KiB pieces, growing a piece while a token is left unfinished.

    After each call, expat holds back the unfinished token (from ``CurrentByteIndex`` on) and
    tokenises it again from its start on the next call. The next piece is at least twice that
    held-back length, so the re-reading adds at most the bytes fed: linear for any token up
    to :data:`MAX_TOKEN`. Ordinary files, whose tokens are small, keep 64 KiB pieces.
    """
    view = memoryview(data)
    end = len(view)
    pos = 0
    size = CHUNK
    while pos < end:
        parser.Parse(view[pos : pos + size], False)
        pos = min(pos + size, end)
        index = parser.CurrentByteIndex
        held = pos - index if index >= 0 else pos
        if held > MAX_TOKEN:
            raise TooLarge(what="XML tag or comment", limit=f"{MAX_TOKEN // (1 << 20)} MiB")
        size = min(max(CHUNK, 2 * held), _MAX_FEED)
    parser.Parse(b"", True)


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
