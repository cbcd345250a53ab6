import csv
import io
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from tests.plugins.test_report_common import REPORT


def render(hook, config=None, report=REPORT, media_format="csv"):
    return hook({"report.csv": config or {}}).koppel_render_report(report=report, media_format=media_format)


def records(content: bytes, delimiter=";"):
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def test_utf8_with_bom_semicolons_and_crlf(hook):
    rendered = render(hook)
    assert (rendered.media_type, rendered.extension) == ("text/csv; charset=utf-8", "csv")
    assert rendered.content.startswith(b"\xef\xbb\xbfSteungezinnen Aalten \xe2\x80\x94 halfjaar 2026\r\n")
    assert b"Maand;Nieuwe koppelingen;Kosten (\xe2\x82\xac);Actieve maanden;Peildatum\r\n" in rendered.content


def test_layout_title_then_per_section_a_title_line_header_and_rows_with_blank_lines_between(hook):
    lines = records(render(hook).content)
    assert lines[:4] == [["Steungezinnen Aalten — halfjaar 2026"], ["1 januari t/m 30 juni 2026"], [],
                         ["Koppelingen per maand"]]
    assert lines[4] == ["Maand", "Nieuwe koppelingen", "Kosten (€)", "Actieve maanden", "Peildatum"]
    assert lines[5] == ["2026-01", "4", "1250,00", "2,5", "2026-01-01"]
    assert lines[10] == ["2026-06", "5", "7500,00", "15,0", "2026-06-01"]
    assert lines[11:14] == [[], ["Aanmeldingen"], ["Maand", "Aanmeldingen"]]
    assert lines[14:17] == [["2026-01", "4"], ["2026-02", ""], ["2026-03", "9"]]
    assert lines[17:19] == [[], ["Kosten: regio [Achterhoek]"]]
    assert lines[20] == ["Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen", "29753,42", "", "ja",
                         "2026-07-01 09:30"]
    assert lines[21] == ["'=SUM(A1:A9)", "-5,50", "Indicatief; eigen kostprijs gemeente", "nee", ""]
    assert lines[22:25] == [[], ["Geen gegevens"], ["a", "b"]]
    assert lines[25:] == [
        [], ["Gezinnen per wijk"], ["Wijk", "Gezinnen", "Kinderen", "Aandeel"],
        ["Centrum", "12", "1234", "0,75"], ["Haart", "<5", "<5", ""], ["Totaal", "14", "1240", "1,0"],
        ["Aantallen van 1 tot en met 4 zijn weggelaten (<5), net als elke cel waaruit ze terug te rekenen zijn."],
        ["Bron: eigen registratie."]]


def test_the_international_dialect_on_request(hook):
    """``csv-international``: commas, a decimal point, no byte order mark; whatever the configured dialect."""
    for config in ({}, {"dialect": "nl", "delimiter": "\t"}):
        rendered = render(hook, config, media_format="csv-international")
        assert (rendered.media_type, rendered.extension) == ("text/csv; charset=utf-8", "csv")
        assert rendered.content.startswith("Steungezinnen Aalten — halfjaar 2026\r\n".encode())
        lines = list(csv.reader(io.StringIO(rendered.content.decode("utf-8"), newline="")))
        assert lines[5] == ["2026-01", "4", "1250.00", "2.5", "2026-01-01"]
        assert lines[20][:2] == ["Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen", "29753.42"]
        assert lines[28:30] == [["Centrum", "12", "1234", "0.75"], ["Haart", "<5", "<5", ""]]
        assert b'"Subsidie 2026: \xe2\x82\xac 60.000,00 per jaar' in rendered.content  # quoted: it holds a comma
    assert render(hook, {"dialect": "international"}).content == render(hook, media_format="csv-international").content
    assert render(hook, media_format=" CSV-International ").content.startswith(b"Steungezinnen")


def test_numbers_are_plain_digits_never_thousands_separators_or_exponents(hook):
    from core.policy.types import Report, Section

    report = Report("Getallen", (Section("S", ("n",), ((1234567,), (Decimal("1E+3"),), (1e20,), (0.1 + 0.2,),
                                                       (-0.5,), (float("nan"),), (Decimal("-1234567.891"),))),))
    assert [line[0] for line in records(render(hook, report=report).content)[4:]] == [
        "1234567", "1000", "100000000000000000000", "0,30000000000000004", "-0,5", "", "-1234567,891"]


def test_configurable_separators_without_bom_and_literal_formulas(hook):
    content = render(hook, {"delimiter": ",", "decimal_separator": ".", "bom": False, "escape_formulas": False}).content
    assert not content.startswith(b"\xef\xbb\xbf")
    lines = records(content, delimiter=",")
    assert lines[5] == ["2026-01", "4", "1250.00", "2.5", "2026-01-01"]
    assert lines[21][:2] == ["'=SUM(A1:A9)", "-5.50"]  # escape_formulas false no longer turns it off
    assert b'"Subsidie 2026: \xe2\x82\xac 60.000,00 per jaar' in content  # a cell with the delimiter is quoted


def test_tab_separated(hook):
    assert records(render(hook, {"delimiter": "\t"}).content, delimiter="\t")[5][2] == "1250,00"


@pytest.mark.parametrize("config, field", [
    ({"dialect": "excel"}, "dialect"),
    ({"dialect": "international", "decimal_separator": ","}, "decimal_separator"),
    ({"delimiter": ";;"}, "delimiter"),
    ({"delimiter": '"'}, "delimiter"),
    ({"decimal_separator": ";"}, "decimal_separator"),
    ({"delimiter": ",", "decimal_separator": ","}, "decimal_separator"),
    ({"bom": "perhaps"}, "bom"),
])
def test_invalid_configuration_names_the_field(hook, config, field):
    with pytest.raises(ValidationError) as error:
        hook({"report.csv": config})
    assert field in error.value.messages
