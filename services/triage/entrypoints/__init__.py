"""How triage is reached: its HTTP routes, its Kafka subscribers and its operator commands (``cli``)."""
