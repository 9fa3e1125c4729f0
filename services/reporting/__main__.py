"""``python -m services.reporting``: serve the ledger API and run the live projection consumer."""

from cluetrail.service import run
from services.reporting.bootstrap import create_app
from services.reporting.settings import ReportingSettings

settings = ReportingSettings()
run(create_app, settings)
