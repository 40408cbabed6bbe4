"""Staff actions limited to their places (organizers' cities, desk staff's compounds),
shared by the API and the pages.

An object outside the organizer's cities is "not found", never a hint that it exists.
"""

from __future__ import annotations

from warmrun.platform import accounts, rewards, runs, views
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import NotFound


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
