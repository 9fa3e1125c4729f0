"""Notify's HTTP routes, one module per resource: ``deliveries`` (the delivery log), ``resend``,
``acknowledgements`` (the recipient's link) and ``notices`` (a case's notices with their hashes)."""

from services.notify.entrypoints.http import acknowledgements, deliveries, notices, resend

ROUTERS = [deliveries.router, resend.router, acknowledgements.router, notices.router]
