"""Reading an agents CSV file: the whole file is validated before anything is done.

Columns (header row required, names as below, any order):
  given_name, surname, ministry            required
  title, phone, mail, aliases, quota,      optional
  drive_quota, uid, employee_id
UTF-8 (a BOM is accepted); comma-separated, or semicolon-separated as French
spreadsheet exports write it (detected from the header line). No field may be
longer than MAX_FIELD characters; whatever the csv module cannot read is a
Problem of its line, like every other error: never a traceback.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bureau.core.users import naming
from bureau.core.users.reference import Ministry, ministries
from bureau.errors import BadInput, Problem

REQUIRED = ("given_name", "surname", "ministry")
OPTIONAL = ("title", "phone", "mail", "aliases", "quota", "drive_quota", "uid", "employee_id")
COLUMNS = REQUIRED + OPTIONAL
MAX_QUOTA_MIB = 1024 * 1024  # 1 TiB
MAX_PROBLEMS = 200
# The longest real field (a list of aliases) is a few hundred characters. A field
# this long is an unclosed quote swallowing the file, or not an agents file at all.
MAX_FIELD = 64 * 1024
NAME_CHARS = re.compile("^[^\\W\\d_]+(?:[ '\u2019.-]+[^\\W\\d_]+)*\\.?$")
LONG_FIELD_FIX = (
    'no real field is that long: a quote (") opened on this line and never closed makes '
    "the rest of the file one field; close or remove it (or shorten the field)"
)
ENCODING_FIX = (
    "save the file as UTF-8 (LibreOffice: character set 'Unicode (UTF-8)'; "
    "Excel: 'CSV UTF-8 (comma delimited)')"
)


@dataclass(frozen=True)
class AgentRow:
    """One valid row of the file: what the agent's entry must say."""

    line: int
    given_name: str
    surname: str
    ministry: Ministry
    title: str = ""
    phone: str = ""
    mail: str | None = None
    aliases: tuple[str, ...] = ()
    quota: int | None = None
    drive_quota: int | None = None
    uid: str | None = None
    employee_id: str | None = None

    @property
    def cn(self) -> str:
        return f"{self.given_name} {self.surname}"

    @property
    def base_uid(self) -> str:
        return naming.base_uid(self.given_name, self.surname)


