"""Chinese labels of the codes events and notices carry, in one place, for every text shown to people.

Sectors and behaviours are labelled by the taxonomy data (``contracts/data/taxonomy.json``, the list intake
checks clues against); the closed vocabularies of ``contracts.vocabulary``, key-case reasons, event types,
notice kinds, channels, officers' roles, actors and jurisdiction levels here, for intake, triage, notify and
reporting alike: no service keeps a table of its own. Each table covers every member of its vocabulary (a
contract test checks it), so a code added to a vocabulary without its label fails the tests rather than
reaching a notice in English. A code no table knows (an officer's own key-case reason, an event of a newer
version) is shown as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import (
    CaseStatus,
    ClueSource,
    Determination,
    EscalationLevel,
    EscalationRule,
    EscalationTarget,
    Grade,
    KeyCaseReason,
    Measure,
    Outcome,
    RegionHandoff,
    ReopenTrigger,
    RiskFlag,
    SubjectKind,
)

GRADES: Mapping[str, str] = {
    Grade.MAJOR: "重大",
    Grade.SERIOUS: "较大",
    Grade.GENERAL: "一般",
    Grade.LOW: "低",
}
SUBJECT_KINDS: Mapping[str, str] = {
    SubjectKind.COMPANY: "企业",
    SubjectKind.SHOP: "门店",
    SubjectKind.PERSON: "个人",
    SubjectKind.ONLINE_PLATFORM: "网络平台",
}
CLUE_SOURCES: Mapping[str, str] = {
    ClueSource.HOTLINE_12345: "12345热线",
    ClueSource.POLICE_110: "110报警",
    ClueSource.PUBLIC_APP: "举报小程序",
    ClueSource.GRID_PATROL: "网格排查",
    ClueSource.BIG_DATA: "大数据监测",
    ClueSource.FUND_MONITORING: "资金异动监测",
    ClueSource.ONLINE_MONITORING: "广告资讯/网络巡查",
    ClueSource.MEDIA: "媒体曝光",
    ClueSource.PETITION: "信访",
    ClueSource.REFERRAL: "外地/部门移交",
}
RISK_FLAGS: Mapping[str, str] = {
    RiskFlag.PUBLIC_OUTCRY: "舆论热度高",
    RiskFlag.STABILITY_RISK: "涉稳隐患",
    RiskFlag.VULNERABLE_TARGETS: "针对老年人等弱势群体",
    RiskFlag.PETITION_CONFLICT: "信访矛盾",
    RiskFlag.PROMISED_HIGH_RETURNS: "承诺高额回报",
    RiskFlag.CROSS_REGION: "跨区域",
}
KEY_CASE_REASONS: Mapping[str, str] = {
    KeyCaseReason.AMOUNT_AT_LEAST_100M: "涉案金额亿元以上",
    KeyCaseReason.CROSS_REGION: "跨区域",
    KeyCaseReason.STABILITY_RISK: "涉稳隐患",
    KeyCaseReason.PUBLIC_OUTCRY_WITH_PETITION_CONFLICT: "舆论热度高且有信访矛盾",
    KeyCaseReason.KEY_CASE: "经研判认定",
}
DETERMINATIONS: Mapping[str, str] = {
    Determination.NO_VIOLATION: "未发现违规",
    Determination.GENERAL_VIOLATION: "一般违规",
    Determination.REGULARISE: "规范经营",
    Determination.SUSPECTED_ILLEGAL_FUNDRAISING: "涉嫌非法集资",
    Determination.SUSPECTED_CRIME: "涉嫌犯罪",
    Determination.DISPUTED: "性质存在争议",
    Determination.UNDETERMINED: "暂无法定性",
}
ESCALATION_TARGETS: Mapping[str, str] = {
    EscalationTarget.LEAD_OFFICE: "处非办（逐级上报）",
    EscalationTarget.POLICE: "公安机关（移送公安）",
    EscalationTarget.OTHER_REGION: "相关涉及地（跨区域通报）",
}
ESCALATION_LEVELS: Mapping[str, str] = {
    EscalationLevel.COMMUNITY: "社区/村",
    EscalationLevel.STREET: "街道/乡镇处非办",
    EscalationLevel.DISTRICT: "区/县处非办",
}
CASE_STATUSES: Mapping[str, str] = {
    CaseStatus.REPORTED: "已上报",
    CaseStatus.ASSESSED: "已研判分级",
    CaseStatus.UNDER_DISPOSAL: "处置中",
    CaseStatus.ESCALATED: "已逐级上报",
    CaseStatus.TRANSFERRED: "已移送公安",
    CaseStatus.CLOSED: "已办结",
    CaseStatus.WRITTEN_OFF: "已销号",
    CaseStatus.MERGED: "已并案",
}
OUTCOMES: Mapping[str, str] = {
    Outcome.NO_VIOLATION: "未发现违法违规",
    Outcome.RECTIFIED: "已整改",
    Outcome.FUNDS_RETURNED: "资金已清退",
    Outcome.PENALISED: "已行政处罚",
    Outcome.TRANSFERRED_TO_POLICE: "已移送公安",
    Outcome.MERGED: "已并案",
    Outcome.WRITTEN_OFF: "风险已销号",
}
MEASURES: Mapping[str, str] = {
    Measure.WARNING_INTERVIEW: "警示约谈",
    Measure.RECTIFICATION_ORDER: "责令限期整改",
    Measure.SEIZURE: "查封扣押",
    Measure.SUPERVISED_FUND_RETURN: "监督资金清退",
    Measure.ADMINISTRATIVE_PENALTY: "行政处罚",
    Measure.PUBLIC_NOTICE: "公告警示",
    Measure.LANDLORD_NOTICE: "房东/水电挤压",
    Measure.LOSS_RECOVERY: "追赃挽损",
}
REOPEN_TRIGGERS: Mapping[str, str] = {
    ReopenTrigger.LOOK_BACK: "回头看",
    ReopenTrigger.NEW_CLUE: "同一主体出现新线索",
    ReopenTrigger.SPLIT: "分案后单独办理",
}
REGION_HANDOFFS: Mapping[str, str] = {
    RegionHandoff.OFFERED_OUT: "移出待接收",
    RegionHandoff.HANDED_OUT: "已移出",
    RegionHandoff.OFFERED_IN: "移入待接收",
    RegionHandoff.HANDED_IN: "已移入",
}
# Case events (contracts.events.EVENT_CLASSES) by type.
EVENT_TYPES: Mapping[str, str] = {
    "clue-reported": "线索上报",
    "assessed": "研判分级",
    "determined": "研判定性",
    # one event for an escalation to the lead office, a transfer to the police and a cross-region notice
    "escalated": "上报/移送/通报",
    "closed": "案件办结",
    "measure-recorded": "采取处置措施",
    "key-case-flagged": "列为重点案件",
    "police-accepted": "公安受理立案",  # the filing key-case deadlines count from
    "police-returned": "公安退回",
    "referral-packaged": "移送材料封存",
    "written-off": "风险销号",
    "reopened": "重新启动",
    "clue-linked": "关联新线索",
    "merged": "并案",
    "split": "分案",
    "handoff-requested": "协商办理",
    "handoff-accepted": "接收移交",
    "handoff-returned": "退回移交",
    "reward-granted": "发放举报奖励",
    "reclassified": "调整领域分类",
    "reporter-identity-viewed": "查阅举报人信息",
}
# notify's notices (contracts.notices.NoticeKind) by kind.
NOTICE_KINDS: Mapping[str, str] = {
    "reporting-deadline": "报送提醒",
    "key-case-deadline": "重点案件期限提醒",
    "unacknowledged": "未确认提醒",
    "delivery-dead": "投递失败告警",
    "reporter-update": "告知举报人",
    "cross-region": "跨区域通报",
    "cross-region-received": "收到跨区域通报",
    "cross-region-ack": "跨区域通报已确认",
    "region-chain-refused": "跨区域案件事件拒收告警",
}
CHANNELS: Mapping[str, str] = {"webhook": "系统接口", "email": "电子邮件", "sms": "短信", "receipt": "回执"}
# Officers' roles (cluetrail.auth.Role), the kinds of actor an event names, the jurisdiction tree's levels.
ROLES: Mapping[str, str] = {
    "grid_worker": "网格员",
    "street_officer": "街道处非办",
    "district_lead_officer": "区处非办",
    "sector_department": "行业主管部门",
    "police": "公安",
    "auditor": "审计监督",
}
ACTOR_KINDS: Mapping[str, str] = {"reporter": "举报人", "officer": "工作人员", "service": "系统"}
JURISDICTION_LEVELS: Mapping[str, str] = {
    "province": "省",
    "city": "市",
    "district": "区/县",
    "street": "街道/乡镇",
    "community": "社区/村",
    "grid": "网格",
}


def label(table: Mapping[str, str], code: object) -> str:
    """The Chinese label of ``code`` in ``table`` (empty for None, the code itself when unknown)."""
    if code is None:
        return ""
    text = str(getattr(code, "value", code))
    return table.get(text, text)


def labels(table: Mapping[str, str], codes: Iterable[object] | None) -> str:
    """Several codes as one phrase, joined by the Chinese enumeration comma (empty for None)."""
    return "、".join(label(table, code) for code in codes or ())


def key_case_reason(code: str) -> str:
    """A key-case reason in Chinese: triage's reasons, else a risk flag or a taxonomy code of that name
    (an officer may name one), else the code itself."""
    for table in (KEY_CASE_REASONS, RISK_FLAGS):
        if code in table:
            return table[code]
    return default_taxonomy().label(code)


def event_kind(code: str) -> str:
    """A case event's type or a notice's kind in Chinese."""
    return EVENT_TYPES.get(code) or NOTICE_KINDS.get(code) or code


# The reason triage writes on the lead office's behalf when its determination of a suspected crime transfers
# the case to the police (an officer's act, so the escalation names no rule).
LEAD_OFFICE_CRIME_TRANSFER = "经研判涉嫌犯罪，移送公安机关"
# Reasons triage wrote in English before, in the log for ever, by their exact words.
TRIAGE_WORDED_REASONS: Mapping[str, str] = {
    "determined a suspected crime: transferred to the police (移送公安)": LEAD_OFFICE_CRIME_TRANSFER,
}


def escalation_reason(
    rule: str | None,
    reason: str,
    *,
    target_place: str,
    level: str | None = None,
    key_case_reasons: Iterable[str] = (),
) -> str:
    """Why a case was escalated, in Chinese. An escalation by triage's own rule is worded from the rule and
    the event's fields — a key case with the reasons the case was graded or flagged with (its ``assessed``
    and ``key-case-flagged`` events), ``target_place`` the named place it went to — never from the English
    ``reason`` triage wrote beside them, which stays in the log as it was. An officer's escalation is the
    officer's own words."""
    if rule == EscalationRule.KEY_CASE:
        codes = list(dict.fromkeys(key_case_reasons))
        return "列为重点案件" + (f"（{'、'.join(key_case_reason(c) for c in codes)}）" if codes else "")
    if rule == EscalationRule.CROSS_REGION:
        return f"跨区域风险：案件涉及{target_place}"
    if rule == EscalationRule.SUSPECTED_CRIME:
        return "经研判涉嫌犯罪，报区处非办移送公安机关"
    if rule == EscalationRule.DISPUTED:
        if level == EscalationLevel.DISTRICT:
            return "定性存在争议，报区处非办研究决定"
        return f"定性存在争议，报上一级（{target_place}）研判或继续上报"
    return TRIAGE_WORDED_REASONS.get(reason, reason)
