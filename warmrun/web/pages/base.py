"""The page machinery: rendering, the per-request context, the access wrapper."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from warmrun.platform import money
from warmrun.platform.accounts import Identity
from warmrun.platform.errors import (
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    WarmrunError,
)
from warmrun.platform.uploads import Parser
from warmrun.web import i18n, labels
from warmrun.web.endpoints import (
    Access,
    acting_as,
    authorise,
    check_csrf,
    check_path_ids,
    csrf_binding,
    invalid_input,
    resolve_account,
)
from warmrun.web.errors import status_of
from warmrun.web.security import Cookies, new_presession, sign_in, sign_out

T = TypeVar("T")
TEMPLATES = Path(__file__).parent.parent / "templates"
env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    enable_async=False,
)


class Page:
    """One request's page context: who, which language, the CSRF token, rendering."""

    def __init__(self, request: Request, account: Identity | None, lang: str) -> None:
        self.request = request
        self.account = account
        self.lang = lang
        self.new_presession: str | None = None
        binding = csrf_binding(request, account)
        if binding is None:
            self.new_presession = new_presession()
            binding = f"p:{self.new_presession}"
        self.csrf = request.app.state.codec.csrf_token(binding)
        # A failed form: its message for the page shown again, and the answer's status.
        self.error: str | None = None
        self.status = 200
        # What was typed into a form that failed, to fill it in again (``form`` in templates).
        self.typed: dict[str, str] = {}
        self._submitted: dict[str, str] = {}

    @property
    def posted(self) -> bool:
        return self.request.method == "POST"

    async def attempt(
        self,
        action: Awaitable[T],
        *,
        status: int | None = None,
        keep: tuple[type[WarmrunError], ...] = (),
    ) -> T | None:
        """A form's action; on a domain error None, with the error kept for the page shown
        again (its message in the visitor's language, and its status unless ``status``).
        Errors of the kinds in ``keep`` are not the form's: they go on to the error page."""
        try:
            return await action
        except WarmrunError as exc:
            if isinstance(exc, keep):
                raise
            self.error = exc.message(self.lang)
            self.typed = self._submitted
            self.status = status_of(exc) if status is None else status
            return None

    @property
    def settings(self) -> Any:
        return self.request.app.state.settings

    @property
    def parser(self) -> Parser:
        parser: Parser = self.request.app.state.parser
        return parser

    def me(self) -> Identity:
        if self.account is None:
            raise NotAuthenticated()
        return self.account

    def resident_id(self) -> int:
        if self.account is None or self.account.resident_id is None:
            raise Forbidden()
        return self.account.resident_id

    def render(self, name: str, status: int | None = None, **context: Any) -> HTMLResponse:
        lang = self.lang
        context.setdefault("error", self.error)
        context.setdefault("form", self.typed)
        # Rendering is synchronous, so no other request can switch the catalogue mid-way.
        env.install_gettext_translations(  # type: ignore[attr-defined]
            i18n.translations(lang), newstyle=True
        )
        html = env.get_template(name).render(
            lang=lang,
            me=self.account,
            csrf=self.csrf,
            path=self.request.url.path,
            money=lambda fen: i18n.money(fen, lang),
            yuan=money.yuan,  # an amount as a form field shows it
            km=lambda m: i18n.km(m, lang),
            num=lambda n: i18n.number(n, lang),
            when=lambda d: i18n.when(d, lang),
            duration=i18n.duration,
            label=lambda kind, code: labels.label(kind, code, lang),
            svg=Markup,
            strava_on=self.request.app.state.strava is not None,
            **context,
        )
        response = HTMLResponse(html, status_code=self.status if status is None else status)
        self._presession(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        self._presession(response)
        return response

    def _presession(self, response: Response) -> None:
        if self.new_presession is not None:
            self.cookies.presession(response, self.new_presession)

    @property
    def cookies(self) -> Cookies:
        cookies: Cookies = self.request.app.state.cookies
        return cookies

    async def sign_in(self, response: Response, account: Identity) -> None:
        await sign_in(self.request, response, account)

    async def sign_out(self, response: Response) -> None:
        await sign_out(self.request, response)


PageHandler = Callable[[Page, dict[str, Any]], Awaitable[Response]]
# Never sent back into a page: secrets, and the token the page makes anew.
_NOT_KEPT = frozenset({"password", "new_password", "old_password", "csrf_token", "confirm"})


async def _context(request: Request) -> tuple[Identity | None, str]:
    lang = i18n.negotiate(
        request.cookies.get(i18n.LANG_COOKIE), request.headers.get("accept-language")
    )
    try:
        account, _ = await resolve_account(request)
    except NotAuthenticated:
        account = None
    if account is not None and request.cookies.get(i18n.LANG_COOKIE) is None:
        lang = account.locale
    request.state.lang = lang
    return account, lang


def page(
    access: Access, handler: PageHandler, *, form: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        account, lang = await _context(request)
        p = Page(request, account, lang)
        submitted: FormData | None = None
        try:
            data: dict[str, Any] = {}
            if request.method == "POST":
                if form:
                    submitted = await request.form()
                    data = {k: v for k, v in submitted.multi_items()}
                await check_csrf(request, account, str(data.get("csrf_token", "")) or None)
            authorise(access, account)
            check_path_ids(request)
            p._submitted = {
                k: v for k, v in data.items() if isinstance(v, str) and k not in _NOT_KEPT
            }
            if any(isinstance(v, str) and "\x00" in v for v in data.values()):
                # As in the API's input models: PostgreSQL text cannot hold NUL.
                raise InvalidInput("form", "must not contain NUL characters", "不能含 NUL 字符")
            with acting_as(account):
                return await handler(p, data)
        except NotAuthenticated:
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        except WarmrunError as exc:
            return p.render("error.html", status=status_of(exc), error=exc.message(lang))
        finally:
            if submitted is not None:
                await submitted.close()  # uploaded files' temporary files

    return run


async def error_page(request: Request, exc: WarmrunError) -> Response:
    account, lang = await _context(request)
    return Page(request, account, lang).render(
        "error.html", status=status_of(exc), error=exc.message(lang)
    )


def form_int(data: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    raw = str(data.get(name, "")).strip()
    if not raw and not required:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, "a whole number", "须为整数") from None
    if not 0 <= value < 2**31:
        raise InvalidInput(name, "out of range", "超出范围")
    return value


def yuan_fields(data: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """The form with each amount typed in yuan (``<name>_yuan``) as the fen the models take
    (``<name>_fen``), exactly; a blank amount stays blank, a sub-fen one is refused."""
    out = dict(data)
    for name in names:
        raw = str(out.pop(f"{name}_yuan", "")).strip()
        if raw:
            out[f"{name}_fen"] = str(money.parse_yuan(raw, field=name))
    return out


M = TypeVar("M", bound=BaseModel)


def form_model(model: type[M], data: Mapping[str, Any], **values: Any) -> M:
    """A submitted form parsed by the API's input model, so that a page and the endpoint doing
    the same thing share one set of bounds. The model's fields come from the form (blank ones
    left to the model's defaults); ``values`` give those the form spells differently."""
    fields = {
        name: data[name]
        for name in model.model_fields
        if name in data and str(data[name]).strip() != ""
    }
    try:
        return model.model_validate({**fields, **values})
    except ValidationError as exc:
        raise invalid_input(exc) from exc
