"""CSV validation for `bureau users import`: every error with its line and field."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bureau.cli import main
from bureau.core.users import csvinput
from bureau.errors import BadInput

HEADER = "given_name,surname,ministry,title,phone,mail,aliases,quota,uid,employee_id\n"


def problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(BadInput) as caught:
        csvinput.parse(text, "agents.csv", "gouv.tg")
    return [(p.line, p.key) for p in caught.value.problems]


def test_reads_accented_names_and_optional_columns() -> None:
    rows = csvinput.parse(
        HEADER
        + "Kokou,Agbéko,mef,Directeur,+228 22 21 00 00,,"
        + "k.agbeko@gouv.tg kokou@finances.gouv.tg,4096,,TG1\n"
        + "Abla,Adjo-Amégan,MSH,,,,,,,\n",
        "agents.csv",
        "gouv.tg",
    )
    assert [r.cn for r in rows] == ["Kokou Agbéko", "Abla Adjo-Amégan"]
    assert rows[0].aliases == ("k.agbeko@gouv.tg", "kokou@finances.gouv.tg")
    assert rows[0].quota == 4096 and rows[0].employee_id == "TG1"
    assert rows[1].ministry.code == "msh" and rows[1].quota is None
    assert (rows[0].line, rows[1].line) == (2, 3)


def test_only_required_columns_and_semicolons() -> None:
    rows = csvinput.parse("given_name;surname;ministry\nAfi;d'Almeida;men\n", "a.csv", "gouv.tg")
    assert rows[0].base_uid == "afi.dalmeida"


def test_every_problem_is_reported_with_line_and_field() -> None:
    text = (
        HEADER
        + "Kokou,Agbéko,XYZ,,,,,,,\n"  # 2: unknown ministry
        + "Abla,,mef,,,,,,,\n"  # 3: empty surname
        + "Yao,Mensah,mef,,,yao@@gouv.tg,,,,\n"  # 4: malformed address
        + "Yao,Mensah,mef,,,yao@example.org,,,,\n"  # 5: outside the domain
        + "Afi,Akakpo,mef,,,,,lots,,\n"  # 6: bad quota
        + "Afi,Akakpo,mef,,,,,0,,\n"  # 7: quota out of range
        + "Essi,Lawson,mef,,,,,,a.b,E1\n"
        + "Essi,Lawson,mef,,,,,,A.B,E1\n"  # 9: duplicate uid and employee id
        + "Dovi,Sodji,mef,,not a phone,,,,,\n"  # 10: phone
        + "Dovi,Sodji,mef\n"  # 11: wrong number of fields
        + "Edem,Kpodar,men,,,edem@gouv.tg,,,,\n"
        + "Edem,Kpodar,men,,,,edem@gouv.tg,,,\n"  # 13: address already used on line 12
    )
    assert problems(text) == [
        (2, "ministry"),
        (3, "surname"),
        (4, "mail"),
        (5, "mail"),
        (6, "quota"),
        (7, "quota"),
        (9, "uid"),
        (9, "employee_id"),
        (10, "phone"),
        (11, "(row)"),
        (13, "aliases"),
    ]


def test_header_errors_name_the_column() -> None:
    assert problems("given_name,surname,ministere\nA,B,mef\n") == [
        (1, "ministere"),
        (1, "ministry"),
    ]


def test_latin1_file_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes(
        "given_name,surname,ministry\nAbla,Akakpo,mef\nKokou,Agbéko,mef\n".encode("latin-1")
    )
    with pytest.raises(BadInput) as caught:
        csvinput.read(path, "gouv.tg")
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (3, "encoding")
    assert "UTF-8" in problem.fix


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "agents.csv"
    path.write_bytes("given_name,surname,ministry\nKokou,Agbéko,mef\n".encode("utf-8-sig"))
    assert csvinput.read(path, "gouv.tg")[0].surname == "Agbéko"


def test_a_field_over_the_limit_is_a_problem_with_line_and_column() -> None:
    text = HEADER + "Kokou,Agbéko,mef,,,,,,,E1\n" + "Abla,Akakpo,mef," + "x" * 200_000 + ",,,,,,\n"
    with pytest.raises(BadInput) as caught:
        csvinput.parse(text, "agents.csv", "gouv.tg")
    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.key) == ("agents.csv", 3, "title")
    assert "column 4" in problem.message and str(csvinput.MAX_FIELD) in problem.message
    assert "quote" in problem.fix
    assert "agents.csv" in str(caught.value)


def test_the_explicit_field_limit_is_below_csv_s_default() -> None:
    # 70,000 characters: under csv's own 131,072 but over Bureau's 64 KiB.
    with pytest.raises(BadInput) as caught:
        csvinput.parse(HEADER + "Abla,Akakpo,mef,,,," + "a" * 70_000 + ",,,\n", "a.csv", "gouv.tg")
    [problem] = caught.value.problems
    assert (problem.line, problem.key) == (2, "aliases")
    assert f"longer than {csvinput.MAX_FIELD} characters" in problem.message
    assert csv.field_size_limit() == 131_072  # restored for other readers


def test_an_unclosed_quote_is_reported_at_the_line_it_opens() -> None:
    text = HEADER + "Kokou,Agbéko,mef,,,,,,,E1\n" + 'Abla,"Akakpo,mef,,,,,,,E2\n'
    text += "".join(f"Yao,Mensah,mef,,,,,,,E{n}\n" for n in range(3, 6000))
    assert problems(text) == [(3, "surname")]


def test_an_oversized_header_is_a_problem_not_a_crash() -> None:
    assert problems('"' + "x" * 200_000 + '"\nA,B,mef\n') == [(1, "column 1")]


def test_the_command_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "agents.csv"
    path.write_text(HEADER + "Abla,Akakpo,mef," + "x" * 140_000 + ",,,,,,\n", encoding="utf-8")
    assert main(["users", "import", str(path), "--domain", "gouv.tg"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: title:" in err and "fix:" in err and "Traceback" not in err


def test_a_drive_quota_that_is_not_a_quota_names_its_field() -> None:
    text = "given_name,surname,ministry,drive_quota\nAfi,Akakpo,mef,beaucoup\nYao,Mensah,men,0\n"
    assert problems(text) == [(2, "drive_quota"), (3, "drive_quota")]
