"""What an operator deploys is what the services read: the Helm chart rendered for one region and for each of
anhui and ningxia, the Strimzi and CloudNativePG resources and the compose file, each valid against the schema
its API server (or Docker Compose) applies, and each agreeing with the code on topics, consumer groups,
databases, settings and MirrorMaker's flows.

Offline once deploy/bin/manifests.sh has fetched Helm and the schemas into var/manifests; the tests that need
them are skipped without them on a developer's machine, and fail without them in CI.
"""

from __future__ import annotations

import copy
import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from cluetrail.crypto import new_region_key_pair
from cluetrail.kafka import (
    CASE_TOPIC_CONFIG,
    DEAD_LETTER_TOPIC_CONFIG,
    anchor_topic,
    notice_topic,
    report_submission_topic,
)
from cluetrail.settings import CommonSettings
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionRegistry, importer_name
from services.intake.entrypoints.consumers import NOTICES_GROUP, RECEIPTS_GROUP
from services.intake.settings import IntakeSettings
from services.notify.entrypoints.consumers import CONSUMER_GROUP as NOTIFY_GROUP
from services.notify.entrypoints.regions import REFUSALS_CONSUMER, peer_consumer
from services.notify.settings import NotifySettings
from services.reporting.adapters.notices import NOTICES_CONSUMER
from services.reporting.adapters.projector import CASE_CONSUMER
from services.reporting.entrypoints.consumers import SUBMISSIONS_GROUP
from services.reporting.settings import ReportingSettings
from services.triage.entrypoints.consumers import GROUP as TRIAGE_GROUP
from services.triage.settings import TriageSettings
from tests.contract import manifests as m

DEPLOY = m.ROOT / "deploy"
REGIONS_FILE = DEPLOY / "regions" / "anhui-ningxia.json"
SERVICES = ("intake", "triage", "reporting", "notify")
SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "triage": TriageSettings,
    "reporting": ReportingSettings,
    "notify": NotifySettings,
}
# Variables the chart and compose file set that are not cluetrail's own settings: the database role's name and
# password the URL is built from (Kubernetes $(VAR) expansion), and OpenTelemetry's own.
OTHER_ENV = {"DATABASE_USER", "DATABASE_PASSWORD", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_RESOURCE_ATTRIBUTES"}
SECRET_SETTINGS = {
    "CLUETRAIL_REPORTER_KEYS",
    "CLUETRAIL_AUTH_SECRET",
    "CLUETRAIL_REGION_PRIVATE_KEY",
    "CLUETRAIL_NOTIFY_SMS_GATEWAY_SECRET",
    "CLUETRAIL_NOTIFY_SMTP_PASSWORD",
    "DATABASE_PASSWORD",
}
ONE_REGION = ("--set", "reporterKeyId=2026-1", "--set", "notify.publicUrl=https://notify.example.gov.cn")


@pytest.fixture(scope="module")
def tools() -> None:
    """Helm and the fetched schemas: what the tests of rendered and custom resources need."""
    if not m.tools_ready():
        message = f"Helm and the schemas are not in {m.TOOLS}: run deploy/bin/manifests.sh fetch"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def custom(tools: None) -> m.CustomResources:
    return m.CustomResources.load()


@cache
def public_key(region: str) -> str:
    return new_region_key_pair()[1]


@cache
def regions() -> RegionRegistry:
    return RegionRegistry.load(REGIONS_FILE, JurisdictionRegistry.load(None))


def region_args(region: str) -> tuple[str, ...]:
    """The overlay of ``region`` with its peers' public keys, as an operator installs it."""
    keys = [("--set", f"region.publicKeys.{peer}={public_key(peer)}") for peer in regions().peers_of(region)]
    return ("-f", str(m.CHART / f"values-{region}.yaml"), *(arg for pair in keys for arg in pair))


DEPLOYMENTS = {"one-region": ONE_REGION, "anhui": region_args("anhui"), "ningxia": region_args("ningxia")}


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def operator_files() -> list[tuple[Path, dict[str, Any]]]:
    return m.load(sorted((DEPLOY / "strimzi").rglob("*.yaml")) + sorted((DEPLOY / "cnpg").glob("*.yaml")))


def operator_objects(kind: str, folder: Path | None = None) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for path, doc in operator_files()
        if doc["kind"] == kind and (folder is None or path.parent == folder)
    }


