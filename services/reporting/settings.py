"""Settings of the reporting service and its operator commands (prefix ``CLUETRAIL_``)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from cluetrail.settings import ServiceSettings


class ReportingSettings(ServiceSettings):
    """Where reporting listens, how rebuilds are batched, how many as-of projections are kept and how long."""

    port: int = Field(8003, validation_alias="CLUETRAIL_REPORTING_PORT")
    rebuild_batch: int = Field(
        5000, ge=100, le=100_000, description="Records applied per transaction by cluetrail rebuild"
    )
    replay_shares: int = Field(
        2,
        ge=1,
        le=64,
        description="Processes that fold the case log's partitions side by side in a build's first pass "
        "(1: the build's own process reads them all)",
    )
    rebuild_final_lag: int = Field(
        2000,
        ge=0,
        description="Rebuild catches up without the lock until fewer records than this remain, then locks",
    )
    as_of_keep: int = Field(
        10,
        ge=1,
        le=1000,
        description="As-of projections kept at most; a build of one more drops the oldest finished ones",
    )
    as_of_max_age_days: int = Field(
        30,
        ge=1,
        description="As-of projections built longer ago than this many days are dropped (hourly, when a "
        "build starts, and by cluetrail as-of prune)",
    )

    @property
    def as_of_max_age(self) -> timedelta:
        return timedelta(days=self.as_of_max_age_days)
