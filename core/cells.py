"""Text for spreadsheet cells that a spreadsheet cannot run (CSV and formula injection, OWASP; ASVS 1.2.10).

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab, a carriage return or a NUL
as a formula (or a DDE call such as ``=cmd|' /C calc'!A0``). Every writer of spreadsheet files uses this
module, so the rule is in one place:

* CSV: :func:`neutralise` puts a single quote before such text (Excel's own sign for "this is text");
* XLSX: the text is written as a string cell, never a formula, and :func:`is_formula` tells the writer to
  set the cell's ``quotePrefix`` style (Excel's apostrophe, not part of the value).

Numbers stay numbers: a writer passes ``int``, ``float`` and ``Decimal`` values as numbers, and text that
is a plain number (``-5``, ``+31``, ``-1,5``) is left as it is, since no spreadsheet runs it.
"""
from __future__ import annotations

import re

#: The first characters that make a spreadsheet read text as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")
#: Text that is a plain number, with a sign, a decimal point or comma and an exponent.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet would read *text* as a formula: it starts with a formula character and is not
    a plain number."""
    return text.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(text) is None


def neutralise(text: str) -> str:
    """*text* for a CSV cell: with a leading single quote when a spreadsheet would run it."""
    return "'" + text if is_formula(text) else text
