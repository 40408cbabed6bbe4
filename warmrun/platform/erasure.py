"""Erasure: a resident's account, tracks and personal data deleted on request.

Ledger rows stay: contributions name the resident only as ``resident:<id>``, and the resident
row keeps no name, birth year or body mass afterwards, so the pseudonymous ledger still adds up
and its hash chain still verifies.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

from warmrun.platform import clock, rewards
from warmrun.platform.errors import NotFound, RedemptionStateError
from warmrun.platform.models import (
    Account,
    Payment,
    PrivacyZone,
    Redemption,
    RedemptionState,
    Resident,
    Run,
    RunFile,
    StravaAccount,
    StravaActivity,
)


async def erase_resident(*, account_id: int) -> None:
    """Delete a resident's account, tracks and personal data; the ledgers stay pseudonymous.
    Pending redemptions are cancelled and their points refunded first."""
    account = await Account.get_or_none(id=account_id)
    if account is None or account.resident_id is None:
        raise NotFound("account", "账户")
    wards = await Resident.filter(guardian_id=account.resident_id, erased_at=None)
    for ward in wards:  # a child's data goes with the guardian's
        await _erase_person(ward.id)
    await _erase_person(account.resident_id, account_id=account_id)


async def erase_child(*, guardian_id: int, child_id: int) -> None:
    """The guardian removes a child: the child's tracks and personal data are deleted."""
    if not await Resident.exists(id=child_id, guardian_id=guardian_id, erased_at=None):
        raise NotFound("child", "孩子")
    await _erase_person(child_id)


async def _erase_person(resident_id: int, *, account_id: int | None = None) -> None:
    pending = await Redemption.filter(
        resident_id=resident_id, state=RedemptionState.PENDING
    ).values_list("code", flat=True)
    for code in pending:
        try:
            await rewards.cancel(code=str(code), resident_id=resident_id, anytime=True)
        except RedemptionStateError:
            pass  # fulfilled or cancelled meanwhile
    async with in_transaction():
        run_ids = await Run.filter(resident_id=resident_id).values_list("id", flat=True)
        await RunFile.filter(run_id__in=list(run_ids)).delete()
        await Run.filter(resident_id=resident_id).update(line="", file_name="", review_note="")
        await Resident.filter(guardian_id=resident_id).update(guardian_id=None)
        await Payment.filter(resident_id=resident_id).update(donor_name="")
        await StravaActivity.filter(resident_id=resident_id).delete()
        await StravaAccount.filter(resident_id=resident_id).delete()
        await PrivacyZone.filter(resident_id=resident_id).delete()
        await Resident.filter(id=resident_id).update(
            display_name="",
            birth_year=None,
            body_mass_kg=None,
            public_board=False,
            guardian_id=None,
            guardian_consent_at=None,
            erased_at=clock.now(),
        )
        if account_id is not None:  # in the same transaction: never an account left behind
            await Account.filter(id=account_id).delete()
