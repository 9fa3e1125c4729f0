"""Run triage: ``python -m services.triage``."""

from cluetrail.service import run
from services.triage.bootstrap import create_app
from services.triage.settings import TriageSettings

settings = TriageSettings()
run(create_app, settings)
