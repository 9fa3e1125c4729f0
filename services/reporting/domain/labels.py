"""Chinese labels of the codes events carry, as the annex tables print them (unknown codes print as is).

Sectors are labelled by the taxonomy data (``contracts/data/taxonomy.json``), the list intake checks clues
against, so a sector added there prints in Chinese here too; the other codes are reporting's vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping

from contracts import labels as contracts_labels
from contracts.taxonomy import default_taxonomy

SOURCES = {
    "hotline_12345": "12345热线",
    "police_110": "110报警",
    "public_app": "举报小程序",
    "grid_patrol": "网格排查",
    "big_data": "大数据监测",
    "fund_monitoring": "资金异动监测",
    "online_monitoring": "广告资讯/网络巡查",
    "media": "媒体曝光",
    "petition": "信访",
    "referral": "外地/部门移交",
}
GRADES = {"major": "重大", "serious": "较大", "general": "一般", "low": "低", "ungraded": "未定级"}
DETERMINATIONS = {
    "no_violation": "未发现违规",
    "general_violation": "一般违规",
    "regularise": "规范经营",
    "suspected_illegal_fundraising": "涉嫌非法集资",
    "suspected_crime": "涉嫌犯罪",
    "disputed": "性质存在争议",
    "undetermined": "暂无法定性",
}
STATUSES = {
    "reported": "已上报",
    "assessed": "已研判分级",
    "under_disposal": "处置中",
    "escalated": "已逐级上报",
    "transferred": "已移送公安",
    "closed": "已办结",
    "written_off": "已销号",
    "merged": "已并案",
}
OUTCOMES = {
    "no_violation": "未发现违规",
    "rectified": "已整改",
    "funds_returned": "资金已清退",
    "penalised": "已行政处罚",
    "transferred_to_police": "已移送公安",
    "merged": "已合并",
    "written_off": "已销号",
}
MEASURES = {
    "warning_interview": "警示约谈",
    "rectification_order": "责令限期整改",
    "seizure": "查封扣押",
    "supervised_fund_return": "监督资金清退",
    "administrative_penalty": "行政处罚",
    "public_notice": "公告警示",
    "landlord_notice": "房东/水电挤压",
    "loss_recovery": "追赃挽损",
}
EVENT_TYPES = {
    "clue-reported": "线索上报",
    "assessed": "研判分级",
    "determined": "研判定性",
    "escalated": "上报/移送/通报",
    "closed": "办结",
    "measure-recorded": "采取处置措施",
    "key-case-flagged": "列为重点案件",
    "police-accepted": "公安受理立案",
    "police-returned": "公安退回",
    "referral-packaged": "移送材料封存",
    "written-off": "风险销号",
    "reopened": "重新启动（回头看）",
    "clue-linked": "关联新线索",
    "merged": "并案",
    "split": "分案",
    "handoff-requested": "申请移交辖区",
    "handoff-accepted": "接收移交",
    "handoff-returned": "退回移交",
    "reward-granted": "发放举报奖励",
}
ROLES = {
    "grid_worker": "网格员",
    "street_officer": "街道处非办",
    "district_lead_officer": "区处非办",
    "sector_department": "行业主管部门",
    "police": "公安",
    "auditor": "审计监督",
}
ACTOR_KINDS = {"reporter": "举报人", "officer": "工作人员", "service": "系统"}
# notify's notices and channels, as a case's timeline shows them: contracts' labels, so a kind notify adds
# (the cross-region ones) prints in Chinese here too.
NOTICE_KINDS = contracts_labels.NOTICE_KINDS
CHANNELS = contracts_labels.CHANNELS
LEVELS = {"province": "省", "city": "市", "district": "区/县", "street": "街道/乡镇", "community": "社区/村"}


def label(table: Mapping[str, str], code: object) -> str:
    """The Chinese label of ``code`` (empty for None, the code itself when unknown)."""
    if code is None:
        return ""
    text = str(getattr(code, "value", code))
    return table.get(text, text)


def labels(table: Mapping[str, str], codes: object) -> str:
    """Several codes as one cell, separated by the Chinese enumeration comma."""
    if not codes:
        return ""
    return "、".join(label(table, code) for code in codes)  # type: ignore[attr-defined]


def sector_label(code: object) -> str:
    """The Chinese label of a sector code, from the taxonomy (empty for None, the code itself when the
    taxonomy does not know it)."""
    if code is None:
        return ""
    return default_taxonomy().label(str(getattr(code, "value", code)))


def sector_options() -> list[tuple[str, str]]:
    """Every sector of the taxonomy as (code, Chinese label), in the taxonomy's order."""
    return [(term.code, term.zh) for term in default_taxonomy().sectors]
