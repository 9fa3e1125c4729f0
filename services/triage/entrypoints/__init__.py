"""How triage is reached: its HTTP routes (``http``), its Kafka subscriber of the case log (``consumers``)
and its operator commands (``cli``)."""
