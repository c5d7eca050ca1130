"""The documents bench.office opens in LibreOffice are what it says they are:
well-formed flat ODF, 20 pages of text, 5,000 rows whose products sum."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bench.office import calc_document, writer_document

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"


def test_the_writer_document_has_twenty_pages() -> None:
    root = ET.fromstring(writer_document().encode())
    headings = root.findall(f".//{{{TEXT}}}h")
    # Each heading starts a page (its style breaks before it).
    assert len(headings) == 20
    assert all(h.get(f"{{{TEXT}}}style-name") == "Break" for h in headings)
    assert 'fo:break-before="page"' in writer_document()


def test_the_calc_document_has_five_thousand_rows_and_their_sum() -> None:
    root = ET.fromstring(calc_document().encode())
    rows = root.findall(f".//{{{TABLE}}}table-row")
    # A header, 5,000 lines, the sum.
    assert len(rows) == 5002
    last = rows[-1].findall(f"{{{TABLE}}}table-cell")[-1]
    assert last.get(f"{{{TABLE}}}formula") == "of:=SUM([.D2:.D5001])"
