"""Notify's own tables, each behind a repository of functions taking a connection (``deliveries``,
``sending``, ``acknowledgements``, ``cases``, ``notices``, ``delivery_start``), SQL in ``sql/``; the
``notifier``, which writes notices and the deliveries they make; and the ``channels`` a notice goes out on
(webhook, e-mail, SMS)."""

from cluetrail.sqlfiles import SqlFiles

SQL = SqlFiles("services.notify")
