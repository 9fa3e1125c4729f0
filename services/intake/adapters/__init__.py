"""Intake's own tables, each behind a repository of functions taking a connection; SQL in ``sql/``."""

from cluetrail.sqlfiles import SqlFiles

SQL = SqlFiles("services.intake")
