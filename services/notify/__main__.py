"""Run the notify service: ``python -m services.notify``."""

from cluetrail.service import run
from services.notify.bootstrap import create_app
from services.notify.settings import NotifySettings

settings = NotifySettings()
run(create_app, settings)
