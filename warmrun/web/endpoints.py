"""The route table: every endpoint with its access rule, input models and OpenAPI entry.

Each handler is wrapped once here: language, the signed-in account (session cookie or bearer
token), CSRF and Origin checks for browser requests, the role allow-list, input parsing and
error rendering. Handlers receive a :class:`Ctx` and return plain data or a Response.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ValidationError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from warmrun.config import Settings
from warmrun.platform import accounts, audit
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import (
    CsrfFailed,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    WarmrunError,
)
from warmrun.platform.kinds import Role
from warmrun.platform.uploads import Parser
from warmrun.web import i18n
from warmrun.web.errors import MethodNotAllowed, json_error
from warmrun.web.security import PRESESSION_COOKIE, SAFE_METHODS, SESSION_COOKIE, same_origin


class Access(StrEnum):
    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    RESIDENT = "resident"
    PARTNER = "partner"  # partners and admins
    ORGANIZER = "organizer"  # organizers and admins
    DESK = "desk"  # desk staff, organizers and admins (each within their places)
    ADMIN = "admin"


ALLOWED: dict[Access, frozenset[Role] | None] = {
    Access.PUBLIC: None,
    Access.SIGNED_IN: frozenset(Role),
    Access.RESIDENT: frozenset({Role.RESIDENT}),
    Access.PARTNER: frozenset({Role.PARTNER, Role.ADMIN}),
    Access.ORGANIZER: frozenset({Role.ORGANIZER, Role.ADMIN}),
    Access.DESK: frozenset({Role.DESK, Role.ORGANIZER, Role.ADMIN}),
    Access.ADMIN: frozenset({Role.ADMIN}),
}


@dataclasses.dataclass
class Ctx:
    request: Request
    settings: Settings
    redis: Redis | RedisCluster | None  # boards and rate limits: one server or a cluster
    lang: str
    account: Identity | None
    via_token: bool
    body: Any = None
    query: Any = None

    @property
    def path(self) -> dict[str, Any]:
        return dict(self.request.path_params)

    @property
    def parser(self) -> Parser:
        """Reads files from outside in the sandbox's worker processes."""
        parser: Parser = self.request.app.state.parser
        return parser

    def me(self) -> Identity:
        if self.account is None:
            raise NotAuthenticated()
        return self.account

    def resident_id(self) -> int:
        account = self.me()
        if account.resident_id is None:
            raise Forbidden()
        return account.resident_id

    def client_ip(self) -> str:
        return self.request.client.host if self.request.client else "?"


Handler = Callable[[Ctx], Awaitable[Any]]


@dataclasses.dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    access: Access
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    produces: str = "application/json"
    multipart: bool = False
    csrf_exempt: bool = False


@functools.lru_cache(maxsize=256)
def _shown_fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.repr)


def _json_default(value: Any) -> Any:
    """What the JSON encoder cannot write itself, one level at a time: the encoder (in C)
    walks the dicts and lists, and asks again for what they hold."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: getattr(value, name) for name in _shown_fields(type(value))}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON values (dicts, lists, strings, numbers), as responses write it."""
    return json.loads(json.dumps(value, default=_json_default))


class Json(JSONResponse):
    def render(self, content: Any) -> bytes:
        # The C encoder walks dicts and lists; _json_default is asked only about the rest.
        return json.dumps(
            content, ensure_ascii=False, separators=(",", ":"), default=_json_default
        ).encode()


