"""Hostile uploads to the import, over the API and the web page (PostgreSQL): a file that is not what its
field, name or claimed type say, a zip bomb, XML with entity declarations or broken halfway, CSV that is
empty, UTF-16, not UTF-8, with NUL bytes or a cell beyond the csv module's limit, only a header, formula
and markup cells, and file names that are paths. What the request can tell is a 422 with the report and
nothing stored; what only the job sees is a problem in its report, the job done (not failed, not retried)
and nothing written. The hostile files are made here, in memory.
"""
from __future__ import annotations

import csv
import html
import io
import re
import stat
import zipfile

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core import inputs
from core.auth import roles as R
from core.extensions import db
from core.programme import imports
from core.programme.models import Family
from core.scheduling.models import ImportJob, ScheduledItem
from tenants.context import tenant_scope

from tests.test_import import PLAIN_FAMILIES, csv_file, post, rows_in, run_job, workbook

pg = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

BOOK = workbook(families=PLAIN_FAMILIES)
CSV = csv_file(PLAIN_FAMILIES)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def zipped(entries: dict[str, bytes], level: int = 9) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def with_sheet(book: bytes, change) -> bytes:
    """*book* with its first sheet's XML changed by *change*."""
    source = zipfile.ZipFile(io.BytesIO(book))
    return zipped({item.filename: change(source.read(item)) if item.filename == "xl/worksheets/sheet1.xml"
                   else source.read(item) for item in source.infolist()})


