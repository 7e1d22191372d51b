"""Dispute attachments: real files of each kind pass, disguised and doubled ones do not,
and the local store keeps them under random keys, owner-only, with no way out of its
directory."""

from __future__ import annotations

import hashlib
import io
import re
import stat
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from portal.config import Config
from portal.disputes import files
from portal.disputes.files import (
    BOMB,
    EMPTY,
    HIDDEN,
    MACROS,
    NOT_ACCEPTED,
    TOO_BIG,
    UNREADABLE,
    Checked,
    FileRefused,
    LocalStorage,
    check,
    safe_download_name,
    storage_for,
)

CSV = b"date,invoice,amount\r\n2026-01-02,INV-1001,12.50\r\n"
WORKBOOK_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '</Relationships>'),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/worksheet"/></Relationships>'),
    "xl/worksheets/sheet1.xml": (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1"><v>42</v></c></row></sheetData></worksheet>'),
}


def image(image_format: str, size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, image_format)
    return buffer.getvalue()


# Archives carry the time they were written; a fixed one keeps the bytes, and so the test
# ids pytest-xdist compares between workers, the same in every process.
FIXED_TIME = (2026, 1, 2, 3, 4, 6)


def xlsx(**changes: str | bytes) -> bytes:
    """A minimal workbook, with parts added or replaced by ``changes`` (name=content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in {**WORKBOOK_PARTS, **changes}.items():
            archive.writestr(zipfile.ZipInfo(name, FIXED_TIME), content,
                             zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def a_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("payload.html", FIXED_TIME),
                         "<script>alert(1)</script>")
    return buffer.getvalue()


def pdf(*catalog: bytes, extra: tuple[bytes, ...] = ()) -> bytes:
    """A one-page PDF written by hand, with a true xref table; ``catalog`` entries go into
    the document catalog, ``extra`` objects follow the page."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R " + b" ".join(catalog) + b" >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>", *extra]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    return bytes(out)


def object_stream(dictionary: bytes) -> bytes:
    """An object stream (PDF 1.5) holding ``dictionary`` as object 10, compressed."""
    header = b"10 0 "
    contents = zlib.compress(header + dictionary)
    return (b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
            % (len(header), len(contents)) + contents + b"\nendstream")


def png_sized(width: int, height: int) -> bytes:
    """A real PNG whose header claims ``width`` x ``height`` (checksum made right)."""
    data = bytearray(image("PNG"))
    header = b"IHDR" + struct.pack(">II", width, height) + bytes(data[24:29])
    data[12:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(header))
    return bytes(data)


@pytest.fixture(scope="module")
def rendered_pdf() -> bytes:
    """A PDF as WeasyPrint writes the portal's documents (object streams, compressed)."""
    import weasyprint

    return weasyprint.HTML(string="<h1>Invoice INV-1001</h1><p>Total $12.50</p>").write_pdf()


def refused(data: bytes, filename: str) -> FileRefused:
    with pytest.raises(FileRefused) as caught:
        check(data, filename)
    return caught.value


