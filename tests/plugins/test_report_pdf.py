import base64
import re
import zlib

import pytest
from marshmallow import ValidationError

from core.policy.types import Report, Section
from tests.plugins.test_report_common import REPORT


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


def test_title_tables_and_numbers_the_dutch_way(hook):
    text = page_text(render(hook).content)
    for shown in ("Steungezinnen Aalten", "1 januari t/m 30 juni 2026", "Koppelingen per maand",
                  "(Nieuwe koppelingen)", "(2026-01)", "(1.250,00)", "(29.753,42)", "(-5,50)", "(2026-07-01 09:30)",
                  "(ja)", "(nee)", "(=SUM\\(A1:A9\\))", "Geen gegevens in deze periode.", "(pagina 1)"):
        assert shown in text, shown
    english = page_text(render(hook, {"language": "en"}).content)
    assert "(1,250.00)" in english and "(yes)" in english and "No data in this period." in english


def test_a_chart_per_section_that_has_one(hook):
    with_charts = page_text(render(hook).content)
    without = page_text(render(hook, {"charts": False}).content)
    # The legend repeats each charted series' name: once in the table header, once under the chart.
    assert with_charts.count("(Nieuwe koppelingen)") == 2 and without.count("(Nieuwe koppelingen)") == 1
    assert with_charts.count("(Actieve maanden)") == 2 and with_charts.count("(Aanmeldingen)") == 3  # + heading
    assert len(with_charts) > len(without) + 1000  # the bars and lines themselves


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
