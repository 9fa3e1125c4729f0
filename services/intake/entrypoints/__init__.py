"""How intake is reached: its HTTP routes (``http``), its Kafka subscribers (``consumers``) and its
operator command (``cli``)."""
