"""The settlement report as files: JSON, and rows for CSV and XLSX that suit finance staff
(Chinese headers unless English is asked for, city names, yuan and km beside the exact fen and
metres, a UTF-8 byte-order mark for Excel, no cell that a spreadsheet would run as a formula).
Pure."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from typing import Any


def render_json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


# A spreadsheet reads a text cell that starts with one of these as a formula (or, for tab and
# carriage return, shifts it so that the next character does).
_FORMULA_LEAD = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it as text: a string that would start a formula
    (a compound named ``=HYPERLINK(...)``) gets a leading apostrophe. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_LEAD):
        return "'" + value
    return value


def report_rows(data: dict[str, Any], lang: str = "zh") -> list[list[Any]]:
    """The report as rows (the CSV and XLSX exports share them), for finance staff: headers
    in Chinese (``lang="en"``: English), city names, yuan and km beside the exact fen and
    metres; every text cell made safe for spreadsheets."""
    return [[spreadsheet_cell(v) for v in row] for row in _report_rows(data, lang == "en")]


# Column headers of the exports: (zh, en).
_HEAD = {
    "level": ("层级", "level"),
    "city": ("城市", "city"),
    "city_code": ("城市代码", "city code"),
    "compound": ("小区", "compound"),
    "km": ("公里", "km"),
    "metres": ("米", "metres"),
    "kcal": ("千卡", "kcal"),
    "value_yuan": ("价值（元）", "value (yuan)"),
    "value_fen": ("价值（分）", "value (fen)"),
    "funded_yuan": ("已资助（元）", "funded (yuan)"),
    "funded_fen": ("已资助（分）", "funded (fen)"),
    "participants": ("参与人数", "participants"),
    "bundles": ("物资包数", "bundles"),
    "next_bundle_permille": ("下一包进度（‰）", "next bundle (‰)"),
    "campaign": ("活动", "campaign"),
    "sponsor": ("赞助方", "sponsor"),
    "cap_yuan": ("上限（元）", "cap (yuan)"),
    "cap_fen": ("上限（分）", "cap (fen)"),
    "owed_yuan": ("应付（元）", "owed (yuan)"),
    "owed_fen": ("应付（分）", "owed (fen)"),
    "paid_yuan": ("已付（元）", "paid (yuan)"),
    "paid_fen": ("已付（分）", "paid (fen)"),
    "donations": ("捐款", "donations"),
    "payments": ("笔数", "payments"),
    "received_fen": ("收到（分）", "received (fen)"),
    "refunded_fen": ("退款（分）", "refunded (fen)"),
    "net_yuan": ("净额（元）", "net (yuan)"),
    "net_fen": ("净额（分）", "net (fen)"),
}
_AREA_COLUMNS = (
    "km", "metres", "kcal", "value_yuan", "value_fen", "funded_yuan", "funded_fen",
    "participants", "bundles", "next_bundle_permille",
)  # fmt: skip


def _area_cells(figures: dict[str, Any]) -> list[Any]:
    """An area's figures in _AREA_COLUMNS order: km and yuan as exact decimals made from the
    integers (numbers in a spreadsheet, never rounded through a float)."""
    m, value, funded = figures["metres"], figures["value_fen"], figures["funded_fen"]
    return [
        Decimal(m).scaleb(-3),
        m,
        figures["kcal"],
        _yuan(value),
        value,
        _yuan(funded),
        funded,
        figures["participants"],
        figures["bundles"],
        figures["next_bundle_permille"],
    ]


def _report_rows(data: dict[str, Any], en: bool) -> list[list[Any]]:
    def h(*keys: str) -> list[str]:
        return [_HEAD[k][1 if en else 0] for k in keys]

    def name(block: dict[str, Any], zh: str, en_key: str) -> str:
        return str(block.get(en_key) if en else block.get(zh)) or block["city"]

    # One column per item of the goods (coats, shoes, school bags…): how many were funded.
    items = data["goods"].get("items", [])
    item_heads = [str(i["name_en"] if en else i["name_zh"]) for i in items]

    def counts(block: dict[str, Any]) -> list[Any]:
        return [block.get("items", {}).get(i["code"], 0) for i in items]

    rows: list[list[Any]] = [
        h("level", "city", "city_code", "compound", *_AREA_COLUMNS) + item_heads
    ]
    overall = {
        **data["totals"],
        "participants": "",
        "bundles": data["goods"]["bundles"],
        "next_bundle_permille": data["goods"]["next_bundle_permille"],
    }
    whole = [i["funded"] for i in items]
    rows.append([*h("campaign"), "", "", "", *_area_cells(overall), *whole])
    for c in data["cities"]:
        city = name(c, "name_zh", "name_en")
        rows.append([*h("city"), city, c["city"], "", *_area_cells(c), *counts(c)])
    for c in data["compounds"]:
        city = name(c, "city_zh", "city_en")
        cells = [*_area_cells(c), *counts(c)]
        rows.append([*h("compound"), city, c["city"], c["compound"], *cells])
    rows.append([])
    rows.append(
        h("sponsor", "cap_yuan", "cap_fen", "owed_yuan", "owed_fen", "paid_yuan", "paid_fen")
    )
    for p in data["pledges"]:
        rows.append(
            [p["sponsor"]]
            + [x for k in ("cap_fen", "owed_fen", "paid_fen") for x in (_yuan(p[k]), p[k])]
        )
    rows.append([])
    rows.append(h("donations", "payments", "received_fen", "refunded_fen", "net_yuan", "net_fen"))
    d = data["donations"]
    rows.append(
        ["", d["payments"], d["received_fen"], d["refunded_fen"], _yuan(d["net_fen"]),
         d["net_fen"]]
    )  # fmt: skip
    return rows


def _yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


def render_csv(data: dict[str, Any], lang: str = "zh") -> bytes:
    """CSV for spreadsheets: UTF-8 with a byte-order mark (so that Excel in Chinese reads it
    as UTF-8, not as GBK), Chinese headers unless ``lang`` is "en"."""
    return csv_bytes(report_rows(data, lang))


def csv_bytes(rows: list[list[Any]]) -> bytes:
    """Rows as CSV for spreadsheets: UTF-8 with a byte-order mark, CRLF line ends, and text
    that would start a formula made harmless."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([[spreadsheet_cell(v) for v in row] for row in rows])
    return b"\xef\xbb\xbf" + out.getvalue().encode()
