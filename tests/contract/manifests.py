"""Render the Helm chart and check deployment manifests against the schemas their API servers apply.

Kubernetes' own kinds are checked with kubernetes-validate (the API's OpenAPI schemas, strict: an unknown
field is an error, as `kubectl apply --validate=strict` makes it). Custom resources (Strimzi, CloudNativePG,
the Prometheus Operator) are checked against the openAPIV3Schema of their CRDs, which
deploy/bin/manifests.sh fetches: each is turned into a JSON Schema that, like the API server with field
validation, refuses fields the CRD does not define, and refuses fields the CRD marks deprecated. Rules a CRD
writes in CEL (x-kubernetes-validations) are not evaluated here.
"""

from __future__ import annotations

import copy
import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "helm" / "cluetrail"
TOOLS = Path(os.environ.get("MANIFESTS_VAR", ROOT / "var" / "manifests"))
HELM = TOOLS / "bin" / "helm"
CRDS = TOOLS / "crds"
COMPOSE_SCHEMA = TOOLS / "compose-spec.json"

# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

# RFC 1123 subdomain (most names) and RFC 1035 label (Service names), as the API server checks them.
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def tools_ready() -> bool:
    return HELM.is_file() and CRDS.is_dir() and COMPOSE_SCHEMA.is_file()


class RenderError(Exception):
    """helm template refused the values; the message is helm's."""


def render(*args: str, kube_version: str = KUBERNETES_VERSIONS[0]) -> list[dict[str, Any]]:
    """The objects of ``helm template`` of the chart with ``args`` (values files, --set ...)."""
    result = subprocess.run(
        [
            str(HELM),
            "template",
            "cluetrail",
            str(CHART),
            "--namespace",
            "cluetrail",
            "--kube-version",
            kube_version,
            *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def lint(*args: str) -> str:
    """``helm lint --strict`` of the chart with ``args``: its output, or RenderError with it."""
    result = subprocess.run(
        [str(HELM), "lint", "--strict", str(CHART), "--kube-version", KUBERNETES_VERSIONS[0], *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(result.stdout + result.stderr)
    return result.stdout


def load(paths: Iterable[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every object of the YAML files, with the file it is in."""
    return [(path, doc) for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def _openapi_to_json_schema(node: Any) -> Any:
    """A CRD's structural OpenAPI v3 schema as a JSON Schema (draft 4, which OpenAPI 3.0 follows)."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "Deprecated" in str(node.get("description", "")):
        return {"not": {}, "description": "deprecated by the CRD: " + str(node["description"])[:200]}
    out = {k: _openapi_to_json_schema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    out.pop("description", None)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable"):
        out.pop("nullable")
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-embedded-resource"):
        out.setdefault("properties", {}).update(
            {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}
        )
    closed = (
        out.get("type") == "object"
        and "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    )
    if closed:
        out["additionalProperties"] = False
    return out


@dataclass
class CustomResources:
    """The schemas of every served version of the fetched CRDs, by (apiVersion, kind)."""

    schemas: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, folder: Path = CRDS) -> CustomResources:
        found = cls()
        for _, crd in load(sorted(folder.rglob("*.yaml"))):
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                if not version.get("served", True):
                    continue
                schema = _openapi_to_json_schema(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
                schema.setdefault("properties", {}).update(
                    {
                        "apiVersion": {"type": "string"},
                        "kind": {"type": "string"},
                        "metadata": {"type": "object"},
                    }
                )
                found.schemas[(f"{group}/{version['name']}", kind)] = schema
        return found

    def errors(self, obj: dict[str, Any]) -> list[str]:
        schema = self.schemas.get((obj.get("apiVersion", ""), obj.get("kind", "")))
        if schema is None:
            return [f"no CRD serves {obj.get('apiVersion')} {obj.get('kind')}"]
        validator = jsonschema.Draft4Validator(schema)
        found = []
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path))):
            # A deprecated field's schema is {"not": {}} with the CRD's words about it.
            message = error.schema["description"] if error.validator == "not" else error.message
            found.append(f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {message}")
        return found


def metadata_errors(obj: dict[str, Any]) -> list[str]:
    """What the API server refuses in names and labels whatever the kind."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    problems = []
    pattern, limit = (DNS_LABEL, 63) if obj.get("kind") == "Service" else (DNS_SUBDOMAIN, 253)
    if not pattern.match(name) or len(name) > limit:
        problems.append(f"metadata.name {name!r} is not a valid {obj.get('kind')} name")
    labelled = [meta.get("labels") or {}]
    template = (obj.get("spec") or {}).get("template") or {}
    labelled.append((template.get("metadata") or {}).get("labels") or {})
    for labels in labelled:
        for key, value in labels.items():
            prefix, _, key_name = str(key).rpartition("/")
            if (
                (prefix and not DNS_SUBDOMAIN.match(prefix))
                or not LABEL_NAME.match(key_name)
                or len(key_name) > 63
            ):
                problems.append(f"label key {key!r} is not valid")
            if not isinstance(value, str) or not LABEL_VALUE.match(value) or len(value) > 63:
                problems.append(f"label {key}={value!r}: not a valid label value")
    return problems


def is_builtin(obj: dict[str, Any]) -> bool:
    """A kind of Kubernetes itself (core or a k8s.io group), not a custom resource."""
    group = obj.get("apiVersion", "").rpartition("/")[0]
    return group == "" or group.endswith(".k8s.io") or "." not in group


def problems(
    objects: Iterable[dict[str, Any]], custom: CustomResources, kube_version: str = KUBERNETES_VERSIONS[0]
) -> Iterator[str]:
    """Every schema or naming problem of ``objects``, each naming the object."""
    for obj in objects:
        label = f"{obj.get('kind')} {(obj.get('metadata') or {}).get('name')}"
        for problem in metadata_errors(obj):
            yield f"{label}: {problem}"
        if is_builtin(obj):
            try:
                kubernetes_validate.validate(obj, kube_version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                path = ".".join(str(p) for p in exc.absolute_path) or "(root)"
                yield f"{label}: {path}: {exc.message}"
            except kubernetes_validate.SchemaNotFoundError as exc:
                yield f"{label}: {exc.message}"
        else:
            for problem in custom.errors(obj):
                yield f"{label}: {problem}"
