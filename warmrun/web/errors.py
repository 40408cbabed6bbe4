"""Domain error codes → HTTP statuses, in one place, and the error responses.

API clients get ``{"error": {"code": ..., "message": ...}}``; pages get the same message in an
HTML page. Nothing else of an exception reaches a user.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from warmrun.platform import errors as e

log = logging.getLogger("warmrun.web")

STATUS: dict[type[e.WarmrunError], int] = {
    e.InvalidTrack: 422,
    e.UploadTooLarge: 413,
    e.DailyUploadLimit: 429,
    e.InvalidInput: 422,
    e.NotFound: 404,
    e.CampaignStateError: 409,
    e.DuplicateRun: 409,
    e.ReviewNotAllowed: 409,
    e.InsufficientPoints: 409,
    e.OutOfStock: 409,
    e.RewardNotAvailable: 403,
    e.RedemptionStateError: 409,
    e.SlotFull: 409,
    e.SlotClosed: 409,
    e.CancelClosed: 409,
    e.LedgerTampered: 500,
    e.SigningKeyUnreadable: 500,
    e.EmailTaken: 409,
    e.InvalidCredentials: 401,
    e.NotAuthenticated: 401,
    e.Forbidden: 403,
    e.InvitationInvalid: 404,
    e.ConfirmationNeeded: 422,
    e.ConsentNeeded: 422,
    e.FreeBookingWaiting: 409,
    e.CsrfFailed: 403,
    e.RateLimited: 429,
    e.BodyTooLarge: 413,
    e.PaymentsUnavailable: 404,
    e.PaymentProviderFailed: 502,
    e.NothingDue: 409,
    e.WebhookRejected: 400,
    e.TryLater: 503,
    e.EventClosed: 409,
    e.InvalidStationCode: 400,
}


class Internal(e.WarmrunError):
    code = "internal"
    message_en = "Something went wrong on our side. Please try again later."
    message_zh = "服务器出了点问题，请稍后再试。"


class MethodNotAllowed(e.WarmrunError):
    code = "method_not_allowed"
    message_en = "This address does not accept that request."
    message_zh = "此地址不接受该请求。"


STATUS[Internal] = 500
STATUS[MethodNotAllowed] = 405


def status_of(exc: e.WarmrunError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def lang_of(request: Request) -> str:
    return str(getattr(request.state, "lang", "zh-CN"))


def error_body(exc: e.WarmrunError, lang: str) -> dict[str, Any]:
    return {"error": exc.as_dict(lang)}


# Seconds a client waits before retrying when the database or Redis is away.
RETRY_AFTER_S = 5


def json_error(request: Request, exc: e.WarmrunError) -> Response:
    headers = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(exc.params.get("retry_after", 60))
    if isinstance(exc, e.TryLater):
        headers["Retry-After"] = str(RETRY_AFTER_S)
    if isinstance(exc, e.NotAuthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="warmrun"'
    return JSONResponse(
        error_body(exc, lang_of(request)), status_code=status_of(exc), headers=headers
    )
