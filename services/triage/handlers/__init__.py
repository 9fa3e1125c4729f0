"""Triage's handlers: the case-log subscriber (``consumer``) and the officers' HTTP routes (``http``)."""
