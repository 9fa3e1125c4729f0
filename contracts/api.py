"""Request and response bodies of the services' HTTP APIs.

A request body is held exactly to its published JSON Schema (strict mode): an integer is a JSON integer,
never ``true`` or ``"1000000"``; an instant is an RFC 3339 string, never a number; text a person types
holds no control characters (``Line``, ``Prose``).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    StringConstraints,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from contracts.codes import CreditCode, JurisdictionCode
from contracts.envelope import Sha256Hex
from contracts.events import LongText, ShortText, Yuan
from contracts.vocabulary import (
    CaseStatus,
    ClueSource,
    Determination,
    Grade,
    Measure,
    Outcome,
    RegionHandoff,
    RiskFlag,
    SubjectKind,
)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,40}$")]

# JSON gives enumerations and identifiers as strings. FastAPI validates a body as the Python objects
# ``json.loads`` made of it, where strict mode would want the enum or UUID itself: such fields accept their
# string form (and nothing else: they are strings in the schema).
FROM_TEXT = Strict(False)


def _not_a_number(value: object) -> object:
    if isinstance(value, int | float):  # bool too
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 date-time string")
    return value


# An instant with its offset, as RFC 3339 text (lax mode would read a number as seconds since 1970).
Instant = Annotated[AwareDatetime, FROM_TEXT, BeforeValidator(_not_a_number)]


# Invisible characters that change how text reads: line and paragraph separators (str.splitlines and
# many readers end a line there) and the bidirectional controls that reorder what follows them (a name
# with U+202E prints backwards, spoofing another name in an export or a notice).
INVISIBLE_FORMATTING = [(0x2028, 0x202E), (0x2066, 0x2069)]


@dataclass(frozen=True)
class NoControlCharacters:
    """Refuses control characters (Unicode Cc: U+0000-U+001F, U+007F-U+009F) but those ``allowed``, and the
    line separators and direction controls of ``INVISIBLE_FORMATTING``, and says so in the JSON Schema
    (``pattern``). They are never typed by a person: they corrupt exports, terminals and logs, and hide
    text (a name with U+0008 or U+202E in it prints as another name)."""

    allowed: str = ""

    @property
    def refused(self) -> str:
        """The refused characters as a regular expression class, in a syntax ECMA and Rust share."""
        return _refused_class(self.allowed)

    def check(self, value: str) -> str:
        found = _refused_pattern(self.allowed).search(value)
        if found is not None:
            allowed = " (only tab and line breaks are allowed)" if self.allowed else ""
            raise PydanticCustomError(
                "control_character",
                "must not contain control, line-separator or text-direction characters: U+{code} at "
                "position {position}{allowed}",
                {"code": f"{ord(found.group()):04X}", "position": found.start(), "allowed": allowed},
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = f"^[^{self.refused}]*$"
        return json_schema


def _point(code: int) -> str:
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"


@cache
def _refused_class(allowed: str) -> str:
    ranges = [(0x00, 0x1F), (0x7F, 0x9F), *INVISIBLE_FORMATTING]
    points = [c for lo, hi in ranges for c in range(lo, hi + 1) if chr(c) not in allowed]
    runs: list[list[int]] = []
    for c in points:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "".join(_point(lo) if lo == hi else f"{_point(lo)}-{_point(hi)}" for lo, hi in runs)


@cache
def _refused_pattern(allowed: str) -> re.Pattern[str]:
    # Compiled once: every text field of every request is checked with it.
    return re.compile(f"[{_refused_class(allowed)}]")


# A line of text a person types (a name, an address, a file name): no control characters at all.
Line = Annotated[ShortText, NoControlCharacters()]
# Free text (a description, a basis): tab and line breaks (CR, LF) are kept, no other control character.
Prose = Annotated[LongText, NoControlCharacters(allowed="\t\n\r")]


def nul_at(value: object, path: str = "") -> str | None:
    """Where in ``value`` (a parsed JSON body) text holds U+0000, as a dotted path, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if "\x00" in str(key):
            return where
        found = nul_at(item, where)
        if found is not None:
            return found
    return None


