"""Reports as JSON, for systems that read them on.

``{"title", "subtitle", "sections": [{"title", "columns", "rows", "notes"}]}``: ``subtitle`` is null when the
report has none; ``rows`` is a list of lists in the order of ``columns``; ``notes`` the paragraphs under the
table (a list of strings, empty when there are none). Counts are JSON integers, shares and averages JSON
numbers (a float that is not finite becomes null), amounts in euros (Decimals) exact strings (``"1234.50"``,
never a float); a withheld count is ``{"suppressed": true, "fewer_than": 5}``, never a number. Dates and
date-times are ISO 8601 strings, booleans and None as JSON. The encoding is UTF-8, non-ASCII characters written
as they are.
"""
import json
import math
from datetime import date, datetime, time
from decimal import Decimal

from marshmallow import fields, validate

from core.plugin_toolkit import Suppressed
from plugins._report import ReportFormat


def plain(value):
    """A cell as a JSON value."""
    if isinstance(value, Decimal):
        return f"{value:f}" if value.is_finite() else None
    if isinstance(value, Suppressed):
        return {"suppressed": True, "fewer_than": value.fewer_than}
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class JsonReport(ReportFormat):
    name = "report.json"
    version = "1.1.0"
    media_format = "json"
    media_type = "application/json"
    extension = "json"
    title = {"nl": "Rapport als JSON", "en": "Report as JSON"}
    description = {
        "nl": "Het rapport als JSON voor andere systemen: titel, ondertitel en onderdelen met kolommen, rijen en "
              "toelichting; datums in ISO 8601, bedragen exact als tekst en weggelaten aantallen gemarkeerd.",
        "en": "The report as JSON for other systems: title, subtitle and sections with columns, rows and notes; "
              "dates in ISO 8601, amounts exact as strings and withheld counts marked as such.",
    }

    class Config(ReportFormat.Config):
        indent = fields.Integer(load_default=2, allow_none=True, validate=validate.Range(min=0, max=8),
                                metadata={"description": "spaces per level; null for one compact line"})

    def render(self, report, media_format):
        document = {
            "title": report.title,
            "subtitle": report.subtitle,
            "sections": [{"title": s.title, "columns": list(s.columns), "rows": [plain(list(r)) for r in s.rows],
                          "notes": list(s.notes)}
                         for s in report.sections],
        }
        return json.dumps(document, ensure_ascii=False, indent=self.config["indent"], allow_nan=False).encode("utf-8")
