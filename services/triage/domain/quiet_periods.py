"""How long a risk must stay quiet before it is written off (风险销号), by the result it rests on.

The write-off needs a period without a new matching clue; how long depends on what the case turned out to
be: nothing found needs no wait, a violation waits out its rectification or the return of funds, a case the
police had waits longest. The periods are data (``write-off-<version>.json``), validated at start-up: every
result a write-off can rest on has exactly one period, and an unknown result is refused by name.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from contracts.vocabulary import Determination, Outcome

# What a write-off can rest on: a closing's outcome, or a determination that says what the case is.
WRITE_OFF_RESULTS = frozenset(
    {o.value for o in Outcome if o not in (Outcome.MERGED, Outcome.WRITTEN_OFF)}
    | {d.value for d in Determination if d not in (Determination.DISPUTED, Determination.UNDETERMINED)}
)
Days = Annotated[int, Field(ge=0, le=3650)]


class QuietPeriodsError(ValueError):
    """A write-off file that cannot be used; the message names the file and the entry."""


class QuietPeriods(BaseModel):
    """The quiet period before a write-off, in days, for each result it can rest on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1, max_length=64)]
    description: str = ""
    quiet_period_days: dict[str, Days]

    @model_validator(mode="after")
    def _every_result_once(self) -> QuietPeriods:
        unknown = sorted(set(self.quiet_period_days) - WRITE_OFF_RESULTS)
        if unknown:
            raise ValueError(
                f"quiet_period_days.{unknown[0]}: not a result a write-off rests on "
                f"(one of {', '.join(sorted(WRITE_OFF_RESULTS))})"
            )
        missing = sorted(WRITE_OFF_RESULTS - set(self.quiet_period_days))
        if missing:
            raise ValueError(f"quiet_period_days.{missing[0]}: missing; every result needs its period")
        return self

    def days_for(self, result: str) -> int:
        """The quiet period of a write-off resting on ``result``."""
        return self.quiet_period_days[result]

    @classmethod
    def uniform(cls, days: int, version: str = "uniform") -> QuietPeriods:
        """The same period for every result (a drill, a test, or a deployment that wants one rule)."""
        return cls(version=version, quiet_period_days=dict.fromkeys(sorted(WRITE_OFF_RESULTS), days))


def load_quiet_periods(text: str, origin: str) -> QuietPeriods:
    """Parse and validate a write-off file; ``QuietPeriodsError`` names the file and the bad entry."""
    try:
        return QuietPeriods.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        reason = str(first["msg"]).removeprefix("Value error, ")
        where = ".".join(str(p) for p in first["loc"])
        # The file-wide checks name their entry in the reason itself.
        raise QuietPeriodsError(f"{origin}: {where}: {reason}" if where else f"{origin}: {reason}") from None
