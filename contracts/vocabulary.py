"""The closed vocabularies events carry. Values are stable codes; their Chinese labels live in
``contracts.labels`` (sectors and behaviours: in the taxonomy data)."""

from __future__ import annotations

from enum import StrEnum


class ClueSource(StrEnum):
    """Where a clue came from (线索来源)."""

    HOTLINE_12345 = "hotline_12345"
    POLICE_110 = "police_110"
    PUBLIC_APP = "public_app"
    GRID_PATROL = "grid_patrol"
    BIG_DATA = "big_data"
    FUND_MONITORING = "fund_monitoring"
    ONLINE_MONITORING = "online_monitoring"
    MEDIA = "media"
    PETITION = "petition"
    REFERRAL = "referral"


class SubjectKind(StrEnum):
    """What kind of party a clue is about."""

    COMPANY = "company"
    SHOP = "shop"
    PERSON = "person"
    ONLINE_PLATFORM = "online_platform"


class RiskFlag(StrEnum):
    """Aggravating circumstances a reporter or officer can flag on a clue."""

    PUBLIC_OUTCRY = "public_outcry"  # 舆论热度
    STABILITY_RISK = "stability_risk"  # 涉稳隐患
    VULNERABLE_TARGETS = "vulnerable_targets"  # elderly, disabled, poor
    PETITION_CONFLICT = "petition_conflict"
    PROMISED_HIGH_RETURNS = "promised_high_returns"
    CROSS_REGION = "cross_region"


class KeyCaseReason(StrEnum):
    """Why a case is a key case (重点案件), as triage's grading finds it; an officer flagging a key case may
    name other codes of the same form."""

    AMOUNT_AT_LEAST_100M = "amount_at_least_100m"
    CROSS_REGION = "cross_region"
    STABILITY_RISK = "stability_risk"
    PUBLIC_OUTCRY_WITH_PETITION_CONFLICT = "public_outcry_with_petition_conflict"
    KEY_CASE = "key_case"  # an officer's flag that names no reason


class EscalationRule(StrEnum):
    """Triage's rule that escalated a case by itself (an escalation's ``rule``; None when an officer did)."""

    KEY_CASE = "key-case"  # a key case goes to the district lead office at once
    CROSS_REGION = "cross-region"  # another region the case involves is told at once (跨区域通报)
    SUSPECTED_CRIME = "suspected-crime"  # an office below the district determined a suspected crime
    DISPUTED = "disputed-determination"  # a disputed determination goes up one level (逐级上报)


class Grade(StrEnum):
    """Risk grade (分级): 重大 major, 较大 serious, 一般 general, 低 low."""

    MAJOR = "major"
    SERIOUS = "serious"
    GENERAL = "general"
    LOW = "low"


class Determination(StrEnum):
    """What an officer determines a case to be (研判定性)."""

    NO_VIOLATION = "no_violation"
    GENERAL_VIOLATION = "general_violation"
    REGULARISE = "regularise"
    SUSPECTED_ILLEGAL_FUNDRAISING = "suspected_illegal_fundraising"
    SUSPECTED_CRIME = "suspected_crime"
    DISPUTED = "disputed"
    UNDETERMINED = "undetermined"


class EscalationTarget(StrEnum):
    """Who a case is escalated to."""

    LEAD_OFFICE = "lead_office"  # 区处非办, level by level
    POLICE = "police"  # 移送公安
    OTHER_REGION = "other_region"  # 跨区域通报


class EscalationLevel(StrEnum):
    """The office a case is reported up to, one level at a time (逐级上报); the district lead office is
    the top."""

    COMMUNITY = "community"  # 社区/村
    STREET = "street"  # 街道/镇/乡 处非办
    DISTRICT = "district"  # 区/县 处非办 (lead office)


class Outcome(StrEnum):
    """The recorded result a case is closed with."""

    NO_VIOLATION = "no_violation"
    RECTIFIED = "rectified"
    FUNDS_RETURNED = "funds_returned"
    PENALISED = "penalised"
    TRANSFERRED_TO_POLICE = "transferred_to_police"
    MERGED = "merged"
    WRITTEN_OFF = "written_off"


class CaseStatus(StrEnum):
    """Where a case stands in its handling."""

    REPORTED = "reported"
    ASSESSED = "assessed"
    UNDER_DISPOSAL = "under_disposal"
    ESCALATED = "escalated"
    TRANSFERRED = "transferred"  # with the police (移送公安)
    CLOSED = "closed"
    WRITTEN_OFF = "written_off"  # 风险销号
    MERGED = "merged"  # merged into another case; its clue lives on there


class Measure(StrEnum):
    """A disposal measure taken on a case (处置措施)."""

    WARNING_INTERVIEW = "warning_interview"  # 诫勉谈话/警示约谈
    RECTIFICATION_ORDER = "rectification_order"  # 责令限期整改
    SEIZURE = "seizure"  # 查封扣押
    SUPERVISED_FUND_RETURN = "supervised_fund_return"  # 监督资金清退
    ADMINISTRATIVE_PENALTY = "administrative_penalty"  # 行政处罚
    PUBLIC_NOTICE = "public_notice"  # 张贴公告、公开曝光
    LANDLORD_NOTICE = "landlord_notice"  # 告知房东、物业、水电 (挤压)
    LOSS_RECOVERY = "loss_recovery"  # 追赃挽损


class MatchBasis(StrEnum):
    """Why a clue was found to be about a subject already on file."""

    CREDIT_CODE = "credit_code"  # same 统一社会信用代码
    NAME_ADDRESS = "name_address"  # same normalised name and address in the same district
    OFFICER = "officer"  # an officer linked or merged it


class ReopenTrigger(StrEnum):
    """What reopened a closed or written-off case."""

    LOOK_BACK = "look_back"  # 回头看 by an officer
    NEW_CLUE = "new_clue"  # a new clue about the same subject
    SPLIT = "split"  # a merged case separated again from the case it was merged into


class RegionHandoff(StrEnum):
    """A case handed between regions (跨区域移交), as the ledger of one of the two regions shows it: offered
    by this region and waiting for the other's answer, handed out to it, offered to this region, or handed
    in from it."""

    OFFERED_OUT = "offered_out"
    HANDED_OUT = "handed_out"
    OFFERED_IN = "offered_in"
    HANDED_IN = "handed_in"
