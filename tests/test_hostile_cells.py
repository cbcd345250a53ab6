"""Formula injection: no spreadsheet Koppel writes runs a cell (ASVS 1.2.10, OWASP CSV injection).

Every writer of spreadsheet files (the ``report.csv`` and ``report.xlsx`` formats, which the reports,
funding statements and funders' exports are rendered by) goes through :mod:`core.cells`. Text starting
with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a NUL gets a leading single quote in CSV, and
is a string cell with Excel's quote prefix in XLSX; numbers, negative ones too, stay numbers.
"""
from __future__ import annotations

import csv
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest

from core import cells
from core.plugin_toolkit import Report, Section, build_manager

HOSTILE = ["=cmd|' /C calc'!A0", "=HYPERLINK(\"http://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0",
           "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "\0=1+1", "-", "+",
           "=", "@"]
HARMLESS = ["Familie Jansen", "a=b", " =1", "'=1", "-5", "+31", "-1,5", "-1.5e3", "<5"]


def test_asvs_1_2_10_the_rule_is_in_one_place():
    for value in HOSTILE:
        assert cells.is_formula(value), repr(value)
        assert cells.neutralise(value) == "'" + value
    for value in HARMLESS:
        assert not cells.is_formula(value), repr(value)
        assert cells.neutralise(value) == value


def _report() -> Report:
    rows = tuple((value, -5, Decimal("-3.20"), -0.5, "-5") for value in HOSTILE)
    return Report("=Titel", (Section("@Sectie", ("=kolom", "aantal", "bedrag", "aandeel", "tekst"), rows,
                                     notes=("+noot", "gewone noot")),))


@pytest.fixture(scope="module")
def hook():
    # escape_formulas false, as a stored configuration may still say: neutralised all the same
    return build_manager({"report.csv": {"escape_formulas": False}, "report.xlsx": {}}).hook


@pytest.mark.parametrize("media_format, delimiter, decimal", [("csv", ";", ","), ("csv-international", ",", ".")])
def test_asvs_1_2_10_csv_cells_are_never_formulas(hook, media_format, delimiter, decimal):
    content = hook.koppel_render_report(report=_report(), media_format=media_format).content
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter))
    assert lines[0] == ["'=Titel"] and lines[2] == ["'@Sectie"] and lines[3][0] == "'=kolom"
    for line, value in zip(lines[4:], HOSTILE):
        assert line == ["'" + value, "-5", f"-3{decimal}20", f"-0{decimal}5", "-5"], line  # numbers stay numbers
    assert lines[4 + len(HOSTILE):] == [["'+noot"], ["gewone noot"]]
    for line in lines:  # whatever the field, its first character is never one a spreadsheet runs
        assert not any(cells.is_formula(field) for field in line), line


def test_asvs_1_2_10_xlsx_cells_are_strings_with_the_quote_prefix_and_numbers_stay_numbers(hook):
    content = hook.koppel_render_report(report=_report(), media_format="xlsx").content
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    assert (sheet["A1"].value, sheet["A1"].data_type, sheet["A1"].quotePrefix) == ("=kolom", "s", True)
    for row, value in enumerate(HOSTILE, start=2):
        cell = sheet.cell(row=row, column=1)
        assert cell.data_type == "s" and cell.quotePrefix, (row, value)
        assert cell.value == value.replace("\0", "").replace("\r", "\n")  # as it was (XML keeps no NUL or CR)
        numbers = [sheet.cell(row=row, column=c) for c in (2, 3, 4)]
        assert [(c.value, c.data_type) for c in numbers] == [(-5, "n"), (-3.2, "n"), (-0.5, "n")]
        assert sheet.cell(row=row, column=5).value == "-5" and not sheet.cell(row=row, column=5).quotePrefix
    notes = [sheet.cell(row=len(HOSTILE) + 3 + n, column=1) for n in (0, 1)]
    assert [(c.value, c.quotePrefix) for c in notes] == [("+noot", True), ("gewone noot", False)]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:  # no formula anywhere in the package
        assert not any(b"<f>" in archive.read(name) or b"<f " in archive.read(name)
                       for name in archive.namelist() if name.startswith("xl/worksheets/"))
