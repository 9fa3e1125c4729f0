"""Triage's settings (environment, prefix ``CLUETRAIL_``), on top of what every service reads."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from cluetrail.settings import ServiceSettings


class TriageSettings(ServiceSettings):
    """Where triage listens, which grading rule set it applies, and how long officers wait for Kafka."""

    port: int = Field(8002, validation_alias="CLUETRAIL_TRIAGE_PORT")
    rules_file: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_TRIAGE_RULES_FILE",
        description="Grading rule set (JSON); default: the bundled triage-rules/2026.2",
    )
    classification_file: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_TRIAGE_CLASSIFICATION_FILE",
        description="Phrase rules for classification suggestions; default: the bundled classification/2026.1",
    )
    district_rules_dir: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_TRIAGE_DISTRICT_RULES_DIR",
        description="Folder of <district>.json rule files, each replacing the bundled one of its district",
    )
    write_off_file: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_TRIAGE_WRITE_OFF_FILE",
        description="Quiet periods before a write-off (销号) by the result it rests on; default the bundled "
        "write-off-2026.1.json",
    )
    write_off_quiet_days: int | None = Field(
        None,
        ge=0,
        le=3650,
        validation_alias="CLUETRAIL_TRIAGE_WRITE_OFF_QUIET_DAYS",
        description="One quiet period for every result instead of the file's (drills and tests)",
    )
    key_case_leader: str = Field(
        "区政府分管副区长",
        min_length=1,
        max_length=200,
        validation_alias="CLUETRAIL_TRIAGE_KEY_CASE_LEADER",
        description="Role title of the leader who supervises key cases (领导包案); never a person's name",
    )
    region_private_key: SecretStr | None = Field(
        None,
        validation_alias="CLUETRAIL_REGION_PRIVATE_KEY",
        description="This region's X25519 private key (base64 of 32 bytes): opens reporter identities other "
        "regions sealed for it; needed when the deployment has several regions",
    )
    region_keys_file: Path | None = Field(
        None,
        validation_alias="CLUETRAIL_REGION_KEYS_FILE",
        description="JSON {region alias: base64 X25519 public key} of the other regions, to seal a "
        "handed-off case's reporter identity for the receiving one",
    )
    publish_timeout_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias="CLUETRAIL_TRIAGE_PUBLISH_TIMEOUT_SECONDS",
        description="How long an officer's request waits for Kafka before answering 202 with status "
        "pending (the event stays in the outbox and is published as soon as Kafka answers)",
    )
    notify_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s]+$",
        validation_alias="CLUETRAIL_TRIAGE_NOTIFY_URL",
        description="notify's address, from which the workspace's inbox reads the notices waiting for an "
        "acknowledgement in the officer's part of the tree (with the officer's own token); unset: the "
        "inbox leaves them out",
    )
    anchor_seconds: float = Field(
        5.0,
        gt=0,
        le=3600,
        validation_alias="CLUETRAIL_TRIAGE_ANCHOR_SECONDS",
        description="How often triage anchors the chain heads of the cases its region wrote that moved "
        "since its last anchor (<prefix>.anchors; none is written while nothing moved)",
    )
