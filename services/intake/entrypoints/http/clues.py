"""``POST /v1/clues``: a clue reported, stored, and published by the relay; the answer says which."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from cluetrail.auth import BEARER_SCHEME, Principal, optional_principal
from cluetrail.errors import InvalidInput
from cluetrail.ids import new_receipt_code
from cluetrail.telemetry import current_traceparent
from contracts.api import ClueAccepted, ClueSubmission
from contracts.envelope import utcnow, uuid7
from contracts.events import event_bytes
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry
from contracts.taxonomy import default_taxonomy
from services.intake.adapters import clues
from services.intake.dependencies import Deps, IntakeDeps
from services.intake.domain.clues import (
    clue_reported,
    jurisdiction_problems,
    region_problems,
    request_digest,
    taxonomy_problems,
)

# When a client told "pending" may ask again (Retry-After): the relay retries Kafka every second.
PENDING_RETRY_AFTER_SECONDS = 5
# Its $defs go to the document's components (cluetrail.service.document_problems), where they resolve.
SUBMISSION_SCHEMA: dict[str, Any] = ClueSubmission.model_json_schema(
    ref_template="#/components/schemas/{model}"
)

router = APIRouter(prefix="/v1", tags=["intake"])


def parse_submission(
    body: bytes, registry: JurisdictionRegistry, regions: RegionRegistry | None = None, region: str = "local"
) -> ClueSubmission:
    """The submission in ``body``: a 400 when it is not readable JSON, a 422 listing every field that
    breaks the contract or names an unknown jurisdiction, sector or behaviour. No error carries the input
    (the body itself, for unreadable JSON)."""
    try:
        submission = ClueSubmission.model_validate_json(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None
    problems = jurisdiction_problems(submission, registry) + taxonomy_problems(submission, default_taxonomy())
    if regions is not None and not problems:
        problems = region_problems(submission, regions, region)
    if problems:
        raise RequestValidationError(
            [{"loc": ("body", *p.field.split(".")), "msg": p.reason, "type": p.kind} for p in problems]
        )
    return submission


async def store_and_wait(
    deps: IntakeDeps, candidate: clues.AcceptedClue, digest: str
) -> tuple[clues.AcceptedClue, bool]:
    """Store the clue (or find the one stored under its key) and wait for the relay to publish it, up to
    the publish timeout; return the stored clue and whether Kafka holds it.

    The database connection is given back before the wait, so an outage of Kafka holds no connections.
    """
    relay, wait = deps.relay, deps.settings.publish_timeout_seconds
    with relay.expecting([candidate.event_id]) as expected:
        stored, inserted = await deps.clues.insert_or_existing(candidate)
        if inserted:
            relay.hand_over([stored.outbox_row()])
            return stored, await relay.wait_published([stored.event_id], wait, expected)
    if stored.request_digest != digest:
        raise InvalidInput(
            "Idempotency-Key was already used for a different clue; use a new key for a new clue",
            rule="idempotency_key_reused",
        )
    if stored.published_at is not None:
        return stored, True
    # A retry of a clue still waiting for Kafka: wait on it again (read after expecting it, so a publish
    # in between is seen either way).
    with relay.expecting([stored.event_id]) as expected:
        async with deps.pool.acquire() as conn:
            if await clues.published_at(conn, stored.case_id) is not None:
                return stored, True
        # Published by the relay that has it (the first request's), or by any once it is left behind.
        return stored, await relay.wait_published([stored.event_id], wait, expected)


async def accept_clue(
    deps: IntakeDeps, submission: ClueSubmission, officer: Principal | None, idempotency_key: str | None
) -> tuple[clues.AcceptedClue, bool]:
    """Seal the clue as seq 1 of a new case, store it under its key and wait for the relay (see
    ``store_and_wait``): the stored clue and whether Kafka holds it. An officer files clues within their own
    subtree only and is recorded as the clue's actor. The API and the public reporting page both accept
    clues through here."""
    if officer is not None:
        deps.access.require_act(officer, submission.jurisdiction)
    digest = request_digest(submission)
    with deps.tracer.start_as_current_span("intake accept clue") as span:
        case_id = uuid7()
        receipt_code = new_receipt_code()
        event = clue_reported(
            submission,
            actor=officer.as_actor() if officer is not None else None,
            case_id=case_id,
            receipt_code=receipt_code,
            sealer=deps.sealer,
            correlation_id=uuid7(),
            traceparent=current_traceparent(),
            now=utcnow(),
        )
        candidate = clues.AcceptedClue(
            idempotency_key=idempotency_key,
            request_digest=digest,
            case_id=case_id,
            event_id=event.event_id,
            receipt_code=receipt_code,
            event=event_bytes(event),
            recorded_at=event.recorded_at,
            traceparent=current_traceparent(),
        )
        stored, published = await store_and_wait(deps, candidate, digest)
        span.set_attribute("cluetrail.case_id", str(stored.case_id))
    return stored, published


def _accepted(clue: clues.AcceptedClue, published: bool) -> ClueAccepted:
    return ClueAccepted(
        case_id=clue.case_id,
        receipt_code=clue.receipt_code,
        event_id=clue.event_id,
        recorded_at=clue.recorded_at,
        status="published" if published else "pending",
    )


@router.post(
    "/clues",
    status_code=202,
    response_model=ClueAccepted,
    responses={
        401: {"description": "An access token came with the clue and is not valid"},
        403: {"description": "The token is an auditor's, or does not cover the clue's jurisdiction"},
        413: {"description": "The body exceeds the configured size limit"},
    },
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": SUBMISSION_SCHEMA}}},
        # The public reports without a token; an officer on patrol sends theirs.
        "security": [{BEARER_SCHEME: []}, {}],
    },
)
async def submit_clue(
    request: Request,
    deps: Deps,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
) -> Response:
    """Accept a clue (body: ClueSubmission). Answers 202 with status ``published`` once Kafka holds
    the clue durably; if Kafka does not answer within the wait, 202 with status ``pending`` and a
    ``Retry-After``: the clue is stored and goes to the case log as soon as Kafka answers (a retry with
    the same Idempotency-Key tells when, and never makes a second copy).

    The public reports without a token; an officer (a grid worker on patrol, say) sends theirs, is
    recorded as the clue's actor and may file clues only within their own subtree. The body is read
    under the service's body rules (``cluetrail.service.BodyRules``: 413 over the limit, 400 when it is
    not UTF-8).
    """
    officer = optional_principal(request)
    submission = parse_submission(await request.body(), deps.registry, deps.regions, deps.settings.region)
    stored, published = await accept_clue(deps, submission, officer, idempotency_key)
    # Encoded once here: through response_model FastAPI would validate and encode the answer again.
    answer = Response(
        _accepted(stored, published).model_dump_json(), status_code=202, media_type="application/json"
    )
    if not published:
        answer.headers["Retry-After"] = str(PENDING_RETRY_AFTER_SECONDS)
    return answer
