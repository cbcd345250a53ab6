"""Bulk import of families, members and matches from a spreadsheet (XLSX or CSV).

A municipality that moves over from spreadsheets sends one XLSX workbook with
the sheets ``families``, ``members`` and ``matches`` (members and matches are
optional), or one CSV file per sheet. The columns are documented in
``docs/import.md``; :data:`COLUMNS` below is the same table in code.

The import runs in three steps:

1. **read** (:func:`read_upload`): cells become plain values (text, numbers,
   dates); an unreadable file is a problem, not an exception;
2. **plan** (:func:`plan`): every row is converted (Dutch words such as
   *vraaggezin*, *volwassene*, dates as ``DD-MM-YYYY``), validated with the
   programme's marshmallow schemas (:mod:`core.programme.schemas`), and its
   references resolved: a member's ``family_ref`` and a match's
   ``requesting_ref``/``supporting_ref`` name a family in the file or one
   imported before (``Family.external_ref``). The rules the services apply
   (a match needs consent for processing, a waiting and an available family,
   room at the supporting family, steps in order) are checked here too, so a
   dry run tells everything. Each row gets an action: create, update or skip.
   *Every* problem is collected as ``{sheet, row, column, message}``, with the
   row numbered as the spreadsheet shows it (the header is row 1);
3. **apply** (:func:`core.usecases.imports.apply`): every row is written
   through the same use cases as work done by hand (register a family,
   change its status, propose a match, activate it), so the policy's
   decisions, status history, duplicate flags, evaluations and audit events
   are theirs. Running matches are replayed step by step with the dates of
   the file (propose → introduction → trial → active → ended).

:func:`core.usecases.imports.run` does the three in one transaction: all rows
or none. A dry run applies too, and then rolls everything back, so it finds
what the real run would (the policy's refusals included) and writes nothing.
The request checks only what :func:`check_upload` can tell without reading
the rows (the file's name, claimed type and kind of content, a workbook's
zip directory: see "Hostile files" in docs/import.md); a worker does the rest
(:mod:`core.scheduling.imports`), telling a progress callback of each row
checked (:data:`CHECKED`) and written (:data:`WRITTEN`).

Re-importing is idempotent. Rows are matched on ``external_ref`` within the
tenant (a member's within its family): an unchanged row is skipped, a
changed family or member row updates its facts, a match whose row shows later
steps is moved on. Columns left out of a file are left alone; an empty cell in
a column that is there clears that fact.

Consent: a match needs each family's consent for processing on the day it was
proposed. Families come out of a spreadsheet with the consent given on paper,
so the import records, for every family it *creates*, consent for processing
with ``wording_version = "import"`` given on ``registered_on``; the optional
columns ``consent_share_with_referrer`` and ``consent_evaluation_contact`` add
those purposes the same way. The import never withdraws consent.

Referrers are not told about steps the import replays (they happened before
the move): messages the match service queues for them are cancelled.
"""
from __future__ import annotations

import csv
import importlib.util
import io
import os
import re
import stat
import zipfile
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

from marshmallow import ValidationError
from sqlalchemy import or_, select

from core.extensions import db
from core.inputs import file_label
from core.messages import Message, render
from core.programme import families as family_service
from core.programme import matches as match_service
from core.programme import schemas as S
from core.programme import vocabulary as V
from core.programme.models import Consent, Family, Match, Member

SHEETS = ("families", "members", "matches")
#: Dutch sheet names that are accepted too.
SHEET_ALIASES = {"gezinnen": "families", "leden": "members", "gezinsleden": "members", "koppelingen": "matches"}
MAX_ROWS = 50_000  # per sheet, after the header; empty rows count too
#: Cells read per row (the families sheet has 39 columns); empty cells count too.
MAX_COLUMNS = 100
#: Problems listed in a report; the rest are counted (``problem_count``).
MAX_LISTED = 200
#: What a problem's column name and message keep of their length (they may quote the file's cells).
MAX_QUOTED, MAX_MESSAGE = 120, 1000
#: A progress callback is called once per row with one of these (a row was checked, or written) and the
#: number of problems found so far.
CHECKED, WRITTEN = "checked", "written"
WORDING_VERSION = "import"
REASON = "import"

TEXT, INT, FLOAT, DATE, LIST, BOOL, CODE, POSTCODE, UPPER = (
    "text", "int", "float", "date", "list", "bool", "code", "postcode", "upper")


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    required: bool = False
    words: dict | None = None  # other spellings (Dutch) -> code


KIND_WORDS = {"vraaggezin": V.REQUESTING, "vraag": V.REQUESTING, "steungezin": V.SUPPORTING, "steun": V.SUPPORTING,
              "steunouder": V.SUPPORTING}
STATUS_WORDS = {"aangemeld": V.REGISTERED, "wachtend": V.WAITING, "wachtlijst": V.WAITING, "beschikbaar": V.AVAILABLE,
                "gekoppeld": V.MATCHED, "gepauzeerd": V.PAUSED, "pauze": V.PAUSED, "gesloten": V.CLOSED,
                "afgesloten": V.CLOSED}
REFERRAL_WORDS = {"huisarts": "gp", "sociaal team": "social_team", "sociaalteam": "social_team", "zelf": "self",
                  "zelfmelding": "self", "anders": "other", "overig": "other"}
ROLE_WORDS = {"volwassene": "adult", "ouder": "adult", "verzorger": "adult", "kind": "child"}
STATE_WORDS = {"voorgesteld": V.PROPOSED, "kennismaking": V.INTRODUCTION, "proefperiode": V.TRIAL, "actief": V.ACTIVE,
               "lopend": V.ACTIVE, "beeindigd": V.ENDED, "beëindigd": V.ENDED, "afgerond": V.ENDED,
               "geannuleerd": V.CANCELLED}

