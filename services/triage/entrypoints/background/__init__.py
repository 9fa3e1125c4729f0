"""What triage does without being asked: ``anchors``, the loop that publishes this region's chain-head
anchors, started with the service (``bootstrap``) and stopped with it."""
