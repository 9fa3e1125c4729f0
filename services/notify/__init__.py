"""Notify: turns case events into deliveries to the systems that must act on them.

Escalations and closures are matched against configured recipients (the district lead office, the
police, other regions' offices), stored as one delivery per (event, recipient) in the same transaction
as the consumer position, and sent to each recipient's webhook, signed, retried with backoff, in case
order, with every attempt logged. A delivery that keeps failing is marked dead and dead-lettered.
"""