#: The columns of each sheet (the documentation in docs/import.md follows this table).
COLUMNS: dict[str, tuple[Column, ...]] = {
    "families": (
        Column("external_ref", required=True), Column("kind", CODE, True, KIND_WORDS),
        Column("display_name", required=True), Column("status", CODE, words=STATUS_WORDS),
        Column("street"), Column("house_number"), Column("postcode", POSTCODE), Column("city"),
        Column("district_code", UPPER), Column("neighbourhood_code", UPPER),
        Column("latitude", FLOAT), Column("longitude", FLOAT), Column("phone"), Column("email"),
        Column("languages", LIST), Column("support_kinds", LIST), Column("weekends", BOOL), Column("overnight", BOOL),
        Column("capacity_children", INT), Column("capacity_age_min", INT), Column("capacity_age_max", INT),
        Column("wishes"), Column("preferences"), Column("registered_on", DATE),
        Column("referral_source", CODE, words=REFERRAL_WORDS), Column("referrer_name"),
        Column("referrer_organisation"), Column("referrer_email"), Column("referrer_phone"),
        Column("problem_areas", LIST), Column("household_income", INT), Column("arrival_year", INT),
        Column("in_professional_care", BOOL), Column("references_checked", INT),
        Column("training_attended_on", DATE), Column("home_visit_on", DATE), Column("agreement_signed_on", DATE),
        Column("consent_share_with_referrer", BOOL), Column("consent_evaluation_contact", BOOL),
    ),
    "members": (
        Column("family_ref", required=True), Column("external_ref", required=True),
        Column("role", CODE, True, ROLE_WORDS), Column("first_name", required=True), Column("last_name"),
        Column("date_of_birth", DATE), Column("vog_issued_on", DATE),
    ),
    "matches": (
        Column("external_ref", required=True), Column("requesting_ref", required=True),
        Column("supporting_ref", required=True), Column("state", CODE, True, STATE_WORDS),
        Column("proposed_on", DATE, True), Column("introduction_on", DATE), Column("trial_on", DATE),
        Column("active_on", DATE), Column("planned_end_on", DATE), Column("ended_on", DATE),
        Column("cancelled_on", DATE), Column("agreement"), Column("children", INT), Column("support_kinds", LIST),
        Column("end_reason", CODE), Column("outcome", CODE), Column("note"), Column("override_reason"),
    ),
}
_BY_NAME = {sheet: {c.name: c for c in columns} for sheet, columns in COLUMNS.items()}

#: Family columns that are not facts of the family schema.
_FAMILY_EXTRA = ("status", "consent_share_with_referrer", "consent_evaluation_contact")
_CONSENT_COLUMNS = {"consent_share_with_referrer": "share_with_referrer",
                    "consent_evaluation_contact": "evaluation_contact"}
#: Facts that cannot be empty: an empty cell leaves them as they are.
_NOT_NULL = {"display_name", "kind", "registered_on", "referral_source", "references_checked", "role", "first_name"}

#: Statuses a family of each kind can have.
KIND_STATUSES = {kind: set(steps) | set().union(*steps.values()) for kind, steps in family_service.TRANSITIONS.items()}
#: The status a family must have for a match to be proposed (besides ``matched``).
MATCHABLE = match_service.MATCHABLE

_FAMILY_SCHEMA = S.FamilyCreateSchema()
_MEMBER_SCHEMA = S.MemberSchema()
_PROPOSE_SCHEMA = S.MatchProposeSchema(exclude=("requesting_family_id", "supporting_family_id"))
_STEP_SCHEMA = {V.INTRODUCTION: S.MatchStepSchema(), V.TRIAL: S.MatchStepSchema(),
                V.ACTIVE: S.MatchActivateSchema(), V.ENDED: S.MatchEndSchema(), V.CANCELLED: S.MatchStepSchema()}


# --------------------------------------------------------------------------- report

@dataclass
class Problem:
    sheet: str | None
    row: int | None  # as the spreadsheet numbers it: the header is row 1; None for the file as a whole
    column: str | None
    message: str

    def __post_init__(self):  # a column or message may quote the file: a report stays small whatever it holds
        if self.column is not None and len(self.column) > MAX_QUOTED:
            self.column = self.column[:MAX_QUOTED] + "…"
        if len(self.message) > MAX_MESSAGE:
            self.message = self.message[:MAX_MESSAGE] + "…"


@dataclass
class Report:
    dry_run: bool
    source: str | None = None  # xlsx | csv
    committed: bool = False
    counts: dict = field(default_factory=lambda: {s: {"rows": 0, "create": 0, "update": 0, "skip": 0} for s in SHEETS})
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        """The report as JSON; at most :data:`MAX_LISTED` problems are listed, ``problem_count`` has them all."""
        out = {"dry_run": self.dry_run, "committed": self.committed, "source": self.source,
               "counts": self.counts, "problem_count": len(self.problems),
               "problems": [asdict(p) for p in self.problems[:MAX_LISTED]]}
        return {**out, "message": summary(out)}


def summary(report: dict) -> str:
    """The report's message (from its ``problem_count``, ``committed``), in the reader's language."""
    count = report["problem_count"]
    if count > MAX_LISTED:
        return render(Message("%(count)s problems found; the first %(listed)s are listed; nothing was imported",
                              {"count": count, "listed": MAX_LISTED}, code="import_problems"))
    if count:
        return f"{count} problem(s) found; nothing was imported"
    if report["committed"]:
        return "imported"
    return "no problems found; nothing was written (dry run)"


# --------------------------------------------------------------------------- read

@dataclass
class Table:
    """One sheet: its column names (normalised) and its rows as ``(row number, {column: value})``."""

    name: str
    columns: list[str]
    rows: list[tuple[int, dict]]


@dataclass
class Upload:
    source: str | None
    tables: dict[str, Table]
    problems: list[Problem]

    @property
    def rows(self) -> int:
        """Rows to check, over all sheets (empty rows left out)."""
        return sum(len(table.rows) for table in self.tables.values())


def _header(value) -> str:
    return re.sub(r"[\s\-]+", "_", str(value).strip().lower())


