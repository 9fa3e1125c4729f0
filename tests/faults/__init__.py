"""``make faults``: the pipeline under a steady load of clues, through crashes and outages.

On a Kafka broker and a PostgreSQL server of its own (``var/faults``, other ports), started and stopped
through ``deploy/bin/kafka.sh`` and ``deploy/bin/postgres.sh``, the suite runs the four services
(``tests.harness.Stack``) and, phase by phase, posts clues at a fixed rate while one fault strikes: intake,
triage, reporting or notify killed with SIGKILL and started again, the broker stopped (SIGTERM) or killed
(SIGKILL) and started again, PostgreSQL restarted. After each phase it checks that every clue intake
answered 202 is in reporting's ledger exactly once, that ``cluetrail audit verify`` passes, that nothing
was dead-lettered and that no notify delivery reached its receiver twice, and it measures how long the
fault lasted and how soon a clue posted after it reached the ledger and its recipients.
"""
