"""The local engine: the Athena templates, run by DuckDB over flow-log files in the S3 layout.

It reads a file the way Athena's delimited-text table does: the header line is skipped, string
columns keep their text (a missing value stays `-`), numeric columns become NULL where the text is
not a number. Columns are mapped by the header line's field names, so files are read correctly
whatever order their format puts the fields in.
"""

from __future__ import annotations

import gzip
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from bot.catalog import JSON_TABLE, LOGICAL_TABLE, QueryTemplate
from bot.engines.base import Column, EngineError, ResultStream, Row, ScanStats
from bot.engines.dialect import to_duckdb
from bot.engines.layout import FlowLogFile, json_files, select_files
from bot.flowlog_format import (
    ALL_HEADERS,
    BY_HEADER,
    COLUMN_HEADERS,
    JSON_FIELDS,
    PARTITION_COLUMNS,
    table_columns,
)
from bot.request import FlowRequest

BATCH_ROWS = 10_000
DUCKDB_TO_ATHENA = {
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "DOUBLE": "double",
    "VARCHAR": "varchar",
    "BOOLEAN": "boolean",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
}
_DUCKDB_TYPE = {"integer": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT", "varchar": "VARCHAR"}


@cache
def _duckdb_sql(sql: str) -> tuple[str, tuple[str, ...]]:
    """A template in DuckDB's dialect and its placeholder names; transpiled once per process."""
    schema: dict[str, object] = {
        LOGICAL_TABLE: dict(table_columns(ALL_HEADERS)),
        JSON_TABLE: dict(JSON_FIELDS),
    }
    duck_sql = to_duckdb(sql, schema)
    names = dict.fromkeys(
        p.name for p in sqlglot.parse_one(duck_sql, read="duckdb").find_all(exp.Placeholder)
    )
    return duck_sql, tuple(names)


def read_header(path: Path) -> tuple[str, ...]:
    """A file's field names, from its first line."""
    try:
        with gzip.open(path, "rt", encoding="ascii", errors="replace") as handle:
            return tuple(handle.readline().split())
    except (OSError, EOFError) as exc:  # Athena fails the query on such a file too
        raise EngineError(f"{path.name} is not a readable gzip flow-log file ({exc})") from exc


_PARTITION_NAMES = {name for name, _ in PARTITION_COLUMNS}
_PATH_PARTS = r"'/AWSLogs/(\d{12})/vpcflowlogs/([^/]+)/(\d{4}/\d{2}/\d{2})/[^/]*$'"


def _projection(headers: tuple[str, ...]) -> str:
    """SELECT list turning one header layout into the table's columns (fixed text, no user input).

    Partition values come from each row's file name, as Athena's come from the S3 key.
    """
    items = []
    for column, athena_type in table_columns(ALL_HEADERS):
        if column in _PARTITION_NAMES:
            continue
        header = COLUMN_HEADERS[column]
        source = f'"{header}"' if header in headers else "NULL"
        if athena_type == "varchar":
            items.append(f"CAST({source} AS VARCHAR) AS {column}")
        else:  # LazySimpleSerDe: text that is not a number reads as NULL
            items.append(f"TRY_CAST({source} AS {_DUCKDB_TYPE[athena_type]}) AS {column}")
    items += [
        f"regexp_extract(filename, {_PATH_PARTS}, 3) AS date_partition",
        f"regexp_extract(filename, {_PATH_PARTS}, 2) AS region_partition",
        f"regexp_extract(filename, {_PATH_PARTS}, 1) AS account_partition",
    ]
    return ", ".join(items)


class LocalEngine:
    """DuckDB over a folder holding `AWSLogs/` as the flow-log bucket does."""

    name = "local"

    def __init__(self, data_dir: Path, *, threads: int | None = None) -> None:
        self.data_dir = data_dir
        self.threads = threads

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        con.execute("SET TimeZone = 'UTC'")  # Athena's session zone; from_unixtime and date_format follow it
        return con

    def _table(self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile]) -> None:
        """Create the `vpcflow` view over exactly these files, one reader per header layout."""
        by_header: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for file in files:
            headers = read_header(file.path)
            unknown = [h for h in headers if h not in BY_HEADER]
            if not headers or unknown:
                raise EngineError(
                    f"{file.path.name}: unknown flow-log fields {unknown or 'none (empty file)'}"
                )
            by_header[headers].append(str(file.path))
        relation = None
        for headers, paths in by_header.items():
            part = con.read_csv(  # no sniffing: the header says what each field is
                paths,
                header=True,
                delimiter=" ",
                columns=dict.fromkeys(headers, "VARCHAR"),
                auto_detect=False,
                null_padding=True,  # a short line reads NULL for its missing fields, as in Athena
                strict_mode=False,  # extra fields are ignored, as in Athena
                filename=True,
                quotechar="",
                escapechar="",
            ).project(_projection(headers))
            relation = part if relation is None else relation.union(part)
        if relation is None:  # no file in scope: an empty table with the right columns and types
            empty = ", ".join(
                f"CAST(NULL AS {_DUCKDB_TYPE[t]}) AS {c}" for c, t in table_columns(ALL_HEADERS)
            )
            relation = con.sql(f"SELECT {empty} WHERE false")  # fixed text, no input
        relation.create_view(LOGICAL_TABLE)

    def _json_table(self, con: duckdb.DuckDBPyConnection, files: list[Path]) -> None:
        """Create the `vpc_flow_logs` view: JSON lines read as the OpenX JSON SerDe does.

        Missing keys read NULL, numbers given as text are converted, and a malformed line becomes a
        row of NULLs (the playbook's `ignore.malformed.json`).
        """
        columns = {name: _DUCKDB_TYPE[kind] for name, kind in JSON_FIELDS}
        if files:
            relation = con.read_json(
                [str(p) for p in files], format="newline_delimited", columns=columns, ignore_errors=True
            )
        else:
            empty = ", ".join(f"CAST(NULL AS {kind}) AS {name}" for name, kind in columns.items())
            relation = con.sql(f"SELECT {empty} WHERE false")  # fixed text, no input
        relation.create_view(JSON_TABLE)

    def run(
        self,
        template: QueryTemplate,
        request: FlowRequest,
        *,
        token: str | None = None,
        on_start: Callable[[str], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> ResultStream:
        """Open only the window's files, bind the request's values, stream the rows.

        The run control arguments are accepted and unused: a local query takes seconds and cannot
        be interrupted midway (the job checks for a cancel before it starts).
        """
        started = time.perf_counter()
        con = self._connect()
        try:
            if template.table == JSON_TABLE:
                paths = json_files(self.data_dir)
                self._json_table(con, paths)
                stats = ScanStats(
                    files_scanned=len(paths), bytes_scanned=sum(p.stat().st_size for p in paths)
                )
            else:
                files = select_files(self.data_dir, request.window.days(), request.account, request.region)
                self._table(con, files)
                stats = ScanStats(files_scanned=len(files), bytes_scanned=sum(f.size for f in files))
            sql, names = _duckdb_sql(template.sql)
            bindings = request.bindings()
            params = {name: bindings[name] for name in names}
            cursor = con.execute(sql, params)
        except duckdb.Error as exc:
            con.close()
            raise EngineError(f"the local engine could not run {template.name}: {_first_line(exc)}") from exc
        columns = [
            Column(d[0], DUCKDB_TO_ATHENA.get(str(d[1]), str(d[1]).lower())) for d in cursor.description or []
        ]
        expected = [(c.name, c.type) for c in template.columns]
        if [(c.name, c.type) for c in columns] != expected:
            con.close()
            raise EngineError(
                f"{template.name}: local result types {columns} differ from Athena's {expected}"
            )
        return ResultStream(columns, _fetch(con), stats, started)


def _first_line(exc: Exception) -> str:
    """DuckDB's messages run to many lines of advice; a responder needs the first."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fetch(con: duckdb.DuckDBPyConnection) -> Iterator[list[Row]]:
    try:
        while batch := con.fetchmany(BATCH_ROWS):
            yield batch
    except duckdb.Error as exc:
        raise EngineError(f"the local engine failed while reading rows: {_first_line(exc)}") from exc
    finally:
        con.close()
