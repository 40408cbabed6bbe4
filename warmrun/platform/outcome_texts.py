"""The sentences of upload outcomes, in zh-CN and English (pure).

Each :class:`~warmrun.platform.outcomes.Kind` has a sentence per language in ``KINDS``; each
plausibility rule a sentence with its threshold in ``RULES``, taken from the rules the analysis
applies (``PlausibilityRules``) so a threshold cannot drift from its text. Numbers are formatted
here (km with one decimal, money in yuan from integer fen), never rounded up into credit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from warmrun.platform.money import yuan
from warmrun.platform.outcomes import Kind, Limit, Outcome
from warmrun.platform.plausibility import PlausibilityRules, Reason
from warmrun.platform.run_checks import OVERLAP_S

_R = PlausibilityRules()


def _kmh(mps: float) -> str:
    return f"{mps * 3.6:.1f}"


def _pct(share: float) -> str:
    return f"{share * 100:g}"


# Each plausibility rule: (zh-CN, en), with the threshold the analysis applies.
RULES: dict[str, tuple[str, str]] = {
    Reason.VEHICLE_SPEED: (
        "速度超出跑步的可能，像是乘车或骑车（移动时平均超过 "
        f"{_kmh(_R.max_avg_moving_speed_mps)} 公里/小时，或任意一分钟超过 "
        f"{_kmh(_R.max_window_speed_mps)} 公里/小时）",
        "faster than anyone runs, like a vehicle or a bike (above "
        f"{_kmh(_R.max_avg_moving_speed_mps)} km/h on average while moving, or above "
        f"{_kmh(_R.max_window_speed_mps)} km/h over a minute)",
    ),
    Reason.FAST_HOPS: (
        f"GPS 轨迹跳动过多（快于 {_kmh(_R.max_hop_speed_mps)} 公里/小时的片段超过 "
        f"{_pct(_R.fast_hop_share)}% 或合计超过 {_R.fast_hop_distance_m:g} 米）",
        f"the GPS jumps too often (stretches faster than {_kmh(_R.max_hop_speed_mps)} km/h make "
        f"up over {_pct(_R.fast_hop_share)}% of the track or over {_R.fast_hop_distance_m:g} m)",
    ),
    Reason.WALK_TOO_FAST: (
        f"记录为步行，但平均速度超过 {_kmh(_R.max_walk_avg_speed_mps)} 公里/小时",
        f"recorded as a walk but faster than {_kmh(_R.max_walk_avg_speed_mps)} km/h on average",
    ),
    Reason.SYNTHETIC: (
        f"速度过于均匀（波动不到 {_pct(_R.synthetic_speed_cv)}%），不像真实记录",
        "the speed is too even for a real recording "
        f"(it varies by less than {_pct(_R.synthetic_speed_cv)}%)",
    ),
    Reason.NO_GPS: (
        "没有 GPS 轨迹（跑步机或手动输入），只有带 GPS 的跑步才能计入",
        "there is no GPS track (a treadmill or a manual entry), and only runs with GPS count",
    ),
    Reason.GAPS: (
        f"轨迹中断过多（超过 {_R.max_gap_s:g} 秒没有记录的路段合计超过 "
        f"{_R.gap_flag_distance_m:g} 米、占总距离 {_pct(_R.gap_flag_share)}% 以上）",
        f"the track has too many gaps (stretches of over {_R.max_gap_s:g} s without points "
        f"cover more than {_R.gap_flag_distance_m:g} m and {_pct(_R.gap_flag_share)}% of it)",
    ),
    Reason.FUTURE_TIME: (
        f"记录时间晚于当前时间 {_R.future_tolerance_s / 60:g} 分钟以上",
        f"its times lie more than {_R.future_tolerance_s / 60:g} minutes in the future",
    ),
    Reason.TIME_NOT_INCREASING: (
        f"超过 {_pct(_R.non_increasing_share)}% 的轨迹点时间倒退或重复",
        f"more than {_pct(_R.non_increasing_share)}% of its points go back in time or repeat one",
    ),
    Reason.IMPLAUSIBLE_TIME: (
        f"记录时间早于 {_R.earliest_year} 年",
        f"it is dated before {_R.earliest_year}",
    ),
    Reason.SPORT_NOT_ELIGIBLE: (
        "运动类型不计入（只计入跑步、步行和徒步）",
        "its sport does not count (only running, walking and hiking do)",
    ),
    Reason.NO_CREDITED_DISTANCE: (
        "没有可计入的移动距离",
        "it covers no distance while moving",
    ),
    Reason.DEVICE_MISMATCH: (
        f"GPS 距离比手表自己记录的距离长 {_pct(_R.device_mismatch_share)}% 以上",
        f"its GPS distance is over {_pct(_R.device_mismatch_share)}% longer than the watch's own",
    ),
    Reason.OVERLAP: (
        f"与你另一条已计入的跑步在时间上重叠超过 {OVERLAP_S} 秒",
        f"it overlaps another of your counted runs by more than {OVERLAP_S} seconds",
    ),
    Reason.SHARED_TRACK: (
        "另一位居民上传了同一条轨迹",
        "another resident uploaded the same track",
    ),
}

# Each kind: (zh-CN, en). Placeholders are filled by :func:`sentence`.
KINDS: dict[Kind, tuple[str, str]] = {
    Kind.CREDITED: (
        "已计入{campaigns}：{km} 公里 · {kcal} 千卡 · +{points} 积分。",
        "Credited to {campaigns}: {km} km · {kcal} kcal · +{points} points.",
    ),
    Kind.DAILY_MONEY_CAP: (
        "{campaign}今天的捐赠额已达每日上限{cap}，这次跑步折合 {got}。",
        "Today's donation cap{cap} in {campaign} is reached: this run adds {got}.",
    ),
    Kind.DAILY_POINTS_CAP: (
        "{campaign}今天的积分已达每日上限{cap}，这次跑步得 {got} 分。",
        "Today's points cap{cap} in {campaign} is reached: this run earns {got} points.",
    ),
    Kind.OUTSIDE_DATES: (
        "未计入：这次跑步在 {day}，不在{campaign}的活动日期（{start}至{end}）内。",
        "Not counted: this run was on {day}, outside the dates of {campaign} ({start} to {end}).",
    ),
    Kind.CAMPAIGN_NOT_OPEN: (
        "未计入：{campaign}还没有开始（{start}开始）。",
        "Not counted: {campaign} has not opened yet (it starts on {start}).",
    ),
    Kind.CAMPAIGN_CLOSED: (
        "未计入：{campaign}已经结束（{start}至{end}），不再计入跑步。",
        "Not counted: {campaign} has closed ({start} to {end}) and counts no more runs.",
    ),
    Kind.NO_CAMPAIGN: (
        "未计入：你所在的小区目前没有公益活动。",
        "Not counted: there is no campaign for your compound yet.",
    ),
    Kind.NOT_CREDITED: (
        "未计入：这次跑步没有计入任何活动，上传时没有保存原因（较早的记录），如有疑问请联系组织者。",
        "Not counted: this run counted in no campaign, and no reason was kept when it was "
        "uploaded (an older upload). Ask an organizer if in doubt.",
    ),
    Kind.ALREADY_UPLOADED: (
        "这个文件已经上传过（记录 #{run_id}，{day}），不会重复计入。",
        "This file was already uploaded (run #{run_id}, {day}); it is not counted twice.",
    ),
    Kind.DUPLICATE: (
        "未计入：这与你的记录 #{run_id}（{day}）是同一次跑步，已经导入过。",
        "Not counted: this is the same run as your run #{run_id} ({day}), already imported.",
    ),
    Kind.IMPLAUSIBLE: ("未计入：{rules}。", "Not counted: {rules}."),
    Kind.FILE_REFUSED: (
        "未计入：文件未被接受。{reason}",
        "Not counted: the file was refused. {reason}",
    ),
    Kind.IN_REVIEW: (
        "等待审核：{rules}。组织者核实前暂不计入。",
        "Held for review: {rules}. It is not counted until an organizer checks it.",
    ),
    Kind.REVIEW_ACCEPTED: (
        "组织者审核后已通过{note}。",
        "An organizer reviewed it and accepted it{note}.",
    ),
    Kind.REVIEW_REJECTED: (
        "未计入：组织者审核后没有通过{note}。",
        "Not counted: an organizer reviewed it and rejected it{note}.",
    ),
    Kind.WITHDRAWN: (
        "未计入：这次跑步已在来源处撤回（例如在 Strava 上删除），原先计入的已收回。",
        "Not counted: it was withdrawn at its source (deleted on Strava, say), "
        "and any credit was taken back.",
    ),
}

_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def sentence(outcome: Outcome, lang: str) -> str:
    """The outcome in ``lang`` (``en``, otherwise zh-CN): what happened and why."""
    en = lang.startswith("en")
    parts = [_one(outcome, en)]
    parts += [_limit(x, en) for x in outcome.limits]
    if outcome.after is not None:
        parts.append(sentence(outcome.after, lang))
    return (" " if en else "").join(parts)


def rule(code: str, lang: str) -> str:
    """A plausibility rule's sentence (with its threshold) in ``lang``."""
    zh, en = RULES.get(code, (code, code))
    return en if lang.startswith("en") else zh


