"""Loading the grading rules a deployment uses, validated at start-up (an error names the bad file and entry).

An adapter, not domain: it reads files (the bundled data beside the package, or a deployment's own named by
the settings) and hands their text to the domain's validating loaders (``domain.grading``,
``domain.classification``, ``domain.quiet_periods``). ``bootstrap`` calls it once before anything starts;
the operator commands and tests call it for the same rules.

The rule set (``CLUETRAIL_TRIAGE_RULES_FILE``, else the bundled ``triage-rules-2026.2.json``), the
classification phrases (``CLUETRAIL_TRIAGE_CLASSIFICATION_FILE``, else ``classification-2026.1.json``) and
the district rule files: the bundled ``districts/*.json``, each replaced by a file of the same district in
``CLUETRAIL_TRIAGE_DISTRICT_RULES_DIR`` when one is there. The bundled files stay in ``services/triage/``.
"""

from __future__ import annotations

import json
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path

from cluetrail.crypto import RegionSealer
from contracts.jurisdictions import JurisdictionRegistry
from contracts.regions import RegionError, RegionRegistry
from services.triage.domain.classification import ClassificationError, load_classification
from services.triage.domain.grading import RuleSet, RuleSetError, load_district_rules, load_rule_set
from services.triage.domain.quiet_periods import QuietPeriods, load_quiet_periods
from services.triage.settings import TriageSettings

DEFAULT_RULES = "triage-rules-2026.2.json"
DEFAULT_WRITE_OFF = "write-off-2026.1.json"
DEFAULT_CLASSIFICATION = "classification-2026.1.json"
BUNDLED = resources.files("services.triage")


def _read(path: Path | Traversable) -> str:
    return path.read_text(encoding="utf-8")


def bundled_rule_set(version: str | None = None) -> RuleSet:
    """A bundled rule set (the default, or e.g. ``triage-rules/2026.1`` to recompute older grades), with
    the bundled classification phrases and district files."""
    name = DEFAULT_RULES if version is None else f"triage-rules-{version.split('/', 1)[1]}.json"
    return assemble(_read(BUNDLED.joinpath(name)), f"services/triage/{name}")


def assemble(
    rules_text: str,
    origin: str,
    *,
    classification: Path | None = None,
    district_dir: Path | None = None,
    registry: JurisdictionRegistry | None = None,
) -> RuleSet:
    """The rule set with its classification phrases and district files attached, all validated; with a
    registry, each district file must name a district (区/县 or zone) of the jurisdiction tree."""
    base = load_rule_set(rules_text, origin)
    source = classification or BUNDLED.joinpath(DEFAULT_CLASSIFICATION)
    try:
        phrases = load_classification(_read(source), str(source))
    except ClassificationError as exc:
        raise RuleSetError(str(exc)) from exc
    base = base.model_copy(update={"classification": phrases})
    files: dict[str, Path | Traversable] = {
        f.name: f for f in BUNDLED.joinpath("districts").iterdir() if f.name.endswith(".json")
    }
    if district_dir is not None:
        files.update({f.name: f for f in sorted(district_dir.glob("*.json"))})
    districts = {}
    for name, file in sorted(files.items()):
        rules = load_district_rules(_read(file), base, str(file))
        if f"{rules.district}.json" != name:
            raise RuleSetError(
                f"{file}: names district {rules.district}; the file must be {rules.district}.json"
            )
        if registry is not None and (
            rules.district not in registry or registry.get(rules.district).level != "district"
        ):
            raise RuleSetError(f"{file}: {rules.district} is not a district of the jurisdiction tree")
        districts[rules.district] = rules
    return base.model_copy(update={"districts": districts})


def rule_set_for(settings: TriageSettings) -> RuleSet:
    """The rules named by the settings, else the bundled ones."""
    if settings.rules_file is None:
        text, origin = _read(BUNDLED.joinpath(DEFAULT_RULES)), f"services/triage/{DEFAULT_RULES}"
    else:
        text, origin = _read(settings.rules_file), str(settings.rules_file)
    return assemble(
        text,
        origin,
        classification=settings.classification_file,
        district_dir=settings.district_rules_dir,
        registry=JurisdictionRegistry.load(settings.jurisdictions_file),
    )


def quiet_periods_for(settings: TriageSettings) -> QuietPeriods:
    """The write-off quiet periods in force: one period for all (``CLUETRAIL_TRIAGE_WRITE_OFF_QUIET_DAYS``),
    else the file (``CLUETRAIL_TRIAGE_WRITE_OFF_FILE``, else the bundled one), validated."""
    if settings.write_off_quiet_days is not None:
        return QuietPeriods.uniform(
            settings.write_off_quiet_days, version="CLUETRAIL_TRIAGE_WRITE_OFF_QUIET_DAYS"
        )
    source: Path | Traversable = settings.write_off_file or BUNDLED.joinpath(DEFAULT_WRITE_OFF)
    return load_quiet_periods(_read(source), str(source))


def region_sealer_for(settings: TriageSettings, regions: RegionRegistry) -> RegionSealer | None:
    """The sealer of reporter identity across regions: None for a deployment of one region; else this
    region's private key and every other region's public key, or a refusal naming what is missing."""
    peers = regions.peers_of(settings.region)
    if not peers:
        return None
    if settings.region_private_key is None or settings.region_keys_file is None:
        raise RegionError(
            f"region {settings.region} has peers ({', '.join(peers)}): set CLUETRAIL_REGION_PRIVATE_KEY and "
            "CLUETRAIL_REGION_KEYS_FILE to hand cases to them with their reporters' identities"
        )
    try:
        keys = json.loads(_read(settings.region_keys_file))
    except ValueError as exc:
        raise RegionError(f"{settings.region_keys_file}: not JSON ({exc})") from None
    missing = [peer for peer in peers if not isinstance(keys, dict) or not isinstance(keys.get(peer), str)]
    if missing:
        raise RegionError(f"{settings.region_keys_file}: no public key of region {missing[0]}")
    try:
        return RegionSealer.from_base64(
            settings.region, settings.region_private_key.get_secret_value(), {p: keys[p] for p in peers}
        )
    except ValueError as exc:
        raise RegionError(f"{settings.region_keys_file} or CLUETRAIL_REGION_PRIVATE_KEY: {exc}") from None
