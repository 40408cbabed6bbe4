"""Which coordinate system a track file is in: the app that wrote it, or the resident's choice.
Pure: no I/O.

Chinese running apps record positions in GCJ-02 (the obfuscated "Mars" datum Chinese maps use),
about 300-600 m from WGS-84 in the cities of a campaign. Everything warmrun stores and checks
(distances, the start city, maps, event routes) is WGS-84, so a GCJ-02 file is converted once,
as it is read, before anything is stored or judged (:func:`reading_of`, then
``Track.converted_from_gcj02``).

A resident chooses per upload: ``auto`` (the default), ``wgs84`` or ``gcj02``. With ``auto``
the file says which app wrote it (:func:`detect_app`):

- the writers it names decide: GPX's ``creator`` attribute, TCX's ``<Creator><Name>`` (the
  device) and ``<Author><Name>`` (the application). A file naming any other writer is read as
  WGS-84: tools that re-export an app's runs (running_page writes ``creator="gpx.py …"`` and
  ``<name>gpx from keep</name>``) have converted them already;
- only a file naming no writer is looked at further: GPX ``<metadata>`` names, author and
  link (text and address).

| app | recognised by | GCJ-02 |
|---|---|---|
| Keep | ``Keep`` alone (versions, platforms, ``app``, ``com`` aside), ``gotokeep`` | always |
| Codoon 咕咚 | ``codoon``, ``咕咚`` | runs before 2014-03-24 |
| Joyrun 悦跑圈 | ``joyrun``, ``thejoyrun``, ``悦跑圈`` | always |

Sources: running_page (github.com/yihong0618/running_page) converts Keep's points from GCJ-02
(``keep_sync.py``), asks Joyrun's API for WGS-84 explicitly (``"wgs": 1``), converts Codoon's
only before 2014-03-24 (``codoon_sync.py``, ``TRANS_END_DATE``) and writes Codoon's TCX with
``<Creator><Name>Codoon</Name>``. "Keep" is an English word, so it counts only as a writer's
whole name. FIT files are not detected: the FIT profile has no manufacturer id for any of these
apps, and FIT files come from devices, which record WGS-84; the resident's choice applies.

The system a stored file was in is kept with the file: its format gets :data:`GCJ_SUFFIX`
(``gpx+gcj``), so maps and event days re-reading the original convert it the same way.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Datum(StrEnum):
    """The coordinate system a file's positions are in."""

    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class Choice(StrEnum):
    """What the resident said of an upload's coordinates."""

    AUTO = "auto"  # the app that wrote the file decides; WGS-84 when none is recognised
    WGS84 = "wgs84"
    GCJ02 = "gcj02"


class Basis(StrEnum):
    """Why a file was read in its system."""

    APP = "app"  # the app that wrote it (Choice.AUTO)
    CHOICE = "choice"  # the resident chose
    DEFAULT = "default"  # auto, and no app recognised: WGS-84


@dataclass(frozen=True)
class App:
    """A Chinese app whose exports may be in GCJ-02."""

    code: str
    name_zh: str
    name_en: str
    words: frozenset[str]  # a writer holding one of these words is this app
    alone: str = ""  # ...or holding this word and nothing more (see _FILLER)
    marks: tuple[str, ...] = ()  # Chinese names, found anywhere in the text
    gcj02_before: datetime | None = None  # GCJ-02 only for runs started before; None: always

    def datum_at(self, started: float | None) -> Datum:
        """The system this app's run started at ``started`` (POSIX seconds) is in."""
        if self.gcj02_before is None:
            return Datum.GCJ02
        if started is not None and started < self.gcj02_before.timestamp():
            return Datum.GCJ02
        return Datum.WGS84


KEEP = App("keep", "Keep", "Keep", frozenset({"gotokeep"}), alone="keep")
CODOON = App(
    "codoon",
    "咕咚",
    "Codoon",
    frozenset({"codoon"}),
    marks=("咕咚",),
    gcj02_before=datetime(2014, 3, 24, tzinfo=UTC),
)
JOYRUN = App("joyrun", "悦跑圈", "Joyrun", frozenset({"joyrun", "thejoyrun"}), marks=("悦跑圈",))
APPS = (KEEP, CODOON, JOYRUN)
_BY_CODE = {a.code: a for a in APPS}

# Words a writer's name may hold besides the app's own ("Keep 7.2.1 Android", "keep.com").
_FILLER = frozenset({"app", "android", "ios", "iphone", "ipad", "for", "by", "v", "version", "com"})
_WORD = re.compile(r"[a-z]+|[0-9]+")
# Text looked at per writer or hint: longer text names no app.
MAX_TEXT = 200


