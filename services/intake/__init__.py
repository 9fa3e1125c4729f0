"""Intake: accepts risk clues over HTTP and by bulk import, validates them against the contract and the
jurisdiction tree, seals the reporter's identity, and publishes ``clue-reported`` (seq 1 of a new case) —
answering the reporter only once Kafka holds it durably. It also answers receipt-code look-ups from its
own projection of the case log (consumer group ``intake-receipts``)."""
