"""The disposal workflow: officers' commands on a case, the state machine that admits them, and the facts
each transition needs. Every refusal raises ``TransitionRefused`` naming the rule (HTTP 409).

The state machine (``TRANSITIONS``: command -> statuses it is allowed from)::

    reported ──assessed──▶ assessed ──determined / measure──▶ under_disposal
        under_disposal ──escalated (lead office)──▶ escalated ──determined──▶ under_disposal
        assessed / under_disposal / escalated ──transfer (police)──▶ transferred
        transferred ──police-returned──▶ under_disposal      transferred ──police-accepted──▶ transferred
        any open status ──closed──▶ closed
        under_disposal / escalated / transferred / closed ──written-off──▶ written_off
        closed / written_off ──reopened (look back, or a new matching clue)──▶ under_disposal
        open ──merged──▶ merged ──reopened (split)──▶ under_disposal

Required facts: closing needs an outcome and a summary (the request model requires them) and, for the
outcome ``transferred_to_police``, a transfer; a transfer to the police needs a summary (its referral
bundle is built by ``referral``); the write-off's conditions are in ``write_off``. Commands refused on a
final case name ``closed-is-final``.

Escalation goes one level at a time (逐级上报): an office reports a case to the level above its own
(community → street → district lead office), and the office it waits on may determine it or report it up
again; the district lead office is the top. A determination carries its consequences with it: ``disputed``
reports the case one level up; ``suspected_crime`` by any other office sends it to the district lead office,
which alone transfers to the police; by the lead office itself it transfers the case at once, with the
summary the request must then carry.

The commands, by domain: ``transitions`` (the state machine, ``require`` and ``WorkflowPolicy``),
``handling`` (determination, escalation, classification, measures, closing, reopening), ``police`` (the
transfer and the police's answer), ``key_cases`` (the flag and its deadlines), ``handoff``, ``merging``
(linked clues, merge and split), ``reward`` and ``reaction`` (what the workflow calls for by itself).
"""

from services.triage.domain.workflow.handling import (
    LEAD_OFFICE,
    close,
    determine,
    escalate_to_lead_office,
    reclassify,
    record_measure,
    reopen,
)
from services.triage.domain.workflow.handoff import answer_handoff, request_handoff
from services.triage.domain.workflow.key_cases import (
    CHINA,
    KEY_CASE_REASONS_MAX,
    flag_key_case,
    key_case_deadlines,
    key_case_flag,
)
from services.triage.domain.workflow.merging import link_clue, merge, merged_decision, split
from services.triage.domain.workflow.police import accept_by_police, return_by_police, transfer_to_police
from services.triage.domain.workflow.reaction import workflow_reaction
from services.triage.domain.workflow.reward import VERIFIED, grant_reward
from services.triage.domain.workflow.transitions import (
    KEY_CASE_LEADER,
    OPEN_HANDLED,
    TRANSITIONS,
    WorkflowPolicy,
    require,
)

__all__ = [
    "CHINA",
    "KEY_CASE_LEADER",
    "KEY_CASE_REASONS_MAX",
    "LEAD_OFFICE",
    "OPEN_HANDLED",
    "TRANSITIONS",
    "VERIFIED",
    "WorkflowPolicy",
    "accept_by_police",
    "answer_handoff",
    "close",
    "determine",
    "escalate_to_lead_office",
    "flag_key_case",
    "grant_reward",
    "key_case_deadlines",
    "key_case_flag",
    "link_clue",
    "merge",
    "merged_decision",
    "reclassify",
    "record_measure",
    "reopen",
    "request_handoff",
    "require",
    "return_by_police",
    "split",
    "transfer_to_police",
    "workflow_reaction",
]