def _one(o: Outcome, en: bool) -> str:
    template = KINDS[o.kind][1 if en else 0]
    rules = ("; " if en else "；").join(_rule(r, en) for r in o.rules)
    values = {
        "campaigns": (", " if en else "、").join(_name(c.name, en) for c in o.credits),
        "km": _km(o.credited_m),
        "kcal": f"{o.kcal:,}",
        "points": f"{o.points:,}",
        "run_id": o.run_id,
        "day": _day(o.day, en),
        "rules": rules or ("it did not pass the plausibility checks" if en else "未通过合理性检查"),
        "reason": o.refusal[1 if en else 0],
        "note": _note(o.note, en),
    }
    c = o.campaign
    if c is not None:
        values |= {
            "campaign": _name(c.name, en),
            "start": _day(c.starts_on, en),
            "end": _day(c.ends_on, en),
        }
    return template.format(**values)


def _rule(code: str, en: bool) -> str:
    return rule(code, "en" if en else "zh-CN")


def _limit(x: Limit, en: bool) -> str:
    template = KINDS[x.kind][1 if en else 0]
    money = x.kind is Kind.DAILY_MONEY_CAP
    got = f"¥{yuan(x.got)}" if money else f"{x.got:,}"
    cap = ""
    if x.cap is not None:
        amount = f"¥{yuan(x.cap)}" if money else f"{x.cap:,}"
        cap = (f" of {amount}" if money else f" of {amount} points") if en else f" {amount}"
        if not en and not money:
            cap += " 分"
    return template.format(campaign=_name(x.campaign, en), cap=cap, got=got)


def _name(name: str, en: bool) -> str:
    return name if en else f"“{name}”"


def _note(note: str, en: bool) -> str:
    if not note:
        return ""
    return f", noting: “{note}”" if en else f"，备注：“{note}”"


def _km(metres: int) -> str:
    return f"{Decimal(metres) / 1000:,.1f}"


def _day(d: date | None, en: bool) -> str:
    if d is None:
        return "date unknown" if en else "日期不详"
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}" if en else f"{d.year}年{d.month}月{d.day}日"