def invalid_input(exc: ValidationError) -> InvalidInput:
    """The first complaint of an input model, as the domain error (API and pages alike)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "body"
    return InvalidInput(where, str(first.get("msg", "invalid")), "格式不正确")


async def resolve_account(request: Request) -> tuple[Identity | None, bool]:
    """(account, via bearer token). A bad token is an error; a stale cookie is anonymous."""
    auth = request.headers.get("authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthenticated()
        account = await accounts.token_account(token.strip())
        if account is None:
            raise NotAuthenticated()
        return account, True
    codec = request.app.state.codec
    session = codec.loads(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None, False
    account = await accounts.session_account(session.account_id, session.epoch, session.key)
    return account, False


def site_url(request: Request) -> str:
    """The site's public address (``WARMRUN_PUBLIC_URL``, or the request's), without a
    trailing slash: for links sent out through payment providers, Strava and QR codes."""
    settings: Settings = request.app.state.settings
    return (settings.public_url or str(request.base_url)).rstrip("/")


def csrf_binding(request: Request, account: Identity | None) -> str | None:
    if account is not None:
        return f"a:{account.id}:{account.session_epoch}"
    pre = request.cookies.get(PRESESSION_COOKIE)
    return f"p:{pre}" if pre else None


async def check_csrf(request: Request, account: Identity | None, form_token: str | None) -> None:
    scheme = request.url.scheme
    host = request.headers.get("host", "")
    if not same_origin(dict(request.headers), scheme, host):
        raise CsrfFailed()
    binding = csrf_binding(request, account)
    token = request.headers.get("x-csrf-token") or form_token
    if binding is None or not request.app.state.codec.csrf_ok(binding, token):
        raise CsrfFailed()


def check_path_ids(request: Request) -> None:
    """Ids in paths are database integers: anything out of their range names nothing. Nor
    does a code with a NUL character in it (PostgreSQL text cannot even compare with one)."""
    for value in request.path_params.values():
        if isinstance(value, int) and not 0 < value < 2**31:
            raise NotFound("page", "页面")
        if isinstance(value, str) and "\x00" in value:
            raise NotFound("page", "页面")


def acting_as(account: Identity | None) -> AbstractContextManager[None]:
    """What a request changes is recorded in the audit log as its account's doing."""
    if account is None:
        return nullcontext()
    return audit.acting(account.id, account.email)


def authorise(access: Access, account: Identity | None) -> None:
    allowed = ALLOWED[access]
    if allowed is None:
        return
    if account is None:
        raise NotAuthenticated()
    if account.role not in allowed:
        raise Forbidden()


def wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        lang = i18n.negotiate(
            request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
        )
        request.state.lang = lang
        try:
            account, via_token = await resolve_account(request)
            if account is not None and request.cookies.get(i18n.LANG_COOKIE) is None:
                lang = request.state.lang = account.locale
            if request.method not in SAFE_METHODS and not via_token and not endpoint.csrf_exempt:
                await check_csrf(request, account, None)
            authorise(endpoint.access, account)
            check_path_ids(request)
            ctx = Ctx(
                request=request,
                settings=request.app.state.settings,
                redis=request.app.state.redis,
                lang=lang,
                account=account,
                via_token=via_token,
            )
            if endpoint.query is not None:
                try:
                    ctx.query = endpoint.query.model_validate(dict(request.query_params))
                except ValidationError as exc:
                    raise invalid_input(exc) from exc
            if endpoint.body is not None:
                raw = await request.body()
                try:
                    ctx.body = endpoint.body.model_validate_json(raw or b"{}")
                except ValidationError as exc:
                    raise invalid_input(exc) from exc
            with acting_as(account):
                result = await endpoint.handler(ctx)
        except WarmrunError as exc:
            return json_error(request, exc)
        if isinstance(result, Response):
            return result
        return Json(result)

    return run


class Api:
    """Collects endpoints declared with :meth:`route` across the resource modules."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        access: Access,
        summary: str,
        tag: str,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        produces: str = "application/json",
        multipart: bool = False,
        csrf_exempt: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=path,
                    handler=handler,
                    access=access,
                    summary=summary,
                    tag=tag,
                    body=body,
                    query=query,
                    produces=produces,
                    multipart=multipart,
                    csrf_exempt=csrf_exempt,
                )
            )
            return handler

        return register

    def routes(self) -> list[Route]:
        grouped: dict[str, list[Endpoint]] = {}
        for e in self.endpoints:
            grouped.setdefault(e.path, []).append(e)
        out = []
        for path, group in grouped.items():
            by_method = {e.method: wrap(e) for e in group}

            async def dispatch(request: Request, _m: dict[str, Any] = by_method) -> Response:
                handler = _m.get(request.method) or (
                    _m.get("GET") if request.method == "HEAD" else None
                )
                if handler is None:
                    return json_error(request, MethodNotAllowed())
                response: Response = await handler(request)
                return response

            methods = sorted({*by_method, *(["HEAD"] if "GET" in by_method else [])})
            out.append(Route(path, dispatch, methods=methods))
        return out
