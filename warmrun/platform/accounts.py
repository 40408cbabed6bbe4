"""Accounts: sign-up, sign-in, session epochs, personal access tokens, what staff may see.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile) in a
worker thread, so a sign-in never blocks the event loop. API tokens are random 256-bit strings
shown once; only their SHA-256 digest is stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from warmrun.platform import clock, serial, sql
from warmrun.platform.access import can_see_campaign as can_see_campaign
from warmrun.platform.access import check_city as check_city
from warmrun.platform.access import check_compound as check_compound
from warmrun.platform.access import compound_ids as compound_ids
from warmrun.platform.access import covers_city as covers_city
from warmrun.platform.access import covers_compound as covers_compound
from warmrun.platform.access import organizer_city_ids as organizer_city_ids
from warmrun.platform.access import runs_whole_campaign as runs_whole_campaign
from warmrun.platform.errors import (
    AdminExists,
    EmailTaken,
    InvalidCredentials,
    InvalidInput,
    NotFound,
)
from warmrun.platform.identity import Identity as Identity
from warmrun.platform.kinds import Role
from warmrun.platform.models import (
    Account,
    ApiToken,
    CharityPartner,
    City,
    Compound,
    OrganizerCity,
    Resident,
    StaffCompound,
    WebSession,
)

_hasher = PasswordHasher()
# Each argon2id hash takes 64 MiB and tens of milliseconds of a core. At most two run at once
# per process, whatever arrives (a burst of sign-ins from random addresses queues here instead
# of taking the machine's memory); the per-address limits in front bound the queue.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="warmrun-hash")
# Verified against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("warmrun-timing-equaliser")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
TOKEN_TOUCH = timedelta(minutes=1)
# Defaults: a browser session lasts as long as its cookie; an API token 90 days (config).
SESSION_TTL = timedelta(days=30)
TOKEN_TTL = timedelta(days=90)
TOKEN_PREFIX = "wr_"  # noqa: S105 - a public prefix, not a secret


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidInput("email", "not an e-mail address", "不是有效的邮箱地址")
    return email


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            "password", f"at least {MIN_PASSWORD} characters", f"至少 {MIN_PASSWORD} 个字符"
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(
            "password", f"at most {MAX_PASSWORD} characters", f"最多 {MAX_PASSWORD} 个字符"
        )


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, _hasher.hash, password)


async def hash_password_checked(password: str) -> str:
    """A new password's hash, once it meets the length rules."""
    _check_password(password)
    return await hash_password(password)