def _cell(value):
    """A cell as a plain value: stripped text, int for whole numbers, date for date-times, None when empty."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.date()
    return value


def _limited(name: str, rows, problems: list[Problem]):
    """The rows as lists of at most MAX_COLUMNS cells, numbered from 1; stops with a problem at a value beyond
    column MAX_COLUMNS, or at more than MAX_ROWS rows after the header (empty rows count: they cost as much)."""
    for number, raw in enumerate(rows, start=1):
        if number > MAX_ROWS + 1:
            problems.append(Problem(name, number, None, render(Message(
                "more than %(limit)s rows (empty rows count too); delete the empty rows or split the file",
                {"limit": MAX_ROWS}, code="too_many_rows"))))
            return
        if len(raw) > MAX_COLUMNS and any(_cell(v) is not None for v in raw[MAX_COLUMNS:]):
            problems.append(Problem(name, number, None, render(Message(
                "a value beyond column %(limit)s; Koppel reads at most %(limit)s columns, delete the others",
                {"limit": MAX_COLUMNS}, code="too_many_columns"))))
            return
        yield number, raw[:MAX_COLUMNS]


def _table(name: str, rows, problems: list[Problem]) -> Table | None:
    """Build a table from an iterator of row tuples (the first is the header)."""
    before = len(problems)
    rows = _limited(name, rows, problems)
    _, header = next(rows, (1, None))
    if header is None or not any(_cell(v) is not None for v in header):
        if len(problems) == before:
            problems.append(Problem(name, 1, None, "row 1 must hold the column names; the sheet is empty"))
        return None
    names: list[str | None] = []
    named: list[bool] = []
    known = _BY_NAME[name]
    for index, value in enumerate(header):
        value = _cell(value)
        named.append(value is not None)
        column = _header(value) if value is not None else None
        if column is not None and column not in known:
            problems.append(Problem(name, 1, str(value), f"unknown column; the columns of {name} are "
                                    f"{', '.join(known)} (see docs/import.md)"))
            column = None
        elif column is not None and column in names:
            problems.append(Problem(name, 1, column, "this column appears twice"))
            column = None
        names.append(column)
    present = [n for n in names if n is not None]
    for column in COLUMNS[name]:
        if column.required and column.name not in present:
            problems.append(Problem(name, 1, column.name, "required column is missing"))
    out = []
    unnamed: set[int] = set()
    for number, raw in rows:
        cells = [_cell(v) for v in raw]
        if not any(v is not None for v in cells):
            continue
        values = {}
        for index, value in enumerate(cells):
            if value is None:
                continue
            column = names[index] if index < len(names) else None
            if column is not None:
                values[column] = value
            elif (index >= len(named) or not named[index]) and index not in unnamed:
                unnamed.add(index)  # once per column, not once per cell
                problems.append(Problem(name, number, None,
                                        f"a value in column {index + 1}, which has no name in row 1"))
        out.append((number, values))
    return Table(name, present, out)


def _require_defused_xml() -> None:
    """Workbooks are XML: refuse to start when openpyxl would parse them without defusedxml, which refuses
    entity declarations (billion laughs, external entities). ``OPENPYXL_DEFUSEDXML=False`` turns it off."""
    setting = os.environ.get("OPENPYXL_DEFUSEDXML", "True")
    if setting != "True" or importlib.util.find_spec("defusedxml") is None:
        raise RuntimeError("Koppel reads workbooks only with defusedxml: install it, and leave OPENPYXL_DEFUSEDXML "
                           f"unset or True (it is {setting!r})")


_require_defused_xml()


def _parsed_safely() -> bool:
    """Whether openpyxl, as imported, parses with defusedxml (it decides once, when it is imported)."""
    import defusedxml.ElementTree
    from openpyxl.xml import functions

    return functions.iterparse is defusedxml.ElementTree.iterparse


def _reason(exc: BaseException) -> str:
    """The kind of error at the root of *exc* (openpyxl wraps the XML parser's), e.g. ``EntitiesForbidden``."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc.__class__.__name__


def read_workbook(data: bytes) -> Upload:
    """Read an XLSX workbook; unknown sheets (instructions, lists) are ignored. A workbook that cannot be
    read, also halfway through a sheet (malformed XML, entity declarations), is a problem, not an exception."""
    problem = _workbook_problem(data)
    if problem is not None:
        return Upload("xlsx", {}, [problem])
    from openpyxl import load_workbook

    if not _parsed_safely():
        return Upload("xlsx", {}, [Problem(None, None, "workbook", "this server cannot read workbooks safely "
                                           "(OPENPYXL_DEFUSEDXML is off); tell the administrator")])
    problems: list[Problem] = []
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds on a damaged file
        return Upload("xlsx", {}, [Problem(None, None, "workbook", f"the workbook cannot be read ({_reason(exc)})")])
    tables = {}
    try:
        for sheet in book.worksheets:
            name = _header(sheet.title)
            name = SHEET_ALIASES.get(name, name)
            if name not in SHEETS:
                continue
            if name in tables:
                problems.append(Problem(name, None, None, f"two sheets are called {name}"))
                continue
            rows = sheet.iter_rows(max_row=MAX_ROWS + 2, max_col=MAX_COLUMNS + 1, values_only=True)
            try:  # openpyxl parses the sheet while its rows are read
                table = _table(name, rows, problems)
            except Exception as exc:  # noqa: BLE001 - XML, zip and value errors of a damaged sheet
                problems.append(Problem(name, None, None, f"the sheet cannot be read ({_reason(exc)}); "
                                        "open it in Excel and save it again as .xlsx"))
                continue
            if table is not None:
                tables[name] = table
    finally:
        book.close()
    if not tables and not problems:
        problems.append(Problem(None, None, "workbook",
                                "the workbook has no sheet called families, members or matches"))
    return Upload("xlsx", tables, problems)


def _decode_csv(name: str, data: bytes, problems: list[Problem]) -> str | None:
    """The text of a CSV file, or None with a problem: empty, a workbook or other binary file sent as CSV,
    not UTF-8, or holding NUL bytes."""
    before = len(problems)
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n"):
        problems.append(Problem(name, None, None, "the file is empty"))
    elif data.startswith(ZIP):
        problems.append(Problem(name, None, None, "this is an XLSX workbook; send it as the field workbook"))
    elif data.startswith(OLE):
        problems.append(Problem(name, None, None, "this is an old Excel file (.xls), not CSV; save it as "
                                "'CSV UTF-8 (door komma's gescheiden)'"))
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.append(Problem(name, None, None, "the file is UTF-16 ('Unicode-tekst'), not UTF-8; in Excel save "
                                "it as 'CSV UTF-8 (door komma's gescheiden)'"))
    if len(problems) > before:
        return None
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        problems.append(Problem(name, line, None, "the file is not UTF-8; in Excel save it as "
                                "'CSV UTF-8 (door komma's gescheiden)'"))
        return None
    if "\x00" in content:
        line = content[: content.index("\x00")].count("\n") + 1
        problems.append(Problem(name, line, None, "the file holds a NUL byte: it is not a text file"))
        return None
    return content


def read_csv(name: str, data: bytes, problems: list[Problem]) -> Table | None:
    """Read one CSV file: UTF-8 with or without BOM, separated by ``;`` (Dutch Excel), ``,`` or tab."""
    content = _decode_csv(name, data, problems)
    if content is None:
        return None
    first = content.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        return _table(name, reader, problems)
    except csv.Error as exc:  # a cell longer than csv.field_size_limit(), a quote where none may be
        problems.append(Problem(name, reader.line_num or None, None, f"the CSV file cannot be read: {exc}"))
        return None


ZIP = b"PK\x03\x04"  # how an XLSX workbook (a zip) begins
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an old .xls, or a workbook with a password (encrypted)
#: A workbook's zip may hold at most this many entries (Excel writes a dozen or two) ...
MAX_ZIP_ENTRIES = 1000
#: ... unpack to at most this many bytes together (as its central directory says; Python's zipfile never
#: unpacks an entry beyond the size given there) ...
MAX_UNPACKED_BYTES = 100 * 2**20
#: ... and, once that is over RATIO_FLOOR, at most MAX_RATIO times the size of the upload.
MAX_RATIO = 100
RATIO_FLOOR = 10 * 2**20
#: What each field of an upload may be called, and what type a client may claim for it (browsers claim
#: what the system knows the extension as: none, or application/octet-stream, are taken too).
EXTENSIONS = {"workbook": (".xlsx",), "csv": (".csv", ".tsv", ".txt")}
MEDIA_TYPES = {
    "workbook": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/zip",
                 "application/x-zip-compressed", "application/octet-stream", ""},
    "csv": {"text/csv", "text/plain", "text/tab-separated-values", "text/x-csv", "text/comma-separated-values",
            "application/csv", "application/vnd.ms-excel", "application/octet-stream", ""},
}
_NOT_A_WORKBOOK = Problem(None, None, "workbook", "not an XLSX workbook; save it as Excel workbook (.xlsx), "
                          "or send CSV files as the fields families, members, matches")


