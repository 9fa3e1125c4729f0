"""Settings every service reads from the environment (prefix ``CLUETRAIL_``), with documented defaults."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well-known secrets for a developer's machine only (``CLUETRAIL_ENVIRONMENT=local``); every other
# environment must bring its own and is refused with these.
DEVELOPMENT_REPORTER_KEY_BYTES = b"cluetrail-local-development-key!"
DEVELOPMENT_REPORTER_KEY = base64.b64encode(DEVELOPMENT_REPORTER_KEY_BYTES).decode()
DEVELOPMENT_AUTH_SECRET = "cluetrail-local-development-token-secret"
DEVELOPMENT_DATABASE_PASSWORD = "cluetrail"
# HS256 with a shorter secret can be brute-forced from one token (RFC 7518 §3.2 asks for 256 bits).
MIN_AUTH_SECRET_BYTES = 32

Environment = Literal["local", "test", "production"]
ENVIRONMENT_UNSET = (
    "CLUETRAIL_ENVIRONMENT is not set: set it to local on a developer's machine (development keys, "
    "secrets and database password allowed), or test or production for a deployment (refused)"
)


def decode_reporter_keys(keys_json: str) -> dict[str, bytes]:
    """The reporter keys of ``CLUETRAIL_REPORTER_KEYS`` as the bytes that seal with them: a JSON object
    {key_id: base64 key}, decoded as the sealer decodes it (JSON escapes, padding and line breaks in the
    base64 text do not make another key)."""
    raw = json.loads(keys_json)
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ValueError("CLUETRAIL_REPORTER_KEYS must be a JSON object {key_id: base64 key}")
    return {key_id: base64.b64decode(value) for key_id, value in raw.items()}


class CommonSettings(BaseSettings):
    """What every service and the CLI share: where Kafka and PostgreSQL are, topic names, telemetry.

    A settings error never shows the values it was given (they hold secrets)."""

    model_config = SettingsConfigDict(env_prefix="CLUETRAIL_", extra="ignore", hide_input_in_errors=True)

    environment: Environment = Field(
        description="local (a developer's machine: development secrets allowed), test or production; "
        "required, so a deployment never runs with a developer's defaults by omission"
    )
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
    region: str = Field(
        "local",
        pattern=r"^[a-z][a-z0-9-]{1,40}$",
        description="This deployment's region (one Kafka cluster with its services): its alias in the "
        "regions file, also MirrorMaker's alias of the cluster (docs/regions.md)",
    )
    kafka_ssl_cafile: Path | None = Field(
        None,
        description="Speak TLS to Kafka, trusting the brokers' certificates signed by this authority (PEM; "
        "a Strimzi cluster's <cluster>-cluster-ca-cert ca.crt); unset: plain Kafka",
    )
    kafka_ssl_certfile: Path | None = Field(
        None,
        description="This service's client certificate (PEM; a Strimzi KafkaUser's user.crt): the brokers "
        "know the service by it and hold it to its ACLs; needs KAFKA_SSL_KEYFILE and KAFKA_SSL_CAFILE",
    )
    kafka_ssl_keyfile: Path | None = Field(
        None, description="The private key of KAFKA_SSL_CERTFILE (PEM; a Strimzi KafkaUser's user.key)"
    )
    kafka_replication_factor: int = Field(
        1,
        ge=1,
        le=7,
        description="Copies of each topic `cluetrail stack init` creates: 1 on one broker, 3 on a cluster "
        "(whose brokers require min.insync.replicas of 2)",
    )
    instance_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$",
        description="This replica's stable name (e.g. a StatefulSet pod's name): its consumers join their "
        "groups as static members under it, so a restart gets its partitions back without a rebalance; "
        "unset: dynamic membership",
    )
    regions_file: Path | None = Field(
        None, description="The regions and the provinces each serves; default: one region, the whole tree"
    )
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
    auth_token_max_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 31,
        description="Longest an access token may live (exp - iat): longer ones are neither issued nor "
        "accepted",
    )

    @model_validator(mode="before")
    @classmethod
    def _environment_is_named(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("environment"):
            raise ValueError(ENVIRONMENT_UNSET)
        return data

    @model_validator(mode="after")
    def _kafka_tls_whole(self) -> CommonSettings:
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("CLUETRAIL_KAFKA_SSL_CERTFILE and CLUETRAIL_KAFKA_SSL_KEYFILE go together")
        if self.kafka_ssl_certfile is not None and self.kafka_ssl_cafile is None:
            raise ValueError(
                "a client certificate (CLUETRAIL_KAFKA_SSL_CERTFILE) needs CLUETRAIL_KAFKA_SSL_CAFILE"
            )
        return self

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> CommonSettings:
        keys = decode_reporter_keys(self.reporter_keys)
        if self.reporter_key_id not in keys:
            raise ValueError(f"CLUETRAIL_REPORTER_KEY_ID {self.reporter_key_id!r} is not in REPORTER_KEYS")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"reporter key {key_id!r} must be 32 bytes (AES-256), got {len(key)}")
        if self.environment == "local":
            return self
        problems = [
            f"CLUETRAIL_REPORTER_KEYS key {key_id!r} is the development key"
            for key_id, key in keys.items()
            if key == DEVELOPMENT_REPORTER_KEY_BYTES
        ]
        secret = self.auth_secret.strip().encode()
        if DEVELOPMENT_AUTH_SECRET.encode() in secret:
            problems.append("CLUETRAIL_AUTH_SECRET is the development secret")
        elif len(secret) < MIN_AUTH_SECRET_BYTES:
            problems.append(f"CLUETRAIL_AUTH_SECRET is shorter than {MIN_AUTH_SECRET_BYTES} bytes")
        if urlsplit(self.database_url).password == DEVELOPMENT_DATABASE_PASSWORD:
            problems.append("CLUETRAIL_DATABASE_URL has the development database password")
        if problems:
            raise ValueError(
                f"in the {self.environment} environment: {'; '.join(problems)} "
                "(allowed only with CLUETRAIL_ENVIRONMENT=local)"
            )
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

    def peer_topic(self, peer: str, topic: str) -> str:
        """Where MirrorMaker 2 puts ``topic`` of region ``peer`` in this region's cluster
        (``DefaultReplicationPolicy``: ``<peer alias>.<topic>``)."""
        return f"{peer}.{topic}"

    def database_for(self, service: str) -> str:
        """DSN of a service's own database: same server, database ``{prefix}_{service}``."""
        base, _, _ = self.database_url.rpartition("/")
        return f"{base}/{self.database_prefix}_{service}"


