"""A three-broker KRaft cluster with replicas of every service, on real brokers."""