def env_names(settings: type[BaseSettings]) -> set[str]:
    """Every environment variable a settings class reads (pydantic-settings: aliases, else prefix + name)."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    names = set()
    for name, info in settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names.update(str(choice).upper() for choice in alias.choices)
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def pod_env(pod: dict[str, Any], config_maps: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The environment of a pod template's first container: {name: its env entry}, ConfigMaps included."""
    container = pod["spec"]["containers"][0]
    env: dict[str, dict[str, Any]] = {}
    for source in container.get("envFrom", []):
        for name, value in config_maps[source["configMapRef"]["name"]]["data"].items():
            env[name] = {"name": name, "value": value}
    env.update({entry["name"]: entry for entry in container.get("env", [])})
    return env


# --- the chart --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kube_version", m.KUBERNETES_VERSIONS)
@pytest.mark.parametrize("deployment", DEPLOYMENTS)
def test_every_object_the_chart_renders_is_valid(
    deployment: str, kube_version: str, custom: m.CustomResources
) -> None:
    objects = m.render(*DEPLOYMENTS[deployment], kube_version=kube_version)
    assert list(m.problems(objects, custom, kube_version)) == []
    kinds = {o["kind"] for o in objects}
    expected = {
        "ConfigMap", "Deployment", "StatefulSet", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler",
        "NetworkPolicy", "Job", "ServiceAccount",
    }  # fmt: skip
    assert expected <= kinds
    if deployment != "one-region":
        assert "ServiceMonitor" in kinds


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
@pytest.mark.usefixtures("tools")
def test_the_chart_passes_helm_lint_strictly(deployment: str) -> None:
    assert "0 chart(s) failed" in m.lint(*DEPLOYMENTS[deployment])


@pytest.mark.parametrize(
    ("values", "refused"),
    [
        # Kubernetes objects pass through the values schema whole; a typo in one is found when rendered.
        (
            ("--set-json", 'services.intake.resources={"limit":{"cpu":"1"}}'),
            "Deployment cluetrail-intake: spec.template.spec.containers.0.resources: Additional properties "
            "are not allowed ('limit' was unexpected)",
        ),
        (
            ("--set-json", 'podSecurityContext={"runAsNonRoot":true,"runAsUser":"cluetrail"}'),
            "StatefulSet cluetrail-triage: spec.template.spec.securityContext.runAsUser: 'cluetrail' is not "
            "of type 'integer'",
        ),
        (
            ("--set-json", 'networkPolicy.ingressFrom=[{"namespaceSelector":{"matchLabel":{"a":"b"}}}]'),
            "NetworkPolicy cluetrail-intake: spec.ingress.0.from.0.namespaceSelector: Additional properties "
            "are not allowed ('matchLabel' was unexpected)",
        ),
        (
            ("--set", "serviceMonitor.interval=every minute"),
            "ServiceMonitor cluetrail: spec.endpoints.0.interval: 'every minute' does not match",
        ),
    ],
)
@pytest.mark.usefixtures("tools")
def test_a_wrong_value_renders_an_object_the_schema_refuses(
    values: tuple[str, ...], refused: str, custom: m.CustomResources
) -> None:
    objects = m.render(*DEPLOYMENTS["anhui"], *values)
    found = list(m.problems(objects, custom))
    assert any(problem.startswith(refused) for problem in found), found


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # The values schema (values.schema.json) refuses a key or a value it does not know.
        (
            (*ONE_REGION, "--set", "environment=local"),
            "at '/environment': value must be one of 'test', 'production'",
        ),
        (
            (*ONE_REGION, "--set", "services.intake.replica=3"),
            "at '/services/intake': additional properties 'replica' not allowed",
        ),
        ((*ONE_REGION, "--set", "containerPort=http"), "at '/containerPort': got string, want integer"),
        # The chart's own checks refuse what a schema cannot say.
        (("--set", "notify.publicUrl=https://notify.example.gov.cn"), "reporterKeyId: name the key"),
        (("-f", str(m.CHART / "values-anhui.yaml")), "region.publicKeys.ningxia: the public key of region"),
        ((*DEPLOYMENTS["anhui"], "--set", "region.alias=gansu"), 'region.alias "gansu" is not one of'),
        (
            (*ONE_REGION, "--set", "services.triage.autoscaling.minReplicas=7"),
            "services.triage.autoscaling.minReplicas 7 is more than the 6 partitions",
        ),
        (
            (*ONE_REGION, "--set", "telemetry.exporter=otlp"),
            "telemetry.otlpEndpoint: the OTLP collector",
        ),
    ],
)
@pytest.mark.usefixtures("tools")
def test_the_chart_refuses_values_that_could_never_start(values: tuple[str, ...], message: str) -> None:
    with pytest.raises(m.RenderError, match=re.escape(message)):
        m.render(*values)


