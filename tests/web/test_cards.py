"""Impact cards: PNGs of the right size whose Chinese text is drawn with real glyphs."""

from __future__ import annotations

import io

from PIL import Image, ImageChops, ImageDraw, ImageFont

from tests.web.conftest import Web
from tests.web.test_rewards_and_review import earn
from warmrun.web import cards


def glyph(ch: str, f: ImageFont.FreeTypeFont) -> Image.Image:
    img = Image.new("L", (120, 120), 0)
    ImageDraw.Draw(img).text((10, 0), ch, font=f, fill=255)
    return img


def test_every_character_of_the_chinese_card_has_a_real_glyph_not_a_blank_box() -> None:
    f = cards.font(96)
    missing = glyph("\U000f0000", f)  # a private-use code point: the font's .notdef box
    text = (
        "我为山区孩子跑出了个温暖包公里排名积分"
        "温暖同行你跑的每一，都会变成棉衣和文具参与人数我们小区"
    )
    for ch in set(text):
        g = glyph(ch, f)
        assert g.getbbox() is not None, ch  # something was drawn
        assert ImageChops.difference(g, missing).getbbox() is not None, f"tofu for {ch}"


async def test_my_card_is_a_wechat_sized_png_with_my_numbers(web: Web) -> None:
    await earn(web)
    async with web.signed_in("resident") as me:
        r = await me.get("/api/v1/me/impact-card.png", params={"campaign": web.site.campaign})
        page = await me.get("/me/card")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (cards.WIDTH, cards.HEIGHT)
    assert 20_000 < len(r.content) < 2_000_000
    # The headline band is not empty: text was drawn on the cream background.
    band = img.crop((72, 380, cards.WIDTH - 72, 480)).convert("L")
    assert band.getextrema()[0] < 100
    assert "download=" in page.text and "impact-card.png" in page.text


async def test_a_compound_card_is_public_and_english_on_request(web: Web) -> None:
    await earn(web)
    async with web.client() as anyone:
        zh = await anyone.get(
            f"/api/v1/campaigns/{web.site.campaign}/compounds/{web.site.compound}/impact-card.png"
        )
        en = await anyone.get(
            f"/api/v1/campaigns/{web.site.campaign}/compounds/{web.site.compound}/impact-card.png",
            headers={"Accept-Language": "en"},
        )
    assert zh.status_code == 200 and en.status_code == 200
    assert zh.content != en.content
    assert Image.open(io.BytesIO(en.content)).size == (cards.WIDTH, cards.HEIGHT)


def test_warm_packs_are_shown_in_tenths_rounded_down() -> None:
    assert [cards.packs(p) for p in (0, 99, 300, 1_250, -5)] == ["0.0", "0.0", "0.3", "1.2", "0.0"]
