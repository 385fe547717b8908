"""Reading CSV files from the outside world: DUO open data, survey exports, legacy incident
registers exported from TOPdesk or Excel.

Such files are messy, so this module takes care of what all importers share:

* **Encoding**: UTF-8 with or without BOM, otherwise Windows-1252 (what Dutch Excel writes).
  The whole file is checked in a first, streaming pass, so an accented letter in row 80,000
  cannot silently turn the rest of the file into mojibake. UTF-16, spreadsheets, PDFs and
  other binary files are refused with a clear message.
* **Delimiter**: ``;`` or ``,`` (or a tab), detected from the header line.
* **Headers**: compared case-, accent-, space- and punctuation-insensitively
  (``Aanmelddatum``, ``aanmelddatum``, ``AANMELD DATUM`` are the same column).
* **Size**: files larger than ``MIV_IMPORT_MAX_BYTES`` (default 32 MiB), lines longer than
  100,000 characters and rows with more than 1,000 columns are refused before they can
  take the memory of the process.
* **Streaming**: rows are read one physical line at a time (``readline`` with a limit); no
  importer ever holds the text of the file in memory.

Errors are collected as :class:`~miv.importreport.RowError` (line number, column, reason)
in an :class:`~miv.importreport.ErrorList`; an error that makes the rest of the file
unreadable raises :class:`~miv.importreport.TableFileError`. Excel workbooks are read by
:mod:`miv.xlsxfiles` with the same interface; :func:`miv.imports.open_table` picks the
reader. No Django models here; only settings and translations.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .importreport import ErrorList, Progress, TableFileError

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
MAX_LINE_CHARS = 100_000
MAX_COLUMNS = 1_000
CHUNK = 1024 * 1024

# Control characters other than tab, LF and CR (which never occur in a header line).
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SIGNATURES = [
    (b"PK\x03\x04", gettext_lazy("Excel (xlsx) of zip")),
    (b"\xd0\xcf\x11\xe0", "Excel (xls)"),
    (b"%PDF", "PDF"),
    (b"\x1f\x8b", "gzip"),
]


def max_import_bytes() -> int:
    return int(getattr(settings, "MIV_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- Cell and header normalisation ---------------------------------------------------------


def strip_accents(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def header_key(value: str) -> str:
    """``" Aanmeld-Datum "`` -> ``"aanmelddatum"``: how column names are compared."""
    return re.sub(r"[^a-z0-9]", "", strip_accents(value).casefold())


def label_key(value: str) -> str:
    """How free-text labels (mapping, locations, choices) are compared: case- and
    accent-insensitive, whitespace collapsed, ``a>b`` written as ``a > b``."""
    parts = [" ".join(strip_accents(p).casefold().split()) for p in value.split(">")]
    return " > ".join(p for p in parts)


# Spreadsheet formula injection (CWE-1236). MIV's export prefixes every cell that a
# spreadsheet would run as a formula with "'"; one more "'" is added to cells that already
# look escaped, so that the import can undo the escaping exactly (a bijection).
# The first characters that start a formula: OWASP's CSV-injection list (=, +, -, @, tab,
# carriage return) and the full-width forms of the first four, which spreadsheets
# (Excel with East Asian input, LibreOffice) normalise to them.
_FORMULA_START = "=+\\-@\t\r\uff1d\uff0b\uff0d\uff20"
_ESCAPED = re.compile(rf"^'+[{_FORMULA_START}]")
_NEEDS_ESCAPE = re.compile(rf"^'*[{_FORMULA_START}]")
# The same test run by the database (miv.csvsql): Python's and PostgreSQL's regular
# expressions read this pattern alike.
NEEDS_ESCAPE_PATTERN = _NEEDS_ESCAPE.pattern
_PLAIN_NUMBER = re.compile(r"^[+-]?\s*\d[\d\s.,]*$")


def escape_formula(value: str) -> str:
    """Make a cell safe to open in a spreadsheet: ``=1+1`` -> ``'=1+1``; the same for a
    leading ``+ - @``, tab, carriage return and ``＝ ＋ － ＠``."""
    return "'" + value if value and _NEEDS_ESCAPE.match(value) else value


def unescape_formula(value: str) -> str:
    """Undo :func:`escape_formula` exactly: ``'=1+1`` -> ``=1+1``, ``'s-Hertogenbosch``
    stays as it is."""
    return value[1:] if value and _ESCAPED.match(value) else value


def looks_like_formula(value: str) -> bool:
    """A raw cell a spreadsheet would run: it starts with ``=``, ``@``, or ``+``/``-``
    followed by something other than a space or a plain number (``-5`` and ``+31 6 ...``
    and ``- ontslagen`` are text)."""
    if not value:
        return False
    first = value[0]
    if first in "=@":
        return True
    if first in "+-":
        rest = value[1:]
        return bool(rest) and not rest[0].isspace() and not _PLAIN_NUMBER.match(value)
    return False


# --- Opening a file ------------------------------------------------------------------------


@dataclass
class CsvSource:
    """An opened, checked CSV file: encoding, delimiter and header are known.

    Iterate :meth:`rows` once; it streams the file from disk.
    """

    fileobj: BinaryIO
    name: str
    encoding: str
    size: int
    total_lines: int
    delimiter: str = ","
    header: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    header_line: int = 1
    line_num: int = 0
    data_rows: int = 0
    _reader: Iterator[list[str]] | None = None
    _close: bool = False

    @property
    def encoding_label(self) -> str:
        return {"utf-8-sig": "UTF-8 (BOM)", "utf-8": "UTF-8", "cp1252": "Windows-1252"}.get(
            self.encoding, self.encoding
        )

    def describe(self) -> str:
        """How the file was read, for the import report."""
        return _("Tekenset %(encoding)s, scheidingsteken '%(delimiter)s'.") % {
            "encoding": self.encoding_label,
            "delimiter": self.delimiter,
        }

    def index(self) -> dict[str, int]:
        """Normalised header name -> column index (the first column of that name)."""
        result: dict[str, int] = {}
        for i, key in enumerate(self.keys):
            if key:
                result.setdefault(key, i)
        return result

    def duplicated(self, key: str) -> bool:
        return self.keys.count(key) > 1

    def fraction(self) -> float:
        return min(1.0, self.line_num / self.total_lines) if self.total_lines else 1.0

    def rows(
        self, errors: ErrorList, *, progress: Progress | None = None, every: int = 2000
    ) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(line, cells)`` for each data row, cells stripped of surrounding space.

        Blank rows are skipped. A row with fewer cells than the header, or with filled
        cells beyond it, is reported in ``errors`` and not yielded. Broken quoting and
        over-long lines raise :class:`TableFileError` (the rest of the file is unreadable).
        """
        assert self._reader is not None, "open_csv() reads the header first"
        width = len(self.header)
        reader = self._reader
        count = 0
        while True:
            start = self.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise TableFileError(
                    _(
                        "De regel kan niet gelezen worden (%(reason)s). Ontbreekt er een "
                        "afsluitend aanhalingsteken, of is het bestand afgebroken?"
                    )
                    % {"reason": exc},
                    line=start,
                ) from None
            count += 1
            if progress is not None and count % every == 0:
                progress(self.fraction())
            if not any(c.strip() for c in cells):
                continue
            self.data_rows += 1
            if len(cells) < width:
                errors.add(
                    start,
                    "",
                    _(
                        "De rij heeft %(found)s van de %(expected)s kolommen. Is het bestand "
                        "afgebroken of het scheidingsteken anders dan '%(delimiter)s'?"
                    )
                    % {"found": len(cells), "expected": width, "delimiter": self.delimiter},
                )
                continue
            if len(cells) > width:
                if any(c.strip() for c in cells[width:]):
                    errors.add(
                        start,
                        "",
                        _("De rij heeft %(found)s kolommen, de kopregel maar %(expected)s.")
                        % {"found": len(cells), "expected": width},
                    )
                    continue
                del cells[width:]
            yield start, [c.strip() for c in cells]
        if progress is not None:
            progress(1.0)

    def close(self) -> None:
        text = getattr(self, "_text", None)
        if self._close:
            self.fileobj.close()
        elif text is not None:
            # The caller owns the file: detach, so the wrapper does not close it.
            try:
                text.detach()
            except ValueError:
                pass

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _detect(fileobj: BinaryIO, limit: int) -> tuple[str, int, int]:
    """First pass over the bytes: (encoding, size, number of lines). Raises TableFileError."""
    head = fileobj.read(4)
    for magic, what in _SIGNATURES:
        if head.startswith(magic):
            raise TableFileError(
                _("Dit is geen CSV-bestand maar %(what)s. Sla het op als CSV (UTF-8).")
                % {"what": what}
            )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise TableFileError(_utf16_message())
    fileobj.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    size = lines = 0
    while chunk := fileobj.read(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TableFileError(_too_large(limit))
        nul = chunk.find(b"\x00")
        if nul >= 0:
            sample = chunk[:4096]
            if max(sample[0::2].count(0), sample[1::2].count(0)) > len(sample) // 4:
                # Every other byte zero: text saved as UTF-16 without a byte order mark.
                raise TableFileError(_utf16_message())
            line = lines + chunk.count(b"\n", 0, nul) + 1
            raise TableFileError(
                _(
                    "Dit is geen tekstbestand (regel %(line)s bevat een nul-byte). "
                    "Upload een CSV-bestand."
                )
                % {"line": line},
                line=line,
            )
        if size == len(chunk):
            # A pasted text may bring a stray control character into a cell (and a round
            # trip must keep it), but a header line never has one: this is no CSV file.
            end = chunk.find(b"\n", 0, 65536)
            if _CONTROL.search(chunk, 0, end if end >= 0 else 65536):
                raise TableFileError(
                    _(
                        "Dit lijkt geen tekstbestand: de eerste regel bevat stuurtekens. "
                        "Upload een CSV-bestand."
                    ),
                    line=1,
                )
        lines += chunk.count(b"\n")
        if utf8:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
    if size == 0:
        raise TableFileError(_("Het bestand is leeg."))
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise TableFileError(
                _(
                    "Het bestand houdt midden in een teken op: het lijkt afgebroken. "
                    "Upload het volledige bestand."
                ),
                line=lines + 1,
            ) from None
        fileobj.seek(0)
        encoding = "utf-8-sig" if fileobj.read(3) == codecs.BOM_UTF8 else "utf-8"
    else:
        # Not UTF-8: Windows-1252 is what Dutch Excel writes. Five byte values are undefined
        # in it; a file containing them is in some other encoding.
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder("cp1252")()
        line = 1
        while chunk := fileobj.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line += chunk.count(b"\n", 0, exc.start)
                raise TableFileError(
                    _(
                        "De tekenset van het bestand is niet herkend (geen UTF-8 en geen "
                        "Windows-1252; regel %(line)s). Sla het op als CSV in UTF-8."
                    )
                    % {"line": line},
                    line=line,
                ) from None
            line += chunk.count(b"\n")
        encoding = "cp1252"
    fileobj.seek(0)
    if size and not _ends_with_newline(fileobj, size):
        lines += 1
    fileobj.seek(0)
    return encoding, size, lines


def _utf16_message() -> str:
    return _("Het bestand is in UTF-16 opgeslagen. Sla het op als CSV in UTF-8 of Windows-1252.")


def _ends_with_newline(fileobj: BinaryIO, size: int) -> bool:
    fileobj.seek(size - 1)
    return fileobj.read(1) in (b"\n", b"\r")


def _too_large(limit: int) -> str:
    return _(
        "Het bestand is groter dan %(mb)s MB. Splits het in kleinere bestanden (bijvoorbeeld "
        "per schooljaar)."
    ) % {"mb": limit // (1024 * 1024)}


def _size_of(fileobj: BinaryIO) -> int | None:
    try:
        return os.fstat(fileobj.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        pass
    size = getattr(fileobj, "size", None)
    return size if isinstance(size, int) else None


def _limited_lines(text: io.TextIOBase, source: CsvSource) -> Iterator[str]:
    """Physical lines, each at most MAX_LINE_CHARS long, counting them in ``source``."""
    while True:
        line = text.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        source.line_num += 1
        if len(line) > MAX_LINE_CHARS and not line.endswith(("\n", "\r")):
            raise TableFileError(
                _(
                    "Regel %(line)s is langer dan %(max)s tekens. Dit is geen gewone "
                    "CSV-regel (ontbreekt er een regeleinde of een aanhalingsteken?)."
                )
                % {"line": source.line_num, "max": f"{MAX_LINE_CHARS:,}".replace(",", ".")},
                line=source.line_num,
            )
        yield line


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def open_csv(source: str | Path | BinaryIO, *, name: str | None = None) -> CsvSource:
    """Open and check a CSV file and read its header. Raises :class:`TableFileError`.

    ``source`` is a path or a seekable binary file object (e.g. ``FieldFile.open("rb")``).
    """
    close = isinstance(source, str | Path)
    fileobj: BinaryIO = open(source, "rb") if close else source  # noqa: SIM115
    try:
        limit = max_import_bytes()
        size = _size_of(fileobj)
        if size is not None and size > limit:
            raise TableFileError(_too_large(limit))
        fileobj.seek(0)
        encoding, size, total = _detect(fileobj, limit)
        result = CsvSource(
            fileobj=fileobj,
            name=name or Path(getattr(fileobj, "name", "") or str(source)).name,
            encoding=encoding,
            size=size,
            total_lines=total,
            _close=close,
        )
        text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")
        lines = _limited_lines(text, result)
        first = next(lines, "")
        while first and not first.strip():  # leading blank lines
            first = next(lines, "")
        if not first.strip():
            raise TableFileError(_("Het bestand bevat geen kopregel."))
        result.header_line = result.line_num
        result.delimiter = _delimiter(first)
        reader = csv.reader(
            itertools.chain([first], lines), delimiter=result.delimiter, strict=True
        )
        try:
            header = next(reader)
        except csv.Error as exc:
            raise TableFileError(
                _("De kopregel kan niet gelezen worden (%(reason)s).") % {"reason": exc},
                line=result.header_line,
            ) from None
        if len(header) > MAX_COLUMNS:
            raise TableFileError(
                _("De kopregel heeft %(count)s kolommen; meer dan %(max)s kan niet kloppen.")
                % {"count": f"{len(header):,}".replace(",", "."), "max": MAX_COLUMNS},
                line=result.header_line,
            )
        # Trailing empty header cells (Excel's ";;;") are no columns.
        while header and not header[-1].strip():
            header.pop()
        result.header = [h.strip() for h in header]
        result.keys = [header_key(h) for h in result.header]
        result._reader = reader
        # Keep the wrapper alive (closing it would close the file); it is detached on close.
        result._text = text  # type: ignore[attr-defined]
        return result
    except BaseException:
        if close:
            fileobj.close()
        raise
