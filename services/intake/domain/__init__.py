"""Intake's pure rules: what makes a clue acceptable, the event it becomes, the receipt status a reporter
sees, and how bulk-import rows map onto a clue submission. No I/O here."""
