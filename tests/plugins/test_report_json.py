import json
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from core.policy.types import Report, Section
from tests.plugins.test_report_common import REPORT


def render(hook, config=None, report=REPORT):
    return hook({"report.json": config or {}}).koppel_render_report(report=report, media_format="json")


def test_round_trip_with_iso_dates_and_decimals_as_strings(hook):
    rendered = render(hook)
    assert (rendered.media_type, rendered.extension) == ("application/json", "json")
    document = json.loads(rendered.content.decode("utf-8"))
    assert list(document) == ["title", "subtitle", "sections"]
    assert (document["title"], document["subtitle"]) == ("Steungezinnen Aalten — halfjaar 2026",
                                                         "1 januari t/m 30 juni 2026")
    assert [s["title"] for s in document["sections"]] == [s.title for s in REPORT.sections]
    months, trend, costs, empty, areas = document["sections"]
    assert list(months) == ["title", "columns", "rows", "notes"]
    assert months["columns"] == ["Maand", "Nieuwe koppelingen", "Kosten (€)", "Actieve maanden", "Peildatum"]
    assert months["rows"][0] == ["2026-01", 4, "1250.00", 2.5, "2026-01-01"]
    assert len(months["rows"]) == 6
    assert trend["rows"][1] == ["2026-02", None]
    assert costs["rows"] == [
        ["Subsidie 2026: € 60.000,00 per jaar × 181/365 dagen", "29753.42", None, True, "2026-07-01T09:30:00"],
        ["=SUM(A1:A9)", "-5.50", "Indicatief; eigen kostprijs gemeente", False, None],
    ]
    assert empty == {"title": "Geen gegevens", "columns": ["a", "b"], "rows": [], "notes": []}
    withheld = {"suppressed": True, "fewer_than": 5}
    assert areas["rows"] == [["Centrum", 12, 1234, 0.75], ["Haart", withheld, withheld, None],
                             ["Totaal", 14, 1240, 1.0]]
    assert areas["notes"] == list(REPORT.sections[4].notes)
    assert "€".encode() in rendered.content  # UTF-8 as it is, not \u escapes


def test_no_subtitle_is_null_and_a_float_that_is_not_finite_is_null(hook):
    report = Report("T", (Section("S", ("x",), ((float("nan"),), (1.5,), (Decimal("NaN"),), (7,))),))
    assert json.loads(render(hook, report=report).content) == {
        "title": "T", "subtitle": None,
        "sections": [{"title": "S", "columns": ["x"], "rows": [[None], [1.5], [None], [7]], "notes": []}]}


def test_compact(hook):
    assert b"\n" not in render(hook, {"indent": None}).content


@pytest.mark.parametrize("config", [{"indent": -1}, {"indent": 9}, {"indent": "wide"}])
def test_invalid_configuration_names_the_field(hook, config):
    with pytest.raises(ValidationError) as error:
        hook({"report.json": config})
    assert "indent" in error.value.messages
