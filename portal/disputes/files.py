"""Dispute attachments: which uploaded files may be kept, and where they are kept.

Rules kept here (views and services call :func:`check` before :meth:`Storage.put`):

- A file is judged by its content alone, never by its name or the browser's
  content type. It is accepted only as exactly one of PDF, PNG, JPEG, CSV
  (UTF-8) or XLSX, each at most :data:`MAX_BYTES`; the caller allows at most
  :data:`MAX_FILES` per message.
- Refused outright: empty files; executables (Windows PE, ELF, Mach-O, ``#!``
  scripts); HTML, SVG and XML; files that are two kinds at once (a ZIP or HTML
  riding along in an image or PDF, bytes after a PNG's or JPEG's end, data
  before a spreadsheet's ZIP); PDFs with JavaScript, launch actions or embedded
  files; spreadsheets with macros; images and spreadsheets that would unpack to
  far more than they weigh (decompression bombs).
- Files live outside the web root under a random key (:func:`secrets.token_hex`),
  never under anything taken from the user's file name; :func:`storage_for` picks
  the store, and nothing else touches the files.
- Files go back to people only as downloads (``Content-Disposition: attachment``,
  the checked content type, ``X-Content-Type-Options: nosniff``) named by
  :func:`safe_download_name`. That is also why CSV formulas (``=HYPERLINK(...)``)
  are not refused: the portal never opens a CSV, the person who downloads it does.
"""

from __future__ import annotations

import hashlib
import io
import os
import posixpath
import re
import secrets
import struct
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flask_babel import lazy_gettext as _l
from PIL import Image

from portal.config import Config

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5
MAX_PIXELS = 50_000_000
# What an XLSX may unpack to, in all and per member (members over 1 MB only).
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_RATIO, RATIO_FROM_BYTES = 200, 1024 * 1024
# What a PDF's object streams (where its dictionaries hide when compressed) may unpack to.
MAX_OBJECT_STREAM_BYTES = 20 * 1024 * 1024
# A JPEG may end with a little padding after its last end-of-image marker.
MAX_JPEG_TRAILER = 16
HEAD_BYTES = 1024

