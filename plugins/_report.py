"""What every report format shares: answering only for its own format, checking the report, and cell values.

A report plugin derives from :class:`ReportFormat`, sets ``media_format``,
``media_type`` and ``extension``, and implements :meth:`ReportFormat.render`
(the report to bytes). The hook answers None for any other format, so the
first enabled plugin that renders the asked format wins.

A report is checked before it is rendered: every row has as many cells as its
section has columns, and a chart names columns of its section (a ValueError
says which section and row or column is wrong). Cell values are plain Python:
``str``, ``int``, ``float``, ``Decimal``, ``bool``, ``date``, ``datetime`` or
None (an empty cell).

Text in a report is usually already in the reader's language (Koppel builds a
report in a request, in its language). A title, subtitle, column heading or
cell may also be a :class:`~core.plugin_toolkit.Message`: it is rendered in
the plugin's ``language`` when it has that setting, else in Dutch, as are the
words a format writes itself (a PDF's "page", "yes" and "no"). Numbers for
people are written by Babel in that language (:func:`number`).
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import ClassVar

from babel.numbers import format_decimal

from core.plugin_toolkit import Message, RenderedReport, Report, Section, hookimpl, render
from plugins._common import BuiltinPlugin

# Characters that make a spreadsheet read a text cell as a formula (CSV/formula injection, OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ReportFormat(BuiltinPlugin):
    """Base class of a report format plugin."""

    kind = "report_format"
    media_format: ClassVar[str]
    media_type: ClassVar[str]
    extension: ClassVar[str]

    @property
    def language(self) -> str:
        """The language of the words the format writes itself: its ``language`` setting, else Dutch."""
        return self.config.get("language", "nl")

    def words(self, message: Message) -> str:
        """One of the format's own texts, in :attr:`language`."""
        return render(message, self.language)

    def render(self, report: Report) -> bytes:
        raise NotImplementedError

    @hookimpl
    def koppel_render_report(self, report, media_format):
        if not isinstance(media_format, str) or media_format.strip().lower() != self.media_format:
            return None
        report = localized(report, self.language)
        check(report)
        return RenderedReport(content=self.render(report), media_type=self.media_type, extension=self.extension)


def localized(report: Report, language: str) -> Report:
    """*report* with every Message in it (titles, headings, cells) rendered in *language*."""
    def text(value):
        return render(value, language) if isinstance(value, Message) else value

    if not _has_messages(report):
        return report
    sections = tuple(replace(section, title=text(section.title), columns=tuple(text(c) for c in section.columns),
                             rows=tuple(tuple(text(v) for v in row) for row in section.rows))
                     for section in report.sections)
    return replace(report, title=text(report.title), subtitle=text(report.subtitle), sections=sections)


def _has_messages(report: Report) -> bool:
    values = [report.title, report.subtitle]
    for section in report.sections:
        values += [section.title, *section.columns, *(v for row in section.rows for v in row)]
    return any(isinstance(v, Message) for v in values)


def check(report: Report) -> None:
    """Refuse a malformed report with a ValueError that names the section, and the row or column."""
    for section in report.sections:
        width = len(section.columns)
        for number, row in enumerate(section.rows, start=1):
            if len(row) != width:
                raise ValueError(f"section {section.title!r}: row {number} has {len(row)} cells for {width} columns")
        if section.chart is not None:
            if section.chart.kind not in ("bar", "line"):
                raise ValueError(f"section {section.title!r}: chart kind {section.chart.kind!r} is not bar or line")
            for column in (section.chart.x_column, *section.chart.y_columns):
                if column not in section.columns:
                    raise ValueError(f"section {section.title!r}: the chart's column {column!r} is not in the section")


def is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def numeric_columns(section: Section) -> list[bool]:
    """Per column: every value that is set is a number (and at least one is)."""
    result = []
    for index in range(len(section.columns)):
        values = [row[index] for row in section.rows if row[index] is not None]
        result.append(bool(values) and all(is_number(v) for v in values))
    return result


def chart_series(section: Section) -> tuple[list[str], list[tuple[str, list]]]:
    """The chart's category labels and, per y column, its values as floats (None where not a number)."""
    chart = section.chart
    x = section.columns.index(chart.x_column)
    labels = [text(row[x]) for row in section.rows]
    series = []
    for column in chart.y_columns:
        y = section.columns.index(column)
        values = [float(row[y]) if is_number(row[y]) and math.isfinite(row[y]) else None for row in section.rows]
        series.append((column, values))
    return labels, series


def text(value) -> str:
    """A cell as plain text: dates in ISO, Decimals as they are, None empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def defuse_formula(value: str) -> str:
    """Text that a spreadsheet would run as a formula, made literal with a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def number(value, language: str = "nl", places: int | None = None) -> str:
    """A number written for people by Babel: ``1.234,5`` in Dutch, ``1,234.5`` in English.

    With *places* the number is rounded half-up to that many decimals; without,
    it keeps its own decimals (a Decimal's as they are; a float's up to two,
    trailing zeros dropped).
    """
    if isinstance(value, float):
        value = Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    elif value == value.to_integral_value() and value.as_tuple().exponent > 0:
        value = value.quantize(Decimal(1))
    decimals = max(0, -value.as_tuple().exponent)
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=language, decimal_quantization=False)