async def _verify(hashed: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(_HASHING, check)


async def _credentials(email: str, password: str) -> tuple[str, str]:
    """The normalised e-mail address, free, and the password's hash."""
    email = normalise_email(email)
    _check_password(password)
    hashed = await hash_password(password)
    if await Account.filter(email=email).exists():
        raise EmailTaken()
    return email, hashed


async def _new_account(email: str, password: str, role: Role, partner_id: int | None) -> Account:
    email, hashed = await _credentials(email, password)
    try:
        return await Account.create(
            email=email, password_hash=hashed, role=role, partner_id=partner_id
        )
    except IntegrityError as exc:  # a concurrent sign-up with the same address won
        raise EmailTaken() from exc


async def sign_up_resident(
    *,
    email: str,
    password: str,
    display_name: str,
    compound_id: int,
    birth_year: int | None = None,
    public_board: bool = True,
    locale: str = "zh-CN",
) -> Identity:
    """A resident joins a compound; the Resident and the Account are created together."""
    display_name = display_name.strip()
    if not 1 <= len(display_name) <= 64:
        raise InvalidInput("display_name", "1 to 64 characters", "1 到 64 个字符")
    if not await Compound.filter(id=compound_id).exists():
        raise NotFound("compound", "小区")
    this_year = clock.now().year
    if birth_year is not None and not this_year - 110 <= birth_year <= this_year:
        raise InvalidInput("birth_year", "not a plausible year", "年份不合理")
    email, hashed = await _credentials(email, password)
    try:
        return await _create_resident(
            email, hashed, display_name, compound_id, birth_year, public_board, locale
        )
    except IntegrityError as exc:  # a concurrent sign-up with the same address won
        raise EmailTaken() from exc


async def _create_resident(
    email: str,
    hashed: str,
    display_name: str,
    compound_id: int,
    birth_year: int | None,
    public_board: bool,
    locale: str,
) -> Identity:
    async with in_transaction():
        resident = await Resident.create(
            compound_id=compound_id,
            display_name=display_name,
            birth_year=birth_year,
            public_board=public_board,
        )
        account = await Account.create(
            email=email,
            password_hash=hashed,
            role=Role.RESIDENT,
            resident_id=resident.id,
            locale="en" if locale.startswith("en") else "zh-CN",
        )
    return Identity.of(account)


async def create_staff(
    *,
    email: str,
    password: str,
    role: Role,
    partner_id: int | None = None,
    city_ids: list[int] | None = None,
    compound_ids: list[int] | None = None,
) -> Identity:
    """Partner, organizer, desk staff or admin accounts (created by an admin or the CLI);
    organizers work in ``city_ids``, desk staff in ``compound_ids``."""
    if role is Role.RESIDENT:
        raise InvalidInput("role", "residents sign up themselves", "居民需自行注册")
    if role is Role.PARTNER and partner_id is None:
        raise InvalidInput("partner", "a partner account names its charity", "需指定公益伙伴")
    if partner_id is not None and not await CharityPartner.exists(id=partner_id):
        raise NotFound("partner", "公益伙伴")
    cities = sorted(set(city_ids or []))
    if await City.filter(id__in=cities).count() != len(cities):
        raise NotFound("city", "城市")
    compounds = sorted(set(compound_ids or []))
    if await Compound.filter(id__in=compounds).count() != len(compounds):
        raise NotFound("compound", "小区")
    async with in_transaction():
        account = await _new_account(email, password, role, partner_id=partner_id)
        for city_id in cities:
            await OrganizerCity.create(account_id=account.id, city_id=city_id)
        for compound_id in compounds:
            await StaffCompound.create(account_id=account.id, compound_id=compound_id)
    return Identity.of(account)


async def has_admin() -> bool:
    return await Account.filter(role=Role.ADMIN).exists()


async def create_first_admin(*, email: str, password: str) -> Identity:
    """The install's first administrator (the first-run page); refused once there is one,
    also when two first-run forms are sent at once."""
    email, hashed = await _credentials(email, password)
    async with serial.held(["first-admin"]) as names, in_transaction() as conn:
        await serial.lock_in_database(conn, names)
        if await Account.filter(role=Role.ADMIN).using_db(conn).exists():
            raise AdminExists()
        return Identity.of(
            await Account.create(email=email, password_hash=hashed, role=Role.ADMIN, using_db=conn)
        )


async def authenticate(*, email: str, password: str) -> Identity:
    try:
        email = normalise_email(email)
    except InvalidInput:
        email = ""
    account = await Account.filter(email=email).first() if email else None
    ok = await _verify(account.password_hash if account else _DUMMY_HASH, password)
    if account is None or not ok:
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = await hash_password(password)
        await account.save(update_fields=["password_hash"])
    return Identity.of(account)


async def change_password(*, account_id: int, old: str, new: str) -> Identity:
    """Set a new password; every session and every API token of the account ends."""
    account = await Account.get(id=account_id)
    if not await _verify(account.password_hash, old):
        raise InvalidCredentials()
    _check_password(new)
    hashed = await hash_password(new)
    async with in_transaction():
        await Account.filter(id=account_id).update(password_hash=hashed)
        await end_all_sessions(account_id=account_id)
    return Identity.of(await Account.get(id=account_id))


async def end_all_sessions(*, account_id: int) -> None:
    """Sign the account out everywhere: its browser sessions end and its API tokens are
    revoked (a stolen token must not outlive the owner's "sign out everywhere")."""
    async with in_transaction():
        await Account.filter(id=account_id).update(session_epoch=F("session_epoch") + 1)
        await WebSession.filter(account_id=account_id).delete()
        await ApiToken.filter(account_id=account_id, revoked_at=None).update(revoked_at=clock.now())


async def start_session(*, account_id: int) -> str:
    """A new browser session; returns the key its cookie carries (only a digest is kept)."""
    key = secrets.token_urlsafe(32)
    await WebSession.create(
        account_id=account_id, digest=_digest(key), expires_at=clock.now() + SESSION_TTL
    )
    return key


async def end_session(*, key: str) -> None:
    """Sign one browser out: its session is gone, whoever still holds the cookie."""
    await WebSession.filter(digest=_digest(key)).delete()


_ACCOUNT_BY_SESSION = (
    "SELECT a.* FROM web_session s JOIN account a ON a.id = s.account_id"
    " WHERE s.digest = ? AND s.expires_at > ? AND a.id = ? AND a.session_epoch = ?"
)


async def session_account(account_id: int, epoch: int, key: str) -> Identity | None:
    """The account of a session cookie, if its session still exists and its epoch is current."""
    conn = sql.default()
    row = await sql.one(conn, _ACCOUNT_BY_SESSION, _digest(key), clock.now(), account_id, epoch)
    return None if row is None else Identity.of(sql.instance(Account, row))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once
    record: ApiToken


async def issue_token(
    *, account_id: int, name: str, lifetime: timedelta = TOKEN_TTL
) -> IssuedToken:
    """A personal access token, shown once; it stops working after ``lifetime``."""
    name = name.strip()
    if not 1 <= len(name) <= 64:
        raise InvalidInput("name", "1 to 64 characters", "1 到 64 个字符")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = await ApiToken.create(
        account_id=account_id,
        name=name,
        digest=_digest(token),
        expires_at=clock.now() + lifetime,
    )
    return IssuedToken(token=token, record=record)


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None  # to the minute
    expires_at: datetime


async def tokens_of(*, account_id: int) -> list[TokenView]:
    """The account's tokens that still work, newest first."""
    now = clock.now()
    rows = await ApiToken.filter(account_id=account_id, revoked_at=None).order_by("-id")
    views = [
        TokenView(
            id=t.id,
            name=t.name,
            created_at=t.created_at,
            last_used_at=t.last_used_at,
            expires_at=t.expires_at or t.created_at + TOKEN_TTL,
        )
        for t in rows
    ]
    return [v for v in views if v.expires_at > now]


async def revoke_token(*, account_id: int, token_id: int) -> None:
    n = await ApiToken.filter(id=token_id, account_id=account_id, revoked_at=None).update(
        revoked_at=clock.now()
    )
    if not n:
        raise NotFound("token", "令牌")


# The token's account, and whether its "last used" is older than TOKEN_TOUCH.
_ACCOUNT_BY_DIGEST = (
    "SELECT t.id AS token_id, (t.last_used_at IS NULL OR t.last_used_at < ?) AS stale, a.*"
    " FROM api_token t JOIN account a ON a.id = t.account_id"
    " WHERE t.digest = ? AND t.revoked_at IS NULL"
    " AND (t.expires_at > ? OR (t.expires_at IS NULL AND t.created_at > ?))"
)


async def token_account(token: str) -> Identity | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    # Every API request runs this: one prepared statement, not an ORM join built each time.
    conn = sql.default()
    now = clock.now()
    row = await sql.one(
        conn, _ACCOUNT_BY_DIGEST, now - TOKEN_TOUCH, _digest(token), now, now - TOKEN_TTL
    )
    if row is None:
        return None
    token_id, stale = row.pop("token_id"), row.pop("stale")
    # "Last used" to the minute is enough; not writing it on every request saves a query.
    if stale:
        await sql.execute(conn, "UPDATE api_token SET last_used_at = ? WHERE id = ?", now, token_id)
    return Identity.of(sql.instance(Account, row))
