"""What every report format shares: answering only for its own formats, checking the report, and cell values.

A report plugin derives from :class:`ReportFormat`, sets ``media_format``
(and ``media_formats`` when it answers more than one), ``media_type`` and
``extension``, and implements :meth:`ReportFormat.render` (the report to
bytes, in the asked format). The hook answers None for any other format, so
the first enabled plugin that renders the asked format wins.

A report is checked before it is rendered: every row has as many cells as its
section has columns, every cell is a value a format can write, and a chart
names columns of its section (a ValueError says which section and row or
column is wrong). Cell values are plain Python: ``str``, ``int`` (a count),
``float`` (a share or an average), ``Decimal`` (always an amount in euros),
``bool``, ``date``, ``datetime``, ``time``, :class:`~core.plugin_toolkit.Suppressed`
(a withheld count, written as the text ``<5`` and never as a number) or None
(an empty cell). A section's ``notes`` are paragraphs shown under its table.

Text in a report is usually already in the reader's language (Koppel builds a
report in a request, in its language). A title, subtitle, column heading,
cell or note may also be a :class:`~core.plugin_toolkit.Message`: it is
rendered in the plugin's ``language`` setting (Dutch by default), as are the
words a format writes itself (a PDF's "page 1 of 3", "yes" and "no"). Numbers
for people are written by Babel in that language (:func:`number`,
:func:`share`, :func:`amount`).
"""
from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import ClassVar

from babel import Locale
from babel.numbers import parse_pattern
from marshmallow import fields, validate

from core.plugin_toolkit import LANGUAGES, Message, RenderedReport, Report, Section, Suppressed, hookimpl, render
from plugins._common import BuiltinPlugin

CELL_TYPES = (str, int, float, Decimal, date, time, Suppressed)  # bool is an int; datetime a date
CENTS = Decimal("0.01")


class ReportFormat(BuiltinPlugin):
    """Base class of a report format plugin."""

    kind = "report_format"
    media_format: ClassVar[str]
    media_formats: ClassVar[tuple[str, ...]] = ()  # every format it answers; () is just ``media_format``
    media_type: ClassVar[str]
    extension: ClassVar[str]

    class Config(BuiltinPlugin.Config):
        language = fields.String(load_default="nl", validate=validate.OneOf(LANGUAGES),
                                 metadata={"description": "the language of the words the format writes itself and "
                                                          "of any message in the report"})

    @property
    def language(self) -> str:
        """The language of the words the format writes itself: its ``language`` setting, else Dutch."""
        return self.config.get("language", "nl")

    def words(self, message: Message) -> str:
        """One of the format's own texts, in :attr:`language`."""
        return render(message, self.language)

    def render(self, report: Report, media_format: str) -> bytes:
        raise NotImplementedError

    @hookimpl
    def koppel_render_report(self, report, media_format):
        if not isinstance(media_format, str):
            return None
        media_format = media_format.strip().lower()
        if media_format not in (self.media_formats or (self.media_format,)):
            return None
        report = localized(report, self.language)
        check(report)
        return RenderedReport(content=self.render(report, media_format), media_type=self.media_type,
                              extension=self.extension)


def localized(report: Report, language: str) -> Report:
    """*report* with every Message in it (titles, headings, cells, notes) rendered in *language*."""
    def text(value):
        return render(value, language) if isinstance(value, Message) else value

    if not _has_messages(report):
        return report
    sections = tuple(replace(section, title=text(section.title), columns=tuple(text(c) for c in section.columns),
                             rows=tuple(tuple(text(v) for v in row) for row in section.rows),
                             notes=tuple(text(n) for n in section.notes))
                     for section in report.sections)
    return replace(report, title=text(report.title), subtitle=text(report.subtitle), sections=sections)


def _has_messages(report: Report) -> bool:
    values = [report.title, report.subtitle]
    for section in report.sections:
        values += [section.title, *section.columns, *section.notes, *(v for row in section.rows for v in row)]
    return any(isinstance(v, Message) for v in values)


