"""Triage's own tables, each behind a repository of functions taking a connection (``cases``, ``subjects``,
``meta``), SQL in ``sql/``; and ``rules``, the loader of its data files."""

from cluetrail.sqlfiles import SqlFiles

SQL = SqlFiles("services.triage")
