"""Infrastructure shared by the cluetrail services, written once: settings, Kafka, PostgreSQL, the
exactly-once consume loop, dead letters, telemetry, field encryption, HTTP plumbing and the CLI."""
