"""Settings every service reads from the environment (prefix ``CLUETRAIL_``), with documented defaults."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# A well-known key for local runs and tests only; a production deployment must bring its own.
DEVELOPMENT_REPORTER_KEY = base64.b64encode(b"cluetrail-local-development-key!").decode()
DEVELOPMENT_AUTH_SECRET = "cluetrail-local-development-token-secret"


class CommonSettings(BaseSettings):
    """What every service and the CLI share: where Kafka and PostgreSQL are, topic names, telemetry."""

    model_config = SettingsConfigDict(env_prefix="CLUETRAIL_", extra="ignore")

    environment: Literal["local", "test", "production"] = "local"
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers, host:port[,…]")
    topic_prefix: str = Field("cluetrail", pattern=r"^[A-Za-z0-9._-]+$")
    case_partitions: int = Field(6, ge=1, le=1000, description="Partitions of the case-events topic")
    database_url: str = Field(
        "postgresql://cluetrail:cluetrail@127.0.0.1:55432/cluetrail",
        description="Server and credentials; each service uses its own database on that server",
    )
    database_prefix: str = Field("cluetrail", pattern=r"^[a-z][a-z0-9_]*$")
    otel_exporter: Literal["none", "console", "otlp"] = "none"
    otel_console_file: Path | None = Field(None, description="Write console spans here, not stdout")
    jurisdictions_file: Path | None = Field(None, description="Jurisdiction tree; default: bundled data")
    reporting_calendar_file: Path | None = Field(
        None, description="Monthly reporting due days per level and jurisdiction; default: bundled data"
    )
    reporter_keys: str = Field(
        json.dumps({"dev-1": DEVELOPMENT_REPORTER_KEY}),
        description="JSON object {key_id: base64 AES-256 key} sealing reporter identities",
    )
    reporter_key_id: str = "dev-1"
    auth_secret: str = Field(
        DEVELOPMENT_AUTH_SECRET, min_length=32, description="HMAC secret signing officers' access tokens"
    )
    auth_issuer: str = "cluetrail"

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> CommonSettings:
        if self.environment == "production" and DEVELOPMENT_REPORTER_KEY in self.reporter_keys:
            raise ValueError("CLUETRAIL_REPORTER_KEYS still holds the development key in production")
        if self.environment == "production" and self.auth_secret == DEVELOPMENT_AUTH_SECRET:
            raise ValueError("CLUETRAIL_AUTH_SECRET is still the development secret in production")
        if self.reporter_key_id not in json.loads(self.reporter_keys):
            raise ValueError(f"CLUETRAIL_REPORTER_KEY_ID {self.reporter_key_id!r} is not in REPORTER_KEYS")
        return self

    @property
    def case_topic(self) -> str:
        return f"{self.topic_prefix}.case-events"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.topic_prefix}.dead-letter"

    def consumer_group(self, name: str) -> str:
        """Kafka group id of a consumer: scoped by the topic prefix, so deployments sharing a broker
        (regions in one cluster, test runs) never rebalance each other."""
        return f"{self.topic_prefix}.{name}"

    def database_for(self, service: str) -> str:
        """DSN of a service's own database: same server, database ``{prefix}_{service}``."""
        base, _, _ = self.database_url.rpartition("/")
        return f"{base}/{self.database_prefix}_{service}"


class ServiceSettings(CommonSettings):
    """Settings of a running service; each service subclasses it with its own fields."""

    host: str = "127.0.0.1"
    port: int = 8000
    consumer_batch: int = Field(500, ge=1, le=10_000, description="Max records per consume batch")
    shutdown_grace_seconds: float = 15.0
    access_log: bool = Field(False, description="Log every HTTP request (costs throughput; off by default)")
