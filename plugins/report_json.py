"""Reports as JSON, for systems that read them on: ``{"title", "subtitle", "sections": [{"title", "columns", "rows"}]}``.

``subtitle`` is null when the report has none; ``rows`` is a list of lists in
the order of ``columns``. Dates and date-times are ISO 8601 strings, Decimals
strings (``"1234.50"``, exact, never a float), other numbers JSON numbers
(a float that is not finite becomes null), booleans and None as JSON. The
encoding is UTF-8, non-ASCII characters written as they are.
"""
import json
import math
from datetime import date, datetime, time
from decimal import Decimal

from marshmallow import fields, validate

from plugins._report import ReportFormat


def plain(value):
    """A cell as a JSON value."""
    if isinstance(value, Decimal):
        return f"{value:f}"
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
    version = "1.0.0"
    media_format = "json"
    media_type = "application/json"
    extension = "json"
    title = {"nl": "Rapport als JSON", "en": "Report as JSON"}
    description = {
        "nl": "Het rapport als JSON voor andere systemen: titel, ondertitel en onderdelen met kolommen en rijen; "
              "datums in ISO 8601 en bedragen exact als tekst.",
        "en": "The report as JSON for other systems: title, subtitle and sections with columns and rows; "
              "dates in ISO 8601 and amounts exact, as strings.",
    }

    class Config(ReportFormat.Config):
        indent = fields.Integer(load_default=2, allow_none=True, validate=validate.Range(min=0, max=8),
                                metadata={"description": "spaces per level; null for one compact line"})

    def render(self, report):
        document = {
            "title": report.title,
            "subtitle": report.subtitle,
            "sections": [{"title": s.title, "columns": list(s.columns), "rows": [plain(list(r)) for r in s.rows]}
                         for s in report.sections],
        }
        return json.dumps(document, ensure_ascii=False, indent=self.config["indent"], allow_nan=False).encode("utf-8")
