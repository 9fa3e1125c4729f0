"""Contracts shared by all cluetrail services: events, the envelope and hash chain, API bodies."""
