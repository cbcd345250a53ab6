"""What every report format shares, through the public hook; REPORT is the sample the format tests render."""
import io
import json
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest

from core.messages import Label, Message
from core.policy.types import Chart, Report, Section, Suppressed

FORMATS = {"report.csv": "csv", "report.xlsx": "xlsx", "report.pdf": "pdf", "report.json": "json"}

MONTHS = Section(
    "Koppelingen per maand",
    ("Maand", "Nieuwe koppelingen", "Kosten (€)", "Actieve maanden", "Peildatum"),
    tuple((f"2026-{m:02d}", m % 4 + 3, Decimal(1250 * m).quantize(Decimal("0.01")), m * 2.5, date(2026, m, 1))
          for m in range(1, 7)),
    chart=Chart("bar", "Maand", ("Nieuwe koppelingen", "Actieve maanden")),
)
TREND = Section("Aanmeldingen", ("Maand", "Aanmeldingen"),
                (("2026-01", 4), ("2026-02", None), ("2026-03", 9)), chart=Chart("line", "Maand", ("Aanmeldingen",)))
COSTS = Section(
    "Kosten: regio [Achterhoek]",
    ("Omschrijving", "Bedrag", "Bron", "Vastgesteld", "Bijgewerkt"),
    (("Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen", Decimal("29753.42"), None, True,
      datetime(2026, 7, 1, 9, 30)),
     ("=SUM(A1:A9)", Decimal("-5.50"), "Indicatief; eigen kostprijs gemeente", False, None)),
)
EMPTY = Section("Geen gegevens", ("a", "b"), ())
AREAS = Section(
    "Gezinnen per wijk",
    ("Wijk", "Gezinnen", "Kinderen", "Aandeel"),
    (("Centrum", 12, 1234, 0.75), ("Haart", Suppressed(5), Suppressed(5), None), ("Totaal", 14, 1240, 1.0)),
    notes=("Aantallen van 1 tot en met 4 zijn weggelaten (<5), net als elke cel waaruit ze terug te rekenen zijn.",
           "Bron: eigen registratie."),
)
REPORT = Report("Steungezinnen Aalten — halfjaar 2026", (MONTHS, TREND, COSTS, EMPTY, AREAS),
                subtitle="1 januari t/m 30 juni 2026")


@pytest.mark.parametrize("plugin", FORMATS)
def test_renders_only_its_own_format(hook, plugin):
    render = hook({plugin: {}}).koppel_render_report
    own = render(report=REPORT, media_format=FORMATS[plugin])
    assert own.content and own.extension == FORMATS[plugin]
    for other in [*(f for f in FORMATS.values() if f != FORMATS[plugin]), "docx", "", None]:
        assert render(report=REPORT, media_format=other) is None


def test_the_first_enabled_format_that_renders_wins(hook):
    render = hook({plugin: {} for plugin in FORMATS}).koppel_render_report
    assert {f: render(report=REPORT, media_format=f).extension for f in FORMATS.values()} == {
        "csv": "csv", "xlsx": "xlsx", "pdf": "pdf", "json": "json"}
    assert render(report=REPORT, media_format="XLSX").media_type == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.mark.parametrize("plugin", FORMATS)
def test_same_report_gives_the_same_bytes(hook, plugin):
    render = hook({plugin: {}}).koppel_render_report
    assert render(report=REPORT, media_format=FORMATS[plugin]).content == render(
        report=REPORT, media_format=FORMATS[plugin]).content


@pytest.mark.parametrize("plugin", FORMATS)
def test_a_row_of_the_wrong_width_is_refused_naming_section_and_row(hook, plugin):
    bad = Report("x", (Section("Kosten", ("a", "b"), (("1", 2), ("only one",))),))
    with pytest.raises(ValueError, match="'Kosten': row 2 has 1 cells for 2 columns"):
        hook({plugin: {}}).koppel_render_report(report=bad, media_format=FORMATS[plugin])


@pytest.mark.parametrize("plugin", FORMATS)
def test_a_chart_on_an_unknown_column_is_refused(hook, plugin):
    bad = Report("x", (Section("Kosten", ("a", "b"), (("1", 2),), chart=Chart("bar", "a", ("c",))),))
    with pytest.raises(ValueError, match="chart's column 'c'"):
        hook({plugin: {}}).koppel_render_report(report=bad, media_format=FORMATS[plugin])


