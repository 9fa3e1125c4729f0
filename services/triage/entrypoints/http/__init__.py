"""Triage's HTTP routes, one module per resource of a case: ``handling`` (determination, classification,
escalation and transfer, measures, closing, reopening), ``write_off``, ``police``, ``key_cases``,
``handoff``, ``merging`` (merge and split), ``reward``, ``reads`` (the case, its trail, the referral bundle)
and ``reporter`` (the reporter's identity). ``commands`` records every command the same way; ``bodies``
holds the request and response bodies beyond ``contracts.api``. ``workspace`` is the officer's workspace in
the browser (with ``workspace_actions``, ``refusals`` and ``templates/``), taking the same commands."""

from services.triage.entrypoints.http import (
    handling,
    handoff,
    key_cases,
    merging,
    police,
    reads,
    reporter,
    reward,
    workspace,
    write_off,
)

ROUTERS = [
    handling.router,
    write_off.router,
    key_cases.router,
    police.router,
    handoff.router,
    merging.router,
    reward.router,
    reads.router,
    reporter.router,
    workspace.router,
]
