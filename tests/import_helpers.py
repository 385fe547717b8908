"""Helpers for the import tests: DUO fixture paths and writing CSV files byte for byte."""

import csv
import io
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DUO_FULL = FIXTURES / "duo" / "03-deelnemers-mbo-2015-2019.csv"
DUO_EXCERPT = FIXTURES / "duo" / "03-deelnemers-mbo-2015-2019-excerpt.csv"
DUO_INSTITUTIONS = FIXTURES / "duo" / "instellingen-mbo-2020.csv"


def csv_bytes(
    rows: list[list[str]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    newline: str = "\r\n",
) -> bytes:
    """Rows written with the csv module, then encoded (``utf-8-sig`` writes a BOM)."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator=newline).writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[list[str]], **kwargs) -> Path:
    path.write_bytes(csv_bytes(rows, **kwargs))
    return path
