"""Intake's settings (environment, prefix ``CLUETRAIL_``), on top of what every service reads."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from cluetrail.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    """Where intake listens and the limits it applies to submissions."""

    port: int = Field(8001, validation_alias="CLUETRAIL_INTAKE_PORT")
    max_body_bytes: int = Field(
        256 * 1024,
        ge=1024,
        validation_alias=AliasChoices("CLUETRAIL_INTAKE_MAX_BODY_BYTES", "CLUETRAIL_MAX_BODY_BYTES"),
        description="Largest request body intake reads (a clue is a few KB); larger bodies get 413",
    )
    publish_timeout_seconds: float = Field(
        5.0,
        gt=0,
        validation_alias="CLUETRAIL_INTAKE_PUBLISH_TIMEOUT_SECONDS",
        description="How long a submission waits for Kafka's acknowledgement before answering 202 with "
        "status pending (the clue is stored and published as soon as Kafka answers)",
    )
    evidence_max_bytes: int = Field(
        5 * 1024 * 1024,
        ge=1024,
        validation_alias="CLUETRAIL_INTAKE_EVIDENCE_MAX_BYTES",
        description="Largest evidence file the public reporting page keeps (a photograph, a PDF); a larger "
        "one is refused beside the field",
    )
    evidence_max_files: int = Field(
        5,
        ge=0,
        le=50,
        validation_alias="CLUETRAIL_INTAKE_EVIDENCE_MAX_FILES",
        description="How many evidence files one report on the public page may carry",
    )

    @property
    def report_form_max_bytes(self) -> int:
        """The largest body of the public reporting form: its evidence files and the clue itself."""
        return self.evidence_max_files * self.evidence_max_bytes + self.max_body_bytes