@pytest.mark.parametrize(("kind", "content_type", "extension", "data"), [
    pytest.param("pdf", "application/pdf", ".pdf", pdf(), id="pdf"),
    pytest.param("png", "image/png", ".png", image("PNG"), id="png"),
    pytest.param("jpeg", "image/jpeg", ".jpg", image("JPEG"), id="jpeg"),
    pytest.param("csv", "text/csv", ".csv", CSV, id="csv"),
    pytest.param("csv", "text/csv", ".csv",
                 b"\xef\xbb\xbf" + "nom,montant\nété,3\n".encode(), id="csv with a BOM"),
    pytest.param("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".xlsx", xlsx(), id="xlsx"),
])
def test_each_accepted_kind_passes_under_any_name(kind, content_type, extension, data):
    assert check(data, "whatever.bin") == Checked(
        kind=kind, content_type=content_type, extension=extension, size=len(data),
        sha256=hashlib.sha256(data).hexdigest())


def test_a_pdf_written_by_weasyprint_passes(rendered_pdf):
    assert b"/ObjStm" in rendered_pdf  # so its dictionaries were unpacked and looked at
    assert check(rendered_pdf, "invoice.pdf").kind == "pdf"


@pytest.mark.parametrize(("data", "filename", "reason"), [
    pytest.param(b"", "empty.pdf", EMPTY, id="empty"),
    pytest.param(b"a,b\n" * (11 * 1024 * 1024 // 4), "big.csv", TOO_BIG, id="11 MB"),
    pytest.param(b"MZ" + b"\x00" * (11 * 1024 * 1024), "big.exe", TOO_BIG,
                 id="11 MB is refused for size first"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256)), "invoice.pdf",
                 NOT_ACCEPTED, id="Windows executable"),
    pytest.param(b"\x7fELF\x02\x01\x01\x00" + bytes(64), "report.csv", NOT_ACCEPTED,
                 id="ELF"),
    pytest.param(b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(64), "scan.jpg", NOT_ACCEPTED,
                 id="Mach-O"),
    pytest.param(b"#!/bin/sh\nrm -rf ~\n", "data.csv", NOT_ACCEPTED, id="script"),
    pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "photo.png",
                 NOT_ACCEPTED, id="SVG"),
    pytest.param(b"\xef\xbb\xbf \n<?xml version='1.0'?><svg/>", "photo.png", NOT_ACCEPTED,
                 id="XML after a BOM and blanks"),
    pytest.param(b"<!DOCTYPE html><html><script>alert(1)</script></html>", "notes.csv",
                 NOT_ACCEPTED, id="HTML"),
    pytest.param(b"name,note\nx,<script>alert(1)</script>\n", "notes.csv", HIDDEN,
                 id="CSV with a script tag near the start"),
    pytest.param(b"a,b\n1,\x002\n", "data.csv", NOT_ACCEPTED, id="CSV with a NUL byte"),
    pytest.param(b"a,b\n1,\x1b[31m\n", "data.csv", NOT_ACCEPTED, id="CSV with an escape"),
    pytest.param("montant,été\n".encode("latin-1"), "data.csv", NOT_ACCEPTED,
                 id="CSV not in UTF-8"),
    pytest.param(b" \r\n\t\n", "data.csv", NOT_ACCEPTED, id="CSV without a line"),
    pytest.param(b"a,b\n%PDF-1.7\n", "data.csv", HIDDEN, id="CSV hiding a PDF"),
    pytest.param(image("PNG") + a_zip(), "photo.png", HIDDEN, id="PNG with a ZIP appended"),
    pytest.param(image("PNG") + b"<html>", "photo.png", HIDDEN, id="PNG with bytes after IEND"),
    pytest.param(image("PNG")[:-20], "photo.png", UNREADABLE, id="PNG cut short"),
    pytest.param(png_sized(8000, 8000), "photo.png", BOMB, id="PNG of 64 million pixels"),
    pytest.param(image("JPEG") + a_zip(), "photo.jpg", HIDDEN, id="JPEG with a ZIP appended"),
    pytest.param(image("JPEG") + b"x" * 17, "photo.jpg", HIDDEN, id="JPEG with a trailer"),
    pytest.param(image("JPEG")[:-40], "photo.jpg", UNREADABLE, id="JPEG cut short"),
    pytest.param(pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>"), "invoice.pdf",
                 HIDDEN, id="PDF with JavaScript"),
    pytest.param(pdf(b"/OpenAction << /S /Launch /F (calc.exe) >>"), "invoice.pdf", HIDDEN,
                 id="PDF with a launch action"),
    pytest.param(pdf(b"/Names << /EmbeddedFiles 5 0 R >>"), "invoice.pdf", HIDDEN,
                 id="PDF with embedded files"),
    pytest.param(pdf(b"/AA << /O << /S /Java#53cript /J#53 (x) >> >>"), "invoice.pdf", HIDDEN,
                 id="PDF with escaped names"),
    pytest.param(pdf(b"/OpenAction 10 0 R",
                     extra=(object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>"),)),
                 "invoice.pdf", HIDDEN, id="PDF with JavaScript in an object stream"),
    pytest.param(pdf(extra=(b"<< /Length 40 >>\nstream\n<html><script>alert(1)</script>"
                            b"\nendstream",)),
                 "invoice.pdf", HIDDEN, id="PDF with an HTML script inside"),
    pytest.param(pdf() + a_zip(), "invoice.pdf", HIDDEN, id="PDF with a ZIP appended"),
    pytest.param(pdf()[:-40], "invoice.pdf", UNREADABLE, id="PDF without its end"),
    pytest.param(b"hello" + xlsx(), "sheet.xlsx", HIDDEN, id="XLSX with data before it"),
    pytest.param(xlsx(**{"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"}), "sheet.xlsx", MACROS,
                 id="XLSM (vbaProject.bin)"),
    pytest.param(xlsx(**{"[Content_Types].xml": WORKBOOK_PARTS["[Content_Types].xml"]
                         .replace("sheet.main+xml", "sheet.macroEnabled.main+xml")}),
                 "sheet.xlsx", MACROS, id="XLSX typed macro-enabled"),
    pytest.param(xlsx(**{"xl/media/zeros.bin": bytes(5 * 1024 * 1024)}), "sheet.xlsx", BOMB,
                 id="XLSX with a zip bomb"),
    pytest.param(xlsx(**{"../../evil.sh": b"x"}), "sheet.xlsx", UNREADABLE,
                 id="XLSX with a path out of it"),
    pytest.param(a_zip(), "sheet.xlsx", NOT_ACCEPTED, id="ZIP that is no workbook"),
    pytest.param(xlsx()[:-30], "sheet.xlsx", UNREADABLE, id="XLSX cut short"),
])
def test_refused(data, filename, reason):
    assert refused(data, filename).reason == reason


def test_the_refusal_names_the_file_in_a_plain_sentence():
    assert str(refused(b"MZ\x90\x00", "invoice.pdf")) == \
        "invoice.pdf is not a PDF, PNG, JPEG, CSV or XLSX file."
    assert str(refused(b"", "a.csv")) == "a.csv is empty."
    assert str(refused(b"a" * (files.MAX_BYTES + 1), "a.csv")) == "a.csv is larger than 10 MB."


def test_a_file_of_exactly_the_limit_is_not_refused_for_size():
    data = (CSV * (files.MAX_BYTES // len(CSV) + 1))[:files.MAX_BYTES - 2] + b"\r\n"
    assert check(data, "big.csv").size == files.MAX_BYTES


def test_the_store_keeps_a_file_under_a_random_key_for_its_owner_only(tmp_path):
    store = LocalStorage(tmp_path / "attachments")
    key = store.put(b"%PDF-1.7 ...")

    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert store.read(key) == b"%PDF-1.7 ..."
    assert [p.name for p in (tmp_path / "attachments").iterdir()] == [key]
    assert stat.S_IMODE((tmp_path / "attachments" / key).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "attachments").stat().st_mode) == 0o700
    assert store.put(b"%PDF-1.7 ...") != key


def test_the_store_deletes_and_a_second_delete_is_no_error(tmp_path):
    store = LocalStorage(tmp_path)
    key = store.put(b"x")
    store.delete(key)
    store.delete(key)
    with pytest.raises(FileNotFoundError):
        store.read(key)


@pytest.mark.parametrize("key", ["../x", "a/b", "", "/etc/passwd", "0" * 31, "A" * 32,
                                 "0" * 32 + "\n", "../" + "0" * 29, None])
def test_the_store_refuses_keys_it_never_made(tmp_path, key):
    store = LocalStorage(tmp_path)
    with pytest.raises(ValueError):
        store.read(key)
    with pytest.raises(ValueError):
        store.delete(key)


def test_attachments_live_in_the_instance_folder_unless_configured(tmp_path):
    default = storage_for(Config(instance_path=tmp_path / "instance"))
    configured = storage_for(Config(instance_path=tmp_path / "instance",
                                    attachments_dir=str(tmp_path / "elsewhere")))
    assert default.root == tmp_path / "instance" / "attachments"
    assert configured.root == tmp_path / "elsewhere"
    assert configured.read(configured.put(b"x")) == b"x"


PDF_CHECKED = Checked(kind="pdf", content_type="application/pdf", extension=".pdf", size=1,
                      sha256="")


@pytest.mark.parametrize(("filename", "expected"), [
    ("March statement.pdf", "March statement.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ("C:\\Users\\ann\\scan.exe", "scan.pdf"),
    ('inv "1001"\r\nSet-Cookie: x.png', "inv _1001_Set-Cookie_ x.pdf"),
    ("Facture été.PDF", "Facture ete.pdf"),
    (".bashrc", "bashrc.pdf"),
    ("..", "attachment.pdf"),
    ("", "attachment.pdf"),
    ("日本.pdf", "attachment.pdf"),
    ("x" * 300 + ".pdf", "x" * 96 + ".pdf"),
])
def test_safe_download_name(filename, expected):
    assert safe_download_name(filename, PDF_CHECKED) == expected