def _workbook_problem(data: bytes) -> Problem | None:
    """What the zip's central directory tells (nothing is unpacked): not a zip, not an XLSX workbook, or a
    zip that unpacks too large, into too many entries, or into paths outside itself."""
    if data.startswith(OLE):
        return Problem(None, None, "workbook", "an old Excel file (.xls) or a workbook with a password; save it "
                       "as Excel workbook (.xlsx) without a password")
    if not data.startswith(ZIP):
        return _NOT_A_WORKBOOK
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        return Problem(None, None, "workbook", "the workbook is damaged (not a complete zip file); save it again")

    def refused(why: str) -> Problem:
        return Problem(None, None, "workbook", f"refused: {why}")

    if len(entries) > MAX_ZIP_ENTRIES:
        return refused(f"the zip holds {len(entries)} entries; a workbook has at most {MAX_ZIP_ENTRIES}")
    unpacked = sum(entry.file_size for entry in entries)
    if unpacked > MAX_UNPACKED_BYTES:
        return refused(f"it unpacks to {unpacked // 2**20} MB; a workbook may unpack to at most "
                       f"{MAX_UNPACKED_BYTES // 2**20} MB")
    if unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * len(data):
        return refused(f"it unpacks to {unpacked // len(data)} times its size; at most {MAX_RATIO} times")
    names = [entry.filename for entry in entries]
    if len(set(names)) < len(names):
        return refused("two entries of the zip have the same name")
    for entry in entries:
        name = entry.filename
        if name.startswith(("/", "\\")) or "\\" in name or ":" in name or ".." in name.split("/"):
            return refused("an entry of the zip has a path outside the workbook")
        if stat.S_ISLNK(entry.external_attr >> 16):
            return refused("an entry of the zip is a symbolic link")
        if entry.flag_bits & 0x1:
            return refused("an entry of the zip is encrypted")
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return refused("an entry of the zip is compressed in a way Excel does not use")
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        return Problem(None, None, "workbook", "a zip file, but no Excel workbook (.xlsx); save it as Excel "
                       "workbook, or send CSV files as the fields families, members, matches")
    return None


def _which_files(workbook: bytes | None, csv_files: dict[str, bytes]) -> Problem | None:
    if workbook is not None and csv_files:
        return Problem(None, None, "workbook", "send either a workbook or CSV files, not both")
    if workbook is None and not csv_files:
        return Problem(None, None, None, "no file: send an XLSX workbook as the field workbook, "
                       "or CSV files as the fields families, members, matches")
    return None


@dataclass(frozen=True)
class Received:
    """One uploaded file: its content, and the name and media type its client gave it (claims, checked
    against the content by :func:`check_upload`; the name is shown as :attr:`label`, never used as a path)."""

    field: str  # workbook, families, members or matches
    content: bytes
    filename: str | None = None
    mimetype: str | None = None

    @property
    def label(self) -> str:
        return file_label(self.filename, self.field)


def received(files) -> dict[str, Received]:
    """The files of a request (werkzeug's ``FileStorage`` by field name), read: the fields of an upload
    (workbook, families, members, matches) that hold a file; an empty file input is left out."""
    out = {}
    for name in ("workbook", *SHEETS):
        upload = files.get(name)
        if upload is None:
            continue
        content = upload.read()
        if upload.filename or content:
            out[name] = Received(name, content, upload.filename, upload.mimetype)
    return out


def _claim_problem(item: Received) -> Problem | None:
    """The extension and media type the client gave, against what the field takes (ASVS 5.2.2)."""
    kind = "workbook" if item.field == "workbook" else "csv"
    sheet = None if kind == "workbook" else item.field
    label = item.label
    if item.filename and not label.lower().endswith(EXTENSIONS[kind]):
        return Problem(sheet, None, item.field, f"the file {label} is not {' or '.join(EXTENSIONS[kind])}; "
                       + ("send an Excel workbook (.xlsx)" if kind == "workbook" else "send a CSV file"))
    mimetype = (item.mimetype or "").lower()
    if mimetype not in MEDIA_TYPES[kind]:
        return Problem(sheet, None, item.field, f"the file {label} was sent as {mimetype[:80]}, which is not "
                       + ("an Excel workbook" if kind == "workbook" else "CSV"))
    return None


def check_upload(files: dict[str, Received | bytes | None]) -> Upload:
    """What can be told of an upload (by field: workbook, families, members, matches) before its rows are
    read, in the request: that there is a file, a workbook or CSV files; that each file's name and claimed
    type are those of its field, and its content too: a workbook a zip that is an XLSX and unpacks within
    the limits (from the zip's directory), CSV files in UTF-8 without NUL bytes. The same problems as
    :func:`read_upload`'s; the rows are read by that, in the job."""
    sent = {name: item if isinstance(item, Received) else Received(name, item)
            for name, item in files.items() if item is not None}
    workbook = sent.pop("workbook", None)
    csv_files = {name: item for name, item in sent.items() if name in SHEETS}
    problem = _which_files(workbook and workbook.content, {k: v.content for k, v in csv_files.items()})
    if problem is not None:
        return Upload(None, {}, [problem])
    if workbook is not None:
        problem = _claim_problem(workbook) or _workbook_problem(workbook.content)
        return Upload("xlsx", {}, [problem] if problem else [])
    problems: list[Problem] = []
    for name in SHEETS:
        if name in csv_files:
            problem = _claim_problem(csv_files[name])
            if problem is not None:
                problems.append(problem)
            else:
                _decode_csv(name, csv_files[name].content, problems)
    return Upload("csv", {}, problems)


def read_upload(workbook: bytes | None = None, csv_files: dict[str, bytes] | None = None) -> Upload:
    """Read what was uploaded: one workbook, or CSV files keyed by sheet name. A file whose sheets hold
    no row below their header is a problem: there is nothing to import."""
    csv_files = {k: v for k, v in (csv_files or {}).items() if v is not None}
    problem = _which_files(workbook, csv_files)
    if problem is not None:
        return Upload(None, {}, [problem])
    if workbook is not None:
        upload = read_workbook(workbook)
    else:
        problems: list[Problem] = []
        tables = {}
        for name in SHEETS:
            if name in csv_files:
                table = read_csv(name, csv_files[name], problems)
                if table is not None:
                    tables[name] = table
        upload = Upload("csv", tables, problems)
    if upload.tables and not upload.problems and not upload.rows:
        upload.problems.append(Problem(None, None, None, "no rows below the header row: nothing to import"))
    return upload


