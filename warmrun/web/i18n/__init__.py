"""Languages: zh-CN by default, English by a switch; Babel catalogues and locale formatting.

Message ids are English; ``i18n/zh_CN/LC_MESSAGES/messages.po`` holds the Chinese. The
catalogue is compiled in memory at start-up with Babel, so no build step is needed.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.core import Locale, negotiate_locale
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

SUPPORTED = ("zh-CN", "en")
DEFAULT = "zh-CN"
LANG_COOKIE = "wr_lang"
_BABEL = {"zh-CN": "zh_CN", "en": "en"}
_HERE = Path(__file__).parent


def negotiate(cookie: str | None, accept_language: str | None) -> str:
    if cookie in SUPPORTED:
        return str(cookie)
    wanted = []
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag:
            wanted.append(tag)
    found = negotiate_locale(wanted, ["zh_CN", "zh", "en"], sep="_") if wanted else None
    if found is None:
        return DEFAULT
    return "en" if found.startswith("en") else "zh-CN"


@cache
def translations(lang: str) -> gettext.NullTranslations:
    if lang == "en":
        return gettext.NullTranslations()
    with (_HERE / "zh_CN" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = read_po(f, locale="zh_CN")
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def locale(lang: str) -> Locale:
    return Locale.parse(_BABEL.get(lang, "zh_CN"))


def money(fen: int, lang: str) -> str:
    """Exact: fen become a Decimal, never a float."""
    return format_currency(Decimal(fen) / 100, "CNY", locale=locale(lang))


def km(metres: int, lang: str) -> str:
    return format_decimal(Decimal(metres) / 1000, format="#,##0.0", locale=locale(lang))


def number(value: int, lang: str) -> str:
    return format_decimal(value, locale=locale(lang))


def when(moment: datetime | None, lang: str, tz: str = "Asia/Shanghai") -> str:
    if moment is None:
        return ""
    return format_datetime(moment, "medium", tzinfo=ZoneInfo(tz), locale=locale(lang))


def duration(seconds: int) -> str:
    h, rest = divmod(max(seconds, 0), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
