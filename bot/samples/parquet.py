"""Sample flow-log files in Parquet, as a flow log with `FileFormat=parquet` delivers them.

The records are the text layout's lines, so that every layout holds the same traffic. Each field becomes the
column of `PARQUET_COLUMNS` (its header name with `_` for `-`, typed as AWS's reference DDL for Parquet
flow logs types it); a numeric field's `-` (does not apply) is NULL, a string field keeps its `-`.
AWS does not document what a Parquet file holds for a field that does not apply; the README's known limits
say so. Compression is gzip inside the Parquet file (VPC User Guide, "Flow log files": "Each file is
compressed into a single Gzip file").

DuckDB writes the files: it is already the local engine, so no Parquet library is added for the samples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bot.flowlog_layouts import PARQUET_TYPES, parquet_column

_DUCKDB_TYPES = {"integer": "INTEGER", "bigint": "BIGINT"}


def _select_list(headers: tuple[str, ...]) -> str:
    """Typed Parquet columns from the text fields `f0`, `f1`, ... (fixed text: headers are known fields)."""
    items = []
    for i, header in enumerate(headers):
        kind = PARQUET_TYPES.get(header)
        value = f"f{i}" if kind is None else f"CAST(NULLIF(f{i}, '-') AS {_DUCKDB_TYPES[kind]})"
        items.append(f'{value} AS "{parquet_column(header)}"')
    return ", ".join(items)


def write_parquet(headers: tuple[str, ...], files: list[tuple[Path, list[str]]]) -> None:
    """Write each (path, text lines) as one Parquet file with one column per header field."""
    import duckdb  # the samples' writer only; the Slack app never imports this module

    with tempfile.TemporaryDirectory() as scratch:
        lines_file = Path(scratch) / "lines.txt"
        with lines_file.open("w", encoding="ascii") as out:
            for number, (_, lines) in enumerate(files):
                for line in lines:
                    out.write(f"{number} {line}\n")
        con = duckdb.connect(":memory:")
        try:
            columns = {"file": "INTEGER", **{f"f{i}": "VARCHAR" for i in range(len(headers))}}
            con.read_csv(
                str(lines_file), header=False, delimiter=" ", columns=columns, auto_detect=False, quotechar=""
            ).create("lines")
            select = _select_list(headers)
            for number, (path, _) in enumerate(files):
                query = f"SELECT {select} FROM lines WHERE file = {number} ORDER BY rowid"  # noqa: S608
                target = str(path).replace("'", "''")  # a quote in the folder's name stays text
                con.execute(f"COPY ({query}) TO '{target}' (FORMAT parquet, COMPRESSION gzip)")
        finally:
            con.close()