KINDS = {
    "pdf": ("application/pdf", ".pdf"),
    "png": ("image/png", ".png"),
    "jpeg": ("image/jpeg", ".jpg"),
    "csv": ("text/csv", ".csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}

# Why a file is refused, and what the person who sent it is told.
EMPTY, TOO_BIG, NOT_ACCEPTED = "empty", "too_big", "not_accepted"
HIDDEN, MACROS, UNREADABLE, BOMB = "hidden", "macros", "unreadable", "bomb"
_MESSAGES = {
    EMPTY: _l("%(name)s is empty."),
    TOO_BIG: _l("%(name)s is larger than 10 MB."),  # MAX_BYTES
    NOT_ACCEPTED: _l("%(name)s is not a PDF, PNG, JPEG, CSV or XLSX file."),
    HIDDEN: _l("%(name)s contains hidden content or scripts."),
    MACROS: _l("%(name)s contains macros. Save it as an .xlsx workbook without macros."),
    UNREADABLE: _l("%(name)s is damaged or cannot be read."),
    BOMB: _l("%(name)s is too large once opened."),
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"
ZIP_LOCAL_FILE, ZIP_END = b"PK\x03\x04", b"PK\x05\x06"
# A ZIP reader looks for the end record in the last 22 bytes plus a comment of up to 64 KB.
ZIP_END_SEARCH = 22 + 0xFFFF
EXECUTABLES = (b"MZ", b"\x7fELF", b"#!", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf",
               b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
MARKUP = (b"<svg", b"<html", b"<script", b"<!doctype", b"<?xml")
# A tag a browser would act on: the name, then a space, "/" or ">".
HTML_TAG = re.compile(rb"<(?:script|html|svg)[\s/>]", re.IGNORECASE)
PDF_ACTIVE = (b"/JavaScript", b"/Launch", b"/EmbeddedFile")
PDF_ACTIVE_NAMES = {b"JavaScript", b"JS", b"Launch", b"EmbeddedFile", b"EmbeddedFiles"}
PDF_STREAM = re.compile(rb"\bstream(?:\r\n|\r|\n)")
PDF_NAME = re.compile(rb"/([^\x00\t\n\x0c\r /<>\[\](){}%]+)")
PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
CSV_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
KEY_SHAPE = re.compile(r"[0-9a-f]{32}")
DOWNLOAD_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")
DOWNLOAD_MAX = 100


class FileRefused(ValueError):
    """An upload that may not be kept; ``str()`` tells its sender why, in their language."""

    def __init__(self, reason: str, filename: str) -> None:
        super().__init__(str(_MESSAGES[reason]) % {"name": filename})
        self.reason = reason


@dataclass(frozen=True)
class Checked:
    """What an accepted file is, by its content."""

    kind: str
    content_type: str
    extension: str
    size: int
    sha256: str


def check(data: bytes, filename: str) -> Checked:
    """Tell what ``data`` is; raise :class:`FileRefused` unless it may be kept."""
    if not data:
        raise FileRefused(EMPTY, filename)
    if len(data) > MAX_BYTES:
        raise FileRefused(TOO_BIG, filename)
    if data.startswith(EXECUTABLES) or _text_start(data).startswith(b"<"):
        raise FileRefused(NOT_ACCEPTED, filename)
    kind = _sniff(data)
    if kind != "xlsx" and any(marker in data[:HEAD_BYTES].lower() for marker in MARKUP):
        raise FileRefused(HIDDEN, filename)
    _CHECKS[kind](data, filename)
    content_type, extension = KINDS[kind]
    return Checked(kind=kind, content_type=content_type, extension=extension,
                   size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _text_start(data: bytes) -> bytes:
    return data.removeprefix(b"\xef\xbb\xbf").lstrip()


def _sniff(data: bytes) -> str:
    """The one kind ``data`` claims by its first bytes; "csv" when it claims none."""
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(PNG_SIGNATURE):
        return "png"
    if data.startswith(JPEG_START):
        return "jpeg"
    if data.startswith(ZIP_LOCAL_FILE):
        return "xlsx"
    return "csv"


def _has_zip_end(data: bytes) -> bool:
    """Tell whether a ZIP reader would find an archive at the end of ``data``.

    Only the tail is searched, where readers look: a signature that turns up by
    chance in compressed image or PDF data elsewhere is harmless, and searching the
    whole file would refuse about one 10 MB photo in a few hundred.
    """
    return ZIP_END in data[-ZIP_END_SEARCH:]


def _check_pdf(data: bytes, filename: str) -> None:
    if b"%%EOF" not in data[-1024:]:
        raise FileRefused(UNREADABLE, filename)
    if (_has_zip_end(data) or HTML_TAG.search(data)
            or any(name in data for name in PDF_ACTIVE)
            or PDF_ACTIVE_NAMES & _pdf_names(data, filename)):
        raise FileRefused(HIDDEN, filename)


def _pdf_names(data: bytes, filename: str) -> set[bytes]:
    """Every name (``/Type``, ``/JS``) in the PDF's dictionaries, ``#xx`` escapes decoded.

    Dictionaries are what lies outside streams, plus the contents of object streams,
    where PDF 1.5 writers compress them. Other streams (page content, fonts, images)
    are skipped: they hold no dictionaries, and in compressed bytes a short name
    like ``/JS`` turns up by chance.
    """
    outside, unpacked, position = [], 0, 0
    while match := PDF_STREAM.search(data, position):
        before = data[position:match.start()]
        outside.append(before)
        end = data.find(b"endstream", match.end())
        end = len(data) if end == -1 else end
        dictionary = _decode_names(before[before.rfind(b"obj"):])
        if b"ObjStm" in dictionary:
            contents = _object_stream(data[match.end():end], dictionary,
                                      MAX_OBJECT_STREAM_BYTES - unpacked, filename)
            unpacked += len(contents)
            outside.append(contents)
        position = end
    outside.append(data[position:])
    return _decode_names(b" ".join(outside))


def _decode_names(text: bytes) -> set[bytes]:
    return {PDF_NAME_ESCAPE.sub(lambda m: bytes.fromhex(m[1].decode()), name)
            for name in PDF_NAME.findall(text)}


def _object_stream(stream: bytes, dictionary: set[bytes], limit: int, filename: str) -> bytes:
    """Unpack an object stream to at most ``limit`` bytes (more: a bomb).

    Only FlateDecode (what every writer uses) or no filter: dictionaries behind any
    other filter could not be checked, so such a PDF is refused as unreadable.
    """
    if b"Filter" not in dictionary:
        return stream
    if b"FlateDecode" not in dictionary:
        raise FileRefused(UNREADABLE, filename)
    inflater = zlib.decompressobj()
    try:
        contents = inflater.decompress(stream, limit + 1)
    except zlib.error:
        raise FileRefused(UNREADABLE, filename) from None
    if len(contents) > limit:
        raise FileRefused(BOMB, filename)
    return contents


def _check_png(data: bytes, filename: str) -> None:
    position = len(PNG_SIGNATURE)
    while True:
        if position + 12 > len(data):
            raise FileRefused(UNREADABLE, filename)
        length, chunk_type = struct.unpack(">I4s", data[position:position + 8])
        position += 12 + length  # length, type, data, CRC
        if chunk_type == b"IEND":
            break
    if position != len(data) or _has_zip_end(data):
        raise FileRefused(HIDDEN, filename)
    _open_image(data, "PNG", filename)


def _check_jpeg(data: bytes, filename: str) -> None:
    end = data.rfind(JPEG_END)
    if end == -1:
        raise FileRefused(UNREADABLE, filename)
    if len(data) - (end + len(JPEG_END)) > MAX_JPEG_TRAILER or _has_zip_end(data):
        raise FileRefused(HIDDEN, filename)
    _open_image(data, "JPEG", filename)


def _open_image(data: bytes, image_format: str, filename: str) -> None:
    """Have Pillow read the image (PNG: every chunk's checksum; JPEG: every pixel)."""
    try:
        with Image.open(io.BytesIO(data), formats=[image_format]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError  # Pillow's own limit is 89 million
            if image_format == "PNG":
                image.verify()
            else:
                image.load()
    except Image.DecompressionBombError:
        raise FileRefused(BOMB, filename) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error):
        raise FileRefused(UNREADABLE, filename) from None


def _check_xlsx(data: bytes, filename: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            names = {member.filename for member in members}
            if not {"[Content_Types].xml", "xl/workbook.xml"} <= names:
                raise FileRefused(NOT_ACCEPTED, filename)
            # Data before the first member: the archive rides on another file.
            if min(member.header_offset for member in members) != 0:
                raise FileRefused(HIDDEN, filename)
            if any(_unsafe_member_name(name) for name in names):
                raise FileRefused(UNREADABLE, filename)
            if _is_zip_bomb(members):
                raise FileRefused(BOMB, filename)
            with archive.open("[Content_Types].xml") as member:
                content_types = member.read(RATIO_FROM_BYTES)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, zlib.error,
            NotImplementedError, RuntimeError):  # damaged, unknown method, encrypted
        raise FileRefused(UNREADABLE, filename) from None
    if (any(name.lower().endswith("vbaproject.bin") for name in names)
            or b"macroenabled" in content_types.lower()):
        raise FileRefused(MACROS, filename)


def _unsafe_member_name(name: str) -> bool:
    absolute = name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) is not None
    return absolute or ".." in re.split(r"[\\/]", name)


def _is_zip_bomb(members: list[zipfile.ZipInfo]) -> bool:
    if sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
        return True
    return any(member.file_size > RATIO_FROM_BYTES
               and member.file_size > MAX_RATIO * max(member.compress_size, 1)
               for member in members)


def _check_csv(data: bytes, filename: str) -> None:
    if _has_zip_end(data) or b"%PDF-" in data[:HEAD_BYTES]:
        raise FileRefused(HIDDEN, filename)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(NOT_ACCEPTED, filename) from None
    if CSV_CONTROL.search(text) or not text.strip():
        raise FileRefused(NOT_ACCEPTED, filename)


_CHECKS = {"pdf": _check_pdf, "png": _check_png, "jpeg": _check_jpeg, "csv": _check_csv,
           "xlsx": _check_xlsx}


def safe_download_name(filename: str, checked: Checked) -> str:
    """Return ``filename``'s base name, made safe, with the extension of what it really is."""
    base = re.split(r"[\\/]", filename)[-1]
    stem = posixpath.splitext(base)[0]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    tamed = DOWNLOAD_UNSAFE.sub("_", ascii_stem).strip(" ._")
    return (tamed[:DOWNLOAD_MAX - len(checked.extension)] or "attachment") + checked.extension


class Storage(Protocol):
    """Where attachments are kept, under keys the store makes up."""

    def put(self, data: bytes) -> str:
        """Keep ``data``; return its new key."""

    def read(self, key: str) -> bytes:
        """Return what is kept under ``key``."""

    def delete(self, key: str) -> None:
        """Forget ``key``; a key already gone is not an error."""


class LocalStorage:
    """Attachments as files in one private directory, named by their keys."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def put(self, data: bytes) -> str:
        """Write ``data`` (owner-only, all or nothing); return its new key."""
        key = secrets.token_hex(16)
        descriptor, temporary = tempfile.mkstemp(dir=self.root, prefix=".part-")  # mode 0o600
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self._path(key))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def read(self, key: str) -> bytes:
        """Return what is kept under ``key`` (FileNotFoundError if nothing is)."""
        return self._path(key).read_bytes()

    def delete(self, key: str) -> None:
        """Remove the file of ``key``, if it is still there."""
        self._path(key).unlink(missing_ok=True)

    def _path(self, key: str) -> Path:
        """Return the file of ``key``; ValueError unless ``key`` is one :meth:`put` makes."""
        if not isinstance(key, str) or not KEY_SHAPE.fullmatch(key):
            raise ValueError(f"{key!r} is not an attachment key.")
        return self.root / key


def storage_for(config: Config) -> Storage:
    """Return the attachment store ``config`` names.

    A local directory for now: ``attachments_dir``, else ``<instance>/attachments``.
    Object storage would be another :class:`Storage` returned from here; nothing
    else in the code touches the files directly.
    """
    if config.attachments_dir:
        return LocalStorage(Path(config.attachments_dir))
    return LocalStorage(config.instance_path / "attachments")