@pytest.mark.parametrize("plugin", FORMATS)
@pytest.mark.parametrize("cell", [{"a": 1}, [1, 2], Label("problem_area", "kopp"), object()])
def test_a_cell_that_no_format_can_show_is_refused_naming_section_row_and_column(hook, plugin, cell):
    bad = Report("x", (Section("Kosten", ("a", "b"), (("1", 2), ("2", cell))),))
    with pytest.raises(ValueError, match="'Kosten': row 2, column 'b' holds a "):
        hook({plugin: {}}).koppel_render_report(report=bad, media_format=FORMATS[plugin])


@pytest.mark.parametrize("plugin", FORMATS)
def test_a_note_that_is_not_text_is_refused(hook, plugin):
    bad = Report("x", (Section("Kosten", ("a",), (), notes=("goed", 3)),))
    with pytest.raises(ValueError, match="'Kosten': note 2 is a int, not text"):
        hook({plugin: {}}).koppel_render_report(report=bad, media_format=FORMATS[plugin])


@pytest.mark.parametrize("plugin", FORMATS)
def test_a_report_without_sections_renders(hook, plugin):
    rendered = hook({plugin: {}}).koppel_render_report(report=Report("Leeg", ()), media_format=FORMATS[plugin])
    assert rendered.content


def test_messages_in_a_report_are_written_in_the_formats_language(hook):
    """A report may carry messages (Koppel's own, a plugin's) in its titles, headings, cells and notes: a format
    writes them in its ``language`` setting, else in Dutch."""
    report = Report(Message("Monday"), (Section(Message("Tuesday"), (Message("Dutch"), Message("English")),
                                                ((Message("Friday"), Decimal("10.00")),),
                                                notes=(Message("No data in this period.", domain="report.pdf"),)),),
                    subtitle=Message("Sunday"))
    csv = hook({"report.csv": {}}).koppel_render_report(report=report, media_format="csv").content.decode("utf-8-sig")
    assert csv.splitlines() == ["maandag", "zondag", "", "dinsdag", "Nederlands;Engels", "vrijdag;10,00",
                                "Geen gegevens in deze periode."]
    document = json.loads(hook({"report.json": {}}).koppel_render_report(report=report, media_format="json").content)
    assert document == {"title": "maandag", "subtitle": "zondag", "sections": [{
        "title": "dinsdag", "columns": ["Nederlands", "Engels"], "rows": [["vrijdag", "10.00"]],
        "notes": ["Geen gegevens in deze periode."]}]}
    assert openpyxl.load_workbook(io.BytesIO(hook({"report.xlsx": {}}).koppel_render_report(
        report=report, media_format="xlsx").content)).sheetnames == ["dinsdag"]
    from tests.plugins.test_report_pdf import lines

    english = lines(hook({"report.pdf": {"language": "en"}}).koppel_render_report(report=report,
                                                                                 media_format="pdf").content)
    assert english == ["Monday", "Sunday", "Tuesday", "Dutch", "English", "Friday", "€10.00",
                       "No data in this period.", "Monday", "page 1 of 1"]
    english = hook({"report.csv": {"language": "en"}}).koppel_render_report(report=report, media_format="csv")
    assert english.content.decode("utf-8-sig").splitlines()[:2] == ["Monday", "Sunday"]


def test_no_english_word_of_a_format_leaks_into_a_dutch_report(hook):
    """The words a format writes itself (yes/no, "no data", page numbers, a sheet's name) are Dutch by default."""
    report = Report("Rapport", (Section("", ("vraag", "antwoord"), (("a", True), ("b", False))),
                                Section("Leeg", ("a",), ())))
    render = hook({plugin: {} for plugin in FORMATS}).koppel_render_report
    csv = render(report=report, media_format="csv").content.decode("utf-8-sig")
    assert "a;ja\r\nb;nee\r\n" in csv and "true" not in csv and "false" not in csv
    from tests.plugins.test_report_pdf import page_text

    pdf = page_text(render(report=report, media_format="pdf").content)
    for dutch in ("(ja)", "(nee)", "(Geen gegevens in deze periode.)", "(pagina 1 van 1)"):
        assert dutch in pdf, dutch
    for english in ("yes", "no)", "No data", "page"):
        assert english not in pdf, english
    assert openpyxl.load_workbook(io.BytesIO(render(report=report, media_format="xlsx").content)).sheetnames == [
        "Blad 1", "Leeg"]