@pytest.mark.parametrize("partitions", [6, 3])
@pytest.mark.usefixtures("tools")
def test_no_autoscaler_goes_beyond_the_partitions(partitions: int) -> None:
    objects = m.render(*ONE_REGION, "--set", f"partitions={partitions}")
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert {a["spec"]["scaleTargetRef"]["name"] for a in autoscalers.values()} == {
        f"cluetrail-{s}" for s in SERVICES
    }
    assert {a["spec"]["maxReplicas"] for a in autoscalers.values()} == {partitions}
    assert of_kind(objects, "ConfigMap")["cluetrail-env"]["data"]["CLUETRAIL_CASE_PARTITIONS"] == str(
        partitions
    )


@pytest.mark.usefixtures("tools")
def test_consumers_with_a_stable_name_are_static_members() -> None:
    objects = m.render(*DEPLOYMENTS["anhui"])
    stateful = of_kind(objects, "StatefulSet")
    assert set(stateful) == {"cluetrail-triage", "cluetrail-reporting", "cluetrail-notify"}
    config_maps = of_kind(objects, "ConfigMap")
    for workload in stateful.values():
        env = pod_env(workload["spec"]["template"], config_maps)
        assert env["CLUETRAIL_INSTANCE_ID"]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
        assert "CLUETRAIL_WORKERS" not in env  # one process per instance id
        assert workload["spec"]["serviceName"] in of_kind(objects, "Service")
    intake = of_kind(objects, "Deployment")["cluetrail-intake"]
    assert "CLUETRAIL_INSTANCE_ID" not in pod_env(intake["spec"]["template"], config_maps)


@pytest.mark.parametrize("deployment", DEPLOYMENTS)
@pytest.mark.usefixtures("tools")
def test_every_setting_the_chart_writes_is_one_a_service_reads(deployment: str) -> None:
    objects = m.render(*DEPLOYMENTS[deployment])
    config_maps = of_kind(objects, "ConfigMap")
    pods = [
        (w["spec"]["template"]["spec"]["containers"][0]["name"], w["spec"]["template"])
        for kind in ("Deployment", "StatefulSet")
        for w in of_kind(objects, kind).values()
    ]
    pods.append(("stack-init", of_kind(objects, "Job")["cluetrail-stack-init"]["spec"]["template"]))
    for service, pod in pods:
        env = pod_env(pod, config_maps)
        read = env_names(SETTINGS.get(service, CommonSettings)) | OTHER_ENV | {"REGIONS_JSON"}
        assert set(env) - read == set(), service
        for name in SECRET_SETTINGS & set(env):
            assert "secretKeyRef" in env[name]["valueFrom"], f"{service}: {name} must come from a Secret"