class _Request(BaseModel):
    """A request body: unknown fields refused, every field strict (as its JSON Schema says), and no input
    value quoted in a validation error (a body carries a reporter's name and phone)."""

    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        """PostgreSQL text cannot hold U+0000: an event carrying it would be accepted, then refused by
        every projection that reads it (and the case's later events with it), so it is refused here."""
        where = nul_at(data)
        if where is not None:
            raise ValueError(f"{where or 'body'}: text must not contain the NUL character (U+0000)")
        return data


class ReporterIdentity(_Request):
    """Who reported, when not anonymous. Sealed by intake before anything is published."""

    name: Line
    phone: Annotated[str, StringConstraints(pattern=r"^[0-9+\- ]{3,20}$")] | None = None
    contact: Line | None = None


class SubjectSubmission(_Request):
    """The party a clue is about, as submitted (recorded as the event's ``Subject``)."""

    kind: Annotated[SubjectKind, FROM_TEXT]
    name: Line
    credit_code: CreditCode | None = Field(default=None, description="统一社会信用代码, GB 32100")
    address: Line | None = None
    legal_representative: Line | None = None


class EvidenceSubmission(_Request):
    """A piece of evidence held outside the log, by the SHA-256 of its content (recorded as
    ``EvidenceRef``)."""

    sha256: Sha256Hex
    media_type: Annotated[str, StringConstraints(max_length=100), NoControlCharacters()]
    filename: Annotated[str, StringConstraints(max_length=200), NoControlCharacters()] | None = None
    size_bytes: int = Field(ge=0)


class ClueSubmission(_Request):
    """A risk clue as a reporter or grid worker submits it to intake (POST /v1/clues)."""

    jurisdiction: JurisdictionCode
    source: Annotated[ClueSource, FROM_TEXT]
    subject: SubjectSubmission
    description: Prose
    sector: Code | None = None
    behaviours: list[Code] = Field(default_factory=list, max_length=20)
    estimated_amount_yuan: Yuan | None = None
    participants: int | None = Field(default=None, ge=0, le=10**9)
    flags: list[Annotated[RiskFlag, FROM_TEXT]] = Field(default_factory=list, max_length=len(RiskFlag))
    regions_involved: list[JurisdictionCode] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceSubmission] = Field(default_factory=list, max_length=50)
    observed_at: Instant | None = Field(default=None, description="When the reporter saw it.")
    reporter: ReporterIdentity | None = None


# Where an accepted request stands: on the case log (Kafka acknowledged it, acks=all), or stored in the
# service's database and queued for the case log because Kafka did not answer in time. A pending one is
# published by the service's relay as soon as Kafka answers; a retry with the same Idempotency-Key (or a
# look at the receipt) tells when.
Publication = Literal["published", "pending"]


class ClueAccepted(BaseModel):
    """Intake's answer (202) to a clue it stored: ``published`` once Kafka holds it durably, ``pending``
    when Kafka did not answer within the wait (the clue is kept and goes to the case log when it does;
    never a second copy)."""

    case_id: uuid.UUID
    receipt_code: str
    event_id: uuid.UUID
    recorded_at: datetime
    status: Publication = "published"


ReceiptStage = Literal["received", "under_review", "in_handling", "closed", "merged"]


class ReceiptStep(BaseModel):
    """One change of a case's handling its reporter may see (办理进度): the stage and the day (Beijing),
    nothing of who handled it or how."""

    stage: Literal[
        "received", "under_review", "transferred", "in_handling", "closed", "reward_granted", "merged"
    ]
    label: str = Field(description="The stage in Chinese, e.g. 已移送公安机关")
    on: date


class ReceiptMessage(BaseModel):
    """A notice to the reporter (notify's ``reporter-update``): a Chinese text, the stage and the day."""

    text: str
    stage: str | None = None
    on: date


