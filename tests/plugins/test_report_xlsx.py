import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from marshmallow import ValidationError

from core.policy.types import Report, Section
from tests.plugins.test_report_common import REPORT


def render(hook, config=None, report=REPORT):
    return hook({"report.xlsx": config or {}}).koppel_render_report(report=report, media_format="xlsx")


def workbook(hook, config=None, report=REPORT):
    return openpyxl.load_workbook(io.BytesIO(render(hook, config, report).content))


def test_one_sheet_per_section_with_valid_names_and_the_title_in_the_properties(hook):
    rendered = render(hook)
    assert (rendered.media_type, rendered.extension) == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(rendered.content))
    assert book.sheetnames == ["Koppelingen per maand", "Aanmeldingen", "Kosten regio Achterhoek", "Geen gegevens",
                               "Gezinnen per wijk"]
    assert (book.properties.title, book.properties.subject) == (REPORT.title, REPORT.subtitle)


def test_the_workbook_does_not_carry_the_time_it_was_saved(hook):
    """openpyxl sets "modified" to the time of saving: two renders a second apart would differ."""
    properties = workbook(hook).properties
    assert properties.created == properties.modified == datetime(2000, 1, 1)


def test_header_row_bold_filled_frozen_filtered_and_columns_wide_enough(hook):
    sheet = workbook(hook)["Koppelingen per maand"]
    header = [cell for cell in sheet[1]]
    assert [c.value for c in header] == list(REPORT.sections[0].columns)
    assert all(c.font.b for c in header)
    assert {c.fill.fill_type for c in header} == {"solid"}
    assert {c.fill.fgColor.rgb[-6:] for c in header} == {"D9E1F2"}
    assert not sheet["A2"].font.b and sheet["A2"].fill.fill_type is None
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:E7"
    assert sheet.column_dimensions["B"].width >= len("Nieuwe koppelingen")
    assert 8 <= sheet.column_dimensions["A"].width < 15
    long_text = workbook(hook)["Kosten regio Achterhoek"]
    assert long_text.column_dimensions["A"].width >= len("Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen")


def test_values_keep_their_type_and_every_number_has_a_number_format(hook):
    book = workbook(hook)
    months = book["Koppelingen per maand"]
    assert [c.value for c in months[2]] == ["2026-01", 4, 1250, 2.5, datetime(2026, 1, 1)]
    assert [c.data_type for c in months[2]] == ["s", "n", "n", "n", "d"]
    assert months["B2"].number_format == "#,##0"  # a count
    assert months["C2"].number_format == '"€" #,##0.00;"€" -#,##0.00'  # an amount (Decimal): euros
    assert months["D2"].number_format == "#,##0.0#"  # a share or average (float)
    assert months["E2"].number_format == "yyyy-mm-dd"
    assert months.max_row == 7
    costs = book["Kosten regio Achterhoek"]
    assert [c.value for c in costs[2]] == ["Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen", 29753.42, None, True,
                                           datetime(2026, 7, 1, 9, 30)]
    assert costs["E2"].number_format == "yyyy-mm-dd hh:mm"
    assert (costs["A3"].value, costs["A3"].data_type) == ("=SUM(A1:A9)", "s")  # text, never a formula
    assert costs["B3"].value == -5.5 and costs["B3"].number_format == '"€" #,##0.00;"€" -#,##0.00'
    assert [c.value for c in book["Geen gegevens"][1]] == ["a", "b"] and book["Geen gegevens"].max_row == 1


def test_a_withheld_count_is_the_text_less_than_five_aligned_right_never_a_number(hook):
    areas = workbook(hook)["Gezinnen per wijk"]
    assert [c.value for c in areas[3]] == ["Haart", "<5", "<5", None]
    assert [(c.data_type, c.alignment.horizontal) for c in areas[3][1:3]] == [("s", "right")] * 2
    assert [c.value for c in areas[4]] == ["Totaal", 14, 1240, 1.0]
    assert areas["C2"].number_format == "#,##0"


def test_notes_follow_the_table_after_a_blank_row_outside_its_filter(hook):
    areas = workbook(hook)["Gezinnen per wijk"]
    assert areas.auto_filter.ref == "A1:D4"
    assert all(c.value is None for c in areas[5])
    assert [(areas.cell(row, 1).value, areas.cell(row, 1).data_type) for row in (6, 7)] == [
        (note, "s") for note in REPORT.sections[4].notes]
    assert areas.max_row == 7 and areas.column_dimensions["A"].width < 15  # a note does not widen the column
    empty = workbook(hook, report=Report("T", (Section("S", ("a",), (), notes=("=1+1",)),)))["S"]
    assert (empty["A3"].value, empty["A3"].data_type) == ("=1+1", "s")


def test_a_native_chart_for_a_section_that_has_one(hook):
    book = workbook(hook)
    assert [len(book[name]._charts) for name in book.sheetnames] == [1, 1, 0, 0, 0]
    assert len(workbook(hook, {"charts": False})["Koppelingen per maand"]._charts) == 0


def test_sheet_names_are_made_valid_and_unique(hook):
    titles = ["Kosten: 2026/Q1 [concept]?*", "KOSTEN: 2026/Q1 [concept]?*", "'Citaat'", "",
              "Een heel lange titel die niet in eenendertig tekens past",
              "Een heel lange titel die niet in eenendertig tekens past", "History"]
    report = Report("Namen", tuple(Section(t, ("a",), ((1,),)) for t in titles))
    names = workbook(hook, report=report).sheetnames
    # a section without a title gets a numbered sheet, named in Dutch (the format's words are Dutch)
    assert names == ["Kosten 2026 Q1 concept", "KOSTEN 2026 Q1 concept (2)", "Citaat", "Blad 4",
                     "Een heel lange titel die niet i", "Een heel lange titel die ni (2)", "History (2)"]
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_aware_date_times_in_dutch_time_and_control_characters_dropped(hook):
    from zoneinfo import ZoneInfo
    report = Report("T", (Section("S", ("when", "text"),
                                  ((datetime(2026, 7, 1, 7, 30, tzinfo=ZoneInfo("UTC")), "a\x07b"),
                                   (date(2026, 1, 2), Decimal("1E+3")))),))
    sheet = workbook(hook, report=report)["S"]
    assert sheet["A2"].value == datetime(2026, 7, 1, 9, 30) and sheet["B2"].value == "ab"
    assert sheet["B3"].value == 1000


def test_a_number_that_is_not_finite_is_an_empty_cell(hook):
    report = Report("T", (Section("S", ("x",), ((float("nan"),), (float("inf"),), (Decimal("NaN"),), (1.5,))),))
    assert [c.value for c in workbook(hook, report=report)["S"]["A"]] == ["x", None, None, None, 1.5]


@pytest.mark.parametrize("config, field", [
    ({"header_fill": "blue"}, "header_fill"), ({"charts": "sometimes"}, "charts"), ({"language": "fr"}, "language")])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as error:
        hook({"report.xlsx": config})
    assert field in error.value.messages
