"""The catalogue campaigns are built from: cities, compounds, residents, charity partners,
goods and bundles of goods with their item lines. Creating is idempotent on each thing's
natural key; what is new is recorded in the audit log."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from warmrun.platform import audit
from warmrun.platform.conversion import ItemLine
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.models import (
    BundleLine,
    CharityPartner,
    City,
    Compound,
    Goods,
    Resident,
)


async def create_city(
    *,
    code: str,
    name_zh: str,
    name_en: str,
    timezone: str = "Asia/Shanghai",
    lat: float | None = None,
    lon: float | None = None,
) -> City:
    async with in_transaction() as conn:
        city, created = await City.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "timezone": timezone,
                "lat": lat,
                "lon": lon,
            },
            using_db=conn,
        )
        if created:
            after = {"name_zh": name_zh, "name_en": name_en, "timezone": timezone}
            await audit.record(conn, "city.create", city_id=city.id, subject=code, after=after)
    return city


async def create_compound(*, city_id: int, name: str, households: int) -> Compound:
    if households < 0:
        raise InvalidInput("households", "must not be negative", "不能为负数")
    if not await City.exists(id=city_id):
        raise NotFound("city", "城市")
    async with in_transaction() as conn:
        compound, created = await Compound.get_or_create(
            city_id=city_id, name=name, defaults={"households": households}, using_db=conn
        )
        if created:
            after = {"households": households}
            await audit.record(conn, "compound.create", city_id=city_id, subject=name, after=after)
    return compound


async def create_resident(
    *,
    compound_id: int,
    display_name: str,
    body_mass_kg: int | None = None,
    birth_year: int | None = None,
    guardian_id: int | None = None,
    public_board: bool = True,
) -> Resident:
    if not display_name.strip():
        raise InvalidInput("display_name", "must not be empty", "不能为空")
    if body_mass_kg is not None and not 10 <= body_mass_kg <= 300:
        raise InvalidInput("body_mass_kg", "must be between 10 and 300", "应在 10 到 300 之间")
    if not await Compound.exists(id=compound_id):
        raise NotFound("compound", "小区")
    return await Resident.create(
        compound_id=compound_id,
        display_name=display_name.strip()[:64],
        body_mass_kg=body_mass_kg,
        birth_year=birth_year,
        guardian_id=guardian_id,
        public_board=public_board,
    )


async def create_partner(*, name: str) -> CharityPartner:
    async with in_transaction() as conn:
        partner, created = await CharityPartner.get_or_create(name=name, using_db=conn)
        if created:
            await audit.record(conn, "partner.create", subject=name)
    return partner


async def create_item(*, code: str, name_zh: str, name_en: str, unit_price_fen: int) -> Goods:
    if unit_price_fen <= 0:
        raise InvalidInput("unit_price_fen", "must be positive", "必须大于零")
    async with in_transaction() as conn:
        item, created = await Goods.get_or_create(
            code=code,
            defaults={"name_zh": name_zh, "name_en": name_en, "unit_price_fen": unit_price_fen},
            using_db=conn,
        )
        if created:
            after = {"name_zh": name_zh, "unit_price_fen": unit_price_fen}
            await audit.record(conn, "goods.create", subject=code, after=after)
    return item


async def create_bundle(
    *, code: str, name_zh: str, name_en: str, price_fen: int, lines: list[tuple[int, int]]
) -> Goods:
    """A bundle at its own price (the warm pack is 365 CNY whatever its items cost apart)."""
    if price_fen <= 0:
        raise InvalidInput("price_fen", "must be positive", "必须大于零")
    item_ids = [item_id for item_id, _ in lines]
    if len(set(item_ids)) != len(item_ids):
        raise InvalidInput("lines", "each item once", "每种物品只能列一次")
    if await Goods.filter(id__in=item_ids).count() != len(item_ids):
        raise NotFound("goods", "物品")
    async with in_transaction() as conn:
        bundle, created = await Goods.get_or_create(
            code=code,
            defaults={
                "name_zh": name_zh,
                "name_en": name_en,
                "is_bundle": True,
                "unit_price_fen": price_fen,
            },
            using_db=conn,
        )
        if created:
            for item_id, qty in lines:
                await BundleLine.create(
                    bundle_id=bundle.id, item_id=item_id, quantity=qty, using_db=conn
                )
            after = {"price_fen": price_fen, "lines": [list(x) for x in lines]}
            await audit.record(conn, "bundle.create", subject=code, after=after)
    return bundle


async def goods_lines(goods_id: int) -> list[ItemLine]:
    """The item lines of a bundle, in the order they were added (none for a single item)."""
    lines = await BundleLine.filter(bundle_id=goods_id).order_by("id").prefetch_related("item")
    return [ItemLine(ln.item.code, ln.item.name_zh, ln.item.name_en, ln.quantity) for ln in lines]
