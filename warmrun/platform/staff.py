"""Staff: invitations by one-time link, who works where, and withdrawing access.

Admins invite organizers (cities), desk staff (compounds) and charity partners' staff.
Organizers invite organizers for their own cities and desk staff for compounds in them. The
link carries a random token; only its SHA-256 is stored, and it works once, within a week.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from warmrun.platform import accounts, audit, clock
from warmrun.platform.access import compound_ids, organizer_city_ids
from warmrun.platform.errors import EmailTaken, Forbidden, InvalidInput, InvitationInvalid, NotFound
from warmrun.platform.identity import Identity
from warmrun.platform.kinds import Role
from warmrun.platform.models import (
    Account,
    CharityPartner,
    City,
    Compound,
    Invitation,
    OrganizerCity,
    StaffCompound,
)

INVITATION_TTL = timedelta(days=7)
INVITABLE = (Role.ORGANIZER, Role.DESK, Role.PARTNER)


@dataclass(frozen=True)
class InvitationView:
    id: int
    email: str
    role: Role
    places: list[str]  # city or compound names, or the partner's
    created_at: datetime
    expires_at: datetime
    state: str  # pending, accepted, revoked, expired


@dataclass(frozen=True)
class StaffView:
    account_id: int
    email: str
    role: Role
    places: list[str]


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _check_places(inviter: Identity, role: Role, places: list[int]) -> None:
    """The invitee's places exist and lie within the inviter's."""
    if role is Role.ORGANIZER:
        if await City.filter(id__in=places).count() != len(places):
            raise NotFound("city", "城市")
        scope = await organizer_city_ids(inviter)
    elif role is Role.DESK:
        if await Compound.filter(id__in=places).count() != len(places):
            raise NotFound("compound", "小区")
        scope = await compound_ids(inviter)
    elif inviter.role is not Role.ADMIN:  # a charity's staff: the admins' to invite
        raise Forbidden()
    else:
        scope = None
    if scope is not None and not set(places) <= scope:
        raise Forbidden()


async def invite(
    *, inviter: Identity, email: str, role: Role, places: list[int], partner_id: int | None = None
) -> tuple[str, InvitationView]:
    """A one-time link's token (shown once) and the invitation it makes."""
    if role not in INVITABLE:
        raise InvalidInput("role", "organizer, desk staff or partner", "组织者、服务台或公益伙伴")
    if inviter.role not in (Role.ADMIN, Role.ORGANIZER):
        raise Forbidden()
    places = sorted(set(places))
    if role is not Role.PARTNER and not places:
        raise InvalidInput("places", "choose at least one place", "请至少选择一个地点")
    if role is Role.PARTNER:
        if partner_id is None or not await CharityPartner.exists(id=partner_id):
            raise NotFound("partner", "公益伙伴")
        places = []
    else:
        partner_id = None
    await _check_places(inviter, role, places)
    email = accounts.normalise_email(email)
    if await Account.filter(email=email).exists():
        raise EmailTaken()
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with in_transaction() as conn:
        row = await Invitation.create(
            digest=_digest(token),
            email=email,
            role=role,
            places=places,
            partner_id=partner_id,
            invited_by_id=inviter.id,
            created_at=now,
            expires_at=now + INVITATION_TTL,
            using_db=conn,
        )
        after = {"email": email, "role": str(role), "places": places, "partner_id": partner_id}
        await audit.record(conn, "staff.invite", subject=email, after=after, city_id=None)
    return token, (await _views([row]))[0]


async def _pending(token: str) -> Invitation:
    row = await Invitation.get_or_none(digest=_digest(token))
    if row is None or row.accepted_at or row.revoked_at or row.expires_at <= clock.now():
        raise InvitationInvalid()
    return row


async def invitation(*, token: str) -> InvitationView:
    """The invitation a link names, while it can still be accepted."""
    return (await _views([await _pending(token)]))[0]


async def accept(*, token: str, password: str) -> Identity:
    """Make the invited account with its places; the link is used up in the same step."""
    row = await _pending(token)
    hashed = await accounts.hash_password_checked(password)
    try:
        async with in_transaction() as conn:
            used = (
                await Invitation.filter(id=row.id, accepted_at=None, revoked_at=None)
                .using_db(conn)
                .update(accepted_at=clock.now())
            )
            if not used or not await _inviter_still_covers(row):
                raise InvitationInvalid()
            account = await Account.create(
                email=row.email,
                password_hash=hashed,
                role=row.role,
                partner_id=row.partner_id,
                using_db=conn,
            )
            await _grant(conn, account.id, Role(row.role), list(row.places))
            with audit.acting(account.id, row.email):
                await audit.record(conn, "staff.join", subject=row.email, after=list(row.places))
    except IntegrityError as exc:  # the address signed up meanwhile
        raise EmailTaken() from exc
    return Identity.of(account)


async def _inviter_still_covers(row: Invitation) -> bool:
    """Whether the invitation's sender may still give its places (a withdrawn organizer's
    links stop working with them)."""
    if row.invited_by_id is None:
        return False
    inviter = await Account.get_or_none(id=row.invited_by_id)
    if inviter is None:
        return False
    try:
        await _check_places(Identity.of(inviter), Role(row.role), list(row.places))
    except (Forbidden, NotFound):
        return False
    return True


