"""What a GPX file says wrote it: the ``creator`` attribute of its root, and the names in its
``<metadata>`` (warmrun.platform.coordinates decides what they mean).

Read from the file's head only (before its first track, at most :data:`HEAD_BYTES`), with
patterns that each start at a literal and stop at the next quote or tag: linear in the head,
whatever it holds. Both GPX paths (the scanner and expat) take it from here, so they agree.
"""

from __future__ import annotations

import codecs
import html
import re

HEAD_BYTES = 64 * 1024
MAX_HINTS = 8
_TEXT = 200  # characters kept of each name

_DECL_ENC = re.compile(rb"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*[\"']([A-Za-z0-9._\-]{1,40})[\"']")
# The head is decoded in its declared encoding when it is one of these (Chinese apps may write
# GBK); anything else is read as UTF-8, which keeps every ASCII name.
_CODECS = {codecs.lookup(n).name for n in ("utf-8", "gbk", "gb18030", "big5", "latin-1", "ascii")}
_CREATOR = re.compile(r"""\screator\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_NAMES = re.compile(r"<(?:name|text)>([^<]*)</")
_HREF = re.compile(r"""<link\s+href\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _head(data: bytes) -> str:
    head = data[:HEAD_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return head.decode("utf-16", "ignore")
    head = head.removeprefix(codecs.BOM_UTF8)
    m = _DECL_ENC.match(head[:512])
    name = "utf-8"
    if m is not None:
        try:
            name = codecs.lookup(m.group(1).decode("ascii")).name
        except LookupError:
            name = "utf-8"
    return head.decode(name if name in _CODECS else "utf-8", "replace")


def _clean(text: str) -> str:
    return html.unescape(text[: _TEXT * 2]).strip()[:_TEXT]


def gpx_origin(data: bytes) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(writers, hints): the root's ``creator``, and the ``<metadata>`` names, link texts and
    addresses (the file's own, not its tracks'; GPX 1.0: those before the first track)."""
    head = _head(data)
    track = head.find("<trk")
    if track >= 0:
        head = head[:track]
    root = head.find("<gpx")
    if root < 0:
        return (), ()
    close = head.find(">", root)
    tag = head[root : close if close >= 0 else len(head)]
    m = _CREATOR.search(tag)
    writers = (_clean(m.group(1) or m.group(2) or ""),) if m else ()
    # GPX 1.1 keeps them in <metadata>; GPX 1.0 at the top, before the tracks.
    start = head.find("<metadata", root)
    end = head.find("</metadata>", start) if start >= 0 else -1
    meta = head[start : end if end >= 0 else len(head)] if start >= 0 else head[root + len(tag) :]
    found = list(_NAMES.findall(meta)[:MAX_HINTS])
    found += [a or b for a, b in _HREF.findall(meta)[:MAX_HINTS]]
    hints = tuple(h for h in map(_clean, found) if h)[:MAX_HINTS]
    return tuple(w for w in writers if w), hints
