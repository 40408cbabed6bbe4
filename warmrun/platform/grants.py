"""Points beyond running: organizers grant points for volunteering (小小志愿者) and winter-care
visits to elderly neighbours living alone, one by one or by a CSV file, and adjust a balance
with a reason. Every grant is idempotent on its reference and recorded in the audit log.

A CSV file has a header row and the columns ``ref`` (the organizer's own row id: a row sent
again grants nothing more), ``member`` (a member code or the resident's e-mail), ``points``,
``reason`` (volunteer, winter_care, event_help or other) and an optional ``note``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import accounts, audit, points_ledger
from warmrun.platform.errors import InvalidInput, NotFound, WarmrunError
from warmrun.platform.models import Account, CampaignCity, Compound, PointsEntry, Resident

REASONS = ("volunteer", "winter_care", "event_help", "other")
MAX_GRANT = 10_000  # points in one grant or adjustment
MAX_ROWS = 2_000  # rows in one CSV file
COLUMNS = ("ref", "member", "points", "reason")


@dataclass(frozen=True)
class GrantRow:
    line: int
    ref: str
    member: str
    points: int
    reason: str
    note: str


@dataclass(frozen=True)
class RowResult:
    line: int
    ref: str
    status: str  # granted, already (sent before), refused
    points: int = 0
    resident_id: int | None = None
    error: WarmrunError | None = None


def parse_csv(data: bytes) -> list[GrantRow | RowResult]:
    """The file's rows: a grant to make, or a refusal naming the line. Pure."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("file", "UTF-8 CSV", "须为 UTF-8 编码的 CSV") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    head = [h.strip().lower() for h in reader.fieldnames or []]
    if not set(COLUMNS) <= set(head):
        raise InvalidInput("file", f"columns {', '.join(COLUMNS)}", f"须有列：{'、'.join(COLUMNS)}")
    reader.fieldnames = head
    out: list[GrantRow | RowResult] = []
    try:
        for n, raw in enumerate(reader, start=2):
            if len(out) >= MAX_ROWS:
                raise InvalidInput("file", f"at most {MAX_ROWS} rows", f"最多 {MAX_ROWS} 行")
            out.append(_row(n, {k: (v or "").strip() for k, v in raw.items() if k}))
    except csv.Error as exc:  # a malformed file (stray quotes, a field over the limit)
        raise InvalidInput(
            "file", f"not a readable CSV file: {exc}", "无法读取此 CSV 文件"
        ) from None
    return out


def _row(line: int, raw: dict[str, str]) -> GrantRow | RowResult:
    ref, member = raw.get("ref", "")[:64], raw.get("member", "")
    try:
        if not ref or "\x00" in ref:
            raise InvalidInput("ref", "a reference for the row", "每行须有编号")
        if not 0 < len(member) <= 254 or "\x00" in member:
            raise InvalidInput("member", "a member code or e-mail", "须为会员码或邮箱")
        points = int(raw.get("points", ""))
        check_grant(points, raw.get("reason", ""))
    except ValueError:
        bad = InvalidInput("points", "a whole number", "须为整数")
        return RowResult(line, ref, "refused", error=bad)
    except WarmrunError as exc:
        return RowResult(line, ref, "refused", error=exc)
    note = raw.get("note", "").replace("\x00", "")[:200]
    return GrantRow(line, ref, member, points, raw["reason"], note)


def check_grant(points: int, reason: str) -> None:
    if reason not in REASONS:
        raise InvalidInput("reason", ", ".join(REASONS), "志愿服务、冬季探访、活动帮忙或其他")
    if not 0 < points <= MAX_GRANT:
        raise InvalidInput("points", f"1 to {MAX_GRANT}", f"1 到 {MAX_GRANT}")


async def resident_by_email(email: str) -> int:
    account = await Account.get_or_none(email=accounts.normalise_email(email))
    if account is None or account.resident_id is None:
        raise NotFound("resident", "居民")
    return int(account.resident_id)


async def resident_city(resident_id: int) -> int:
    """The city of the resident's compound (organizers grant within their cities)."""
    compound = await Compound.filter(residents__id=resident_id, residents__erased_at=None).first()
    if compound is None:
        raise NotFound("resident", "居民")
    return compound.city_id


async def grant(
    *, campaign_id: int, resident_id: int, points: int, reason: str, note: str, ref: str
) -> bool:
    """Grant ``points`` for ``reason`` once per ``ref`` in the campaign; False when that
    reference was granted before (nothing more is posted)."""
    check_grant(points, reason)
    city = await resident_city(resident_id)
    if not await CampaignCity.exists(campaign_id=campaign_id, city_id=city):
        raise InvalidInput("member", "not in this campaign's cities", "不在本活动的城市")
    key = f"grant:{campaign_id}:{resident_id}:{ref}"
    if await PointsEntry.exists(idempotency_key=key):
        return False
    try:
        async with in_transaction() as conn:
            await points_ledger.post(
                conn, resident_id=resident_id, delta=points, reason=reason, key=key, ref=ref
            )
            after = {"points": points, "reason": reason, "note": note, "ref": ref}
            await audit.record(
                conn,
                "points.grant",
                campaign_id=campaign_id,
                city_id=city,
                subject=f"resident {resident_id}",
                after=after,
            )
    except IntegrityError:
        return False  # the same reference, granted meanwhile
    return True


async def adjust(*, resident_id: int, delta: int, note: str, ref: str) -> bool:
    """Correct a balance up or down, with the reason written down (a debit cannot take the
    balance below zero); once per ``ref`` (False: made before, nothing more done)."""
    if delta == 0 or abs(delta) > MAX_GRANT:
        raise InvalidInput(
            "points", f"-{MAX_GRANT} to {MAX_GRANT}, not 0", "不能为 0，绝对值有上限"
        )
    if not note.strip():
        raise InvalidInput("note", "say why", "请写明原因")
    city = await resident_city(resident_id)
    key = f"adjust:{resident_id}:{ref}"
    if await PointsEntry.exists(idempotency_key=key):
        return False
    try:
        async with in_transaction() as conn:
            before = await Resident.filter(id=resident_id).using_db(conn).first()
            await points_ledger.post(
                conn, resident_id=resident_id, delta=delta, reason="adjustment", key=key, ref=ref
            )
            await audit.record(
                conn,
                "points.adjust",
                city_id=city,
                subject=f"resident {resident_id}",
                before={"balance": before.points_balance if before else 0},
                after={"delta": delta, "note": note.strip()[:200]},
            )
    except IntegrityError:
        return False  # the same request, made meanwhile
    return True
