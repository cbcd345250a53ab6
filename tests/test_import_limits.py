"""The import's limits hold for what is read, not only for what is kept: empty rows and cells count too,
and a report lists a bounded number of problems. Costs are checked by counting rows read, never by time."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from core.auth import roles as R
from core.programme import imports

from tests.test_import import PLAIN_FAMILIES, csv_file, post, workbook


@pytest.fixture
def rows_read(monkeypatch):
    """Counts the rows the reader takes from openpyxl or the csv module."""
    count = {"rows": 0}
    table = imports._table

    def counted(name, rows, problems):
        def each():
            for row in rows:
                count["rows"] += 1
                yield row
        return table(name, each(), problems)

    monkeypatch.setattr(imports, "_table", counted)
    return count


def with_blank_rows(book: bytes, blank: int, first_row: int) -> bytes:
    """*book* with *blank* rows of one empty, styled cell added to its first sheet (as Excel leaves them)."""
    source, out = zipfile.ZipFile(io.BytesIO(book)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                rows = '<row><c s="0"/></row>' * blank
                data = data.replace(b"</sheetData>", rows.encode() + b"</sheetData>")
                data = re.sub(rb'<dimension ref="[^"]*"/>', f'<dimension ref="A1:XFD{first_row + blank}"/>'.encode(),
                              data)
            target.writestr(item, data)
    return out.getvalue()


def test_blank_rows_count_against_the_row_limit(app, world, rows_read):
    book = with_blank_rows(workbook(families=PLAIN_FAMILIES), 400_000, len(PLAIN_FAMILIES) + 1)
    assert len(book) < 200_000
    response = post(app.test_client(), world, workbook=book, query="?dry_run=true")
    assert response.status_code == 422
    report = response.get_json()
    assert [p["row"] for p in report["problems"]] == [imports.MAX_ROWS + 2]
    assert "50" in report["problems"][0]["message"]
    assert rows_read["rows"] <= imports.MAX_ROWS + 2  # not 400,000


def test_a_wide_sheet_is_read_to_its_column_limit(app, world):
    """Cells right of column MAX_COLUMNS + 1 are not read (no column of the import is there); a value in
    that column is refused, so a sheet wider than the limit does not pass unnoticed."""
    book = Workbook()
    sheet = book.active
    sheet.title = "families"
    for row in PLAIN_FAMILIES:
        sheet.append(row)
    sheet.cell(row=3, column=imports.MAX_COLUMNS + 1, value="x")
    out = io.BytesIO()
    book.save(out)
    response = post(app.test_client(), world, workbook=out.getvalue())
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert [(p["sheet"], p["row"]) for p in problems] == [("families", 3)]
    assert str(imports.MAX_COLUMNS) in problems[0]["message"]


def test_a_csv_row_of_many_empty_cells_gives_a_small_report(app, world):
    rows = [PLAIN_FAMILIES[0], PLAIN_FAMILIES[1], [None] * 400_000, PLAIN_FAMILIES[2]]
    response = post(app.test_client(), world, families=csv_file(rows))
    assert response.status_code in (200, 422)
    assert len(response.get_data()) < 20_000
    response = post(app.test_client(), world, families=csv_file([PLAIN_FAMILIES[0], ["1"] * 400_000]))
    assert response.status_code == 422
    assert len(response.get_data()) < 20_000
    assert response.get_json()["problem_count"] == 1


def test_a_report_lists_at_most_the_limit_of_problems(app, world):
    """One bad date on each of 1,000 rows: all counted, the first MAX_LISTED listed, the message says so."""
    header = ["external_ref", "kind", "display_name", "registered_on"]
    rows = [header] + [[f"V-{n}", "vraaggezin", f"Gezin {n}", "geen datum"] for n in range(1000)]
    response = post(app.test_client(), world, families=csv_file(rows))
    assert response.status_code == 422
    report = response.get_json()
    assert report["problem_count"] == 1000
    assert len(report["problems"]) == imports.MAX_LISTED
    assert "1.000" in report["message"] or "1,000" in report["message"]  # Dutch by default, English on request
    assert str(imports.MAX_LISTED) in report["message"]


def test_the_row_limit_message_is_dutch_by_default_and_english_on_request(app, world):
    problems: list = []
    with app.test_request_context("/api/v1/aalten/imports", headers={"Accept-Language": "en"}):
        imports._table("families", iter([PLAIN_FAMILIES[0]] + [()] * (imports.MAX_ROWS + 5)), problems)
    assert "more than" in problems[0].message
    with app.test_request_context("/api/v1/aalten/imports"):
        problems.clear()
        imports._table("families", iter([PLAIN_FAMILIES[0]] + [()] * (imports.MAX_ROWS + 5)), problems)
    assert "meer dan" in problems[0].message


def test_a_csv_of_only_blank_lines_counts_them(app, world, rows_read):
    content = csv_file([PLAIN_FAMILIES[0]]) + b";\r\n" * (imports.MAX_ROWS + 1000)
    response = post(app.test_client(), world, families=content, token=R.COORDINATOR)
    assert response.status_code == 422
    assert response.get_json()["problems"][0]["row"] == imports.MAX_ROWS + 2
    assert rows_read["rows"] == imports.MAX_ROWS + 2
