"""The one documented tree of domain errors.

Every failure a user can meet is a :class:`WarmrunError` with a stable ``code`` and a message in
zh-CN and English. No HTTP status lives here: ``warmrun.web`` maps codes to statuses and the CLI
prints the message. Adapters wrap library errors with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from warmrun.platform import field_words


class WarmrunError(Exception):
    """Base of every domain error. ``code`` is stable and machine-readable."""

    code: ClassVar[str] = "error"
    message_en: ClassVar[str] = "Something went wrong."
    message_zh: ClassVar[str] = "出了点问题。"

    def __init__(self, detail: str | None = None, **params: Any) -> None:
        self.detail = detail
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh-CN") -> str:
        """The resident-facing message in ``lang`` (``zh-CN`` or ``en``), parameters filled in."""
        template = self.message_en if lang.startswith("en") else self.message_zh
        try:
            text = template.format(**self.params)
        except (KeyError, IndexError):
            text = template
        return text

    def as_dict(self, lang: str = "zh-CN") -> dict[str, Any]:
        return {"code": self.code, "message": self.message(lang)}


# --- track files -------------------------------------------------------------------------------


class InvalidTrack(WarmrunError):
    """A run file that cannot become a run. Nothing is stored for it."""

    code = "invalid_track"
    message_en = "This file could not be read as a run."
    message_zh = "无法将此文件识别为一次跑步记录。"


class NotATrack(InvalidTrack):
    code = "not_a_track"
    message_en = "This is not a GPX, TCX or FIT activity file (or a zip of them)."
    message_zh = "这不是 GPX、TCX 或 FIT 运动文件（或它们的 zip 压缩包）。"


class NotAnActivity(InvalidTrack):
    code = "not_an_activity"
    message_en = "The file holds no recorded activity (only a route, waypoints or settings)."
    message_zh = "文件里没有运动记录（只有路线、航点或设置）。"


class NoTimestamps(InvalidTrack):
    code = "no_timestamps"
    message_en = "The track has no usable times, so its distance cannot be credited."
    message_zh = "轨迹没有可用的时间信息，无法计入里程。"


class DtdForbidden(InvalidTrack):
    code = "dtd_forbidden"
    message_en = "The file contains a DOCTYPE or entity declaration, which is not allowed."
    message_zh = "文件包含 DOCTYPE 或实体声明，出于安全原因不予接受。"


class TooLarge(InvalidTrack):
    code = "too_large"
    message_en = "The file is too large ({what}: limit {limit})."
    message_zh = "文件过大（{what}：上限 {limit}）。"


class CorruptFile(InvalidTrack):
    code = "corrupt_file"
    message_en = "The file is damaged or incomplete and cannot be read."
    message_zh = "文件已损坏或不完整，无法读取。"


class UnsupportedEncoding(InvalidTrack):
    code = "unsupported_encoding"
    message_en = "The file's text encoding is not supported (use UTF-8)."
    message_zh = "不支持该文件的文字编码（请使用 UTF-8）。"


class TooComplex(InvalidTrack):
    """Reading the file ran over its CPU time, memory or wall-clock budget and was stopped."""

    code = "too_complex"
    message_en = (
        "This file took too long to read and was stopped: it is unusually complex or damaged."
    )
    message_zh = "读取此文件耗时过长，已停止：文件异常复杂或已损坏。"


class EmptyArchive(InvalidTrack):
    code = "empty_archive"
    message_en = "The zip archive contains no GPX, TCX or FIT files."
    message_zh = "zip 压缩包中没有 GPX、TCX 或 FIT 文件。"


class UploadTooLarge(WarmrunError):
    """One upload request holds more than a request may (activities or bytes, counted across
    archives in archives). Nothing of it is stored."""

    code = "upload_too_large"
    message_en = (
        "This upload holds too much ({what}: limit {limit}). Nothing was imported; "
        "please split it into smaller uploads."
    )
    message_zh = "本次上传内容过多（{what}：上限 {limit}）。没有导入任何记录，请分几次上传。"


class DailyUploadLimit(WarmrunError):
    """The resident stored as many runs in the last 24 hours as an account may."""

    code = "daily_upload_limit"
    message_en = (
        "You have imported {limit} runs in the last 24 hours, the most allowed. "
        "Please upload the rest tomorrow."
    )
    message_zh = "过去 24 小时内你已导入 {limit} 条跑步记录，已达上限，请明天再上传其余的。"


# --- entities and state ------------------------------------------------------------------------


class NotFound(WarmrunError):
    code = "not_found"
    message_en = "{what} not found."
    message_zh = "未找到{what_zh}。"

    def __init__(self, what: str, what_zh: str | None = None, **params: Any) -> None:
        super().__init__(what=what, what_zh=what_zh or what, **params)


class InvalidInput(WarmrunError):
    code = "invalid_input"
    message_en = "{field_en}: {reason}"
    message_zh = "{field_zh}：{reason_zh}"

    def __init__(self, field: str, reason: str, reason_zh: str | None = None) -> None:
        en, zh = field_words.FIELD_WORDS.get(field.rsplit(".", 1)[-1], (field, field))
        super().__init__(
            field=field, reason=reason, reason_zh=reason_zh or reason, field_en=en, field_zh=zh
        )


_STATE_WORDS: dict[str, tuple[str, str]] = {
    "draft": ("a draft", "草稿"),
    "active": ("open for credit", "进行中"),
    "closed": ("closed", "已结束"),
    "settled": ("settled", "已结算"),
    "draft or active": ("a draft or open for credit", "草稿或进行中"),
    "changed meanwhile": ("being changed by someone else", "刚被他人更改"),
}


def _state_words(state: str) -> tuple[str, str]:
    if state.startswith("the step before "):
        en, zh = _STATE_WORDS.get(state.removeprefix("the step before "), (state, state))
        return f"the step before {en}", f"“{zh}”的前一步"
    return _STATE_WORDS.get(state, (state, state))


class CampaignStateError(WarmrunError):
    code = "campaign_state"
    message_en = "The campaign is {state_en}; this needs it to be {needed_en}."
    message_zh = "活动当前{state_zh}，此操作要求活动为{needed_zh}。"

    def __init__(self, *, state: str, needed: str) -> None:
        state_en, state_zh = _state_words(str(state))
        needed_en, needed_zh = _state_words(str(needed))
        super().__init__(
            state=str(state),
            needed=str(needed),
            state_en=state_en,
            state_zh=f"为{state_zh}"
            if state in _STATE_WORDS and state != "changed meanwhile"
            else state_zh,
            needed_en=needed_en,
            needed_zh=needed_zh,
        )


class DuplicateRun(WarmrunError):
    """The same activity is already stored (exported by another tool, or re-uploaded)."""

    code = "duplicate_run"
    message_en = "This run was already imported (run #{run_id})."
    message_zh = "这次跑步已经导入过了（记录 #{run_id}）。"


class ReviewNotAllowed(WarmrunError):
    code = "review_not_allowed"
    message_en = "Run #{run_id} is {verdict} and cannot be reviewed."
    message_zh = "记录 #{run_id} 当前为 {verdict}，不能审核。"


# --- points and rewards ------------------------------------------------------------------------


class InsufficientPoints(WarmrunError):
    code = "insufficient_points"
    message_en = "Not enough points: this needs {needed}, you have {balance}."
    message_zh = "积分不足：需要 {needed} 分，当前 {balance} 分。"


class OutOfStock(WarmrunError):
    code = "out_of_stock"
    message_en = "Sorry, “{reward}” is out of stock."
    message_zh = "抱歉，“{reward}”已兑完。"


class RewardNotAvailable(WarmrunError):
    code = "reward_not_available"
    message_en = "This reward is not offered to your compound."
    message_zh = "您所在的小区不提供此奖品。"


class RedemptionStateError(WarmrunError):
    code = "redemption_state"
    message_en = "This pickup code is already {state}."
    message_zh = "此取货码已{state_zh}。"


class SlotFull(WarmrunError):
    code = "slot_full"
    message_en = "Sorry, the pickup time {when} is fully booked. Please choose another."
    message_zh = "抱歉，{when} 这个领取时段已约满，请选择其他时段。"


class SlotClosed(WarmrunError):
    code = "slot_closed"
    message_en = "The pickup time {when} is over and can no longer be booked."
    message_zh = "{when} 这个领取时段已过，不能再预约。"


class CancelClosed(WarmrunError):
    code = "cancel_closed"
    message_en = "This booking could be cancelled until {until}; it can no longer be cancelled."
    message_zh = "此预约只能在 {until} 前取消，现在已不能取消。"


class LedgerTampered(WarmrunError):
    code = "ledger_tampered"
    message_en = (
        "The contribution ledger of campaign #{campaign_id} fails verification at entry {seq}."
    )
    message_zh = "活动 #{campaign_id} 的捐赠账本在第 {seq} 条校验失败。"


class SigningKeyUnreadable(WarmrunError):
    """The site's checkpoint signing key file exists but holds no usable Ed25519 key."""

    code = "signing_key_unreadable"
    message_en = "The ledger signing key {path} cannot be read; restore it from a backup."
    message_zh = "无法读取账本签名密钥 {path}，请从备份恢复。"