def decode(raw: bytes, file: str) -> str:
    """The file's text; every line that is not UTF-8 is reported with its number."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    problems: list[Problem] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as err:
            byte = line[err.start]
            problems.append(
                Problem(
                    file,
                    "encoding",
                    f"byte 0x{byte:02X} at column {err.start + 1} is not UTF-8 "
                    "(the file looks like Latin-1 / Windows-1252)",
                    ENCODING_FIX,
                    number,
                )
            )
            if len(problems) >= MAX_PROBLEMS:
                break
    raise BadInput(f"{file} is not UTF-8; nothing was changed", problems)


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _clean(value: str) -> str:
    return " ".join(value.split())


class _Checker:
    """Validates rows one by one, remembering what must stay unique across the file."""

    def __init__(self, file: str, domain: str) -> None:
        self.file = file
        self.domain = domain
        self.problems: list[Problem] = []
        self.uids: dict[str, int] = {}
        self.employee_ids: dict[str, int] = {}
        self.addresses: dict[str, int] = {}
        self.known = ministries()

    def problem(self, line: int, key: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(self.file, key, message, fix, line))

    def name(self, line: int, key: str, value: str) -> str:
        value = _clean(value)
        if not value:
            self.problem(line, key, "is empty", f"give the agent's {key.replace('_', ' ')}")
        elif len(value) > 64 or not NAME_CHARS.match(value):
            self.problem(
                line,
                key,
                f"{value!r} is not a name (letters, spaces, hyphens, apostrophes; 64 at most)",
                "check the column order and the delimiter",
            )
        return value

    def unique(self, seen: dict[str, int], value: str, line: int, key: str, what: str) -> None:
        first = seen.setdefault(value.lower(), line)
        if first != line:
            self.problem(
                line,
                key,
                f"{what} {value!r} is already on line {first}",
                f"give each agent its own {what}",
            )

    def address(self, line: int, key: str, value: str) -> str | None:
        address = value.strip().lower()
        if not address:
            return None
        why = naming.address_problem(address, self.domain)
        if why:
            self.problem(
                line,
                key,
                f"{value.strip()!r} {why}",
                f"write an address like kokou.agbeko@{self.domain}",
            )
            return None
        self.unique(self.addresses, address, line, key, "address")
        return address

    def row(self, line: int, fields: dict[str, str]) -> AgentRow | None:
        before = len(self.problems)
        given = self.name(line, "given_name", fields.get("given_name", ""))
        surname = self.name(line, "surname", fields.get("surname", ""))
        code = fields.get("ministry", "").strip().lower()
        ministry = self.known.get(code)
        if ministry is None:
            shown = ", ".join(list(self.known)[:6])
            self.problem(
                line,
                "ministry",
                f"unknown ministry {fields.get('ministry', '').strip()!r}" if code else "is empty",
                f"use a ministry code ({shown}, …; list them with `bureau users ministries`)",
            )
        title = _clean(fields.get("title", ""))
        if len(title) > 128:
            self.problem(line, "title", "is longer than 128 characters", "shorten it")
        phone = _clean(fields.get("phone", ""))
        if phone and not naming.PHONE_RE.match(phone):
            self.problem(
                line, "phone", f"{phone!r} is not a phone number", "write it like +228 22 21 00 00"
            )
        mail = self.address(line, "mail", fields.get("mail", ""))
        aliases: list[str] = []
        for alias in re.split(r"[\s|]+", fields.get("aliases", "").strip()):
            if alias:
                checked = self.address(line, "aliases", alias)
                if checked:
                    aliases.append(checked)
        quota = self.quota(line, fields.get("quota", "").strip())
        drive_quota = self.quota(line, fields.get("drive_quota", "").strip(), "drive_quota")
        uid = fields.get("uid", "").strip().lower() or None
        if uid is not None:
            if not naming.valid_uid(uid):
                self.problem(
                    line,
                    "uid",
                    f"{uid!r} is not a valid uid",
                    "use lower-case letters, digits, dots and hyphens, like kokou.agbeko",
                )
            else:
                self.unique(self.uids, uid, line, "uid", "uid")
        elif given and surname and not naming.base_uid(given, surname):
            self.problem(line, "uid", "no uid can be derived from this name", "give a uid column")
        employee_id = fields.get("employee_id", "").strip() or None
        if employee_id is not None:
            if not naming.EMPLOYEE_ID_RE.match(employee_id):
                self.problem(
                    line,
                    "employee_id",
                    f"{employee_id!r} is not an employee id",
                    "letters, digits and / _ . - only, 64 at most",
                )
            else:
                self.unique(self.employee_ids, employee_id, line, "employee_id", "employee id")
        if len(self.problems) > before or ministry is None:
            return None
        return AgentRow(
            line=line,
            given_name=given,
            surname=surname,
            ministry=ministry,
            title=title,
            phone=phone,
            mail=mail,
            aliases=tuple(dict.fromkeys(aliases)),
            quota=quota,
            drive_quota=drive_quota,
            uid=uid,
            employee_id=employee_id,
        )

    def quota(self, line: int, value: str, field: str = "quota") -> int | None:
        if not value:
            return None
        if value.isdigit() and 1 <= int(value) <= MAX_QUOTA_MIB:
            return int(value)
        self.problem(
            line,
            field,
            f"{value!r} is not a quota",
            f"write a whole number of MiB between 1 and {MAX_QUOTA_MIB}, e.g. 2048",
        )
        return None


class _Unreadable(Exception):
    """The csv module could not read the record that starts on `line`."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line


@contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """csv's maximum field length (a process-wide setting), restored on the way out."""
    previous = csv.field_size_limit(limit)
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _records(text: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on; a csv.Error becomes _Unreadable."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise _Unreadable(start, str(err)) from err
        yield start, record
        start = reader.line_num + 1


def _long_field(text: str, delimiter: str, line: int) -> tuple[int, int] | None:
    """(index, length) of the first field over MAX_FIELD in the record starting on `line`.

    Only to name the column in the message: that one record is read again with a
    limit as large as the text, which is already in memory.
    """
    lines = itertools.islice(io.StringIO(text, newline=""), line - 1, None)
    with _field_limit(max(len(text), MAX_FIELD) + 1):
        try:
            record = next(csv.reader(lines, delimiter=delimiter), [])
        except csv.Error:
            return None
    return next(((i, len(v)) for i, v in enumerate(record) if len(v) > MAX_FIELD), None)


def _unreadable(
    err: _Unreadable, text: str, delimiter: str, file: str, header: list[str]
) -> Problem:
    found = _long_field(text, delimiter, err.line)
    if found is None:
        return Problem(
            file,
            "(row)",
            f"is not readable as CSV ({err})",
            "save the file again as CSV (UTF-8, comma- or semicolon-separated)",
            err.line,
        )
    index, length = found
    column = header[index] if index < len(header) else f"column {index + 1}"
    return Problem(
        file,
        column,
        f"column {index + 1} is {length} characters long, "
        f"longer than {MAX_FIELD} characters (the most a field may hold)",
        LONG_FIELD_FIX,
        err.line,
    )


def parse(text: str, file: str, domain: str) -> list[AgentRow]:
    """Validate the whole text; return its rows, or raise BadInput listing every problem."""
    with _field_limit(MAX_FIELD):
        return _parse(text, file, domain, _delimiter(text))


def _parse(text: str, file: str, domain: str, delimiter: str) -> list[AgentRow]:
    records = _records(text, delimiter)
    try:
        header_raw = next(records, (1, []))[1]
    except _Unreadable as err:
        raise BadInput(
            f"{file}: the header is not readable; nothing was changed",
            [_unreadable(err, text, delimiter, file, [])],
        ) from err
    if not header_raw:
        raise BadInput(
            f"{file} is empty", [Problem(file, "header", "the file is empty", _HEADER_FIX, 1)]
        )
    header = [h.strip().lower() for h in header_raw]
    problems = [
        Problem(file, column or "(empty)", "unknown column", _HEADER_FIX, 1)
        for column in header
        if column not in COLUMNS
    ]
    problems += [
        Problem(file, column, "required column is missing", _HEADER_FIX, 1)
        for column in REQUIRED
        if column not in header
    ]
    problems += [
        Problem(file, column, "column appears twice", _HEADER_FIX, 1)
        for column in set(header)
        if header.count(column) > 1
    ]
    if problems:
        raise BadInput(f"{file}: the header is wrong; nothing was changed", problems)
    checker = _Checker(file, domain)
    rows: list[AgentRow] = []
    try:
        for start, record in records:
            row = _row(checker, header, start, record)
            if row is not None:
                rows.append(row)
            if len(checker.problems) >= MAX_PROBLEMS:
                break
    except _Unreadable as err:
        # Where csv stopped, the rest of the file cannot be trusted: report and stop.
        checker.problems.append(_unreadable(err, text, delimiter, file, header))
    if checker.problems:
        raise BadInput(
            f"{file}: {len(checker.problems)} problem(s); nothing was changed",
            checker.problems[:MAX_PROBLEMS],
        )
    return rows


def _row(checker: _Checker, header: list[str], line: int, record: list[str]) -> AgentRow | None:
    if not any(field.strip() for field in record):
        return None
    if len(record) != len(header):
        checker.problem(
            line,
            "(row)",
            f"has {len(record)} fields, the header has {len(header)}",
            "quote fields that contain the delimiter; check for missing or extra fields",
        )
        return None
    return checker.row(line, dict(zip(header, record, strict=True)))


def read(path: Path, domain: str) -> list[AgentRow]:
    """Read and validate an agents file (see the module docstring for its format)."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise BadInput(
            f"cannot read {path}",
            [Problem(str(path), "file", err.strerror or str(err), "check the path")],
        ) from err
    return parse(decode(raw, str(path)), str(path), domain)


_HEADER_FIX = "the first line must name the columns: " + ",".join(COLUMNS)
