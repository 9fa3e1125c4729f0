"""Why triage refuses an officer, in Chinese: every rule a command, a read or a token can be refused by,
worded for the officer's workspace (``workspace``). The JSON API keeps its English reasons; both name the
same rule (``RuleViolation.rule``), and a unit test checks that every rule triage raises has its words here.
"""

from __future__ import annotations

from collections.abc import Mapping

from cluetrail.errors import RuleViolation

RULES: Mapping[str, str] = {
    # The state machine and the facts a command needs.
    "closed-is-final": (
        "案件已办结、销号或并案，不能再办理此事项；如需继续办理，请由区处非办“回头看”重新启动。"
    ),
    "assess-first": "案件尚未研判分级，请待系统完成分级后再办理。",
    "state-machine": "案件当前的办理状态不允许此操作。",
    "police-once": "案件已移送公安机关，不能重复移送。",
    "transfer-needs-summary": "移送公安需要填写案情摘要（移送材料的组成部分）。",
    "police-outcome-needs-transfer": "案件从未移送公安机关，不能以“已移送公安”作为办理结果。",
    "outcome-by-command": "“已并案”“风险已销号”不是办结结果：并案和销号各有专门的操作。",
    "police-answer-once": "案件没有等待公安机关答复的移送（已受理或已退回）。",
    "lead-office-decides": "区处非办是逐级上报的最高一级，不能定性为“性质存在争议”，须作出定性结论。",
    "escalation-top": "区处非办是逐级上报的最高一级，不能再上报；请定性处置或移送公安。",
    "write-off-needs-result": (
        "销号需要已记录的办理结果：案件须已办结，或已作出明确的定性结论（不能是“存在争议”或“暂无法定性”）。"
    ),
    "write-off-outcome": "“已并案”“风险已销号”不能作为销号的结果。",
    "write-off-police-holding": "案件仍在公安机关办理中，待公安退回或以公安办理结果办结后方可销号。",
    "write-off-needs-recovery": (
        "案件涉及资金风险且存在违规：销号需填写追回金额、已处理的兑付诉求数，或说明未能追回的原因。"
    ),
    "quiet-period": "静默期未满：同一主体的最近一条线索距今未满该办理结果所要求的天数，暂不能销号。",
    "handoff-pending": "案件已有一项等待答复的移交，或没有等待答复的移交。",
    "handoff-other-district": "移交须交给其他区县；本区县内的辖区调整不属于协商移交。",
    "handoff-known-jurisdiction": "接收辖区不在辖区树中。",
    "handoff-known-region": "本系统没有负责该辖区的区域，无法移交。",
    "handoff-region-key": "本区域没有为对方区域加密举报人信息的密钥，暂不能跨区域移交。",
    "handoff-return-reason": "退回移交需要说明理由。",
    "merge-other-case": "案件不能并入其自身。",
    "merge-into-open-case": "目标案件本身已并入其他案件，请并入该案件。",
    "merge-without-links": "本案件还关联有其他线索，请先分案后再并案。",
    "split-linked-clue": "所选线索不是本案件关联的线索（或已分案）。",
    "reward-needs-reporter": "该线索为匿名举报，没有可奖励的举报人。",
    "reward-needs-verified-clue": (
        "线索尚未经定性核实（一般违规、规范经营、涉嫌非法集资或涉嫌犯罪），暂不能发放奖励。"
    ),
    "reward-once": "该案件已发放过举报奖励。",
    "key-case-reasons-max": "重点案件的列入理由过多。",
    "case-held-by-region": "案件目前由其他区域办理，本区域只保留其记录。",
    "referral-after-transfer": "案件没有移送材料：尚未移送公安。",
    "reported-anonymously": "该线索为匿名举报，没有举报人信息。",
    # Who may act, and on what.
    "jurisdiction-subtree": "该案件不在您的辖区范围内，或案件不存在。",
    "role": "您的角色无权办理此事项。",
    "auditor-read-only": "审计监督人员只能查阅，不能办理。",
    "department-routing": "该案件未分派给您所在的行业主管部门。",
    "reporter-identity-roles": "您无权查阅该案件的举报人信息。",
    # Tokens and forms.
    "token-missing": "请先登录。",
    "token-invalid": "令牌无效：签名或格式不正确，请确认粘贴了完整的令牌。",
    "token-expired": "令牌已过期，请重新签发后登录。",
    "token-audience": "令牌不是签发给研判处置服务的，请签发包含 triage 的令牌。",
    "token-lifetime": "令牌有效期超过允许的最长时间，请重新签发。",
    "csrf": "页面已失效或来源不明，请刷新页面后重新操作。",
}
BY_STATUS: Mapping[int, str] = {
    401: "请先登录。",
    403: "您无权办理此事项。",
    404: "案件不存在或不在您的辖区内。",
    409: "案件当前的状态不允许此操作。",
    422: "填写的内容不符合要求。",
}


def in_chinese(refusal: RuleViolation) -> str:
    """The refusal's reason for the officer, by its rule (by its status when it names none)."""
    return RULES.get(refusal.rule or "") or BY_STATUS.get(refusal.status_code, "无法办理此事项。")