# --- accounts and access -----------------------------------------------------------------------


class EmailTaken(WarmrunError):
    code = "email_taken"
    message_en = "An account with this e-mail address already exists. Try signing in."
    message_zh = "该邮箱已注册，请直接登录。"


class AdminExists(WarmrunError):
    """The install already has an admin: the first-run set-up is over."""

    code = "admin_exists"
    message_en = "This site already has an administrator. Please sign in."
    message_zh = "本站已有管理员，请直接登录。"


class InvalidCredentials(WarmrunError):
    code = "invalid_credentials"
    message_en = "Wrong e-mail address or password."
    message_zh = "邮箱或密码不正确。"


class NotAuthenticated(WarmrunError):
    code = "not_authenticated"
    message_en = "Please sign in first."
    message_zh = "请先登录。"


class FreeBookingWaiting(WarmrunError):
    code = "free_booking_waiting"
    message_en = (
        "You already have a booking of this free service waiting: use it or cancel it first."
    )
    message_zh = "您已预约过这项免费服务且尚未使用：请先使用或取消后再预约。"


class InvitationInvalid(WarmrunError):
    code = "invitation_invalid"
    message_en = "This invitation link is no longer valid. Ask for a new one."
    message_zh = "此邀请链接已失效，请向邀请人索取新的链接。"


