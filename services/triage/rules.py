"""Loading the grading rule set a deployment uses (validated at start-up, naming the bad entry)."""

from __future__ import annotations

from importlib import resources

from services.triage.domain.grading import RuleSet, load_rule_set
from services.triage.settings import TriageSettings

DEFAULT_RULES = "triage-rules-2026.1.json"


def rule_set_for(settings: TriageSettings) -> RuleSet:
    """The rule set named by ``CLUETRAIL_TRIAGE_RULES_FILE``, else the bundled triage-rules/2026.1."""
    if settings.rules_file is not None:
        return load_rule_set(settings.rules_file.read_text(encoding="utf-8"), str(settings.rules_file))
    text = resources.files("services.triage").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
    return load_rule_set(text, f"services/triage/{DEFAULT_RULES}")
