"""Triage's pure rules: the fold of a case's events into its state, the grading rule set, the automatic
reactions and the officers' decisions. Nothing here does I/O."""
