"""Two regions on two Kafka clusters joined by MirrorMaker 2 (docs/regions.md), on real brokers."""
