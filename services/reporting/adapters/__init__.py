"""Reporting's own database: projection versions, applying events to them, reading them."""