class ReceiptStatus(BaseModel):
    """What a reporter may see through a receipt code: the stage of handling and its history, the notices
    sent to the reporter, nothing else. A clue merged into another case (并案) shows that case's stage."""

    receipt_code: str
    status: ReceiptStage
    reward_granted: bool = Field(default=False, description="A reward (举报奖励) was granted for the clue.")
    updated_at: datetime
    history: list[ReceiptStep] = Field(
        default_factory=list, description="Reporter-visible changes, oldest first"
    )
    messages: list[ReceiptMessage] = Field(
        default_factory=list, description="Notices to the reporter, oldest first"
    )
    merged_case_status: Literal["received", "under_review", "in_handling", "closed"] | None = Field(
        default=None,
        description="For a merged clue: the stage of the case its subject is now handled in",
    )


class OfficerAction(_Request):
    """A command of an officer; who acts is the subject of the access token, never a field of the body."""


class DeterminationRequest(OfficerAction):
    """An officer's determination (研判定性): what the case is, on what basis, and the measures taken.

    ``summary`` is the case summary for the police: the district lead office that determines a suspected
    crime transfers the case at once, and a transfer needs it.
    """

    determination: Annotated[Determination, FROM_TEXT]
    basis: LongText
    measures: list[Annotated[Measure, FROM_TEXT]] = Field(default_factory=list, max_length=20)
    summary: LongText | None = Field(
        default=None,
        description="Case summary for the police referral; required when the district lead office "
        "determines suspected_crime.",
    )


class CloseRequest(OfficerAction):
    outcome: Annotated[Outcome, FROM_TEXT]
    summary: LongText
    recovered_amount_yuan: Yuan = 0


class EventAccepted(BaseModel):
    """An officer's action recorded as event ``seq`` of the case: ``published`` once Kafka holds it,
    ``pending`` when Kafka did not answer within the wait (recorded, and published when it does)."""

    case_id: uuid.UUID
    event_id: uuid.UUID
    seq: int
    type: str
    status: Publication = "published"


class LedgerRow(BaseModel):
    """One case in the dynamic management ledger (动态管理台账)."""

    case_id: uuid.UUID
    jurisdiction: str
    status: CaseStatus
    source: ClueSource
    subject_name: str
    credit_code: str | None
    sector: str | None
    estimated_amount_yuan: int | None
    participants: int | None
    grade: Grade | None
    score: int | None
    key_case: bool
    determination: Determination | None
    outcome: Outcome | None
    recovered_amount_yuan: int
    escalations: int
    reported_at: datetime
    updated_at: datetime
    last_seq: int
    last_hash: str
    held_by: list[str] = Field(
        default_factory=list, description="Every jurisdiction that held the case, first to last (handoffs)."
    )
    region_handoff: RegionHandoff | None = Field(
        None,
        description="A handoff between this region and another (跨区域移交), as this region's ledger shows "
        "it: offered_out / handed_out by this region, offered_in / handed_in from the other; none when the "
        "case never crossed regions.",
    )
    region_handoff_label: str | None = Field(None, description="region_handoff in Chinese (e.g. 已移出).")
    peer_region: str | None = Field(None, description="The other region's alias (the regions file's).")
    peer_region_name: str | None = Field(None, description="The other region's name (e.g. 宁夏回族自治区).")
    peer_jurisdiction: str | None = Field(
        None, description="The jurisdiction at the other end: where the case went, or where it came from."
    )
    region_handoff_at: datetime | None = Field(
        None, description="When it was offered (while the answer is awaited), else when it was accepted."
    )


class LedgerPage(BaseModel):
    items: list[LedgerRow]
    total: int
    offset: int
    limit: int


class HistoryEntry(BaseModel):
    """One event of a case's history as the auditor sees it."""

    seq: int
    event_id: uuid.UUID
    type: str
    schema_version: int
    occurred_at: datetime
    recorded_at: datetime
    actor: dict[str, object]
    prev_hash: str
    hash: str
    payload: dict[str, object]


class ProblemDetail(BaseModel):
    """Every 4xx/5xx body: a reason a person can act on, plus per-field errors where they apply."""

    detail: str
    errors: list[dict[str, object]] = Field(default_factory=list)
