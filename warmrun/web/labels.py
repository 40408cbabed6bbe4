"""The words people read for the codes the domain speaks in: states, roles, groups, sports,
review reasons, badge rules and audit actions, in zh-CN and English.

Pages call ``label(kind, code)``; an unknown code is shown as it is, so a new value is never
hidden, only untranslated until it is added here (a test walks every known code)."""

from __future__ import annotations

from warmrun.platform import audit, field_words
from warmrun.platform.badge_rules import KINDS as BADGE_KINDS
from warmrun.platform.events import GROUPS, MODES, VIA
from warmrun.platform.grants import REASONS
from warmrun.platform.kinds import (
    CampaignState,
    PaymentState,
    RedemptionState,
    RewardKind,
    Role,
)
from warmrun.platform.plausibility import Reason, Verdict

# kind -> code -> (en, zh)
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "campaign_state": {
        "draft": ("draft", "草稿"),
        "active": ("open for credit", "进行中"),
        "closed": ("closed", "已结束"),
        "settled": ("settled", "已结算"),
    },
    "settlement_mode": {
        "first_come": ("first come, first funded", "先到先得"),
        "pro_rata": ("pro rata", "按比例分配"),
    },
    "role": {
        "resident": ("resident", "居民"),
        "partner": ("charity partner", "公益伙伴"),
        "organizer": ("organizer", "组织者"),
        "desk": ("desk staff", "服务台人员"),
        "admin": ("administrator", "管理员"),
    },
    "invitation_state": {
        "pending": ("waiting", "待接受"),
        "accepted": ("accepted", "已接受"),
        "revoked": ("withdrawn", "已撤回"),
        "expired": ("expired", "已过期"),
    },
    "group": {
        "family": ("parent and child", "亲子"),
        "senior": ("seniors", "长者"),
        "adult": ("adults", "成人"),
    },
    "via": {
        "scan": ("scanned the station code", "扫码签到"),
        "staff": ("checked in by staff", "工作人员签到"),
        "guardian": ("checked in by a guardian", "监护人代签"),
    },
    "credit_mode": {
        "flat": ("a fixed amount per participant", "每位参与者固定金额"),
        "route": ("by the route run", "按完成路线"),
    },
    "sport": {"run": ("running", "跑步"), "walk": ("walking", "步行")},
    "verdict": {
        "accepted": ("credited", "已计入"),
        "flagged": ("held for review", "待审核"),
        "rejected": ("not credited", "未计入"),
    },
    "redemption_state": {
        "pending": ("waiting for pickup", "待领取"),
        "fulfilled": ("handed over", "已领取"),
        "cancelled": ("cancelled", "已取消"),
    },
    "reward_kind": {
        "goods": ("goods", "物品"),
        "service": ("convenience service", "便民服务"),
    },
    "payment_state": {
        "created": ("created", "已创建"),
        "open": ("waiting for the payer", "等待付款"),
        "processing": ("processing", "处理中"),
        "paid": ("paid", "已支付"),
        "failed": ("failed", "支付失败"),
        "expired": ("expired", "已过期"),
        "refunded": ("refunded", "已退款"),
        "flagged": ("held: amount did not match", "金额不符，已暂停"),
    },
    "reason": {
        "vehicle_speed": (
            "faster than a runner can go (a vehicle?)",
            "速度超出跑步范围（疑似乘车）",
        ),
        "fast_hops": ("jumps between points too fast to run", "轨迹点之间跳跃过快"),
        "walk_too_fast": ("too fast for a walk", "步行速度过快"),
        "synthetic_regularity": ("too regular to be recorded outdoors", "轨迹过于规则，疑似生成"),
        "no_gps": ("no GPS positions", "没有 GPS 定位"),
        "gaps": ("long gaps in the recording", "记录中断时间过长"),
        "future_time": ("times in the future", "时间在未来"),
        "time_not_increasing": ("times that go backwards", "时间顺序错乱"),
        "implausible_time": ("implausible times", "时间不合理"),
        "sport_not_eligible": ("a sport this campaign does not count", "本活动不计入此运动类型"),
        "no_credited_distance": ("no distance to credit", "没有可计入的距离"),
        "device_distance_mismatch": (
            "the watch's distance differs from the track's",
            "设备记录距离与轨迹不符",
        ),
        "daily_cap": ("the day's cap was reached", "已达当日上限"),
        "overlap": ("overlaps another run in time", "与另一次跑步时间重叠"),
        "shared_track": ("the same track as another resident's", "与其他居民的轨迹相同"),
        "reviewed": ("reviewed by an organizer", "已由组织者审核"),
        "source_withdrawn": ("withdrawn at its source", "已在来源处删除"),
    },
    "grant_reason": {
        "volunteer": ("volunteering (little volunteers)", "志愿服务（小小志愿者）"),
        "winter_care": ("winter visit to an elderly neighbour", "冬季探访独居老人"),
        "event_help": ("helping at an event day", "活动日帮忙"),
        "other": ("other", "其他"),
    },
    "strava_status": {
        "imported": ("imported", "已导入"),
        "duplicate": ("already imported from a file", "已通过文件导入"),
        "invalid": ("could not be read", "无法读取"),
        "deleted": ("deleted on Strava", "已在 Strava 删除"),
        "ineligible": ("not counted", "不计入"),
    },
    "strava_reason": {
        "strava_manual": ("entered by hand, not recorded", "手动录入，不是实际记录"),
        "strava_trainer": ("on a treadmill or trainer", "跑步机或室内训练"),
        "strava_flagged": ("flagged on Strava", "在 Strava 上被标记"),
        "strava_ebike": ("an e-bike ride", "电动自行车骑行"),
        "strava_sport": ("a sport the campaign does not count", "本活动不计入此运动类型"),
    },
    "badge_kind": {
        "first_run": ("first run", "首次跑步"),
        "distance_km": ("total kilometres", "累计公里数"),
        "first_check_in": ("first check-in", "首次签到"),
        "all_stations": ("every station of an event", "集齐活动全部站点"),
        "all_cities": ("a run in every city", "在每个城市都跑过"),
        "family_run": ("a family run", "亲子跑"),
        "early_bird": ("an early-morning run", "清晨跑"),
        "streak_weeks": ("weeks in a row", "连续周数"),
    },
    "audit_action": {
        "city.create": ("added a city", "新增城市"),
        "compound.create": ("added a compound", "新增小区"),
        "compound.households": ("changed registered households", "修改登记户数"),
        "partner.create": ("added a charity partner", "新增公益伙伴"),
        "goods.create": ("added goods", "新增物资"),
        "bundle.create": ("added a bundle of goods", "新增物资包"),
        "campaign.create": ("created a campaign", "创建活动"),
        "campaign.goal": ("changed a city's goal", "修改城市目标"),
        "campaign.activate": ("opened the campaign for credit", "开启活动"),
        "campaign.close": ("closed the campaign", "结束活动"),
        "campaign.settle": ("settled the campaign", "结算活动"),
        "rule.conversion": ("changed a conversion rule", "修改兑换规则"),
        "rule.points": ("changed the points rule", "修改积分规则"),
        "pledge.add": ("added a sponsor pledge", "新增认捐"),
        "pledge.refund": ("refunded a sponsor's excess", "退还认捐多付款项"),
        "run.review": ("reviewed a run", "审核跑步记录"),
        "reward.create": ("offered a reward", "上架奖品"),
        "reward.restock": ("added stock", "补充库存"),
        "reward.handout": ("handed over a reward", "发放奖品"),
        "slot.create": ("opened pickup time slots", "新增领取时段"),
        "option.add": ("added a booking option", "新增预约选项"),
        "option.remove": ("removed a booking option", "删除预约选项"),
        "points.grant": ("granted points", "发放积分"),
        "points.adjust": ("adjusted a points balance", "调整积分"),
        "event.create": ("created an event day", "创建活动日"),
        "station.add": ("added a station", "新增打卡点"),
        "badge.create": ("set a badge", "设置徽章"),
        "challenge.create": ("created a challenge", "创建挑战赛"),
        "challenge.settle": ("settled a challenge", "结算挑战赛"),
        "staff.invite": ("invited a member of staff", "邀请工作人员"),
        "staff.join": ("accepted an invitation", "接受邀请"),
        "staff.revoke": ("withdrew staff access", "撤回工作人员权限"),
    },
}

