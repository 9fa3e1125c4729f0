"""Generates the JSON Schemas in ``contracts/schemas/`` from the pydantic models.

Run ``python -m contracts.schema_gen`` after changing a contract; a test fails when the files drift.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from contracts import api
from contracts.anchors import Anchor
from contracts.events import EVENT_CLASSES
from contracts.notices import Notice
from contracts.reporting_calendar import ReportingCalendarData
from contracts.reports import ReportSubmitted

SCHEMA_DIR = Path(__file__).parent / "schemas"
API_MODELS: tuple[type[BaseModel], ...] = (
    api.ClueSubmission,
    api.ClueAccepted,
    api.ReceiptStatus,
    api.DeterminationRequest,
    api.CloseRequest,
    api.EventAccepted,
    api.LedgerRow,
    api.LedgerPage,
    api.HistoryEntry,
    api.ProblemDetail,
)


def rendered_schemas() -> dict[str, str]:
    """File name -> schema text, for every event type (by version) and API body."""
    documents: dict[str, dict[str, Any]] = {}
    for event_type, cls in EVENT_CLASSES.items():
        version = cls.model_fields["schema_version"].default
        documents[f"event.{event_type}.v{version}.json"] = cls.model_json_schema()
    documents[f"notice.v{Notice.model_fields['schema_version'].default}.json"] = Notice.model_json_schema()
    documents[f"anchor.v{Anchor.model_fields['schema_version'].default}.json"] = Anchor.model_json_schema()
    documents["report-submitted.v1.json"] = ReportSubmitted.model_json_schema()
    documents["reporting-calendar.v1.json"] = ReportingCalendarData.model_json_schema()
    for model in API_MODELS:
        documents[f"api.{model.__name__}.json"] = model.model_json_schema()
    return {
        name: json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        for name, doc in documents.items()
    }


def main() -> int:
    SCHEMA_DIR.mkdir(exist_ok=True)
    wanted = rendered_schemas()
    for stale in SCHEMA_DIR.glob("*.json"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (SCHEMA_DIR / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(wanted)} schemas to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
