"""The public reporting page (举报, ``/report``) and the follow-up page by receipt code
(``/report/follow-up``), in Chinese, rendered on the server from ``templates/``.

The page posts an HTML form; intake reads it into the JSON document of ``POST /v1/clues``
(``cluetrail.web.form_document``) and accepts it through the same parse and the same acceptance as the API
(``clues.parse_submission``, ``clues.accept_clue``), so the page refuses exactly what the API refuses, each
refusal worded in Chinese beside its field. The unified social credit code is checked in the browser as it
is typed (its check character, from the alphabet and weights of ``contracts.codes`` written into the page)
and again here. Evidence files are kept by the SHA-256 of their content (``domain.evidence``) and the clue
names them by it. The receipt code is shown once, on the answer to the post, never in an address.

Each rendered form carries a new form id: posted again (a double click, a reload) it is the same
Idempotency-Key, so it is the same clue and the same receipt code, never a second case.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from cluetrail.errors import InvalidInput, NotFound
from cluetrail.service import BodyRefused, Connection
from cluetrail.web import (
    CSRF_FIELD,
    NO_STORE,
    CsrfRefused,
    field_reasons,
    form_document,
    page_templates,
    uploads,
)
from contracts import labels as L
from contracts.api import ClueSubmission
from contracts.codes import USCC_ALPHABET, USCC_PATTERN, USCC_WEIGHTS
from contracts.taxonomy import default_taxonomy
from contracts.vocabulary import RiskFlag, SubjectKind
from services.intake.adapters import evidence as evidence_store
from services.intake.dependencies import Deps, IntakeDeps
from services.intake.domain.evidence import EvidenceFile, EvidenceRefused, evidence_file
from services.intake.domain.receipts import BEIJING, STAGE_NAMES
from services.intake.entrypoints.http.clues import accept_clue, parse_submission
from services.intake.entrypoints.http.receipts import MalformedReceiptCode, receipt_status

router = APIRouter(prefix="/report", include_in_schema=False)
templates = page_templates("services.intake.entrypoints.http")
_FORM_ID = re.compile(r"^[0-9a-f]{32}$")
EVIDENCE_REASONS = {
    "evidence-empty": "文件为空，请重新选择。",
    "evidence-size": "文件过大：每个文件不超过 {mb} MB。",
    "evidence-type": "只接受 JPG、PNG、WEBP、GIF 图片或 PDF 文件。",
    "evidence-count": "最多上传 {count} 个文件。",
}


def page(request: Request, deps: IntakeDeps, name: str, status_code: int = 200, **context: Any) -> Response:
    """A public page from its template, with the CSRF token of its form (and its cookie when new)."""
    token = deps.csrf.issue(request)
    html = templates.get_template(name).render(L=L, csrf_field=CSRF_FIELD, csrf=token.value, **context)
    return token.set_on(HTMLResponse(html, status_code=status_code, headers=NO_STORE), request)


def refused_page(request: Request, deps: IntakeDeps) -> Response:
    """A form posted without this browser's CSRF token: the page asks to start again (403)."""
    return page(
        request,
        deps,
        "message.html",
        403,
        title="页面已失效",
        message="页面已失效或来源不明，请返回举报页面重新填写并提交。",
    )


def report_form(
    request: Request,
    deps: IntakeDeps,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    form_id: str | None = None,
) -> Response:
    """The reporting form, filled with ``values`` and each refused field's reason when it comes back."""
    registry, regions, here = deps.registry, deps.regions, deps.settings.region
    places: dict[str, list[tuple[str, str]]] = {}
    for node in registry.all():
        if node.level not in ("street", "community") or regions.region_of(node.code) not in (None, here):
            continue
        district = next((a for a in registry.ancestors(node.code) if a.level == "district"), None)
        group = registry.path_name(district.code) if district is not None else ""
        places.setdefault(group, []).append((node.code, registry.path_name(node.code).removeprefix(group)))
    taxonomy = default_taxonomy()
    return page(
        request,
        deps,
        "report.html",
        status_code,
        values=values or {},
        errors=errors or {},
        form_id=form_id or uuid.uuid4().hex,
        places=places,
        kinds=[(k.value, L.SUBJECT_KINDS[k]) for k in SubjectKind],
        sectors=[(t.code, t.zh) for t in taxonomy.sectors],
        behaviours=[(t.code, t.zh) for t in taxonomy.behaviours],
        flags=[(f.value, L.RISK_FLAGS[f]) for f in RiskFlag if f != RiskFlag.CROSS_REGION],
        uscc_alphabet=USCC_ALPHABET,
        uscc_pattern=USCC_PATTERN,
        uscc_weights=",".join(str(w) for w in USCC_WEIGHTS),
        max_files=deps.settings.evidence_max_files,
        max_mb=deps.settings.evidence_max_bytes // (1024 * 1024),
    )


@router.get("")
async def report_page(request: Request, deps: Deps) -> Response:
    """The empty reporting form."""
    return report_form(request, deps)