class ServiceSettings(CommonSettings):
    """Settings of a running service; each service subclasses it with its own fields."""

    host: str = "127.0.0.1"
    port: int = 8000
    consumer_batch: int = Field(500, ge=1, le=10_000, description="Max records per consume batch")
    background_gather_ms: int = Field(
        500,
        ge=0,
        le=10_000,
        description="How long the broker gathers records for the consumers no one waits on from moment to "
        "moment (notify's notices, intake's receipts) before it answers their fetch",
    )
    shutdown_grace_seconds: float = 15.0
    access_log: bool = Field(False, description="Log every HTTP request (costs throughput; off by default)")
    workers: int = Field(
        1,
        ge=1,
        le=64,
        validation_alias="CLUETRAIL_WORKERS",
        description="Worker processes on the service's port, each a replica of its consumers; at most the "
        "cores",
    )

    @model_validator(mode="after")
    def _one_process_per_instance_id(self) -> ServiceSettings:
        if self.workers > 1 and self.instance_id is not None:
            raise ValueError(
                "CLUETRAIL_INSTANCE_ID names one process of a consumer group, but CLUETRAIL_WORKERS starts "
                f"{self.workers}: run one worker per instance (a replica each), or leave the id unset"
            )
        return self

    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest request body the service reads; a larger one is refused with 413",
    )
    database_timeout_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest a request waits for a database connection, connecting included, before it is "
        "answered 503 (a server that does not answer at all would hold it a minute)",
    )
