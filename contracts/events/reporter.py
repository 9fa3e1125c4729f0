"""What concerns a clue's reporter after the report: a reward (``reward-granted``, 举报奖励) and each
reading of the sealed identity (``reporter-identity-viewed``, 留痕)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field

from contracts.codes import JurisdictionCode
from contracts.envelope import Envelope
from contracts.events.common import LongText, _Strict


class RewardGrantedPayload(_Strict):
    """A reward granted to the case's reporter (举报奖励, 快查快奖)."""

    amount_yuan: Annotated[int, Field(gt=0, le=10**9, description="Reward in whole yuan.")]
    basis: LongText
    verified_in_case_id: uuid.UUID | None = Field(
        default=None, description="The case the clue was verified in, when it was merged into another."
    )


class ReporterIdentityViewedPayload(_Strict):
    """Someone opened the sealed reporter identity (留痕): the actor says who, ``occurred_at`` when, and
    ``purpose`` why. The identity itself is never written here."""

    purpose: LongText
    viewer_jurisdiction: JurisdictionCode


class RewardGranted(Envelope):
    """A reward was granted to the case's reporter."""

    type: Literal["reward-granted"] = "reward-granted"
    schema_version: Literal[1] = 1
    payload: RewardGrantedPayload


class ReporterIdentityViewed(Envelope):
    """An entitled officer read the reporter's identity; the history shows who, when and why."""

    type: Literal["reporter-identity-viewed"] = "reporter-identity-viewed"
    schema_version: Literal[1] = 1
    payload: ReporterIdentityViewedPayload