# --------------------------------------------------------------------------- convert

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_POSTCODE = re.compile(r"^([1-9][0-9]{3})\s*([A-Za-z]{2})$")
_TRUE = {"ja", "j", "yes", "y", "true", "waar", "1", "x"}
_FALSE = {"nee", "n", "no", "false", "onwaar", "0"}


def _as_date(value):
    if isinstance(value, date):
        return value
    if isinstance(value, int) and 20_000 <= value <= 80_000:  # Excel's day number, in a cell not formatted as date
        return date(1899, 12, 30) + timedelta(days=value)
    match = _ISO.match(str(value)) or _DMY.match(str(value))
    if match:
        parts = [int(p) for p in match.groups()]
        year, month, day = parts if match.re is _ISO else parts[::-1]
        try:
            return date(year, month, day)
        except ValueError:
            pass
    raise ValueError("not a date; use YYYY-MM-DD or DD-MM-YYYY")


def _convert(column: Column, value):
    """The value of a cell as the schemas take it; raises ValueError with a message for the report."""
    if column.type == DATE:
        return _as_date(value).isoformat()
    if column.type == BOOL:
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("give ja or nee (yes or no)")
    if column.type == LIST:
        if isinstance(value, (int, float)):
            value = str(value)
        return [part.strip().lower() for part in re.split(r"[,|]", value) if part.strip()]
    if column.type == FLOAT and isinstance(value, str):
        return value.replace(",", ".")  # a Dutch decimal comma
    if column.type in (INT, FLOAT):
        return value
    value = str(value)
    if column.type == CODE:
        word, words = value.lower(), column.words or {}
        return words.get(word) or words.get(word.replace("_", " ")) or word.replace(" ", "_")
    if column.type == POSTCODE:
        match = _POSTCODE.match(value)
        return f"{match.group(1)} {match.group(2).upper()}" if match else value
    if column.type == UPPER:
        return value.upper()
    return value


def _row_values(sheet: str, number: int, values: dict, problems: list[Problem]) -> dict:
    """Convert one row's cells; a cell that cannot be converted is a problem and left out."""
    out = {}
    for name, value in values.items():
        try:
            out[name] = _convert(_BY_NAME[sheet][name], value)
        except ValueError as exc:
            problems.append(Problem(sheet, number, name, str(exc)))
    return out


def _flatten(messages, prefix: str | None = None):
    """Marshmallow's error messages as (column, message) pairs."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            if prefix is None:
                yield from _flatten(value, str(key))
            else:
                for column, message in _flatten(value, prefix):
                    yield column, f"item {int(key) + 1}: {message}" if isinstance(key, int) else message
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, prefix)
    else:
        yield prefix, str(messages)


def _load(schema, data: dict, sheet: str, number: int, problems: list[Problem], columns: dict | None = None):
    """Load *data* with *schema*; each error becomes a problem on its column. Returns None when invalid."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        for column, message in _flatten(exc.messages):
            column = (columns or {}).get(column, column)
            problems.append(Problem(sheet, number, None if column == "_schema" else column, message))
        return None


# --------------------------------------------------------------------------- plan

@dataclass
class FamilyPlan:
    """A family the file names: one of its rows, or one already in the database, or both."""

    ref: str
    row: int | None = None
    action: str | None = None  # create | update | skip; None: not in the families sheet, or invalid
    existing: Family | None = None
    kind: str | None = None
    data: dict = field(default_factory=dict)  # create: the family's data; update: changed facts
    status: str | None = None  # the status the file gives
    status_change: str | None = None  # existing family: change_status to this
    consents: list[str] = field(default_factory=list)  # purposes to record besides processing
    members: list[dict] = field(default_factory=list)  # create: members with the family
    registered_on: date | None = None
    capacity: int | None = None
    consent_on: date | None = None  # processing consent in force from (new families: registered_on)
    #: existing families: purpose -> [(given_on, withdrawn_on)]
    consent_periods: dict[str, list] = field(default_factory=lambda: defaultdict(list))
    running: bool = False  # has a trial or active match after the import
    open: bool = False  # has an open match after the import
    file_matches: list = field(default_factory=list)

    def has_processing_consent(self, on: date) -> bool:
        if self.existing is None:
            return self.consent_on is not None and self.consent_on <= on
        return any(given <= on and (withdrawn is None or withdrawn > on)
                   for given, withdrawn in self.consent_periods["processing"])

    @property
    def invalid(self) -> bool:
        """Named in the file by a row that has problems, and not in Koppel."""
        return self.existing is None and self.action is None

    @property
    def status_before_matches(self) -> str | None:
        if self.existing is None:
            return MATCHABLE.get(self.kind)
        return self.status_change or self.existing.status


@dataclass
class MemberPlan:
    row: int
    family: FamilyPlan
    action: str
    data: dict
    existing: Member | None = None


@dataclass
class MatchPlan:
    row: int
    ref: str
    action: str
    requesting: FamilyPlan
    supporting: FamilyPlan
    state: str
    steps: list[tuple[str, date]]  # the steps still to take (all of them for a new match)
    propose: dict
    facts: dict  # agreement, planned_end_on, end_reason, outcome
    existing: Match | None = None


@dataclass
class Plan:
    families: dict[str, FamilyPlan] = field(default_factory=dict)
    members: list[MemberPlan] = field(default_factory=list)
    matches: list[MatchPlan] = field(default_factory=list)


def _chunks(values, size: int = 1000):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _existing_families(refs: set[str]) -> dict[str, Family]:
    found = {}
    for chunk in _chunks(sorted(refs)):
        families = db.session.scalars(select(Family).where(Family.external_ref.in_(chunk)))
        found.update((f.external_ref, f) for f in families)
    return found


def _nothing(_what: str, _problems: int) -> None:
    """A progress callback that tells no one."""


def _counted(rows, progress, problems: list[Problem]):
    """The rows, telling *progress* of each one checked (when the loop asks for the next)."""
    for row in rows:
        yield row
        progress(CHECKED, len(problems))