# Every code the domain can produce, per kind (the test checks each has its words).
KNOWN: dict[str, tuple[str, ...]] = {
    "campaign_state": tuple(CampaignState),
    "role": tuple(Role),
    "group": GROUPS,
    "via": VIA,
    "credit_mode": MODES,
    "verdict": tuple(Verdict),
    "redemption_state": tuple(RedemptionState),
    "reward_kind": tuple(RewardKind),
    "payment_state": tuple(PaymentState),
    "reason": tuple(Reason),
    "badge_kind": BADGE_KINDS,
    "grant_reason": REASONS,
    "audit_action": audit.ACTIONS,
}


def label(kind: str, code: object, lang: str) -> str:
    """The words for ``code`` of ``kind`` in ``lang``; the code itself when there are none."""
    words = LABELS.get(kind, {}).get(str(code))
    if words is None:
        return str(code)
    return words[0] if lang.startswith("en") else words[1]


# Kinds whose codes may stand as values in the audit log's before/after.
_VALUE_KINDS = ("campaign_state", "redemption_state", "verdict", "grant_reason", "role",
                "settlement_mode", "sport", "invitation_state")  # fmt: skip


def describe(value: object, lang: str) -> str:
    """An audit entry's before or after in words: field names and known codes translated,
    numbers and free text as they are."""
    en = lang.startswith("en")
    if isinstance(value, dict):
        parts = []
        for key, v in value.items():
            words = field_words.FIELD_WORDS.get(str(key), (str(key), str(key)))
            parts.append(f"{words[0] if en else words[1]}: {describe(v, lang)}")
        return ("; " if en else "；").join(parts)
    if isinstance(value, list):
        return (", " if en else "、").join(describe(v, lang) for v in value)
    if value is None:
        return "—"
    if isinstance(value, str):
        for kind in _VALUE_KINDS:
            if value in LABELS[kind]:
                return label(kind, value, lang)
    return str(value)