async def _grant(conn: BaseDBAsyncClient, account_id: int, role: Role, places: list[int]) -> None:
    for place in places:
        if role is Role.ORGANIZER:
            await OrganizerCity.create(account_id=account_id, city_id=place, using_db=conn)
        else:
            await StaffCompound.create(account_id=account_id, compound_id=place, using_db=conn)


async def revoke(*, by: Identity, invitation_id: int) -> None:
    """Withdraw a pending invitation the caller may see."""
    row = await Invitation.get_or_none(id=invitation_id)
    if row is None or not await _may_see(by, row):
        raise NotFound("invitation", "邀请")
    async with in_transaction() as conn:
        await (
            Invitation.filter(id=row.id, accepted_at=None)
            .using_db(conn)
            .update(revoked_at=clock.now())
        )
        await audit.record(conn, "staff.revoke", subject=row.email, before={"invitation": row.id})


async def _may_see(by: Identity, row: Invitation) -> bool:
    if by.role is Role.ADMIN:
        return True
    if by.role is not Role.ORGANIZER or row.role is Role.PARTNER:
        return False
    scope = (
        await organizer_city_ids(by) if row.role is Role.ORGANIZER else await compound_ids(by)
    ) or set()
    return bool(row.places) and set(row.places) <= scope


async def invitations(*, by: Identity) -> list[InvitationView]:
    """Invitations the caller may see, newest first."""
    rows = await Invitation.all().order_by("-id").limit(200)
    return await _views([r for r in rows if await _may_see(by, r)])


async def _views(rows: list[Invitation]) -> list[InvitationView]:
    names = await _place_names()
    now = clock.now()
    out = []
    for r in rows:
        role = Role(r.role)
        state = (
            "accepted"
            if r.accepted_at
            else "revoked"
            if r.revoked_at
            else "expired"
            if r.expires_at <= now
            else "pending"
        )
        table = names["city" if role is Role.ORGANIZER else "compound"]
        places = [table.get(p, "?") for p in r.places] or (
            [names["partner"].get(r.partner_id or 0, "?")] if role is Role.PARTNER else []
        )
        out.append(InvitationView(r.id, r.email, role, places, r.created_at, r.expires_at, state))
    return out


async def _place_names() -> dict[str, dict[int, str]]:
    return {
        "city": dict(await City.all().values_list("id", "name_zh")),
        "compound": dict(await Compound.all().values_list("id", "name")),
        "partner": dict(await CharityPartner.all().values_list("id", "name")),
    }


async def members(*, by: Identity) -> list[StaffView]:
    """Organizers and desk staff working in the caller's places (admins: all staff)."""
    cities = await organizer_city_ids(by)
    compounds = await compound_ids(by)
    names = await _place_names()
    out: list[StaffView] = []
    ids: list[Any]
    for a in await Account.filter(role__in=[Role.ORGANIZER, Role.DESK, Role.PARTNER, Role.ADMIN]):
        role = Role(a.role)
        if role is Role.ORGANIZER:
            ids = await OrganizerCity.filter(account_id=a.id).values_list("city_id", flat=True)
            seen, table = cities, names["city"]
        elif role is Role.DESK:
            ids = await StaffCompound.filter(account_id=a.id).values_list("compound_id", flat=True)
            seen, table = compounds, names["compound"]
        else:
            seen, table = (None if by.role is Role.ADMIN else set()), names["partner"]
            ids = [a.partner_id] if role is Role.PARTNER and a.partner_id is not None else []
        mine = [int(str(i)) for i in ids if seen is None or int(str(i)) in seen]
        if seen is None or mine:
            out.append(StaffView(a.id, a.email, role, [table.get(i, "?") for i in mine]))
    return out


async def withdraw(*, by: Identity, account_id: int) -> None:
    """Take a member of staff off the caller's places (all of them for an admin) and sign
    them out everywhere; an organizer or clerk left with no place can do nothing more."""
    target = await Account.get_or_none(id=account_id)
    if target is None or target.role not in (Role.ORGANIZER, Role.DESK) or target.id == by.id:
        raise NotFound("staff member", "工作人员")
    cities, compounds = await organizer_city_ids(by), await compound_ids(by)
    async with in_transaction() as conn:
        if target.role == Role.ORGANIZER:
            q = OrganizerCity.filter(account_id=target.id)
            removed = (
                await (q if cities is None else q.filter(city_id__in=cities))
                .using_db(conn)
                .delete()
            )
        else:
            q2 = StaffCompound.filter(account_id=target.id)
            removed = (
                await (q2 if compounds is None else q2.filter(compound_id__in=compounds))
                .using_db(conn)
                .delete()
            )
        if not removed:
            raise NotFound("staff member", "工作人员")
        # Links they sent and that wait stop with them (accepting also re-checks the sender).
        await (
            Invitation.filter(invited_by_id=target.id, accepted_at=None, revoked_at=None)
            .using_db(conn)
            .update(revoked_at=clock.now())
        )
        await audit.record(conn, "staff.revoke", subject=target.email, before={"places": removed})
    left = (
        await OrganizerCity.filter(account_id=target.id).count()
        + await StaffCompound.filter(account_id=target.id).count()
    )
    if not left:  # nothing more they may do: signed out everywhere at once
        await accounts.end_all_sessions(account_id=target.id)
