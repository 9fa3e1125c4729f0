"""Reporting's HTTP routes, one module per resource: ``cases`` (the ledger and each case: its row, history
and events), ``notices`` (notify's notices about a case), ``stats`` (grade counts), ``reports`` (the
tables as JSON), ``exports`` (the tables as XLSX or CSV), ``submissions`` (submitted months),
``projections`` (as-of projections) and ``dashboard`` (the officials' pages). Beside them, without routes:
``reading`` (what the read routes share), ``pages`` (the dashboard's templates and error pages) and
``charts`` (its SVG charts)."""

from services.reporting.entrypoints.http import (
    cases,
    dashboard,
    exports,
    notices,
    projections,
    reports,
    stats,
    submissions,
)

# Starlette tries them in this order: POST /v1/reports/submissions is met before /v1/reports/{table}, so a
# request to it with another method is answered 405 with Allow: POST.
ROUTERS = [
    cases.router,
    notices.router,
    stats.router,
    submissions.router,
    reports.router,
    exports.router,
    projections.router,
    dashboard.router,
]
