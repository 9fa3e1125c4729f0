"""Two regions as a deployment runs them: 安徽 (``anhui``) and 宁夏 (``ningxia``), each a Kafka cluster of its
own with its four services and databases, and MirrorMaker 2 replicating their case, notice and anchor
topics both ways, exactly once.

The brokers and MirrorMaker run under a state directory of the test session (``tests.servers``), on free
ports; the services' databases live on the shared PostgreSQL server under a prefix per region. Both regions
use the session's topic names, as deployments do: region ``anhui``'s ``<prefix>.case-events`` reaches
``ningxia``'s cluster as ``anhui.<prefix>.case-events`` and the other way round.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.commands import cluetrail
from tests.harness import ROOT, Stack, WebhookRecorder
from tests.servers import MirrorMaker, PrivateKafka

REGIONS_FILE = ROOT / "deploy" / "regions" / "anhui-ningxia.json"
ANHUI, NINGXIA = "anhui", "ningxia"
# What MirrorMaker copies between regions, as deployments configure it (deploy/bin/mm2.sh).
REPLICATED = ("case-events", "notices", "anchors")


@dataclass
class Region:
    """One region: its broker, its four services and the receiver of its deliveries."""

    alias: str
    broker: PrivateKafka
    stack: Stack
    recorder: WebhookRecorder


@dataclass
class TwoRegions:
    regions: dict[str, Region]
    mirror: MirrorMaker
    tag: str
    state: Path
    log: list[str] = field(default_factory=list)

    @property
    def anhui(self) -> Region:
        return self.regions[ANHUI]

    @property
    def ningxia(self) -> Region:
        return self.regions[NINGXIA]

    def audit_one(self, region: Region) -> subprocess.CompletedProcess[str]:
        """``cluetrail audit verify --strict`` of one region's own log, as that region's auditor runs it."""
        return cluetrail(region.stack, "audit", "verify", "--strict")

    def audit(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """``cluetrail audit verify`` over both regions, as an auditor runs it."""
        arguments = ["audit", "verify", "--strict"]
        for region in self.regions.values():
            arguments += ["--region", f"{region.alias}={region.broker.bootstrap}"]
        return cluetrail(self.anhui.stack, *arguments, *extra)


def region_keys(directory: Path, aliases: list[str]) -> dict[str, str]:
    """Each region's private key (``cluetrail region keys``), and the public keys file beside them."""
    subprocess.run(
        [sys.executable, "-m", "cluetrail.cli", "region", "keys", *aliases, "--dir", str(directory)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        env={**os.environ, "CLUETRAIL_ENVIRONMENT": "local"},
    )
    return {alias: (directory / f"{alias}.key").read_text().strip() for alias in aliases}


@contextmanager
def two_regions(state: Path, also_replicate: tuple[str, ...] = ()) -> Iterator[TwoRegions]:
    """Start both brokers, create both regions' topics and databases, start MirrorMaker both ways, then
    the eight services; stop it all afterwards. ``also_replicate`` names more topics of the session's
    prefix for MirrorMaker to copy (the benchmark's raw baseline)."""
    tag = uuid.uuid4().hex[:8]
    aliases = [ANHUI, NINGXIA]
    keys = region_keys(state / "keys", aliases)
    with ExitStack() as cleanup:
        regions: dict[str, Region] = {}
        for alias in aliases:
            broker = PrivateKafka(state=state / alias)
            cleanup.callback(broker.stop)
            broker.start()
            recorder = WebhookRecorder()
            recorder.start()
            cleanup.callback(recorder.stop)
            workdir = state / alias / "services"
            workdir.mkdir(parents=True, exist_ok=True)
            stack = Stack(
                workdir,
                recorder,
                tag=tag,
                region=alias,
                env={
                    "CLUETRAIL_KAFKA_BOOTSTRAP": broker.bootstrap,
                    "CLUETRAIL_REGIONS_FILE": str(REGIONS_FILE),
                    "CLUETRAIL_REGION_PRIVATE_KEY": keys[alias],
                    "CLUETRAIL_REGION_KEYS_FILE": str(state / "keys" / "public-keys.json"),
                    # Eight services and three JVMs share the machine: spans are not what is tested here.
                    "CLUETRAIL_OTEL_EXPORTER": "none",
                },
            )
            stack.mail.start()
            cleanup.callback(stack.stop_all)
            stack.init()
            regions[alias] = Region(alias, broker, stack, recorder)
        mirror = MirrorMaker(
            state=state,
            clusters={alias: region.broker.bootstrap for alias, region in regions.items()},
            topics=re.escape(f"test-{tag}") + r"\.(" + "|".join(REPLICATED + also_replicate) + ")",
        )
        mirror.fetch()
        cleanup.callback(mirror.stop)
        mirror.start()
        for region in regions.values():
            for name in ("intake", "triage", "reporting", "notify"):
                region.stack.start(name, timeout=180)
        yield TwoRegions(regions, mirror, tag, state)
