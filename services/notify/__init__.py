"""Notify: turns case events into deliveries to the systems that must act on them.

Escalations and closures are matched against configured recipients (the district lead office, the
police, other regions' offices), stored as one delivery per (event, recipient) in the same transaction
as the consumer position, and sent to each recipient's webhook, signed, retried with backoff, in case
order, with every attempt logged. A delivery that keeps failing is marked dead and dead-lettered.

The service reads top-down: ``domain`` (pure rules), ``entrypoints`` (routes, subscriber, background
loops, commands), ``adapters`` (its tables, the notifier, the channels), ``dependencies`` and
``bootstrap``. ``demo_receiver`` is a development tool, not part of the service: the stand-in for the
recipients' systems that ``make run`` starts (``deploy/bin/services.sh``).
"""
