"""Run intake: ``python -m services.intake``."""

from cluetrail.service import run
from services.intake.bootstrap import create_app
from services.intake.settings import IntakeSettings

settings = IntakeSettings()
run(create_app, settings)
