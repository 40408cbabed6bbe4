"""In-app notifications: written in the transaction of what they announce, rendered in the
reader's language when listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from warmrun.platform import clock
from warmrun.platform.models import Notification

MESSAGES: dict[str, tuple[str, str]] = {
    "badge_earned": ("你获得了徽章「{badge_zh}」！", "You earned the badge “{badge_en}”!"),
    "run_flagged": (
        "跑步记录 #{run_id} 需要人工审核，审核通过后计入。",
        "Run #{run_id} is waiting for a review; it counts once accepted.",
    ),
    "run_reviewed": (
        "跑步记录 #{run_id} 已审核：{verdict_zh}。",
        "Run #{run_id} was reviewed: {verdict_en}.",
    ),
    "points_expiring": (
        "你有 {points} 积分将于 {day} 前后到期，请尽快兑换使用。",
        "{points} of your points expire around {day}: use them before then.",
    ),
    "pickup_ready": (
        "「{reward_zh}」的取货码 {code} 已生成，请到服务台领取。",
        "Your pickup code {code} for “{reward_en}” is ready at the desk.",
    ),
}


async def notify(
    conn: BaseDBAsyncClient | None, resident_id: int, kind: str, **params: Any
) -> None:
    if kind not in MESSAGES:
        raise ValueError(kind)
    await Notification.create(
        resident_id=resident_id,
        kind=kind,
        params=params,
        created_at=clock.now(),
        using_db=conn,
    )


@dataclass(frozen=True)
class NoticeView:
    id: int
    kind: str
    message: str
    created_at: datetime
    read: bool


def render(kind: str, params: dict[str, Any], lang: str) -> str:
    zh, en = MESSAGES[kind]
    try:
        return (en if lang.startswith("en") else zh).format(**params)
    except (KeyError, IndexError):
        return en if lang.startswith("en") else zh


async def of_resident(
    *, resident_id: int, lang: str, offset: int = 0, limit: int = 20
) -> tuple[list[NoticeView], int, int]:
    """(notices newest first, total, unread)."""
    q = Notification.filter(resident_id=resident_id)
    total = await q.count()
    unread = await q.filter(read_at=None).count()
    rows = await q.order_by("-id").offset(offset).limit(limit)
    return (
        [
            NoticeView(
                n.id, n.kind, render(n.kind, n.params, lang), n.created_at, n.read_at is not None
            )
            for n in rows
        ],
        total,
        unread,
    )


async def mark_read(*, resident_id: int) -> int:
    return await Notification.filter(resident_id=resident_id, read_at=None).update(
        read_at=clock.now()
    )
