"""Who may do what to a case (issue 3, officers and access), on top of the jurisdiction rule of
``cluetrail.auth.AccessPolicy``.

Grid workers only report (through intake). Street officers determine, record measures, escalate and close
ordinary cases in their subtree. A case reported up (逐级上报) waits on the office it was reported to: below
the district, the offices whose subtree holds that level act on it (it may determine it or report it further
up); at the district, the lead office. District lead officers decide what reached them, what is transferred
or key, and alone write off, reopen, hand off, merge, split and reward. A sector department acts on the
cases routed to its department. The police accept or return what was transferred to them. Auditors read
only.

The checks run in an order that never tells a caller more than it may know: first the jurisdiction (a case
outside the caller's subtree — or one that does not exist — gets the same 403), then the role.
"""

from __future__ import annotations

from cluetrail.auth import Principal, Role
from cluetrail.errors import Forbidden
from contracts.vocabulary import CaseStatus, EscalationLevel
from services.triage.domain.state import CaseState

R = Role
OFFICE = (R.STREET_OFFICER, R.DISTRICT_LEAD_OFFICER, R.SECTOR_DEPARTMENT)
LEAD = (R.DISTRICT_LEAD_OFFICER,)
# Commands that only the lead office decides, whatever the case's state.
LEAD_ONLY = frozenset(
    {"transfer", "write-off", "reopening", "handoff", "handoff answer"}
    | {"merge", "split", "reward", "key case"}
)
POLICE_ONLY = frozenset({"police acceptance", "police return"})
# Who may open the reporter's identity: the district lead office, and the police once the case is theirs.
REPORTER_READERS = frozenset({R.DISTRICT_LEAD_OFFICER, R.POLICE})
NOT_ENTITLED = "the reporter's identity is not yours to see"


def waits_below_district(state: CaseState) -> bool:
    """Reported up to a community or street office, which has not decided yet."""
    return (
        state.status == CaseStatus.ESCALATED
        and state.escalated_to is not None
        and state.escalation_level in (EscalationLevel.COMMUNITY, EscalationLevel.STREET)
    )


def acting_jurisdiction(state: CaseState) -> str:
    """Where an officer must stand to act on the case: the office it was reported up to while it waits
    there, else the case's own jurisdiction."""
    if waits_below_district(state) and state.escalated_to is not None:
        return state.escalated_to
    return state.jurisdiction


def needs_lead_office(state: CaseState) -> bool:
    """Cases reported up to the district, transferred and key cases are decided by the district lead
    office (an escalation without a level, written before levels were recorded, went to the district)."""
    return (
        state.key_case
        or state.status == CaseStatus.TRANSFERRED
        or (state.status == CaseStatus.ESCALATED and not waits_below_district(state))
        or state.police is not None
    )


def roles_for(command: str, state: CaseState) -> tuple[Role, ...]:
    """The roles that may issue ``command`` on the case as it stands."""
    if command in POLICE_ONLY:
        return (R.POLICE,)
    if command in LEAD_ONLY or needs_lead_office(state):
        return LEAD
    return OFFICE


def require_department(principal: Principal, state: CaseState) -> None:
    """A sector department acts only on cases routed to it (its department is the responsible one)."""
    if principal.role is not R.SECTOR_DEPARTMENT:
        return
    if principal.department is None or principal.department != state.responsible_department:
        raise Forbidden("this case is not routed to your department", rule="department-routing")


def require_reporter_reader(principal: Principal, state: CaseState | None, *, can_read: bool) -> CaseState:
    """May ``principal`` open the reporter's identity of the case (``can_read``: it may read the case)?

    One refusal for everything else — another role, a case elsewhere or unknown, the police before the
    transfer — so the answer never tells whether the case exists or names a reporter.
    """
    refused = Forbidden(NOT_ENTITLED, rule="reporter-identity-roles")
    if principal.role not in REPORTER_READERS or state is None or not can_read:
        raise refused
    if principal.role is R.POLICE and not state.transferred_to_police:
        raise refused
    return state