def plan(upload: Upload, report: Report, progress=_nothing) -> Plan:
    """Validate every row and decide what to do with it; problems go into *report*. *progress* is called
    with :data:`CHECKED` after each row."""
    problems = report.problems
    tables = upload.tables
    out = Plan()
    for name, table in tables.items():
        report.counts[name]["rows"] = len(table.rows)

    # which families the file names, and which of them are in the database already
    refs = set()
    for number, values in tables["families"].rows if "families" in tables else ():
        if values.get("external_ref") is not None:
            refs.add(str(values["external_ref"]))
    for number, values in tables["members"].rows if "members" in tables else ():
        if values.get("family_ref") is not None:
            refs.add(str(values["family_ref"]))
    for number, values in tables["matches"].rows if "matches" in tables else ():
        refs.update(str(values[c]) for c in ("requesting_ref", "supporting_ref") if values.get(c) is not None)
    existing = _existing_families(refs)
    for ref, family in existing.items():
        out.families[ref] = FamilyPlan(ref=ref, existing=family, kind=family.kind, registered_on=family.registered_on,
                                       capacity=family.capacity_children)
    _load_consents(out.families.values())

    if "families" in tables:
        _plan_families(tables["families"], out, report, progress)
    if "members" in tables:
        _plan_members(tables["members"], out, report, progress)
    if "matches" in tables:
        _plan_matches(tables["matches"], out, report, progress)
    _check_statuses(out, problems)
    flagged = {(p.sheet, p.row) for p in problems}
    rows = [("families", f.row, f.action) for f in out.families.values() if f.row is not None and f.action]
    rows += [("members", m.row, m.action) for m in out.members] + [("matches", m.row, m.action) for m in out.matches]
    for sheet, row, action in rows:
        if (sheet, row) not in flagged:
            report.counts[sheet][action] += 1
    problems.sort(key=lambda p: (SHEETS.index(p.sheet) if p.sheet in SHEETS else -1, p.row or 0))
    return out


def _load_consents(family_plans) -> None:
    by_id = {p.existing.id: p for p in family_plans if p.existing is not None}
    for chunk in _chunks(by_id):
        rows = db.session.execute(select(Consent.family_id, Consent.purpose, Consent.given_on, Consent.withdrawn_on)
                                  .where(Consent.family_id.in_(chunk))).all()
        for family_id, purpose, given, withdrawn in rows:
            by_id[family_id].consent_periods[purpose].append((given, withdrawn))


def _plan_families(table: Table, out: Plan, report: Report, progress=_nothing) -> None:
    problems = report.problems
    present = set(table.columns)
    seen: dict[str, int] = {}
    for number, cells in _counted(table.rows, progress, problems):
        before = len(problems)
        values = _row_values("families", number, cells, problems)
        ref = values.get("external_ref")
        if ref is None:
            problems.append(Problem("families", number, "external_ref",
                                    "required: the family's id in your spreadsheet"))
            continue
        if ref in seen:
            problems.append(Problem("families", number, "external_ref", f"{ref} is also on row {seen[ref]}"))
            continue
        seen[ref] = number
        item = out.families.setdefault(ref, FamilyPlan(ref=ref))
        item.row = number
        facts = {k: v for k, v in values.items() if k not in _FAMILY_EXTRA}
        loaded = _load(_FAMILY_SCHEMA, facts, "families", number, problems)
        kind = (loaded or {}).get("kind") or (values.get("kind") if values.get("kind") in V.FAMILY_KINDS else None)
        family = item.existing
        if family is not None and kind is not None and kind != family.kind:
            problems.append(Problem("families", number, "kind", f"{ref} is a {family.kind} family in Koppel; "
                                    "the kind of a family cannot change"))
        if family is None:
            item.kind = kind
        status = values.get("status")
        if status is not None and kind is not None and status not in KIND_STATUSES[kind]:
            problems.append(Problem("families", number, "status", f"a {kind} family cannot be {status}; use one of "
                                    f"{', '.join(sorted(KIND_STATUSES[kind]))}"))
        item.status = status
        consents = [purpose for column, purpose in _CONSENT_COLUMNS.items() if values.get(column)]
        if loaded is None or len(problems) > before:
            continue
        if family is None:
            loaded.pop("members", None)
            loaded.setdefault("registered_on", date.today())
            item.action, item.data, item.consents = "create", loaded, consents
            item.registered_on = item.consent_on = loaded["registered_on"]
            item.capacity = loaded.get("capacity_children")
        else:
            changes = _changes(family, loaded, present)
            item.consents = [purpose for purpose in consents
                             if not any(withdrawn is None for _, withdrawn in item.consent_periods[purpose])]
            if status is not None and status != family.status and status != V.MATCHED:
                allowed = family_service.TRANSITIONS[family.kind].get(family.status, set())
                if status not in allowed:
                    problems.append(Problem("families", number, "status", f"{ref} is {family.status} in Koppel; a "
                                            f"{family.kind} family cannot go from there to {status}"
                                            + (f" (only to {', '.join(sorted(allowed))})" if allowed else "")))
                    continue
                item.status_change = status
            item.data = changes
            item.action = "update" if changes or item.consents or item.status_change else "skip"
            item.registered_on = changes.get("registered_on", family.registered_on)
            item.capacity = changes.get("capacity_children", family.capacity_children)


def _changes(obj, loaded: dict, present: set[str]) -> dict:
    """The facts of *obj* that the row sets differently (only columns present in the file).

    Lists and yes/no facts are in *loaded* even when empty (the schema's defaults); another fact
    whose cell is empty is cleared, unless it cannot be empty.
    """
    changes = {}
    for name in present:
        if name in _FAMILY_EXTRA or name in ("kind", "external_ref", "family_ref") or not hasattr(obj, name):
            continue
        if name in loaded:
            value = loaded[name]
        elif name in _NOT_NULL:
            continue
        else:
            value = None
        if getattr(obj, name) != value:
            changes[name] = value
    return changes


def _resolve(ref, out: Plan, sheet: str, number: int, column: str, problems: list[Problem],
             kind: str | None = None) -> FamilyPlan | None:
    if ref is None:
        return None
    item = out.families.get(str(ref))
    if item is None or (item.existing is None and item.row is None):
        problems.append(Problem(sheet, number, column, f"no family {ref} in the families sheet or in Koppel"))
        return None
    if kind is not None and item.kind is not None and item.kind != kind:
        problems.append(Problem(sheet, number, column, f"family {ref} is a {item.kind} family, not a {kind} one"))
        return None
    return item


def _plan_members(table: Table, out: Plan, report: Report, progress=_nothing) -> None:
    problems = report.problems
    present = set(table.columns)
    existing_members = _existing_members([p.existing.id for p in out.families.values() if p.existing is not None])
    seen: dict[tuple, int] = {}
    for number, cells in _counted(table.rows, progress, problems):
        before = len(problems)
        values = _row_values("members", number, cells, problems)
        for column in ("family_ref", "external_ref"):
            if values.get(column) is None and not _reported(problems[before:], column):
                problems.append(Problem("members", number, column, "required"))
        family = _resolve(values.get("family_ref"), out, "members", number, "family_ref", problems)
        key = (values.get("family_ref"), values.get("external_ref"))
        if None not in key:
            if key in seen:
                problems.append(Problem("members", number, "external_ref",
                                        f"member {key[1]} of family {key[0]} is also on row {seen[key]}"))
            seen.setdefault(key, number)
        data = {k: v for k, v in values.items() if k != "family_ref"}
        loaded = _load(_MEMBER_SCHEMA, data, "members", number, problems)
        if loaded and loaded.get("vog_issued_on") and family is not None and family.kind == V.REQUESTING:
            problems.append(Problem("members", number, "vog_issued_on",
                                    "a certificate of conduct (VOG) is recorded for supporting families only"))
        if family is None or loaded is None or len(problems) > before:
            continue
        member = existing_members.get((family.existing.id, loaded["external_ref"])) if family.existing else None
        if member is None:
            action, changes = "create", loaded
            if family.action == "create":
                family.members.append(loaded)
        else:
            changes = _changes(member, loaded, present)
            action = "update" if changes else "skip"
        out.members.append(MemberPlan(number, family, action, changes, member))