@pytest.mark.usefixtures("tools")
def test_pods_run_unprivileged_on_a_read_only_root() -> None:
    objects = m.render(*DEPLOYMENTS["anhui"])
    pods = [
        w["spec"]["template"]
        for kind in ("Deployment", "StatefulSet", "Job")
        for w in of_kind(objects, kind).values()
    ]
    assert len(pods) == 5
    for pod in pods:
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
        assert pod["spec"]["automountServiceAccountToken"] is False
        for container in pod["spec"]["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert {v["mountPath"] for v in container["volumeMounts"]} >= {"/tmp"}
    for workload in [*of_kind(objects, "Deployment").values(), *of_kind(objects, "StatefulSet").values()]:
        container = workload["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


@pytest.mark.parametrize("region", ["anhui", "ningxia"])
@pytest.mark.usefixtures("tools")
def test_a_region_overlay_carries_the_regions_file(region: str) -> None:
    values = yaml.safe_load((m.CHART / f"values-{region}.yaml").read_text())
    assert values["region"]["alias"] == region
    assert json.loads(values["region"]["regionsFile"]) == json.loads(REGIONS_FILE.read_text())
    objects = m.render(*DEPLOYMENTS[region])
    files = of_kind(objects, "ConfigMap")["cluetrail-regions"]["data"]
    assert set(json.loads(files["public-keys.json"])) == set(regions().peers_of(region))


def test_the_chart_reaches_the_operators_kafka_and_postgresql() -> None:
    values = yaml.safe_load((m.CHART / "values.yaml").read_text())
    (kafka,) = operator_objects("Kafka").values()
    listeners = kafka["spec"]["kafka"]["listeners"]
    tls = next(li for li in listeners if li["name"] == "tls")
    assert values["kafka"]["bootstrap"] == f"{kafka['metadata']['name']}-kafka-bootstrap:{tls['port']}"
    assert values["networkPolicy"]["kafkaPods"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert values["networkPolicy"]["kafkaPort"] == tls["port"]
    # Every client authenticates: no listener without it, nobody let through unnamed.
    assert all(li.get("authentication", {}).get("type") == "tls" for li in listeners)
    assert "superUsers" not in kafka["spec"]["kafka"]["authorization"]
    assert values["kafka"]["tls"]["clusterCa"]["name"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
    (cluster,) = operator_objects("Cluster").values()
    assert values["database"]["host"] == f"{cluster['metadata']['name']}-rw"
    assert values["networkPolicy"]["databasePods"] == {"cnpg.io/cluster": cluster["metadata"]["name"]}
    assert values["secrets"]["database"]["name"] == cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"]
    assert values["partitions"] == CommonSettings.model_fields["case_partitions"].default


# --- Strimzi and CloudNativePG ------------------------------------------------------------------------------


def test_every_operator_resource_is_valid(custom: m.CustomResources) -> None:
    found = operator_files()
    assert {doc["kind"] for _, doc in found} >= {
        "Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser", "KafkaMirrorMaker2", "Cluster", "Database",
        "ScheduledBackup", "ObjectStore",
    }  # fmt: skip
    assert [
        f"{path.relative_to(m.ROOT)}: {p}" for path, doc in found for p in m.problems([doc], custom)
    ] == []


def test_a_wrong_field_in_an_operator_resource_is_refused(custom: m.CustomResources) -> None:
    topic = copy.deepcopy(operator_objects("KafkaTopic")["cluetrail.case-events"])
    topic["spec"]["partitions"] = "6"
    topic["spec"]["retention"] = -1  # belongs in config
    assert sorted(m.problems([topic], custom)) == [
        "KafkaTopic cluetrail.case-events: spec.partitions: '6' is not of type 'integer'",
        "KafkaTopic cluetrail.case-events: spec: Additional properties are not allowed "
        "('retention' was unexpected)",
    ]
    cluster = copy.deepcopy(operator_objects("Cluster")["cluetrail-db"])
    cluster["spec"]["monitoring"] = {"enablePodMonitor": True}
    assert [p.split(":")[0:2] for p in m.problems([cluster], custom)] == [
        ["Cluster cluetrail-db", " spec.monitoring.enablePodMonitor"]
    ]


def local_settings() -> CommonSettings:
    return CommonSettings(environment="local")


def test_the_topics_are_those_stack_init_creates() -> None:
    settings = local_settings()
    topics = operator_objects("KafkaTopic", DEPLOY / "strimzi")
    partitions = {
        settings.case_topic: settings.case_partitions,
        settings.dead_letter_topic: 1,
        notice_topic(settings): settings.case_partitions,
        anchor_topic(settings): 1,
        report_submission_topic(settings): 1,
    }
    assert {name: t["spec"]["partitions"] for name, t in topics.items()} == partitions
    for name, topic in topics.items():
        wanted = DEAD_LETTER_TOPIC_CONFIG if name == settings.dead_letter_topic else CASE_TOPIC_CONFIG
        config = {k: str(v) for k, v in topic["spec"]["config"].items()}
        assert {k: config[k] for k in ("retention.ms", "retention.bytes", "cleanup.policy")} == {
            k: wanted[k] for k in ("retention.ms", "retention.bytes", "cleanup.policy")
        }
        assert (topic["spec"]["replicas"], config["min.insync.replicas"]) == (3, "2")


@pytest.mark.parametrize("region", ["anhui", "ningxia"])
def test_each_region_declares_the_copies_mirrormaker_brings(region: str) -> None:
    settings = local_settings()
    own = operator_objects("KafkaTopic", DEPLOY / "strimzi")
    copies = operator_objects("KafkaTopic", DEPLOY / "strimzi" / "regions" / region)
    replicated = (settings.case_topic, notice_topic(settings), anchor_topic(settings))
    assert set(copies) == {settings.peer_topic(p, t) for p in regions().peers_of(region) for t in replicated}
    for peer in regions().peers_of(region):
        for topic in replicated:
            copy_spec = copies[settings.peer_topic(peer, topic)]["spec"]
            assert (copy_spec["partitions"], copy_spec["config"]) == (
                own[topic]["spec"]["partitions"],
                own[topic]["spec"]["config"],
            )


def allows(user: dict[str, Any], kind: str, name: str, operation: str) -> bool:
    for acl in user["spec"]["authorization"]["acls"]:
        resource = acl["resource"]
        matches = (
            resource["name"] == name
            if resource.get("patternType", "literal") == "literal"
            else name.startswith(resource["name"])
        )
        if resource["type"] == kind and matches and ({operation, "All"} & set(acl["operations"])):
            return True
    return False


@pytest.mark.usefixtures("tools")
def test_each_pod_presents_its_own_kafka_users_certificate() -> None:
    """The chart mounts the Secret Strimzi writes for each service's KafkaUser into that service's pods
    only, and points the Kafka settings at its files."""
    values = yaml.safe_load((m.CHART / "values.yaml").read_text())
    users = operator_objects("KafkaUser")
    objects = m.render(*DEPLOYMENTS["anhui"])
    pods = {
        w["spec"]["template"]["spec"]["containers"][0]["name"]: w["spec"]["template"]
        for kind in ("Deployment", "StatefulSet")
        for w in of_kind(objects, kind).values()
    }
    pods["stackInit"] = of_kind(objects, "Job")["cluetrail-stack-init"]["spec"]["template"]
    assert set(pods) == set(values["kafka"]["tls"]["users"])
    for client, pod in pods.items():
        user = values["kafka"]["tls"]["users"][client]
        assert user in users, client
        (volume,) = [v for v in pod["spec"]["volumes"] if v["name"] == "kafka-tls"]
        secrets = [source["secret"]["name"] for source in volume["projected"]["sources"]]
        assert secrets == [values["kafka"]["tls"]["clusterCa"]["name"], user], client
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        mount = next(v for v in pod["spec"]["containers"][0]["volumeMounts"] if v["name"] == "kafka-tls")
        for name, file in (("CAFILE", "ca.crt"), ("CERTFILE", "user.crt"), ("KEYFILE", "user.key")):
            assert env[f"CLUETRAIL_KAFKA_SSL_{name}"] == f"{mount['mountPath']}/{file}", client


def test_each_service_user_may_do_what_its_code_does() -> None:
    settings = local_settings()
    users = operator_objects("KafkaUser")
    peers = list(regions().aliases)
    case, notices, dead = settings.case_topic, notice_topic(settings), settings.dead_letter_topic
    groups = {
        "intake": [RECEIPTS_GROUP, NOTICES_GROUP],
        "triage": [TRIAGE_GROUP, *(importer_name(p) for p in peers)],
        "reporting": [CASE_CONSUMER, NOTICES_CONSUMER, SUBMISSIONS_GROUP],
        "notify": [NOTIFY_GROUP, REFUSALS_CONSUMER, *(peer_consumer(p) for p in peers)],
    }
    reads = {
        "intake": [case, notices],
        "triage": [case, anchor_topic(settings), *(settings.peer_topic(p, case) for p in peers)],
        "reporting": [case, notices, anchor_topic(settings), report_submission_topic(settings)],
        "notify": [case, notices, dead, *(settings.peer_topic(p, notices) for p in peers)],
    }
    writes = {
        "intake": [case, dead],
        "triage": [case, anchor_topic(settings), dead],
        "reporting": [report_submission_topic(settings), dead],
        "notify": [notices, dead],
    }
    for service in SERVICES:
        user = users[service]
        assert [
            g for g in groups[service] if not allows(user, "group", settings.consumer_group(g), "Read")
        ] == []
        assert [t for t in reads[service] if not allows(user, "topic", t, "Read")] == []
        assert [t for t in writes[service] if not allows(user, "topic", t, "Write")] == []
        # One service never writes what another service writes alone.
        others = (
            {t for s in SERVICES if s != service for t in writes[s]} - set(writes[service]) - {dead, case}
        )
        assert [t for t in others if allows(user, "topic", t, "Write")] == []


def mm2_script_default(variable: str) -> str:
    """A setting's default in deploy/bin/mm2.sh, as bash reads it inside double quotes."""
    script = (DEPLOY / "bin" / "mm2.sh").read_text()
    match = re.search(rf'^{variable}="\$\{{{variable}:-(.*)\}}"$', script, re.MULTILINE)
    assert match, variable
    return match.group(1).replace("\\\\", "\\")


@pytest.mark.parametrize("region", ["anhui", "ningxia"])
def test_mirrormaker_copies_as_the_local_mm2_does(region: str) -> None:
    script = (DEPLOY / "bin" / "mm2.sh").read_text()
    (mirror,) = operator_objects("KafkaMirrorMaker2", DEPLOY / "strimzi" / "regions" / region).values()
    spec = mirror["spec"]
    assert spec["target"]["alias"] == region
    assert spec["target"]["config"]["exactly.once.source.support"] == "enabled"
    assert "exactly.once.source.support = enabled" in script
    assert sorted(mirror_["source"]["alias"] for mirror_ in spec["mirrors"]) == sorted(
        regions().peers_of(region)
    )
    topics = set(operator_objects("KafkaTopic", DEPLOY / "strimzi"))
    for flow in spec["mirrors"]:
        assert flow["topicsPattern"] == mm2_script_default("MM2_TOPICS")
        copied = {t for t in topics if re.fullmatch(flow["topicsPattern"], t)}
        settings = local_settings()
        assert copied == {settings.case_topic, notice_topic(settings), anchor_topic(settings)}
        config = flow["sourceConnector"]["config"]
        assert config["replication.policy.class"] in script
        assert config["replication.policy.class"].endswith(".DefaultReplicationPolicy")
        assert config["consumer.isolation.level"] == "read_committed"
        assert "checkpointConnector" not in flow  # consumer groups are not carried over


def test_each_service_has_the_database_it_connects_to() -> None:
    settings = local_settings()
    databases = operator_objects("Database")
    (cluster,) = operator_objects("Cluster").values()
    assert {d["spec"]["name"] for d in databases.values()} == {
        settings.database_for(s).rpartition("/")[2] for s in SERVICES
    }
    for database in databases.values():
        assert database["spec"]["owner"] == cluster["spec"]["bootstrap"]["initdb"]["owner"]
        assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    (scheduled,) = operator_objects("ScheduledBackup").values()
    (store,) = operator_objects("ObjectStore").values()
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    (plugin,) = cluster["spec"]["plugins"]
    assert (plugin["isWALArchiver"], plugin["parameters"]["barmanObjectName"]) == (
        True,
        store["metadata"]["name"],
    )


# --- the compose file --------------------------------------------------------------------------------------


def compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(m.COMPOSE_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.usefixtures("tools")
def test_the_compose_file_is_valid_and_sets_only_what_the_services_read() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert compose_errors(compose) == []
    broken = copy.deepcopy(compose)
    broken["services"]["intake"]["healthchek"] = {"test": ["CMD", "true"]}
    assert compose_errors(broken) == [
        "services.intake: Unevaluated properties are not allowed ('healthchek' was unexpected)"
    ]
    for name in SERVICES:
        service = compose["services"][name]
        assert service["command"] == [name]
        assert set(service["environment"]) - env_names(SETTINGS[name]) - OTHER_ENV == set(), name
        assert service["environment"]["CLUETRAIL_ENVIRONMENT"] == "production"
        assert service["read_only"] is True
    assert (
        set(compose["services"]["stack-init"]["environment"]) - env_names(CommonSettings) - OTHER_ENV == set()
    )