class ConsentNeeded(WarmrunError):
    code = "consent_needed"
    message_en = (
        "Please confirm that you are the child's guardian and agree to their runs being kept."
    )
    message_zh = "请确认您是孩子的监护人，并同意保存孩子的跑步记录。"


class ConfirmationNeeded(WarmrunError):
    code = "confirmation_needed"
    message_en = "This cannot be undone: tick the confirmation box to go ahead."
    message_zh = "此操作无法撤销：请勾选确认框后再继续。"


class Forbidden(WarmrunError):
    code = "forbidden"
    message_en = "You do not have access to this."
    message_zh = "您没有权限访问此内容。"


class CsrfFailed(WarmrunError):
    code = "csrf_failed"
    message_en = "This form has expired or came from another site. Reload the page and try again."
    message_zh = "表单已过期或来自其他网站，请刷新页面后重试。"


class RateLimited(WarmrunError):
    code = "rate_limited"
    message_en = "Too many attempts. Please wait {retry_after} seconds and try again."
    message_zh = "操作过于频繁，请 {retry_after} 秒后再试。"


class BodyTooLarge(WarmrunError):
    code = "body_too_large"
    message_en = "The upload is too large (the limit is {limit_mib} MiB)."
    message_zh = "上传内容过大（上限 {limit_mib} MiB）。"


# --- payments ----------------------------------------------------------------------------------


class PaymentsUnavailable(WarmrunError):
    code = "payments_unavailable"
    message_en = "Online payment is not set up for this site."
    message_zh = "本站尚未开通在线支付。"


class PaymentProviderFailed(WarmrunError):
    """The payment provider could not be reached or refused; nothing was charged."""

    code = "payment_provider_failed"
    message_en = "The payment service did not answer. Nothing was charged; please try again."
    message_zh = "支付服务暂时没有响应，未产生任何扣款，请稍后再试。"


class NothingDue(WarmrunError):
    code = "nothing_due"
    message_en = "Nothing is owed for this pledge."
    message_zh = "这笔认捐目前没有需要支付的金额。"


class WebhookRejected(WarmrunError):
    """A webhook whose signature, timestamp or body does not check out."""

    code = "webhook_rejected"
    message_en = "The notification could not be verified."
    message_zh = "无法验证此通知。"


class TryLater(WarmrunError):
    """A service we depend on (the job queue) is down for a moment; the caller should retry."""

    code = "try_later"
    message_en = "The service is busy for a moment. Please try again shortly."
    message_zh = "服务暂时繁忙，请稍后再试。"


class EventClosed(WarmrunError):
    code = "event_closed"
    message_en = "Check-in is open on the event day only ({day})."
    message_zh = "只能在活动当天（{day}）打卡。"


class InvalidStationCode(WarmrunError):
    """A station QR code that is forged, altered or past its day."""

    code = "invalid_station_code"
    message_en = "This check-in code is not valid (or its event day is over)."
    message_zh = "这个打卡码无效（或活动日已结束）。"
