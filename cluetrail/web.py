"""Server-rendered pages, written once for every service that has them: an HTML form read into the same
contract model the JSON API validates (one rule in one place), its refusals worded in Chinese beside each
field, and protection against cross-site request forgery on every form.

A form is turned into the JSON document the API would have been sent (``form_document``), guided by the
model's own JSON Schema: ``subject.name`` fills ``{"subject": {"name": …}}``, a field the schema calls an
integer is sent as one when it is written as one, a list takes every value of its name, an empty field is
left out. The document is then validated exactly as a JSON body is (``model_validate_json``), so the page
accepts and refuses what the API accepts and refuses.

CSRF: a signed double-submit token. The browser holds a random nonce in an HttpOnly, SameSite=Strict cookie
(``CSRF_COOKIE``); every form carries ``HMAC-SHA256(key, nonce)`` in a hidden field (``CSRF_FIELD``). A
forged request from another site has neither the cookie (SameSite) nor a field matching it (the key never
leaves the server), and a cookie planted by a sibling host is useless without its signature. The key is
derived from ``CLUETRAIL_AUTH_SECRET``, which every deployment already keeps secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import Response
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData, UploadFile

from cluetrail.errors import Forbidden
from contracts.codes import USCC_ALPHABET, InvalidCreditCode, uscc_check_character, validate_uscc

# Officials and citizens read times in China Standard Time.
CHINA_TIME = timezone(timedelta(hours=8))
CSRF_COOKIE = "cluetrail_csrf"
CSRF_FIELD = "csrf_token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
_INTEGER = re.compile(r"^[+-]?[0-9]{1,19}$")


def page_templates(package: str) -> Environment:
    """The Jinja2 templates of a service's pages (``templates/`` beside ``package``), HTML escaped, with the
    filter ``cst``: an instant (or its ISO text) as people here read it, in China Standard Time."""
    loader = PackageLoader(package, "templates")
    templates = Environment(loader=loader, autoescape=select_autoescape(["html"]))
    templates.filters["cst"] = lambda value: (
        (value if isinstance(value, datetime) else datetime.fromisoformat(str(value)))
        .astimezone(CHINA_TIME)
        .strftime("%Y-%m-%d %H:%M")
    )
    return templates


class CsrfRefused(Forbidden):
    """A form posted without the token this browser was given (another site's, or a stale page): 403."""


@dataclass(frozen=True)
class CsrfToken:
    """The token a page puts into its forms, and the nonce cookie to set when the browser had none."""

    value: str
    new_nonce: str | None

    def set_on(self, response: Response, request: Request) -> Response:
        """Give the browser its nonce cookie, when it is new (HttpOnly, SameSite=Strict)."""
        if self.new_nonce is not None:
            response.set_cookie(
                CSRF_COOKIE,
                self.new_nonce,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        return response


class Csrf:
    """Issues and checks the signed double-submit token of a service's forms."""

    def __init__(self, secret: str) -> None:
        # A key of its own, derived from the token secret, so a CSRF token is never a token signature.
        self._key = hmac.new(secret.encode(), b"cluetrail web forms csrf", hashlib.sha256).digest()

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def issue(self, request: Request) -> CsrfToken:
        """The token for the forms of a page: signed from the browser's nonce, or from a new one."""
        nonce = request.cookies.get(CSRF_COOKIE)
        if nonce is not None and _NONCE.match(nonce):
            return CsrfToken(self._sign(nonce), None)
        fresh = secrets.token_urlsafe(32)
        return CsrfToken(self._sign(fresh), fresh)

    def check(self, request: Request, form: FormData) -> None:
        """Refuse (``CsrfRefused``) a form whose token is not the signature of this browser's nonce."""
        nonce = request.cookies.get(CSRF_COOKIE)
        sent = form.get(CSRF_FIELD)
        if nonce is None or not _NONCE.match(nonce) or not isinstance(sent, str):
            raise CsrfRefused("the form carries no valid CSRF token", rule="csrf")
        if not hmac.compare_digest(sent, self._sign(nonce)):
            raise CsrfRefused("the form's CSRF token does not match this browser's", rule="csrf")


# --- a form as the JSON document of a contract model ---------------------------------------------------


def _resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema of a value: a reference followed, an optional (``anyOf`` with null) unwrapped."""
    while True:
        if "$ref" in schema:
            schema = defs[str(schema["$ref"]).rsplit("/", 1)[-1]]
        elif "anyOf" in schema:
            branches = [s for s in schema["anyOf"] if s.get("type") != "null"]
            if len(branches) != 1:
                return schema
            schema = branches[0]
        else:
            return schema


def _value(text: str, schema: Mapping[str, Any]) -> Any:
    """A form field's text as JSON: an integer where the schema wants one and the text is one; otherwise
    the text, which the model then accepts or refuses as the API would."""
    if schema.get("type") == "integer" and _INTEGER.match(text.strip()):
        return int(text.strip())
    return text


def form_document(form: FormData, model: type[BaseModel], *, prefix: str = "") -> dict[str, Any]:
    """The JSON document ``form`` stands for, shaped by ``model``'s JSON Schema (see the module's doc).

    Nested objects are named with dots (``subject.name``); an object none of whose fields was filled is left
    out (an optional reporter, say); files are not fields and are read by the page itself."""
    schema = model.model_json_schema()
    return _object(form, schema, schema.get("$defs", {}), prefix)


def _object(
    form: FormData, schema: Mapping[str, Any], defs: Mapping[str, Any], prefix: str
) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, raw in schema.get("properties", {}).items():
        field = _resolve(raw, defs)
        key = f"{prefix}{name}"
        if field.get("type") == "object" or "properties" in field:
            nested = _object(form, field, defs, f"{key}.")
            if nested:
                document[name] = nested
        elif field.get("type") == "array":
            items = _resolve(field.get("items", {}), defs)
            values = [v for v in form.getlist(key) if isinstance(v, str) and v.strip()]
            if values:
                document[name] = [_value(v, items) for v in values]
        else:
            text = form.get(key)
            if isinstance(text, str) and text.strip():
                document[name] = _value(text, field)
    return document


def validate_form(model: type[BaseModel], document: Mapping[str, Any]) -> BaseModel:
    """``document`` validated as the JSON body of the API would be (``ValidationError`` when refused)."""
    return model.model_validate_json(orjson.dumps(document))


def uploads(form: FormData, name: str) -> list[UploadFile]:
    """The files chosen in the form's file field ``name`` (an empty choice sends one without a name)."""
    return [f for f in form.getlist(name) if isinstance(f, UploadFile) and f.filename]


# --- refusals in Chinese -------------------------------------------------------------------------------

# A refusal of the contract, by pydantic's error type (the intake rules' own kinds included).
REASONS: Mapping[str, str] = {
    "missing": "此项为必填项。",
    "string_too_short": "此项不能为空。",
    "string_too_long": "内容过长，请精简。",
    "string_pattern_mismatch": "格式不正确（不能含有控制字符等不可见字符）。",
    "string_type": "应为文字。",
    "int_type": "应为整数。",
    "int_parsing": "应为整数（只写阿拉伯数字，不带单位和逗号）。",
    "int_from_float": "应为整数。",
    "greater_than_equal": "数值过小。",
    "greater_than": "数值过小。",
    "less_than_equal": "数值过大。",
    "less_than": "数值过大。",
    "enum": "请从列表中选择。",
    "literal_error": "请从列表中选择。",
    "uuid_parsing": "应为有效的案件编号。",
    "uuid_type": "应为有效的案件编号。",
    "too_long": "选择的项目过多。",
    "too_short": "至少选择一项。",
    "datetime_type": "应为有效的日期和时间。",
    "datetime_parsing": "应为有效的日期和时间。",
    "datetime_from_date_parsing": "应为有效的日期和时间。",
    "timezone_aware": "应为有效的日期和时间。",
    "extra_forbidden": "表单含有无法识别的项目，请刷新页面后重试。",
    "unknown_jurisdiction": "该辖区不在辖区树中，请从列表中选择。",
    "unknown_sector": "该行业领域不在分类目录中，请从列表中选择。",
    "unknown_behaviour": "该行为类型不在分类目录中，请从列表中选择。",
    "jurisdiction_of_another_region": "该辖区由其他区域受理，请向当地举报。",
}
UNKNOWN_REASON = "内容不符合要求，请检查。"


def credit_code_reason(code: str) -> str:
    """Why a unified social credit code is refused, in Chinese, by the same rule that refuses it
    (``contracts.codes``): its length, its alphabet, or the check character GB 32100 prescribes."""
    normalised = code.strip().upper()
    try:
        validate_uscc(normalised)
    except InvalidCreditCode:
        pass
    else:
        return ""
    if len(normalised) != 18:
        return f"统一社会信用代码应为18位，当前为{len(normalised)}位。"
    if any(ch not in USCC_ALPHABET for ch in normalised) or not normalised[2:8].isdigit():
        return "统一社会信用代码含有不允许的字符：第3至8位为数字，其余为数字或大写字母（不含I、O、S、V、Z）。"
    return f"统一社会信用代码校验位不正确：第18位应为 {uscc_check_character(normalised[:17])}，请核对。"


def field_reasons(
    errors: Iterable[Mapping[str, Any]], document: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """Each refused field (dotted, as the form names it) with its reason in Chinese; the first reason of a
    field wins. ``document`` lets a credit code's refusal say what is wrong with it."""
    reasons: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part != "body"]
        # A list's item is refused at its field (behaviours.2 → behaviours), as the form shows one control.
        field = ".".join(part for part in loc if not part.isdigit())
        if field.endswith("credit_code") and document is not None:
            code = _dig(document, field.split("."))
            reason = credit_code_reason(code) if isinstance(code, str) else ""
        else:
            reason = ""
        reasons.setdefault(field, reason or REASONS.get(str(error.get("type")), UNKNOWN_REASON))
    return reasons


def _dig(document: Mapping[str, Any], path: list[str]) -> Any:
    value: Any = document
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def refused_fields(exc: ValidationError, document: Mapping[str, Any]) -> dict[str, str]:
    """``field_reasons`` of a model's refusal (its errors carry no input)."""
    return field_reasons(exc.errors(include_url=False, include_input=False, include_context=False), document)


NO_STORE = {"Cache-Control": "no-store"}
