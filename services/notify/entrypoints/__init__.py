"""How notify is reached and how it acts: its HTTP routes (``http``), its Kafka subscriber (``consumers``),
the loops it runs by itself (``background``: the delivery worker and the reminder scheduler) and its operator
commands (``cli``)."""
