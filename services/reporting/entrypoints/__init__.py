"""How reporting is reached: its HTTP routes and dashboard (``http``), its Kafka subscribers
(``consumers``) and its operator commands (``cli``)."""
