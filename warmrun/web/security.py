"""Sessions, CSRF, Origin checks, security headers and the request body limit.

Session cookies are signed (itsdangerous) and hold only the account id and its session epoch.
CSRF uses a token bound to the session (or, before sign-in, to a random pre-session cookie):
every unsafe request from a browser must carry it in a form field or the ``X-CSRF-Token``
header, and its ``Origin`` (or ``Referer``) must be this site. Requests authenticated by a
bearer token carry no ambient credentials and are exempt, as are signature-checked webhooks.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warmrun.platform import accounts
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import BodyTooLarge
from warmrun.web.i18n import LANG_COOKIE

SESSION_COOKIE = "wr_session"
PRESESSION_COOKIE = "wr_pre"
SESSION_MAX_AGE = 30 * 86400
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Session:
    account_id: int
    epoch: int
    key: str  # the server-side session's key (warmrun.platform.accounts.start_session)


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="warmrun.session")
        self._csrf_key = hashlib.sha256(f"warmrun.csrf|{secret}".encode()).digest()

    def dumps(self, session: Session) -> str:
        return self._serializer.dumps([session.account_id, session.epoch, session.key])

    def loads(self, value: str | None) -> Session | None:
        if not value or len(value) > 512:
            return None
        try:
            data: Any = self._serializer.loads(value, max_age=SESSION_MAX_AGE)
        except BadSignature:
            return None
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in data[:2])
            or not isinstance(data[2], str)
            or not 16 <= len(data[2]) <= 64
        ):
            return None
        return Session(account_id=data[0], epoch=data[1], key=data[2])

    def csrf_token(self, binding: str) -> str:
        """The CSRF token for a session (``a:<id>:<epoch>``) or a pre-session nonce."""
        return hmac.new(self._csrf_key, binding.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, binding: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(binding), str(token))


def new_presession() -> str:
    return secrets.token_urlsafe(18)


def same_origin(headers: dict[str, str], scheme: str, host: str) -> bool:
    """True when the request's Origin (or, lacking it, Referer) is this site."""
    origin = headers.get("origin") or headers.get("referer")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc == host


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(self), geolocation=(), microphone=()"),
]


# Browsers keep to HTTPS for a year once they saw this over HTTPS (ignored over plain HTTP).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Adds the security headers to every HTTP response (HSTS too when cookies are Secure,
    i.e. the site is served over HTTPS)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, HSTS] if hsts else SECURITY_HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


TooLargeResponder = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Request bodies stop at ``limit`` bytes. A larger Content-Length is answered with 413 at
    once; a body without one (chunked) is counted as it streams, and the read that passes the
    limit raises :class:`BodyTooLarge`, a domain error the app renders as 413."""

    def __init__(self, app: ASGIApp, *, limit: int, too_large: TooLargeResponder) -> None:
        self.app = app
        self.limit = limit
        self.too_large = too_large

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.limit + 1
                if declared > self.limit:
                    await self.too_large(scope, receive, send)
                    return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(limit_mib=self.limit // (1024 * 1024))
            return message

        await self.app(scope, counting_receive, send)


class Cookies:
    """Every cookie warmrun sets, with its flags, for the API and the pages alike."""

    def __init__(self, codec: SessionCodec, *, secure: bool) -> None:
        self.codec = codec
        self.secure = secure

    def start_session(self, response: Response, session: Session) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            self.codec.dumps(session),
            max_age=SESSION_MAX_AGE,
            httponly=True,
            secure=self.secure,
            samesite="lax",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, secure=self.secure, httponly=True, samesite="lax")

    def presession(self, response: Response, value: str) -> None:
        response.set_cookie(
            PRESESSION_COOKIE, value, httponly=True, secure=self.secure, samesite="lax"
        )

    def language(self, response: Response, lang: str) -> None:
        response.set_cookie(
            LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", secure=self.secure
        )


async def sign_in(request: Request, response: Response, account: Identity) -> None:
    """Start a server-side session for ``account`` and set its cookie on ``response``."""
    key = await accounts.start_session(account_id=account.id)
    cookies: Cookies = request.app.state.cookies
    cookies.start_session(response, Session(account.id, account.session_epoch, key))


async def sign_out(request: Request, response: Response) -> None:
    """End this browser's session on the server (its cookie is worthless from now on, even
    if it was copied) and clear the cookie."""
    codec: SessionCodec = request.app.state.codec
    session = codec.loads(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        await accounts.end_session(key=session.key)
    cookies: Cookies = request.app.state.cookies
    cookies.end_session(response)
