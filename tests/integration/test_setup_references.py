"""Set-up services refuse references to rows that do not exist, and stock past its bound, with a
typed error and nothing stored (on SQLite and PostgreSQL alike), instead of letting the
database's constraint or range error through."""

from __future__ import annotations

from datetime import date

import pytest

from tests.integration.factory import world
from warmrun.platform import accounts, campaigns, rewards
from warmrun.platform.errors import InvalidInput, NotFound
from warmrun.platform.models import (
    Account,
    Campaign,
    Compound,
    Goods,
    OrganizerCity,
    Reward,
    Role,
)

pytestmark = pytest.mark.usefixtures("database")

UNKNOWN = 999_999


async def test_a_compound_in_an_unknown_city_is_not_found_and_not_stored() -> None:
    with pytest.raises(NotFound):
        await campaigns.create_compound(city_id=UNKNOWN, name="无处", households=1)
    assert not await Compound.exists(name="无处")


async def test_a_bundle_of_an_unknown_item_is_not_found_and_not_stored() -> None:
    with pytest.raises(NotFound):
        await campaigns.create_bundle(
            code="ghost", name_zh="包", name_en="Pack", price_fen=100, lines=[(UNKNOWN, 1)]
        )
    assert not await Goods.exists(code="ghost")


async def test_a_bundle_naming_an_item_twice_is_refused_and_not_stored() -> None:
    coat = await campaigns.create_item(
        code="coat", name_zh="棉服", name_en="Coat", unit_price_fen=1
    )
    with pytest.raises(InvalidInput):
        await campaigns.create_bundle(
            code="double",
            name_zh="包",
            name_en="Pack",
            price_fen=100,
            lines=[(coat.id, 1), (coat.id, 2)],
        )
    assert not await Goods.exists(code="double")


@pytest.mark.parametrize("unknown", ["partner_id", "goods_id", "city_id"])
async def test_a_campaign_naming_an_unknown_row_is_not_found_and_not_stored(unknown: str) -> None:
    w = await world()
    refs = {"partner_id": w.campaign.partner_id, "goods_id": w.campaign.goods_id}
    city = UNKNOWN if unknown == "city_id" else w.city_id
    if unknown != "city_id":
        refs[unknown] = UNKNOWN
    with pytest.raises(NotFound):
        await campaigns.create_campaign(
            code="ghost",
            name="Ghost",
            starts_on=date(2026, 1, 1),
            ends_on=date(2026, 2, 1),
            city_goals={city: 0},
            **refs,
        )
    assert not await Campaign.exists(code="ghost")


@pytest.mark.parametrize("unknown", ["partner", "city"])
async def test_a_staff_account_naming_an_unknown_row_is_not_found_and_not_created(
    unknown: str,
) -> None:
    with pytest.raises(NotFound):
        await accounts.create_staff(
            email="staff@example.org",
            password="a long enough password",
            role=Role.PARTNER if unknown == "partner" else Role.ORGANIZER,
            partner_id=UNKNOWN if unknown == "partner" else None,
            city_ids=[UNKNOWN] if unknown == "city" else [],
        )
    assert not await Account.exists(email="staff@example.org")


async def test_a_staff_account_naming_a_city_twice_organizes_it_once() -> None:
    w = await world()
    account = await accounts.create_staff(
        email="staff@example.org",
        password="a long enough password",
        role=Role.ORGANIZER,
        city_ids=[w.city_id, w.city_id],
    )
    assert await OrganizerCity.filter(account_id=account.id).count() == 1


async def test_a_reward_in_an_unknown_compound_is_not_found_and_not_stored() -> None:
    with pytest.raises(NotFound):
        await rewards.create_reward(
            compound_id=UNKNOWN, name_zh="热饮", name_en="Hot drink", points_price=1, stock=1
        )
    assert not await Reward.exists(name_en="Hot drink")


async def test_restocking_past_the_stock_bound_is_refused_and_the_stock_kept() -> None:
    # Repeated restocks would otherwise run the stock column past its range (on PostgreSQL).
    w = await world()
    reward = await rewards.create_reward(
        compound_id=w.compound_id,
        name_zh="热饮",
        name_en="Hot drink",
        points_price=1,
        stock=rewards.MAX_STOCK - 1,
    )
    await rewards.restock(reward_id=reward.id, add=1)
    with pytest.raises(InvalidInput):
        await rewards.restock(reward_id=reward.id, add=1)
    assert (await Reward.get(id=reward.id)).stock == rewards.MAX_STOCK


async def test_restocking_an_unknown_reward_is_not_found() -> None:
    with pytest.raises(NotFound):
        await rewards.restock(reward_id=UNKNOWN, add=1)
