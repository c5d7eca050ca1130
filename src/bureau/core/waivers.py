"""Waivers: checks Bureau, or a site, decides not to pass, each with a written reason.

One schema for every file (src/bureau/data/waivers.yml documents it): a list
of `{id, scope, justification, owner, expires}`. The project's defaults come
with Bureau; an inventory adds or overrides its own in
`inventories/<name>/audit-waivers.yml` (the same id and scope replace the
project's entry). A waiver past its `expires` date no longer applies.

The testinfra checks (tests/infra/testsupport.py) and `bureau audit` read
waivers here; a malformed file is bad input naming the file, line and field.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from bureau.core import yamlmarks
from bureau.core.inventory import shown
from bureau.errors import BadInput, Problem

FIELDS = ("id", "scope", "justification", "owner", "expires")
# openscap: XCCDF rule ids; testinfra: tests/infra/<role>/<module>.py::<check>;
# testssl, litmus, drive: see waivers.yml; audit: bureau audit's own findings
# (`drift`, `security-updates`, `certificate`).
SCOPES = ("openscap", "testinfra", "testssl", "litmus", "drive", "audit")
INVENTORY_FILE = "audit-waivers.yml"
MIN_JUSTIFICATION = 40


def default_file() -> Path:
    """The project's waivers (src/bureau/data/waivers.yml)."""
    return Path(str(resources.files("bureau").joinpath("data", "waivers.yml")))


def inventory_file(inventory: Path) -> Path:
    """`audit-waivers.yml` beside the inventory's hosts file."""
    directory = inventory if inventory.is_dir() else inventory.parent
    return directory / INVENTORY_FILE


@dataclass(frozen=True)
class Waiver:
    id: str
    scope: str
    justification: str
    owner: str
    expires: datetime.date
    file: str
    line: int | None = None

    def live(self, today: datetime.date) -> bool:
        return self.expires >= today

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "id": self.id,
            "scope": self.scope,
            "justification": self.justification,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "file": self.file,
            "line": self.line,
        }


def _entry_problems(
    entry: object, file: str, line: int | None, index: int, doc: yamlmarks.Document
) -> list[Problem]:
    """Every problem of one entry, each at the line of its field (the entry's
    line for a missing field)."""
    where = f"[{index}]"

    def at(key: str) -> int | None:
        return doc.line(index, key) or line

    if not isinstance(entry, dict):
        return [
            Problem(
                file,
                where,
                "a waiver must be a mapping",
                f"write `- id: …` with {', '.join(FIELDS)}",
                line,
            )
        ]
    problems: list[Problem] = []
    for key in FIELDS:
        if key not in entry:
            problems.append(Problem(file, f"{where}.{key}", "missing", _FIXES[key], line))
    for key in entry:
        if key not in FIELDS:
            problems.append(
                Problem(
                    file,
                    f"{where}.{key}",
                    "unknown field",
                    f"a waiver has exactly: {', '.join(FIELDS)}; remove or rename '{key}'",
                    at(str(key)),
                )
            )
    for key in ("id", "owner"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            problems.append(
                Problem(file, f"{where}.{key}", "must be non-empty text", _FIXES[key], at(key))
            )
    if "scope" in entry and entry["scope"] not in SCOPES:
        problems.append(
            Problem(
                file,
                f"{where}.scope",
                f"'{entry['scope']}' is not a known scope",
                _FIXES["scope"],
                at("scope"),
            )
        )
    justification = entry.get("justification")
    if "justification" in entry and (
        not isinstance(justification, str) or len(justification.strip()) < MIN_JUSTIFICATION
    ):
        problems.append(
            Problem(
                file,
                f"{where}.justification",
                f"too short: an auditor needs at least {MIN_JUSTIFICATION} characters of reason",
                _FIXES["justification"],
                at("justification"),
            )
        )
    expires = entry.get("expires")
    if "expires" in entry and not isinstance(expires, datetime.date):
        try:
            datetime.date.fromisoformat(str(expires))
        except ValueError:
            problems.append(
                Problem(
                    file,
                    f"{where}.expires",
                    f"'{expires}' is not a date",
                    _FIXES["expires"],
                    at("expires"),
                )
            )
    return problems


_FIXES = {
    "id": "name the check as its tool does (an XCCDF rule id, "
    "tests/infra/<role>/<module>.py::<check>)",
    "scope": f"one of: {', '.join(SCOPES)}",
    "justification": "say why the check is waived: a false positive (and why) or the decision "
    "and what covers the risk instead",
    "owner": "name who answers for the waiver (a role, a team)",
    "expires": "write the date after which the waiver stops applying, YYYY-MM-DD (e.g. 2027-06-30)",
}


def load(path: Path) -> list[Waiver]:
    """Every waiver of one file; BadInput naming file, line and field when malformed."""
    file = shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(
            f"cannot read the waivers file {file}",
            [Problem(file, "(file)", str(err), "make it a readable UTF-8 YAML file")],
        ) from err
    doc = yamlmarks.loads(text, path, file)
    if doc.data is None:
        return []
    if not isinstance(doc.data, list):
        raise BadInput(
            f"invalid waivers file {file}",
            [
                Problem(
                    file,
                    "(top)",
                    "the waivers file must be a list of waivers",
                    "start each waiver with `- id: …` (see src/bureau/data/waivers.yml)",
                    1,
                )
            ],
        )
    problems: list[Problem] = []
    found: list[Waiver] = []
    seen: dict[tuple[str, str], int | None] = {}
    for index, entry in enumerate(doc.data):
        line = doc.line(index)
        wrong = _entry_problems(entry, file, line, index, doc)
        if wrong:
            problems += wrong
            continue
        assert isinstance(entry, dict)
        key = (str(entry["scope"]), str(entry["id"]))
        if key in seen:
            problems.append(
                Problem(
                    file,
                    f"[{index}].id",
                    f"'{entry['id']}' ({entry['scope']}) is waived twice "
                    f"(first at line {seen[key]})",
                    "keep one entry per check",
                    line,
                )
            )
            continue
        seen[key] = line
        expires = entry["expires"]
        if not isinstance(expires, datetime.date):
            expires = datetime.date.fromisoformat(str(expires))
        found.append(
            Waiver(
                id=str(entry["id"]),
                scope=str(entry["scope"]),
                justification=" ".join(str(entry["justification"]).split()),
                owner=str(entry["owner"]),
                expires=expires,
                file=file,
                line=line,
            )
        )
    if problems:
        count = len(problems)
        raise BadInput(f"the waivers file {file} has {count} problem{'s' * (count != 1)}", problems)
    return found


def merged(*paths: Path) -> list[Waiver]:
    """The waivers of several files, later files replacing earlier entries of the
    same scope and id; a file that does not exist adds nothing."""
    by_key: dict[tuple[str, str], Waiver] = {}
    for path in paths:
        if path.exists():
            for waiver in load(path):
                by_key[(waiver.scope, waiver.id)] = waiver
    return list(by_key.values())


def live(
    waivers: list[Waiver], today: datetime.date, scope: str | None = None
) -> dict[str, Waiver]:
    """The waivers (of `scope`) that still apply on `today`, by id."""
    return {w.id: w for w in waivers if w.live(today) and (scope is None or w.scope == scope)}


def expired(waivers: list[Waiver], today: datetime.date) -> list[Waiver]:
    return [w for w in waivers if not w.live(today)]
