"""The official OCDS 1.1 schemas, with the bids extension applied, as validators for the tests, and
as a command that prints the verdict on a file:

    python -m tests.ocds_schema FILE    # a release or a release package (JSON)

The schemas are read, offline, from ``BIDSERVER_OCDS_SCHEMA_DIR``, by default ``../shared/ocds/1.1``
beside the project (the copy every developer and CI share: ``../shared/README.md``); they are never
copied into the project. Where they are absent the tests that need them skip, saying how to get them.
"""

from __future__ import annotations

import copy
import csv
import functools
import json
import os
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

DEFAULT_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ocds" / "1.1"
SCHEMA_DIR = Path(os.environ.get("BIDSERVER_OCDS_SCHEMA_DIR") or DEFAULT_DIR)
HOW_TO_GET = (
    f"the OCDS 1.1 schemas are not in {SCHEMA_DIR}: set BIDSERVER_OCDS_SCHEMA_DIR to a folder "
    "holding release-schema.json, release-package-schema.json, codelists/ and bids-extension/ "
    "(release-schema.json and codelists/ of the bids extension), e.g. from "
    "https://standard.open-contracting.org/1.1/en/ (schema and codelists) and "
    "https://github.com/open-contracting-extensions/ocds_bid_extension"
)


def available() -> bool:
    return all((SCHEMA_DIR / name).is_file() for name in (
        "release-schema.json", "release-package-schema.json", "bids-extension/release-schema.json"))


def require() -> None:
    """Skip the calling test, saying how to get the schemas, where they are absent."""
    if not available():
        pytest.skip(HOW_TO_GET)


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: how OCDS extensions apply to the release schema."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


@functools.cache
def merged_release_schema() -> dict[str, Any]:
    require()
    return merge_patch(_load(SCHEMA_DIR / "release-schema.json"),
                       _load(SCHEMA_DIR / "bids-extension" / "release-schema.json"))


@functools.cache
def schema_validators() -> tuple[Draft4Validator, Draft4Validator]:
    """(release validator, package validator) resolving $refs from the local files only: the
    package refers to the release schema by its https URL, served here by the registry."""
    release_schema = merged_release_schema()
    package_schema = _load(SCHEMA_DIR / "release-package-schema.json")
    registry = Registry().with_resources([
        (release_schema["id"], DRAFT4.create_resource(release_schema)),
        (package_schema["id"], DRAFT4.create_resource(package_schema)),
    ])

    def refuse(uri: str):
        raise AssertionError(f"schema reference {uri} is not local")

    registry = Registry(retrieve=refuse).combine(registry)
    return (Draft4Validator(release_schema, registry=registry),
            Draft4Validator(package_schema, registry=registry))


def release_errors(release: dict[str, Any]) -> list[str]:
    """What the OCDS 1.1 release schema (with the bids extension) finds wrong in a release."""
    return sorted(e.message for e in schema_validators()[0].iter_errors(release))


def package_errors(package: dict[str, Any]) -> list[str]:
    """What the release-package schema, and the release schema on each release, find wrong."""
    found = sorted(e.message for e in schema_validators()[1].iter_errors(package))
    for index, release in enumerate(package.get("releases", [])):
        found += [f"releases[{index}]: {message}" for message in release_errors(release)]
    return found


def codes(name: str) -> set[str]:
    """A core codelist's current (not deprecated) codes."""
    require()
    with open(SCHEMA_DIR / "codelists" / name, newline="") as handle:
        return {row["Code"] for row in csv.DictReader(handle) if not row.get("Deprecated")}


def codes_of_extension(name: str) -> set[str]:
    """A bids extension codelist's codes."""
    require()
    with open(SCHEMA_DIR / "bids-extension" / "codelists" / name, newline="") as handle:
        return {row["Code"] for row in csv.DictReader(handle)}


def codelist_faults(release: dict[str, Any]) -> list[str]:
    """Values outside their codelist, for the codelists the schema leaves open or does not check
    (releaseTag, partyRole, method, awardCriteria, bidStatus, statistic...)."""
    tender = release.get("tender", {})
    checks = [
        ("tag", release.get("tag", []), codes("releaseTag.csv")),
        ("initiationType", [release.get("initiationType")], codes("initiationType.csv")),
        ("tender.status", [tender.get("status")], codes("tenderStatus.csv")),
        ("tender.lots[].status", [lot["status"] for lot in tender.get("lots", [])], codes("tenderStatus.csv")),
        ("tender.procurementMethod", [tender.get("procurementMethod")], codes("method.csv")),
        ("tender.awardCriteria", [tender.get("awardCriteria")], codes("awardCriteria.csv")),
        ("tender.submissionMethod", tender.get("submissionMethod", []), codes("submissionMethod.csv")),
        ("parties[].roles", [r for p in release.get("parties", []) for r in p["roles"]], codes("partyRole.csv")),
        ("awards[].status", [a["status"] for a in release.get("awards", [])], codes("awardStatus.csv")),
        ("bids.details[].status", [b["status"] for b in release.get("bids", {}).get("details", [])],
         codes_of_extension("bidStatus.csv")),
        ("bids.statistics[].measure", [s["measure"] for s in release.get("bids", {}).get("statistics", [])],
         codes_of_extension("statistic.csv")),
    ]
    return [f"{where}: {value!r}" for where, values, allowed in checks for value in values
            if value is not None and value not in allowed]


def verdict(document: dict[str, Any]) -> list[str]:
    """Every fault of a release or a release package: schema, then codelists."""
    if "releases" in document:
        return package_errors(document) + [
            f"releases[{i}].{fault}" for i, r in enumerate(document["releases"]) for fault in codelist_faults(r)]
    return release_errors(document) + codelist_faults(document)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.ocds_schema FILE", file=sys.stderr)
        return 2
    if not available():
        print(HOW_TO_GET, file=sys.stderr)
        return 2
    document = json.loads(Path(argv[0]).read_text(), parse_float=Decimal)
    kind = "release package" if "releases" in document else "release"
    faults = verdict(document)
    print(f"schemas: {SCHEMA_DIR} (release-package-schema.json, release-schema.json + bids extension)")
    if faults:
        print(f"INVALID {kind} {argv[0]}: {len(faults)} fault(s)")
        print("\n".join(f"  {fault}" for fault in faults))
        return 1
    count = len(document["releases"]) if "releases" in document else 1
    print(f"VALID {kind} {argv[0]}: {count} release(s), no schema error, every codelist value known")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
