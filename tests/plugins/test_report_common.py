"""What every report format shares, through the public hook; REPORT is the sample the format tests render."""
from datetime import date, datetime
from decimal import Decimal

import pytest

from core.messages import Message
from core.policy.types import Chart, Report, Section

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
REPORT = Report("Steungezinnen Aalten — halfjaar 2026", (MONTHS, TREND, COSTS, EMPTY),
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
def test_a_report_without_sections_renders(hook, plugin):
    rendered = hook({plugin: {}}).koppel_render_report(report=Report("Leeg", ()), media_format=FORMATS[plugin])
    assert rendered.content


def test_messages_in_a_report_are_written_in_the_formats_language(hook):
    """A report may carry messages (here the funding statement's headings, from the built-in catalogue): a format
    writes them in its ``language`` (the PDF's setting), else in Dutch."""
    def heading(text, **params):
        return Message(text, params, domain="funding.lump_sum")

    report = Report(heading("Funding statement %(municipality)s", municipality="Aalten"),
                    (Section(heading("Costs"), (heading("Description"), heading("Amount")),
                             (("Subsidie", Decimal("10.00")),)),))
    csv = hook({"report.csv": {}}).koppel_render_report(report=report, media_format="csv").content.decode("utf-8-sig")
    assert csv.splitlines()[:4] == ["Financieringsoverzicht Aalten", "", "Kosten", "Omschrijving;Bedrag"]
    document = hook({"report.json": {}}).koppel_render_report(report=report, media_format="json").content
    assert b'"title": "Financieringsoverzicht Aalten"' in document and b'"Omschrijving"' in document
    from tests.plugins.test_report_pdf import page_text

    english = page_text(hook({"report.pdf": {"language": "en"}}).koppel_render_report(
        report=report, media_format="pdf").content)
    assert "(Funding statement Aalten)" in english and "(Description)" in english and "(page 1)" in english