def _reported(problems: list[Problem], column: str) -> bool:
    return any(p.column == column for p in problems)


def _existing_members(family_ids: list[int]) -> dict[tuple, Member]:
    found = {}
    for chunk in _chunks(family_ids):
        for member in db.session.scalars(select(Member).where(Member.family_id.in_(chunk),
                                                              Member.external_ref.is_not(None))):
            found[(member.family_id, member.external_ref)] = member
    return found


#: The steps a match in each state has taken, in order (optional ones in brackets are taken when dated).
_PATH = {
    V.PROPOSED: (V.PROPOSED,),
    V.INTRODUCTION: (V.PROPOSED, V.INTRODUCTION),
    V.TRIAL: (V.PROPOSED, V.INTRODUCTION, V.TRIAL),
    V.ACTIVE: (V.PROPOSED, V.INTRODUCTION, V.TRIAL, V.ACTIVE),
    V.ENDED: (V.PROPOSED, V.INTRODUCTION, V.TRIAL, V.ACTIVE, V.ENDED),
    V.CANCELLED: (V.PROPOSED, V.INTRODUCTION, V.CANCELLED),
}
_OPTIONAL = {V.ENDED: {V.ACTIVE}, V.CANCELLED: {V.INTRODUCTION}}
_DATE = match_service.DATE_OF
_COLUMN_OF_FIELD = {"on": None, "proposed_on": "proposed_on", "children": "children"}


def _plan_matches(table: Table, out: Plan, report: Report, progress=_nothing) -> None:
    problems = report.problems
    refs = {str(v["external_ref"]) for _, v in table.rows if v.get("external_ref") is not None}
    existing = {}
    for chunk in _chunks(sorted(refs)):
        matches = db.session.scalars(select(Match).where(Match.external_ref.in_(chunk)))
        existing.update((m.external_ref, m) for m in matches)
    seen: dict[str, int] = {}
    for number, cells in _counted(table.rows, progress, problems):
        before = len(problems)
        values = _row_values("matches", number, cells, problems)
        ref = values.get("external_ref")
        for column in ("external_ref", "requesting_ref", "supporting_ref", "state", "proposed_on"):
            if values.get(column) is None and not _reported(problems[before:], column):
                problems.append(Problem("matches", number, column, "required"))
        if ref is not None:
            if ref in seen:
                problems.append(Problem("matches", number, "external_ref", f"{ref} is also on row {seen[ref]}"))
            seen.setdefault(ref, number)
        requesting = _resolve(values.get("requesting_ref"), out, "matches", number, "requesting_ref", problems,
                              V.REQUESTING)
        supporting = _resolve(values.get("supporting_ref"), out, "matches", number, "supporting_ref", problems,
                              V.SUPPORTING)
        state = values.get("state")
        if state is not None and state not in V.MATCH_STATES:
            problems.append(Problem("matches", number, "state", f"not a state; use one of {', '.join(V.MATCH_STATES)}"))
            state = None
        propose = _load(_PROPOSE_SCHEMA, {k: values[k] for k in ("proposed_on", "children", "support_kinds", "note",
                                                                 "override_reason", "external_ref") if k in values},
                        "matches", number, problems)
        steps, facts = _match_steps(values, state, number, problems) if state else ([], {})
        if None in (requesting, supporting, propose, state) or len(problems) > before:
            continue
        match = existing.get(ref)
        if match is not None:
            steps = _remaining(match, steps, values, requesting, supporting, number, problems)
            if steps is None:
                continue
        plan_ = MatchPlan(number, ref, "create" if match is None else "update" if steps else "skip", requesting,
                          supporting, state, steps, propose, facts, match)
        for family in (requesting, supporting):
            family.file_matches.append(plan_)
        out.matches.append(plan_)
    _check_matches(out, problems)


def _match_steps(values: dict, state: str, number: int, problems: list[Problem]):
    """The steps of a match in *state* with their dates, validated with the step schemas."""
    path = _PATH[state]
    steps, facts = [], {}
    previous = None
    for step in path:
        column = _DATE[step]
        on = values.get(column)
        if on is None:
            if step in _OPTIONAL.get(state, ()) or step == V.PROPOSED:  # proposed_on: reported as required
                continue
            problems.append(Problem("matches", number, column, f"required for a match that is {state}"))
            continue
        data = {"on": on}
        if step == V.ACTIVE:
            data.update({k: values[k] for k in ("agreement", "planned_end_on") if k in values})
        if step == V.ENDED:
            data.update({k: values[k] for k in ("end_reason", "outcome") if k in values})
        day = date.fromisoformat(on)
        if previous is not None and day < previous[1]:
            problems.append(Problem("matches", number, column,
                                    f"lies before {_DATE[previous[0]]} ({previous[1].isoformat()})"))
        previous = (step, day)
        if step == V.PROPOSED:
            loaded = {"on": day}  # validated with the propose schema
        else:
            loaded = _load(_STEP_SCHEMA[step], data, "matches", number, problems, columns={"on": column})
            if loaded is None:
                continue
        if step == V.ACTIVE:
            facts["agreement"] = loaded["agreement"]
            facts["planned_end_on"] = loaded.get("planned_end_on")
            if facts["planned_end_on"] is not None and facts["planned_end_on"] <= loaded["on"]:
                problems.append(Problem("matches", number, "planned_end_on", "must lie after active_on"))
        if step == V.ENDED:
            facts["end_reason"], facts["outcome"] = loaded["end_reason"], loaded["outcome"]
        steps.append((step, loaded["on"]))
    for step in set(V.MATCH_STATES) - set(path):
        if values.get(_DATE[step]) is not None:
            problems.append(Problem("matches", number, _DATE[step], f"a match that is {state} has no {step} step; "
                                    "leave this cell empty or correct the state"))
    for column in ("agreement", "planned_end_on"):
        if values.get(column) is not None and state not in (V.ACTIVE, V.ENDED):
            problems.append(Problem("matches", number, column, f"belongs to the active step; the match is {state}"))
    for column in ("end_reason", "outcome"):
        if values.get(column) is not None and state != V.ENDED:
            problems.append(Problem("matches", number, column, f"belongs to an ended match; the match is {state}"))
    return steps, facts


