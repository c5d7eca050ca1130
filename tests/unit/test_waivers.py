"""The waivers file is well formed (src/bureau/data/waivers.yml)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import yaml

# The file in this checkout (the installed package may be another checkout's).
WAIVERS = Path(__file__).resolve().parents[2] / "src" / "bureau" / "data" / "waivers.yml"
KEYS = {"id", "scope", "justification", "owner", "expires"}
SCOPES = {"openscap", "testinfra", "testssl", "litmus", "drive", "audit"}


def load_waivers() -> list[dict[str, object]]:
    waivers = yaml.safe_load(WAIVERS.read_text(encoding="utf-8"))
    assert isinstance(waivers, list)
    return waivers


def test_every_waiver_has_the_documented_fields() -> None:
    for waiver in load_waivers():
        assert set(waiver) == KEYS, waiver
        assert waiver["scope"] in SCOPES, waiver
        assert isinstance(waiver["justification"], str) and len(waiver["justification"]) > 40
        assert isinstance(waiver["owner"], str) and waiver["owner"]
        # A date, written YYYY-MM-DD (YAML reads it as a date).
        assert isinstance(waiver["expires"], datetime.date), waiver


def test_openscap_waivers_name_xccdf_rules_once() -> None:
    ids = [w["id"] for w in load_waivers()]
    assert len(ids) == len(set(ids))
    for waiver in load_waivers():
        if waiver["scope"] == "openscap":
            assert re.fullmatch(r"xccdf_org\.ssgproject\.content_rule_\w+", str(waiver["id"]))
