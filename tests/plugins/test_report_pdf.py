import base64
import io
import re
import zlib
from datetime import date

import pytest
from marshmallow import ValidationError
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth

from core.policy.types import Chart, Report, Section, Suppressed
from tests.plugins.test_report_common import REPORT

NBSP = "\u00a0"


def render(hook, config=None, report=REPORT):
    return hook({"report.pdf": config or {}}).koppel_render_report(report=report, media_format="pdf")


def pages(content: bytes) -> list[tuple[float, float]]:
    """The (width, height) of every page object."""
    objects = [o for o in content.split(b"endobj") if re.search(rb"/Type /Page\b(?!s)", o)]
    return [tuple(float(v) for v in re.search(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", o).groups())
            for o in objects]


def page_text(content: bytes) -> str:
    """The decoded content streams (ASCII85 + Flate, as reportlab writes them), as Latin-1 text."""
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", content, re.S):
        data = stream.strip()
        if data.endswith(b"~>"):
            data = zlib.decompress(base64.a85decode(data[:-2]))
        text.append(data.decode("latin-1"))
    return "\n".join(text)


def test_a_pdf_with_pages(hook):
    rendered = render(hook)
    assert (rendered.media_type, rendered.extension) == ("application/pdf", "pdf")
    assert rendered.content.startswith(b"%PDF-1.") and rendered.content.rstrip().endswith(b"%%EOF")
    assert len(pages(rendered.content)) >= 1
    assert all(size == pytest.approx((595.28, 841.89), abs=0.1) for size in pages(rendered.content))  # A4 portrait


def extracted(content: bytes) -> str:
    """The text of every page as pypdf extracts it, a no-break space as a space."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).replace(NBSP, " ")


def lines(content: bytes) -> list[str]:
    return [line.strip() for line in extracted(content).splitlines()]


def test_title_tables_and_numbers_the_dutch_way(hook):
    shown = lines(render(hook).content)
    for text in ("Steungezinnen Aalten — halfjaar 2026", "1 januari t/m 30 juni 2026", "Koppelingen per maand",
                 "Nieuwe koppelingen", "2026-01", "€ 1.250,00", "2,5", "15,0", "€ 29.753,42", "€ -5,50",
                 "2026-07-01 09:30", "ja", "nee", "=SUM(A1:A9)", "Geen gegevens in deze periode.", "1.234", "0,75",
                 "pagina 1 van 2", "pagina 2 van 2"):
        assert text in shown, text
    english = lines(render(hook, {"language": "en"}).content)
    for text in ("€1,250.00", "-€5.50", "1,234", "yes", "No data in this period.", "page 2 of 2"):
        assert text in english, text


def test_numbers_are_right_aligned_and_a_withheld_count_with_them(hook):
    """The right edges of a numeric column's cells line up: a count, a withheld count ("<5") and the total."""
    report = Report("T", (Section("S", ("Wijk", "Gezinnen"), (("Centrum", 12), ("Haart", Suppressed(5)),
                                                             ("Totaal", 1234))),))
    right_edges, font_size = {}, 9

    def visit(text, cm, tm, font, size):
        text = text.strip()
        if text in ("12", "<5", "1.234", "Gezinnen"):
            name = font["/BaseFont"].lstrip("/")
            right_edges[text] = cm[4] + tm[4] + stringWidth(text, name, size)

    PdfReader(io.BytesIO(render(hook, report=report).content)).pages[0].extract_text(visitor_text=visit)
    assert len(right_edges) == 4
    assert max(right_edges.values()) - min(right_edges.values()) < 0.5 * font_size / 9


def test_notes_under_the_table(hook):
    shown = lines(render(hook).content)
    last_row = shown.index("Totaal")
    assert shown[last_row:last_row + 6] == ["Totaal", "14", "1.240", "1,0", *REPORT.sections[4].notes]
    empty = Report("T", (Section("Leeg", ("a",), (), notes=("Nog niets.",)),))
    assert lines(render(hook, report=empty).content)[1:4] == ["Leeg", "Geen gegevens in deze periode.", "Nog niets."]


def test_a_chart_per_section_that_has_one(hook):
    with_charts = page_text(render(hook).content)
    without = page_text(render(hook, {"charts": False}).content)
    # The legend repeats each charted series' name: once in the table header, once under the chart.
    assert with_charts.count("(Nieuwe koppelingen)") == 2 and without.count("(Nieuwe koppelingen)") == 1
    assert with_charts.count("(Actieve maanden)") == 2 and with_charts.count("(Aanmeldingen)") == 3  # + heading
    assert len(with_charts) > len(without) + 1000  # the bars and lines themselves


@pytest.mark.parametrize("rows", [((date(2026, 1, 1), 3),), ((date(2026, 1, 1), 3), (date(2026, 2, 1), None)),
                                  ((date(2026, 1, 1), None), (date(2026, 2, 1), None))])
def test_a_line_chart_of_one_month_or_one_known_value_is_drawn(hook, rows):
    """A trend of a single month (or with one value known) cannot be a line: the chart still comes out."""
    trend = Report("Verloop", (Section("Per maand", ("Maand", "Aantal"), rows, chart=Chart("line", "Maand", ("Aantal",))),))
    assert render(hook, report=trend).content.startswith(b"%PDF")


def test_landscape_when_a_section_is_wide_or_asked(hook):
    wide = Report("Breed", (Section("S", tuple(f"k{i}" for i in range(8)), ((1,) * 8,)),))
    assert pages(render(hook, report=wide).content)[0] == pytest.approx((841.89, 595.28), abs=0.1)
    assert pages(render(hook, {"orientation": "portrait"}, report=wide).content)[0][0] < 600
    assert pages(render(hook, {"page_size": "letter", "orientation": "landscape"}).content)[0] == (792, 612)


def test_a_long_table_runs_over_pages(hook):
    long = Report("Lang", (Section("Rijen", ("n", "kwadraat"), tuple((n, n * n) for n in range(200))),))
    content = render(hook, report=long).content
    assert len(pages(content)) >= 4
    assert page_text(content).count("(kwadraat)") == len(pages(content))  # the header repeats on every page


@pytest.mark.parametrize("config, field", [
    ({"page_size": "A3"}, "page_size"), ({"orientation": "diagonal"}, "orientation"),
    ({"font_size": 40}, "font_size"), ({"language": "de"}, "language"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as error:
        hook({"report.pdf": config})
    assert field in error.value.messages
