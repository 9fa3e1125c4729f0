"""Settings of the reporting service and its operator commands (prefix ``CLUETRAIL_``)."""

from __future__ import annotations

from pydantic import Field

from cluetrail.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Where reporting listens and how rebuilds are batched."""

    port: int = Field(8003, validation_alias="CLUETRAIL_REPORTING_PORT")
    rebuild_batch: int = Field(
        5000, ge=100, le=100_000, description="Records applied per transaction by cluetrail rebuild"
    )
    rebuild_final_lag: int = Field(
        2000,
        ge=0,
        description="Rebuild catches up without the lock until fewer records than this remain, then locks",
    )