def zeros_entry(book_entries: dict[str, bytes], mebibytes: int) -> bytes:
    """A zip bomb: a workbook's entries and a sheet of *mebibytes* MiB of zeros, written a MiB at a time."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in book_entries.items():
            archive.writestr(name, content)
        with archive.open("xl/worksheets/sheet2.xml", "w") as entry:
            for _ in range(mebibytes):
                entry.write(bytes(2**20))
    return out.getvalue()


def send(client, world, files: dict, dry_run: bool = True, web: bool = False):
    """POST *files* (field -> (content, file name, media type)) to the API, or to the page when *web*."""
    data = {name: (io.BytesIO(content), filename, mimetype) for name, (content, filename, mimetype) in files.items()}
    if web:
        return client.post("/aalten/import", data={**data, "dry_run": "yes" if dry_run else "no"},
                           content_type="multipart/form-data")
    return client.post(f"/api/v1/aalten/imports?dry_run={str(dry_run).lower()}", data=data,
                       headers=world.bearer(R.COORDINATOR), content_type="multipart/form-data")


def jobs(app, world) -> int:
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        return db.session.scalar(select(func.count()).select_from(ImportJob))


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


def refused(client, world, files: dict, expect: str, web: bool = False) -> None:
    """The upload is answered 422 with a problem saying *expect* (the page shows it)."""
    response = send(client, world, files, web=web)
    assert response.status_code == 422, (expect, response.status_code)
    if web:
        assert expect in text_of(response), expect
    else:
        messages = [p["message"] for p in response.get_json()["problems"]]
        assert any(expect in m for m in messages), (expect, messages)


def problems_of(files: dict) -> list[str]:
    """The problems :func:`check_upload` finds in *files* (field -> (content, name, type)): what the API
    and the page answer with."""
    sent = {field: imports.Received(field, *claim) for field, claim in files.items()}
    return [p.message for p in imports.check_upload(sent).problems]


def entries_of(book: bytes) -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(book))
    return {item.filename: archive.read(item) for item in archive.infolist()}


@pytest.fixture
def web_client(app, world):
    client = app.test_client()
    assert world.login(client, world.users[R.COORDINATOR]).status_code == 302
    return client


@pg
def test_asvs_5_2_2_a_file_must_be_what_its_field_name_and_claimed_type_say(app, world, web_client):
    """Name, claimed media type and content (magic bytes, the zip's entries, the text's encoding) are
    checked against the field, by one rule for the API and the page; 422, and nothing is stored."""
    other_zip = zipped({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"})
    header, row = b"external_ref;kind;display_name\r\n", "V-9;vraaggezin;Familie M\u00fcller\r\n"
    mixed = header + b"V-1;vraaggezin;ok\r\n" + row.encode("cp1252")  # UTF-8, then a line from Windows
    cases = [
        ({"workbook": (BOOK, "families.csv", XLSX_TYPE)}, "is not .xlsx"),
        ({"workbook": (BOOK, "families.xlsx", "text/html")}, "was sent as text/html"),
        ({"workbook": (other_zip, "families.xlsx", XLSX_TYPE)}, "a zip file, but no Excel workbook"),
        ({"families": (header + b"V-1;vraaggezin;Fam\x00ilie\r\n", "families.csv", "text/csv")}, "NUL byte"),
        ({"workbook": (b"just text, no zip", "families.xlsx", XLSX_TYPE)}, "not an XLSX workbook"),
        ({"workbook": (imports.OLE + bytes(600), "families.xlsx", XLSX_TYPE)}, "old Excel file (.xls)"),
        ({"workbook": (BOOK[: len(BOOK) // 2], "families.xlsx", XLSX_TYPE)}, "damaged"),
        ({"families": (BOOK, "families.csv", "text/csv")}, "this is an XLSX workbook"),
        ({"families": (CSV, "families.exe", "text/csv")}, "is not .csv or .tsv or .txt"),
        ({"families": (CSV, "families.csv", "image/png")}, "was sent as image/png"),
        ({"families": (imports.OLE + bytes(600), "families.csv", "application/vnd.ms-excel")}, "(.xls), not CSV"),
        ({"families": (b"", "families.csv", "text/csv")}, "the file is empty"),
        ({"families": (b"\xef\xbb\xbf\r\n", "families.csv", "text/csv")}, "the file is empty"),
        ({"families": ("external_ref;kind\r\n".encode("utf-16"), "families.csv", "text/csv")}, "UTF-16"),
        ({"families": (mixed, "families.csv", "text/csv")}, "not UTF-8"),
    ]
    before = jobs(app, world)
    api = app.test_client()
    for files, expect in cases:
        refused(api, world, files, expect)
    for files, expect in cases[:4]:
        refused(web_client, world, files, expect, web=True)
    assert jobs(app, world) == before
    response = send(api, world, {"families": (mixed, "families.csv", "text/csv")})
    assert [(p["sheet"], p["row"]) for p in response.get_json()["problems"]] == [("families", 3)]
    # the claims a browser or curl makes for a good file are taken
    for mimetype in (XLSX_TYPE, "application/octet-stream", ""):
        assert send(api, world, {"workbook": (BOOK, "Gezinnen 2025.XLSX", mimetype)}).status_code == 202
    assert send(api, world, {"families": (CSV, "gezinnen.csv", "application/vnd.ms-excel")}).status_code == 202


@pg
def test_asvs_5_2_1_and_5_2_3_a_large_upload_or_a_zip_bomb_is_refused_before_it_is_unpacked(
        app, world, web_client, monkeypatch):
    """The upload's size (413, from its Content-Length), and a workbook's unpacked size, ratio and number
    of entries as its zip's central directory tells them: refused before anything is unpacked or openpyxl
    opens it; the job refuses the same, should such a file reach it."""
    entries = entries_of(BOOK)
    bomb = zeros_entry(entries, imports.MAX_UNPACKED_BYTES // 2**20 + 1)
    assert len(bomb) < 200_000
    before = jobs(app, world)
    api = app.test_client()
    refused(api, world, {"workbook": (bomb, "bomb.xlsx", XLSX_TYPE)}, "a workbook may unpack to at most 100 MB")
    refused(web_client, world, {"workbook": (bomb, "bomb.xlsx", XLSX_TYPE)}, "unpack to at most 100 MB", web=True)
    assert "100 MB" in imports.read_upload(bomb).problems[0].message
    dense = zeros_entry(entries, imports.RATIO_FLOOR // 2**20 + 2)  # within the size limit, not the ratio
    assert any("times its size; at most 100 times" in m for m in problems_of({"workbook": (dense, "d.xlsx", "")}))
    many = zipped({**entries, **{f"xl/media/image{n}.png": b"" for n in range(imports.MAX_ZIP_ENTRIES)}})
    assert any("a workbook has at most 1000" in m for m in problems_of({"workbook": (many, "m.xlsx", "")}))
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 4096)
    big = csv_file(PLAIN_FAMILIES * 40)
    assert len(big) > 4096
    assert send(api, world, {"families": (big, "f.csv", "text/csv")}).status_code == 413
    assert send(web_client, world, {"families": (big, "f.csv", "text/csv")}, web=True).status_code == 413
    assert jobs(app, world) == before


def test_asvs_5_2_5_and_5_3_3_zip_entries_that_are_links_or_lead_outside_are_refused():
    """A workbook is read in memory, never unpacked to disk; an entry that is a symbolic link, or whose name
    leads out of the package (zip slip), is refused all the same: no workbook holds one."""
    entries = entries_of(BOOK)
    link = io.BytesIO()
    with zipfile.ZipFile(link, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        info = zipfile.ZipInfo("xl/media/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    assert problems_of({"workbook": (link.getvalue(), "l.xlsx", XLSX_TYPE)}) == [
        "refused: an entry of the zip is a symbolic link"]
    for name in ("../../evil.sh", "/etc/cron.d/x", "xl\\..\\..\\evil", "C:/x"):
        book = zipped({**entries, name: b"#!/bin/sh"})
        assert problems_of({"workbook": (book, "s.xlsx", XLSX_TYPE)}) == [
            "refused: an entry of the zip has a path outside the workbook"], name
    assert problems_of({"workbook": (BOOK, "s.xlsx", XLSX_TYPE)}) == []


def _job_refused(app, world, owner_engine, expect: str, **files) -> list[dict]:
    """Send *files* for a real import; the job is done (not failed, not retried), its report has a problem
    saying *expect*, and nothing was written."""
    before = rows_in(owner_engine)
    outcome = post(app.test_client(), world, dry_run=False, **files)
    assert outcome.status_code == 422 and outcome.job["state"] == "done", outcome.report
    problems = outcome.report["problems"]
    assert any(expect in p["message"] for p in problems), problems
    assert rows_in(owner_engine) == before
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        item = db.session.scalars(select(ScheduledItem).where(ScheduledItem.subject_id == outcome.job["id"],
                                                              ScheduledItem.kind == "import")).one()
        assert (item.state, item.attempts, item.error) == ("done", 1, None)
    return problems


@pg
def test_what_only_the_job_sees_is_a_problem_in_its_report_not_a_failed_job(app, world, owner_engine):
    """A sheet broken halfway (openpyxl parses it while its rows are read), entity declarations, a CSV cell
    beyond the csv module's field limit, a file of only a header: problems, named, in a report of bounded
    size; the job is done once, and nothing is written."""
    broken = with_sheet(BOOK, lambda xml: xml.replace(b'</row><row r="3"', b'</row><row r="3"><oops>', 1))
    problems = _job_refused(app, world, owner_engine, "the sheet cannot be read (ParseError)", workbook=broken)
    assert [(p["sheet"], p["row"]) for p in problems] == [("families", None)]
    problems = _job_refused(app, world, owner_engine, "EntitiesForbidden", workbook=with_entity(LAUGHS, b"&d;"))
    huge = csv_file([PLAIN_FAMILIES[0], PLAIN_FAMILIES[1], ["V-9", "vraaggezin", "x" * 200_000]])
    problems = _job_refused(app, world, owner_engine, "field larger than field limit", families=huge)
    assert [(p["sheet"], p["row"]) for p in problems] == [("families", 3)]
    _job_refused(app, world, owner_engine, "no rows below the header row", families=csv_file([PLAIN_FAMILIES[0]]))
    wide = csv_file([PLAIN_FAMILIES[0][:-1] + ["y" * 50_000], *PLAIN_FAMILIES[1:]])
    problems = _job_refused(app, world, owner_engine, "unknown column", families=wide)
    assert len(problems[0]["column"]) <= imports.MAX_QUOTED + 1 and len(problems[0]["message"]) <= 1001


LAUGHS = (b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
          b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')
EXTERNAL = b'<!DOCTYPE w [<!ENTITY x SYSTEM "file:///etc/passwd">]>'


def with_entity(doctype: bytes, entity: bytes) -> bytes:
    """The workbook with *doctype* in its sheet and *entity* used in a cell."""
    def change(xml):
        xml = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
        return b'<?xml version="1.0"?>' + doctype + xml.replace(b"Familie Bakker", entity)
    return with_sheet(BOOK, change)


def test_asvs_1_5_1_entity_declarations_in_a_workbook_are_refused_by_the_xml_parser():
    """Billion laughs and an external entity: defusedxml (openpyxl's parser here) refuses the declaration
    itself, nothing is expanded or fetched; the job reports it (see the test above)."""
    for doctype, entity in ((LAUGHS, b"&d;"), (EXTERNAL, b"&x;")):
        problems = imports.read_upload(with_entity(doctype, entity)).problems
        assert [p.message for p in problems] == ["the workbook cannot be read (EntitiesForbidden)"]


def test_asvs_1_5_1_the_workbook_parser_cannot_be_switched_to_an_unsafe_one(monkeypatch):
    """openpyxl without defusedxml (``OPENPYXL_DEFUSEDXML=False``): the check that runs when the import
    module is loaded, so when Koppel starts, refuses; and openpyxl here parses with defusedxml."""
    assert imports._parsed_safely()
    monkeypatch.setenv("OPENPYXL_DEFUSEDXML", "False")
    with pytest.raises(RuntimeError, match="OPENPYXL_DEFUSEDXML"):
        imports._require_defused_xml()


def test_asvs_5_3_2_a_file_name_is_a_cleaned_label_never_a_path():
    """The client's file name is kept only as a label: its last segment, without control and format
    characters, cut to a length; the field's name when nothing is left."""
    label = inputs.file_label
    assert label("../../etc/passwd", "families") == "passwd"
    assert label("..\\..\\Windows\\gezinnen.csv", "families") == "gezinnen.csv"
    assert label("a\r\nb\x1b[31m\u202egnp.csv", "families") == "a b [31m gnp.csv"
    assert label("..", "families") == label("\u200b", "families") == label(None, "families") == "families"
    long = label("x" * 500 + ".csv", "families")
    assert len(long) == inputs.LABEL_LENGTH and long.endswith("\u2026.csv")
    assert imports.Received("members", b"", "C:\\tmp\\leden\x07.csv").label == "leden .csv"


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=";").writerows(rows)
    return out.getvalue().encode()