def check(report: Report) -> None:
    """Refuse a malformed report with a ValueError that names the section, and the row or column."""
    for section in report.sections:
        width = len(section.columns)
        for number, row in enumerate(section.rows, start=1):
            if len(row) != width:
                raise ValueError(f"section {section.title!r}: row {number} has {len(row)} cells for {width} columns")
            for column, value in zip(section.columns, row):
                if value is not None and not isinstance(value, CELL_TYPES):
                    raise ValueError(f"section {section.title!r}: row {number}, column {column!r} holds a "
                                     f"{type(value).__name__}, which a report cannot show")
        for number, note in enumerate(section.notes, start=1):
            if not isinstance(note, str):
                raise ValueError(f"section {section.title!r}: note {number} is a {type(note).__name__}, not text")
        if section.chart is not None:
            if section.chart.kind not in ("bar", "line"):
                raise ValueError(f"section {section.title!r}: chart kind {section.chart.kind!r} is not bar or line")
            for column in (section.chart.x_column, *section.chart.y_columns):
                if column not in section.columns:
                    raise ValueError(f"section {section.title!r}: the chart's column {column!r} is not in the section")


def is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def is_finite(value) -> bool:
    """A number that can be written (not NaN or infinite)."""
    return is_number(value) and (not isinstance(value, (float, Decimal)) or math.isfinite(value))


def numeric_columns(section: Section) -> list[bool]:
    """Per column: every value that is set is a number or a withheld count (and at least one is a number)."""
    result = []
    for index in range(len(section.columns)):
        values = [row[index] for row in section.rows if row[index] is not None]
        result.append(any(is_number(v) for v in values) and all(is_number(v) or isinstance(v, Suppressed)
                                                                 for v in values))
    return result


def chart_series(section: Section) -> tuple[list[str], list[tuple[str, list]]]:
    """The chart's category labels and, per y column, its values as floats (None where not a number)."""
    chart = section.chart
    x = section.columns.index(chart.x_column)
    labels = [text(row[x]) for row in section.rows]
    series = []
    for column in chart.y_columns:
        y = section.columns.index(column)
        values = [float(row[y]) if is_finite(row[y]) else None for row in section.rows]
        series.append((column, values))
    return labels, series


def text(value) -> str:
    """A cell as plain text: dates in ISO, Decimals as they are, a withheld count as ``<5``, None empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    return str(value)


def plain_number(value) -> str:
    """A number in plain digits with a decimal point, no exponent and no thousands separator (``1234.5``);
    a float as its shortest exact representation."""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    return f"{value:f}"


def number(value, language: str = "nl", places: int | None = None) -> str:
    """A number written for people by Babel: ``1.234,5`` in Dutch, ``1,234.5`` in English.

    With *places* the number is rounded half-up to that many decimals; without,
    it keeps its own decimals (a Decimal's as they are; a float's up to two,
    trailing zeros dropped).
    """
    if isinstance(value, float):
        value = Decimal(repr(value)).quantize(CENTS, rounding=ROUND_HALF_UP).normalize()
    value = Decimal(value)
    if places is not None:
        value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    elif value == value.to_integral_value() and value.as_tuple().exponent > 0:
        value = value.quantize(Decimal(1))
    decimals = max(0, -value.as_tuple().exponent)
    return _decimal_pattern(decimals).apply(value, _locale(language), decimal_quantization=False)


def share(value: float, language: str = "nl") -> str:
    """A share or an average (a float) written for people by Babel with one or two decimals, rounded half-up:
    ``2,5``, ``15,0``, ``0,33`` in Dutch (as the workbooks' ``#,##0.0#`` shows it)."""
    value = Decimal(repr(value)).quantize(CENTS, rounding=ROUND_HALF_UP)
    return _share_pattern().apply(value, _locale(language))


def amount(value: Decimal, language: str = "nl") -> str:
    """An amount in euros written for people by Babel: ``€ 1.234,50`` (``€ -5,50``) in Dutch, ``€1,234.50`` in
    English; at least two decimals, more only when the amount has them."""
    locale = _locale(language)
    return locale.currency_formats["standard"].apply(value, locale, currency="EUR", decimal_quantization=False)


# Babel parses a locale and a pattern on every call: a report formats thousands of numbers with a few of each.
@cache
def _locale(language: str) -> Locale:
    return Locale.parse(language)


@cache
def _share_pattern():
    return parse_pattern("#,##0.0#")


@cache
def _decimal_pattern(decimals: int):
    return parse_pattern("#,##0" + ("." + "0" * decimals if decimals else ""))
