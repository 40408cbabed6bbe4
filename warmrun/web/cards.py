"""Impact cards: a shareable PNG for a resident or a compound ("我为山区孩子跑出了 0.3 个温暖包"),
drawn server-side with Pillow and Noto Sans CJK (installed from PyPI, so no system font is
needed), sized for a WeChat group (1080 × 1350)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import cvttf_NotoSansCJK_Regular as noto  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1080, 1350
RED, CREAM, INK, MUTED = (192, 57, 43), (250, 247, 242), (34, 34, 34), (110, 110, 110)


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(noto.get_TTF_path(), size)


@dataclass(frozen=True)
class Card:
    campaign: str
    who: str  # the resident's name or the compound's
    headline: str  # "我为山区孩子跑出了 0.3 个温暖包"
    figures: list[tuple[str, str]]  # (label, value), e.g. ("公里", "42.2")
    footer: str


def _wrap(draw: ImageDraw.ImageDraw, text: str, f: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Break ``text`` into lines that fit ``width`` (by character: CJK has no spaces)."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if draw.textlength(line + ch, font=f) > width and line:
            lines.append(line.rstrip())
            line = ch.lstrip()
        else:
            line += ch
    if line:
        lines.append(line)
    return lines


def render(card: Card) -> bytes:
    img = Image.new("RGB", (WIDTH, HEIGHT), CREAM)
    d = ImageDraw.Draw(img)
    d.rectangle((0, 0, WIDTH, 300), fill=RED)
    d.text((72, 80), card.campaign[:40], font=font(56), fill=CREAM)
    d.text((72, 180), card.who[:30], font=font(44), fill=CREAM)
    y = 380
    for line in _wrap(d, card.headline, font(76), WIDTH - 144)[:4]:
        d.text((72, y), line, font=font(76), fill=INK)
        y += 104
    y += 40
    column = (WIDTH - 144) // max(len(card.figures), 1)
    for i, (label, value) in enumerate(card.figures[:3]):
        x = 72 + i * column
        d.text((x, y), value, font=font(88), fill=RED)
        d.text((x, y + 110), label, font=font(36), fill=MUTED)
    d.line((72, HEIGHT - 170, WIDTH - 72, HEIGHT - 170), fill=(220, 210, 200), width=3)
    y = HEIGHT - 140
    for line in _wrap(d, card.footer, font(34), WIDTH - 144)[:2]:
        d.text((72, y), line, font=font(34), fill=MUTED)
        y += 48
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=True)
    return out.getvalue()


def packs(permille: int) -> str:
    """Thousandths of a warm pack as "0.3" (one decimal, rounded down, never negative)."""
    permille = max(permille, 0)
    return f"{permille // 1000}.{permille % 1000 // 100}"