@pg
def test_asvs_1_2_1_formula_and_markup_from_a_file_is_stored_as_text_and_shown_escaped(app, world, web_client):
    """Cells a spreadsheet would run or a browser would render are imported as the text they are and shown
    escaped, as are a report quoting the file and the file's name; a formula in a workbook is never
    evaluated (its cell is read as the value Excel stored, here none)."""
    hostile = ['=HYPERLINK("http://evil.example","x")', "@SUM(1+1)*cmd|' /C calc'!A0", "<script>alert(1)</script>"]
    rows = [PLAIN_FAMILIES[0][:3]] + [[f"H-{n}", "vraaggezin", value] for n, value in enumerate(hostile)]
    outcome = post(app.test_client(), world, dry_run=False, families=_csv(rows))
    assert outcome.status_code == 201, outcome.report
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        stored = dict(db.session.execute(select(Family.external_ref, Family.display_name)
                                         .where(Family.external_ref.like("H-%"))).all())
    assert stored == {f"H-{n}": value for n, value in enumerate(hostile)}
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        family_id = db.session.scalar(select(Family.id).where(Family.external_ref == "H-2"))
    body = web_client.get(f"/aalten/families/{family_id}").get_data(as_text=True)
    assert "<script>alert(1)" not in body and "&lt;script&gt;alert(1)" in body

    book = Workbook()
    sheet = book.active
    sheet.title = "families"
    sheet.append(PLAIN_FAMILIES[0][:3])
    sheet.append(["F-1", "vraaggezin", "=1+1"])  # a formula: openpyxl stores no value for it
    sheet.append(["F-2", "vraaggezin", None])
    sheet["C3"].value, sheet["C3"].data_type = "=2+2", "s"  # text that looks like a formula
    out = io.BytesIO()
    book.save(out)
    outcome = post(app.test_client(), world, workbook=out.getvalue())
    assert [(p["row"], p["column"]) for p in outcome.report["problems"]] == [(2, "display_name")]

    markup = '<img src=x onerror="alert(1)">'
    name = "../../srv/koppel/<b onmouseover=alert(1)>gezinnen\u202e\t.csv"
    content = csv_file([PLAIN_FAMILIES[0] + [markup], *PLAIN_FAMILIES[1:]])
    response = send(web_client, world, {"families": (content, name, "text/csv")}, web=True)
    assert response.status_code == 302
    job_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    run_job(app, world.ids["aalten"], job_id)
    with app.app_context(), tenant_scope(world.ids["aalten"]):
        assert db.session.get(ImportJob, job_id).file_names == ["<b onmouseover=alert(1)>gezinnen .csv"]
    body = web_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;b onmouseover=alert(1)&gt;gezinnen .csv" in body and "<b onmouseover" not in body
    assert "unknown column" in body and "<img src=x" not in body and "&lt;img src=x" in body
