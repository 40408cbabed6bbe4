"""Staff actions limited to their places (organizers' cities, desk staff's compounds),
shared by the API and the pages.

An object outside the organizer's cities is "not found", never a hint that it exists.
"""

from __future__ import annotations

from warmrun.platform import accounts, booking_views, bookings, rewards, runs, views
from warmrun.platform.accounts import Identity
from warmrun.platform.booking_rules import Group
from warmrun.platform.errors import NotFound
from warmrun.web.booking_forms import NewOptionGroup, NewSlots


async def fulfil(account: Identity, code: str) -> views.RedemptionView:
    """Hand over a reward: the pickup code must belong to a compound in the caller's cities."""
    found = await views.redemptions(code=code)
    if not found or not await accounts.covers_compound(account, found[0].compound_id):
        raise NotFound("pickup code", "取货码")
    await rewards.fulfil(code=found[0].code)
    (view,) = await views.redemptions(code=found[0].code)
    return view


async def review(account: Identity, run_id: int, *, accept: bool, note: str) -> views.RunView:
    """Accept or reject a run of a resident in the caller's cities."""
    if not await accounts.covers_city(account, await views.run_city(run_id=run_id)):
        raise NotFound("run", "跑步记录")
    await runs.review(run_id=run_id, accept=accept, note=note)
    return await views.run(run_id=run_id)


async def restock(account: Identity, reward_id: int, add: int) -> views.RewardView:
    """Add stock to a reward of a compound the caller works in."""
    reward = await views.reward(reward_id=reward_id)
    if not await accounts.covers_compound(account, reward.compound_id):
        raise NotFound("reward", "奖品")
    await rewards.restock(reward_id=reward.id, add=add)
    return await views.reward(reward_id=reward.id)


async def staff_reward(account: Identity, reward_id: int) -> views.RewardView:
    """A reward of a compound the caller works in (not found otherwise)."""
    reward = await views.reward(reward_id=reward_id)
    if not await accounts.covers_compound(account, reward.compound_id):
        raise NotFound("reward", "奖品")
    return reward


async def reward_setup(account: Identity, reward_id: int) -> booking_views.RewardSetup:
    """A reward's slots and options, for staff of its compound."""
    reward = await staff_reward(account, reward_id)
    return await booking_views.setup_of(reward_id=reward.id)


async def create_slots(
    account: Identity, reward_id: int, b: NewSlots
) -> list[booking_views.SlotView]:
    """Open pickup slots of a reward of the caller's compounds; the reward's slots after."""
    reward = await staff_reward(account, reward_id)
    await bookings.create_slots(reward_id=reward.id, **b.model_dump())
    return (await booking_views.setup_of(reward_id=reward.id)).slots


async def add_option_group(account: Identity, reward_id: int, b: NewOptionGroup) -> Group:
    reward = await staff_reward(account, reward_id)
    return await bookings.add_option_group(
        reward_id=reward.id,
        name_zh=b.name_zh,
        name_en=b.name_en,
        choices=[(c.name_zh, c.name_en) for c in b.choices],
    )


async def remove_option_group(account: Identity, reward_id: int, group_id: int) -> None:
    reward = await staff_reward(account, reward_id)
    await bookings.remove_option_group(reward_id=reward.id, group_id=group_id)
