"""Who may do what to a case (issue 3, officers and access), on top of the jurisdiction rule of
``cluetrail.auth.AccessPolicy``.

Grid workers only report (through intake). Street officers determine, record measures, escalate and close
ordinary cases in their subtree. District lead officers decide what is disputed, escalated, transferred or
key, and alone write off, reopen, hand off, merge, split and reward. A sector department acts on the cases
routed to its department. The police accept or return what was transferred to them. Auditors read only.

The checks run in an order that never tells a caller more than it may know: first the jurisdiction (a case
outside the caller's subtree — or one that does not exist — gets the same 403), then the role.
"""

from __future__ import annotations

from cluetrail.auth import Principal, Role
from cluetrail.errors import Forbidden
from contracts.vocabulary import CaseStatus, Determination
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


def needs_lead_office(state: CaseState) -> bool:
    """Disputed, escalated, transferred and key cases are decided by the district lead office."""
    return (
        state.key_case
        or state.status in (CaseStatus.ESCALATED, CaseStatus.TRANSFERRED)
        or state.determination == Determination.DISPUTED
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