def app_named(text: str) -> App | None:
    """The app ``text`` (a writer's name or a hint) names, or None."""
    text = text[:MAX_TEXT]
    words = _WORD.findall(text.lower())
    own = [w for w in words if not w.isdigit() and w not in _FILLER]
    for app in APPS:
        if app.words.intersection(words) or any(m in text for m in app.marks):
            return app
        if app.alone and own == [app.alone]:
            return app
    return None


def detect_app(writers: Sequence[str], hints: Sequence[str]) -> App | None:
    """The app a file says wrote it: its named writers decide; hints count only when it names
    no writer."""
    named = [w for w in writers if w.strip()]
    for text in named or hints:
        app = app_named(text)
        if app is not None:
            return app
    return None


@dataclass(frozen=True)
class Reading:
    """What the import decided of a file's coordinates: the system it was in, why, and the app
    recognised (its code; None when none was)."""

    datum: Datum = Datum.WGS84
    basis: Basis = Basis.DEFAULT
    app: str | None = None

    @property
    def converted(self) -> bool:
        return self.datum is Datum.GCJ02

    def app_name(self, lang: str) -> str:
        found = _BY_CODE.get(self.app or "")
        if found is None:
            return ""
        return found.name_en if lang.startswith("en") else found.name_zh


# What an upload's answer says of a file's coordinates, by (basis, datum): a sentence per
# language, naming the app. Files read as WGS-84 by default say nothing.
_NOTES: dict[tuple[Basis, Datum], tuple[str, str]] = {
    (Basis.APP, Datum.GCJ02): (
        "由{app}以 GCJ-02（国测局）坐标记录，已转换为 WGS-84。",
        "Recorded by {app} in GCJ-02 (Chinese map) coordinates: converted to WGS-84.",
    ),
    (Basis.APP, Datum.WGS84): (
        "由{app}以 WGS-84 坐标记录，按原样保存。",
        "Recorded by {app} in WGS-84 coordinates: stored as is.",
    ),
    (Basis.CHOICE, Datum.GCJ02): (
        "按您的选择视为 GCJ-02 坐标，已转换为 WGS-84。",
        "GCJ-02 coordinates, as you chose: converted to WGS-84.",
    ),
    (Basis.CHOICE, Datum.WGS84): (
        "按您的选择视为 WGS-84 坐标，按原样保存。",
        "WGS-84 coordinates, as you chose: stored as is.",
    ),
}


def note(reading: Reading, lang: str) -> str:
    """What the upload's answer says of the file's coordinates, in ``lang`` ("" for none)."""
    found = _NOTES.get((reading.basis, reading.datum))
    if found is None:
        return ""
    zh, en = found
    return (en if lang.startswith("en") else zh).format(app=reading.app_name(lang))


def reading_of(
    choice: Choice, writers: Sequence[str], hints: Sequence[str], started: float | None
) -> Reading:
    """The system a file is in: the resident's choice, else the app that wrote it (at the time
    the run started), else WGS-84."""
    app = detect_app(writers, hints)
    code = app.code if app is not None else None
    if choice is Choice.WGS84:
        return Reading(Datum.WGS84, Basis.CHOICE, code)
    if choice is Choice.GCJ02:
        return Reading(Datum.GCJ02, Basis.CHOICE, code)
    if app is None:
        return Reading()
    return Reading(app.datum_at(started), Basis.APP, code)


def parse_choice(value: str | None) -> Choice | None:
    """The choice a form or flag names (empty: auto); None when it names none."""
    key = (value or "auto").strip().lower().replace("-", "").replace("_", "")
    try:
        return Choice(key)
    except ValueError:
        return None


# --- the system as stored with the original file --------------------------------------------
GCJ_SUFFIX = "+gcj"  # run_file.format holds at most 8 characters: "gpx+gcj"


def stored_format(file_format: str, datum: Datum) -> str:
    """The format a run's original is stored under: its reader, marked when it was GCJ-02."""
    return file_format + GCJ_SUFFIX if datum is Datum.GCJ02 and file_format else file_format


def stored_datum(stored: str) -> tuple[str, Datum]:
    """The reader's format and the system of a stored original (see :func:`stored_format`)."""
    if stored.endswith(GCJ_SUFFIX):
        return stored.removesuffix(GCJ_SUFFIX), Datum.GCJ02
    return stored, Datum.WGS84
