"""Sign-up, sign-in, sessions, personal access tokens, the language switch, erasure."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from warmrun.platform import accounts, erasure
from warmrun.platform.accounts import Identity
from warmrun.web import forms, ratelimit
from warmrun.web.endpoints import Access, Ctx, Json, to_jsonable
from warmrun.web.presenters import account_dict
from warmrun.web.routes import api
from warmrun.web.security import new_presession, sign_in, sign_out


def token_dict(issued: accounts.IssuedToken) -> dict[str, Any]:
    record = issued.record
    return {
        "token": issued.token,
        "id": record.id,
        "name": record.name,
        "expires_at": to_jsonable(record.expires_at),
    }


async def start_session(ctx: Ctx, account: Identity, body: Any) -> Response:
    response = Json(body)
    await sign_in(ctx.request, response, account)
    return response


@api.route(
    "GET",
    "/api/v1/auth/csrf",
    access=Access.PUBLIC,
    tag="auth",
    summary="A CSRF token for browser forms (sets the pre-session cookie if needed)",
)
async def csrf(ctx: Ctx) -> Response:
    from warmrun.web.endpoints import csrf_binding

    pre = None
    binding = csrf_binding(ctx.request, ctx.account)
    if binding is None:
        pre = new_presession()
        binding = f"p:{pre}"
    response = Json({"csrf_token": ctx.request.app.state.codec.csrf_token(binding)})
    if pre is not None:
        ctx.request.app.state.cookies.presession(response, pre)
    return response


@api.route(
    "POST",
    "/api/v1/auth/signup",
    access=Access.PUBLIC,
    tag="auth",
    body=forms.SignUp,
    summary="A resident signs up to a compound and is signed in",
)
async def signup(ctx: Ctx) -> Response:
    await ratelimit.check(ctx.redis, ratelimit.SIGNUP, ctx.client_ip())
    b: forms.SignUp = ctx.body
    account = await accounts.sign_up_resident(
        email=b.email,
        password=b.password,
        display_name=b.display_name,
        compound_id=b.compound_id,
        birth_year=b.birth_year,
        public_board=b.public_board,
        locale=ctx.lang,
    )
    return await start_session(ctx, account, {"account": account_dict(account)})


@api.route(
    "POST",
    "/api/v1/auth/login",
    access=Access.PUBLIC,
    tag="auth",
    body=forms.Login,
    summary="Sign in with e-mail and password (session cookie)",
)
async def login(ctx: Ctx) -> Response:
    b: forms.Login = ctx.body
    account = await ratelimit.guarded_sign_in(
        ctx.redis, email=b.email, password=b.password, address=ctx.client_ip()
    )
    return await start_session(ctx, account, {"account": account_dict(account)})


@api.route(
    "POST",
    "/api/v1/auth/tokens",
    access=Access.PUBLIC,
    tag="auth",
    body=forms.TokenGrant,
    csrf_exempt=True,
    summary="Exchange e-mail and password for a personal access token (API clients)",
)
async def grant_token(ctx: Ctx) -> dict[str, Any]:
    # No cookie is read or set here, so there is nothing for a cross-site request to ride on.
    b: forms.TokenGrant = ctx.body
    account = await ratelimit.guarded_sign_in(
        ctx.redis, email=b.email, password=b.password, address=ctx.client_ip()
    )
    issued = await accounts.issue_token(
        account_id=account.id, name=b.name, lifetime=ctx.settings.token_lifetime
    )
    return token_dict(issued)


@api.route(
    "POST",
    "/api/v1/auth/logout",
    access=Access.SIGNED_IN,
    tag="auth",
    summary="End this browser session",
)
async def logout(ctx: Ctx) -> Response:
    response = Json({"ok": True})
    await sign_out(ctx.request, response)
    return response


@api.route(
    "POST",
    "/api/v1/auth/logout-everywhere",
    access=Access.SIGNED_IN,
    tag="auth",
    summary="End every session of this account and revoke its API tokens",
)
async def logout_everywhere(ctx: Ctx) -> Response:
    await accounts.end_all_sessions(account_id=ctx.me().id)
    response: Response = await logout(ctx)
    return response


@api.route(
    "POST",
    "/api/v1/auth/password",
    access=Access.SIGNED_IN,
    tag="auth",
    body=forms.PasswordChange,
    summary="Change the password; every session and API token ends, this browser signs in anew",
)
async def change_password(ctx: Ctx) -> Response:
    b: forms.PasswordChange = ctx.body
    account = await accounts.change_password(account_id=ctx.me().id, old=b.old, new=b.new)
    return await start_session(ctx, account, {"ok": True})


@api.route(
    "GET", "/api/v1/me", access=Access.SIGNED_IN, tag="auth", summary="The signed-in account"
)
async def me(ctx: Ctx) -> dict[str, Any]:
    return {"account": account_dict(ctx.me()), "lang": ctx.lang}


@api.route(
    "POST",
    "/api/v1/me/tokens",
    access=Access.SIGNED_IN,
    tag="auth",
    body=forms.NewToken,
    summary="Create a personal access token (shown once)",
)
async def new_token(ctx: Ctx) -> dict[str, Any]:
    issued = await accounts.issue_token(
        account_id=ctx.me().id, name=ctx.body.name, lifetime=ctx.settings.token_lifetime
    )
    return token_dict(issued)


@api.route(
    "GET",
    "/api/v1/me/tokens",
    access=Access.SIGNED_IN,
    tag="auth",
    summary="My API tokens that still work, with when each was last used (to the minute)",
)
async def my_tokens(ctx: Ctx) -> dict[str, Any]:
    return {"items": [to_jsonable(t) for t in await accounts.tokens_of(account_id=ctx.me().id)]}


@api.route(
    "DELETE",
    "/api/v1/me/tokens/{token_id:int}",
    access=Access.SIGNED_IN,
    tag="auth",
    summary="Revoke a personal access token",
)
async def revoke_token(ctx: Ctx) -> dict[str, Any]:
    await accounts.revoke_token(account_id=ctx.me().id, token_id=ctx.path["token_id"])
    return {"ok": True}


@api.route(
    "POST",
    "/api/v1/lang",
    access=Access.PUBLIC,
    tag="auth",
    body=forms.Language,
    summary="Switch the language (zh-CN or en) for this browser",
)
async def switch_language(ctx: Ctx) -> Response:
    lang = ctx.body.lang
    response = Json({"lang": lang})
    ctx.request.app.state.cookies.language(response, lang)
    return response


@api.route(
    "DELETE",
    "/api/v1/me",
    access=Access.RESIDENT,
    tag="auth",
    body=forms.Erase,
    summary="Delete my account, tracks and personal data (ledgers stay pseudonymous)",
)
async def erase(ctx: Ctx) -> Response:
    account = ctx.me()
    await ratelimit.guarded_sign_in(
        ctx.redis, email=account.email, password=ctx.body.password, address=ctx.client_ip()
    )
    await erasure.erase_resident(account_id=account.id)
    response = Json({"ok": True})
    await sign_out(ctx.request, response)
    return response