def _remaining(match: Match, steps, values, requesting, supporting, number, problems):
    """The steps of a known match still to take; None (and a problem) when the file contradicts Koppel."""
    if requesting.existing is None or match.requesting_family_id != requesting.existing.id or (
            supporting.existing is None or match.supporting_family_id != supporting.existing.id):
        problems.append(Problem("matches", number, "external_ref", f"match {match.external_ref} links other families "
                                "in Koppel; the families of a match cannot change"))
        return None
    if values.get("children") is not None and values["children"] != match.children:
        problems.append(Problem("matches", number, "children", f"match {match.external_ref} has {match.children} "
                                "child(ren) in Koppel; the import does not change that"))
        return None
    in_file = dict(steps)
    done = [(s, getattr(match, _DATE[s])) for s in V.MATCH_STATES if getattr(match, _DATE[s]) is not None]
    for step, on in done:
        if step not in in_file:
            problems.append(Problem("matches", number, "state", f"match {match.external_ref} is already {match.state} "
                                    f"in Koppel ({step} on {on.isoformat()}); the import does not take a match back"))
            return None
        if in_file[step] != on:
            problems.append(Problem("matches", number, _DATE[step], f"recorded as {on.isoformat()} in Koppel; the "
                                    "import does not change a step already taken"))
            return None
    remaining = [(s, on) for s, on in steps if s not in dict(done)]
    if remaining and remaining[0][0] not in match_service.ALLOWED[match.state]:
        problems.append(Problem("matches", number, "state", f"match {match.external_ref} is {match.state} in Koppel "
                                f"and cannot become {remaining[0][0]}"))
        return None
    return remaining


def _open_usage(supporting_ids: list[int]) -> dict[int, list[Match]]:
    found = defaultdict(list)
    for chunk in _chunks(supporting_ids):
        for match in db.session.scalars(select(Match).where(Match.supporting_family_id.in_(chunk),
                                                            Match.state.in_(V.OPEN_MATCH_STATES))):
            found[match.supporting_family_id].append(match)
    return found


def _running_in_db(family_ids: list[int]) -> set[int]:
    found = set()
    for chunk in _chunks(family_ids):
        rows = db.session.execute(select(Match.requesting_family_id, Match.supporting_family_id).where(
            Match.state.in_(V.RUNNING_MATCH_STATES),
            or_(Match.requesting_family_id.in_(chunk), Match.supporting_family_id.in_(chunk)))).all()
        for requesting, supporting in rows:
            found.update((requesting, supporting))
    return found


def replay_order(matches: list[MatchPlan]) -> list[MatchPlan]:
    """Known matches first, then new ones that are closed, then new open ones, each by date proposed.

    Closed matches go first so that they never hold a place the open ones need: a supporting family's
    capacity counts its open matches only, as the match service does.
    """
    def key(item: MatchPlan):
        closed = item.state in (V.ENDED, V.CANCELLED)
        return (item.existing is None, not closed, item.propose["proposed_on"], item.row)

    return sorted((m for m in matches if m.action != "skip"), key=key)


def _check_matches(out: Plan, problems: list[Problem]) -> None:
    """Consent, family status and capacity, in the order the matches will be replayed."""
    supporting_ids = [m.supporting.existing.id for m in out.matches if m.supporting.existing is not None]
    usage = {sid: {m.id: m.children for m in matches} for sid, matches in _open_usage(supporting_ids).items()}
    file_usage: dict[str, int] = Counter()
    for item in replay_order(out.matches):
        if item.requesting.invalid or item.supporting.invalid:
            continue  # the family row has problems of its own
        on = item.propose["proposed_on"]
        states = [s for s, _ in item.steps]
        if item.existing is None:
            for family, column in ((item.requesting, "requesting_ref"), (item.supporting, "supporting_ref")):
                problem = match_service.check_consent(family.has_processing_consent(on), family.ref, on)
                if problem:
                    when = family.registered_on.isoformat() if family.existing is None else None
                    problems.append(Problem("matches", item.row, "proposed_on", (
                        f"lies before family {family.ref} was registered ({when}); consent for processing is recorded "
                        "from registered_on" if when else render(problem, "en"))))
                problem = match_service.check_matchable(family.kind, family.status_before_matches, family.ref)
                if family.existing is not None and problem:
                    problems.append(Problem("matches", item.row, column, render(problem, "en")))
        sup = item.supporting
        placed = file_usage[sup.ref] + sum(usage.get(sup.existing.id, {}).values() if sup.existing else ())
        if item.existing is None:
            children = item.propose.get("children", 1)
            problem = match_service.check_capacity(sup.capacity, placed, children, sup.ref)
            if problem:
                problems.append(Problem("matches", item.row, "children", render(problem, "en")))
            elif item.state in V.OPEN_MATCH_STATES:
                file_usage[sup.ref] += children
        elif V.ENDED in states or V.CANCELLED in states:
            usage.get(sup.existing.id, {}).pop(item.existing.id, None)


def _check_statuses(out: Plan, problems: list[Problem]) -> None:
    """The status a family row gives must agree with its matches after the import."""
    running_db = _running_in_db([p.existing.id for p in out.families.values() if p.existing is not None])
    for family in out.families.values():
        final = {m.state for m in family.file_matches}
        running = bool(final & set(V.RUNNING_MATCH_STATES)) or (
            family.existing is not None and family.existing.id in running_db and not _all_closed_by_file(family))
        family.running = running
        family.open = bool(final & set(V.OPEN_MATCH_STATES))
        if family.row is None or family.status is None or family.kind is None:
            continue
        if running and family.status != V.MATCHED:
            problems.append(Problem("families", family.row, "status", f"{family.ref} has a running match (trial or "
                                    f"active), so it is matched, not {family.status}"))
        elif family.status == V.MATCHED and not running:
            problems.append(Problem("families", family.row, "status", f"{family.ref} has no running match (trial or "
                                    f"active) in the matches sheet or in Koppel; matched comes from one"))
        elif family.open and not running and family.existing is None and family.status != MATCHABLE[family.kind]:
            problems.append(Problem("families", family.row, "status", f"{family.ref} has a proposed match, so it is "
                                    f"{MATCHABLE[family.kind]}, not {family.status}"))


def _all_closed_by_file(family: FamilyPlan) -> bool:
    """Whether the file ends every running match this family has in the database."""
    running = db.session.scalars(select(Match).where(
        Match.state.in_(V.RUNNING_MATCH_STATES),
        or_(Match.requesting_family_id == family.existing.id, Match.supporting_family_id == family.existing.id))).all()
    ending = {m.existing.id for m in family.file_matches
              if m.existing is not None and m.state in (V.ENDED, V.CANCELLED)}
    return all(m.id in ending for m in running)
