"""How notify acts without being asked: its background loops, started with the service (``bootstrap``) and
stopped with it, entrypoints as much as a route or a subscriber are.

- ``worker``: the delivery worker, whose senders send due deliveries, retry and dead-letter them, and which
  also runs the ``dead_letters`` publisher (dead letters and the alerts they raise) and the ``notices``
  publisher (notify's notices onto the notices topic, in stream order);
- ``scheduler``: reminders, deadlines and unacknowledged notices, recorded as notices on notify's clock.

Each loop retries a failing step after a pause and logs an outage once when it begins and once when it
ends (``cluetrail.logs.Outage``), not on every retry.
"""