def clue_document(form: FormData) -> dict[str, Any]:
    """The clue the form stands for, as the API's JSON body: reported through the public app, the reporter
    named only when the reporter chose to be, the instant observed read as Beijing time."""
    document = form_document(form, ClueSubmission)
    document["source"] = "public_app"
    if form.get("identity") != "named":
        document.pop("reporter", None)
    observed = document.get("observed_at")
    if isinstance(observed, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", observed):
        document["observed_at"] = f"{observed}:00+08:00"
    return document


async def read_evidence(form: FormData, deps: IntakeDeps) -> tuple[list[EvidenceFile], str | None]:
    """The evidence files of the form, or the reason (in Chinese) the first refused one is refused."""
    settings = deps.settings
    chosen = uploads(form, "evidence")
    if len(chosen) > settings.evidence_max_files:
        return [], EVIDENCE_REASONS["evidence-count"].format(count=settings.evidence_max_files)
    files = []
    for upload in chosen:
        content = await upload.read(settings.evidence_max_bytes + 1)
        try:
            files.append(evidence_file(upload.filename, content, max_bytes=settings.evidence_max_bytes))
        except EvidenceRefused as exc:
            reason = EVIDENCE_REASONS[exc.rule or "evidence-type"]
            return [], f"{upload.filename}：" + reason.format(mb=settings.evidence_max_bytes // (1024 * 1024))
    return files, None


@router.post("")
async def report(request: Request, deps: Deps) -> Response:
    """Accept the form's clue as ``POST /v1/clues`` accepts one, and show its receipt code once."""
    settings = deps.settings
    try:
        form = await request.form(
            max_files=settings.evidence_max_files + 1, max_fields=300, max_part_size=settings.max_body_bytes
        )
    except BodyRefused as refused:
        if refused.status_code != 413:
            raise
        limit = f"{settings.max_body_bytes // 1024} KB"
        message = (
            f"提交的内容过大：举报内容和证据材料合计不能超过 {limit}。请减少或压缩证据材料后重新填写提交。"
        )
        return page(request, deps, "message.html", 413, title="提交的内容过大", message=message)
    try:
        deps.csrf.check(request, form)
    except CsrfRefused:
        return refused_page(request, deps)
    form_id = form.get("form_id")
    form_id = form_id if isinstance(form_id, str) and _FORM_ID.match(form_id) else uuid.uuid4().hex
    values: dict[str, Any] = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    values["behaviours"] = form.getlist("behaviours")
    values["flags"] = form.getlist("flags")
    document = clue_document(form)
    files, evidence_refusal = await read_evidence(form, deps)
    document["evidence"] = [f.submission() for f in files]
    errors: dict[str, str] = {}
    try:
        submission = parse_submission(orjson.dumps(document), deps.registry, deps.regions, settings.region)
    except RequestValidationError as exc:
        errors = field_reasons(exc.errors(), document)
    if evidence_refusal is not None:
        errors["evidence"] = evidence_refusal
    if errors:
        return report_form(request, deps, values=values, errors=errors, status_code=422, form_id=form_id)
    async with deps.pool.acquire() as conn:
        await evidence_store.store(conn, files)
    try:
        stored, published = await accept_clue(deps, submission, None, f"web-{form_id}")
    except InvalidInput:
        # The same form posted again with other content: a new form is a new clue.
        errors = {"form": "该表单已经提交过。如需再举报一条线索，请重新打开举报页面填写。"}
        return report_form(request, deps, values=values, errors=errors, status_code=409)
    return page(
        request,
        deps,
        "receipt.html",
        receipt_code=stored.receipt_code,
        published=published,
        recorded_at=stored.recorded_at.astimezone(BEIJING),
        evidence=files,
    )


@router.get("/follow-up")
async def follow_up_page(request: Request, deps: Deps) -> Response:
    """The form that asks for a receipt code."""
    return page(request, deps, "follow_up.html", code="", error=None, receipt=None)


@router.post("/follow-up")
async def follow_up(request: Request, deps: Deps, conn: Connection) -> Response:
    """The stage, history, notices and reward of the case a receipt code belongs to, as
    ``GET /v1/receipts/{code}`` shows them; the code travels in the form, never in the address."""
    form = await request.form(max_files=0, max_fields=10)
    try:
        deps.csrf.check(request, form)
    except CsrfRefused:
        return refused_page(request, deps)
    code = form.get("receipt_code")
    code = code.strip() if isinstance(code, str) else ""
    try:
        receipt = await receipt_status(code, conn)
    except MalformedReceiptCode:
        error = "回执码格式不正确：应为12位数字和大写字母（不含I、L、O、U），可带短横线，请核对。"
        return page(request, deps, "follow_up.html", 400, code=code, error=error, receipt=None)
    except NotFound:
        error = "未找到该回执码对应的线索，请核对回执码。"
        return page(request, deps, "follow_up.html", 404, code=code, error=error, receipt=None)
    return page(
        request,
        deps,
        "follow_up.html",
        code=receipt.receipt_code,
        error=None,
        receipt=receipt,
        status_name=STAGE_NAMES[receipt.status],
        merged_status_name=STAGE_NAMES.get(receipt.merged_case_status or ""),
        updated_at=receipt.updated_at.astimezone(BEIJING),
        now=datetime.now(BEIJING),
    )
