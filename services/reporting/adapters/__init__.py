"""Reporting's own tables, each behind a repository of functions taking a connection; SQL in ``sql/``.

The projection versions (``versions``: schemas ``ledger_vN`` and ``ledger_asof_<stamp>`` from
``sql/templates/projection.sql``), what is applied to them (``projector``: case events; ``notices``:
notify's notices), what is read from them (``reads``, ``reports``: the named tables), how they are
rebuilt (``rebuild``, ``builder``, ``shares`` and ``sharing``, ``builds``) and how long as-of ones are kept
(``retention``); the submitted months (``submissions``); and the case log itself, read back where the
projection recorded it (``log``).
"""

from cluetrail.sqlfiles import SqlFiles

SQL = SqlFiles("services.reporting")
