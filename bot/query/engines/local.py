"""The local engine: the Athena templates, run by DuckDB over flow-log files in the S3 layout.

It reads a file the way Athena's delimited-text table does: the header line is skipped, string
columns keep their text (a missing value stays `-`), numeric columns become NULL where the text is
not a number. Athena maps fields by position in the table's (the configured) format; here every file's
header must be that format, and a file written in another one is refused with its name and fields
(Athena would read it wrong without a word). Given no format (tools, tests), each file is read by its
own header.

Hunts also read the IOC table, `incident_iocs`: every `<ioc folder>/table/*.csv`, read line by line as
Athena's OpenCSVSerde reads its rows (see `opencsv_fields`), its first two fields as `threat_ip` and
`threat_comment` (both VARCHAR, NULL when a line has fewer fields); empty when there are no files.
"""

from __future__ import annotations

import gzip
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import duckdb
import sqlglot
from sqlglot import exp

from bot.flowlog_format import (
    ALL_HEADERS,
    BY_HEADER,
    COLUMN_HEADERS,
    JSON_FIELDS,
    PARTITION_COLUMNS,
    format_difference,
    table_columns,
)
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout, parquet_column
from bot.query.catalog import IOC_COLUMNS, IOC_TABLE, JSON_TABLE, LOGICAL_TABLE, QueryTemplate
from bot.query.engines.base import UNSTEERED, EngineError, ResultStream, RunControl
from bot.query.engines.dialect import install_macros, to_duckdb
from bot.query.engines.estimate import estimate_local
from bot.query.layout import FlowLogFile, json_files, select_files, window_partitions
from bot.query.ocsf import ocsf_columns, ocsf_partitions, ocsf_paths
from bot.query.results import Column, Estimate, Row, ScanStats, SentQuery
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
IOC_FOLDER = "table"
"""The IOC store's folder Athena's IOC table reads (`<store>/table/`), here under the local store."""
_IOC_INSERT_ROWS = 500


@cache
def _duckdb_sql(sql: str) -> tuple[str, tuple[str, ...]]:
    """A template in DuckDB's dialect and its placeholder names; transpiled once per process."""
    schema: dict[str, object] = {
        LOGICAL_TABLE: dict(table_columns(ALL_HEADERS)),
        JSON_TABLE: dict(JSON_FIELDS),
        IOC_TABLE: dict(IOC_COLUMNS),
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


def _partition_items(layout: Layout) -> list[str]:
    """SELECT items giving the partition columns from each row's file name, as Athena's come from the S3 key
    (fixed text per layout, no user input)."""
    hour = r"(?:hour=\d{2}/)?" if layout.hive else r"(?:\d{2}/)?"
    if layout.hive:
        path = (
            r"'/AWSLogs/aws-account-id=(\d{12})/aws-service=vpcflowlogs/aws-region=([^/]+)/"
            rf"year=(\d{{4}})/month=(\d{{2}})/day=(\d{{2}})/{hour}[^/]*$'"
        )
        day = " || '/' || ".join(f"regexp_extract(filename, {path}, {g})" for g in (3, 4, 5))
    else:
        path = rf"'/AWSLogs/(\d{{12}})/vpcflowlogs/([^/]+)/(\d{{4}}/\d{{2}}/\d{{2}})/{hour}[^/]*$'"
        day = f"regexp_extract(filename, {path}, 3)"
    return [
        f"{day} AS date_partition",
        f"regexp_extract(filename, {path}, 2) AS region_partition",
        f"regexp_extract(filename, {path}, 1) AS account_partition",
    ]


def _projection(headers: tuple[str, ...], layout: Layout) -> str:
    """SELECT list turning one header layout of text files into the table's columns (fixed text, no user
    input). Partition values come from each row's file name, as Athena's come from the S3 key."""
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
    return ", ".join(items + _partition_items(layout))


_SECURITY_LAKE_PATH = r"'/aws/VPC_FLOW/2\.0/region=([^/]+)/accountId=(\d{12})/eventDay=(\d{8})/[^/]*$'"


def _ocsf_projection() -> str:
    """SELECT list turning Security Lake's OCSF columns into the table's (bot/query/ocsf.py); a field it does
    not give reads NULL. Partitions come from the key (`region=`, `accountId=`, `eventDay=`)."""
    given = dict(ocsf_columns("duckdb"))
    items = []
    for column, athena_type in table_columns(ALL_HEADERS):
        if column not in _PARTITION_NAMES:
            items.append(f"{given.get(column, f'CAST(NULL AS {_DUCKDB_TYPE[athena_type]})')} AS {column}")
    path = _SECURITY_LAKE_PATH
    parts = ocsf_partitions(
        "duckdb",
        f"regexp_extract(filename, {path}, 3)",
        f"regexp_extract(filename, {path}, 1)",
        f"regexp_extract(filename, {path}, 2)",
    )
    return ", ".join(items + [f"{expression} AS {name}" for name, expression in parts])


def _parquet_projection(present: set[str], layout: Layout) -> str:
    """SELECT list turning Parquet flow-log columns (`srcaddr`, `account_id`, ...) into the table's columns.

    Parquet columns are typed and found by name, as Athena's ParquetHiveSerDe finds them: a field the files
    lack reads NULL; a typed value is cast to the logical type (`protocol` bigint → integer), as the Athena
    relation of the layout does (bot/query/sources.py)."""
    items = []
    for column, athena_type in table_columns(ALL_HEADERS):
        if column in _PARTITION_NAMES:
            continue
        name = parquet_column(COLUMN_HEADERS[column])
        source = f'"{name}"' if name in present else "NULL"
        items.append(f"CAST({source} AS {_DUCKDB_TYPE[athena_type]}) AS {column}")
    return ", ".join(items + _partition_items(layout))


@cache
def _parquet_reads(sql: str, ocsf: bool) -> frozenset[str] | None:
    """The Parquet columns a template reads (None: all of them, for `SELECT *`), to count the bytes of
    only those column chunks, as Athena bills a Parquet scan: a flow-log Parquet file's own columns, or the
    OCSF leaf columns Security Lake's records give them from (`src_endpoint, ip`)."""
    tree = sqlglot.parse_one(sql, read="trino")
    if any(isinstance(star.parent, exp.Select) for star in tree.find_all(exp.Star)):
        return None
    names = {c.name for c in tree.find_all(exp.Column) if c.name in COLUMN_HEADERS}
    if ocsf:
        return frozenset(path for name in names for path in ocsf_paths(name))
    return frozenset(parquet_column(COLUMN_HEADERS[n]) for n in names)


class LocalEngine:
    """DuckDB over a folder holding `AWSLogs/` as the flow-log bucket does."""

    name = "local"

    def __init__(
        self,
        data_dir: Path,
        *,
        ioc_dir: Path | None = None,
        threads: int | None = None,
        log_format: tuple[str, ...] | None = None,
        layout: Layout = LAYOUTS[DEFAULT_LAYOUT],
    ) -> None:
        self.data_dir = data_dir
        self.layout = layout
        """How the files are delivered: where the window's partitions are, and text or Parquet."""
        self.ioc_dir = ioc_dir
        """The local IOC store (its `table/` folder holds the IOC table's files); None: no indicators."""
        self.threads = threads
        self.log_format = log_format
        """The configured format's fields (FLOWBOT_LOG_FORMAT), as Athena's table reads them, by position:
        a file written in another format is refused, not read by its own header (Athena would misread it).
        None (tools, tests): each file is read by its own header."""

    def _connect(self) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:")
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        con.execute("SET TimeZone = 'UTC'")  # Athena's session zone; from_unixtime and date_format follow it
        # Past ~2 s DuckDB draws a progress bar on stdout, into a worker's log or `flowbot ask`'s answer.
        con.execute("SET enable_progress_bar = false")
        install_macros(con)  # what transpiled CIDR tests call (bot/query/engines/dialect.py)
        return con

    def _ioc_table(self, con: duckdb.DuckDBPyConnection) -> ScanStats:
        """Create `incident_iocs` from the IOC files, as Athena's OpenCSVSerde table reads them."""
        if self.ioc_dir is None:  # a hunt must not quietly find nothing
            raise EngineError(
                "the local engine reads indicators from a folder, but FLOWBOT_IOC_STORE is on S3: "
                "hunt with FLOWBOT_ENGINE=athena, or point the store at a folder"
            )
        files = ioc_files(self.ioc_dir)
        rows: list[tuple[str | None, str | None]] = []
        for path in files:
            for line in _split_lines(path.read_bytes()):
                fields = opencsv_fields(line) or []
                rows.append((fields[0] if len(fields) > 0 else None, fields[1] if len(fields) > 1 else None))
        names = ", ".join(f"{name} {_DUCKDB_TYPE[kind]}" for name, kind in IOC_COLUMNS)
        con.execute(f"CREATE TEMP TABLE {IOC_TABLE} ({names})")  # fixed text, no input
        for start in range(0, len(rows), _IOC_INSERT_ROWS):
            chunk = rows[start : start + _IOC_INSERT_ROWS]
            values = ", ".join(["(?, ?)"] * len(chunk))  # placeholders only: the values are bound
            con.execute(f"INSERT INTO {IOC_TABLE} VALUES {values}", [v for row in chunk for v in row])  # noqa: S608
        return ScanStats(files_scanned=len(files), bytes_scanned=sum(p.stat().st_size for p in files))

    def _table(self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile]) -> None:
        """Create the `vpcflow` view over exactly these files."""
        if self.layout.file_format == "ocsf":
            relation = self._ocsf_relation(con, files)
        elif self.layout.file_format == "parquet":
            relation = self._parquet_relation(con, files)
        else:
            relation = self._text_relation(con, files)
        if relation is None:  # no file in scope: an empty table with the right columns and types
            empty = ", ".join(
                f"CAST(NULL AS {_DUCKDB_TYPE[t]}) AS {c}" for c, t in table_columns(ALL_HEADERS)
            )
            relation = con.sql(f"SELECT {empty} WHERE false")  # fixed text, no input
        relation.create_view(LOGICAL_TABLE)

    def _parquet_relation(
        self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile]
    ) -> duckdb.DuckDBPyRelation | None:
        """Parquet files, read by column name (projection pushed down: only the columns a query uses)."""
        if not files:
            return None
        part = con.read_parquet(  # partition values come from the key, as for text (`_partition_items`)
            [str(f.path) for f in files], filename=True, union_by_name=True, hive_partitioning=False
        )
        return part.project(_parquet_projection(set(part.columns), self.layout))

    def _ocsf_relation(
        self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile]
    ) -> duckdb.DuckDBPyRelation | None:
        """Security Lake's OCSF Parquet files, mapped field by field onto the table."""
        if not files:
            return None
        part = con.read_parquet(
            [str(f.path) for f in files], filename=True, union_by_name=True, hive_partitioning=False
        )
        return part.project(_ocsf_projection())

    def _text_relation(
        self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile]
    ) -> duckdb.DuckDBPyRelation | None:
        """Text files, one reader per header layout."""
        by_header: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for file in files:
            headers = read_header(file.path)
            unknown = [h for h in headers if h not in BY_HEADER]
            if not headers or unknown:
                raise EngineError(
                    f"{file.path.name}: unknown flow-log fields {unknown or 'none (empty file)'}"
                )
            by_header[headers].append(str(file.path))
        if self.log_format is not None:
            _refuse_other_formats(by_header, self.log_format)
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
            ).project(_projection(headers, self.layout))
            relation = part if relation is None else relation.union(part)
        return relation

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

    def _bytes_read(
        self, con: duckdb.DuckDBPyConnection, files: list[FlowLogFile], template: QueryTemplate
    ) -> int:
        """What the scan reads: whole text files; of Parquet files (Security Lake's too), the column chunks of
        the columns the template uses (what Athena bills for Parquet: "Amazon Athena pricing", per bytes
        scanned, and columnar formats let it read only the needed columns)."""
        if self.layout.file_format == "text" or not files:
            return sum(f.size for f in files)
        columns = _parquet_reads(template.sql, self.layout.file_format == "ocsf")
        chunks = con.execute(
            "SELECT path_in_schema, total_compressed_size FROM parquet_metadata(?)",
            [[str(f.path) for f in files]],
        ).fetchall()
        return sum(int(size) for name, size in chunks if columns is None or name in columns)

    def estimate(self, template: QueryTemplate, request: FlowRequest) -> Estimate | None:
        """What the query would read: the sizes of the window's files (None for the JSON table, which
        has no partitions and is read whole)."""
        if template.table == JSON_TABLE:
            return None
        return estimate_local(self.data_dir, request, self.layout)

    def run(
        self,
        template: QueryTemplate,
        request: FlowRequest,
        control: RunControl = UNSTEERED,
    ) -> ResultStream:
        """Open only the window's files, bind the request's values, stream the rows.

        Of `control`, only `on_sent` is used (it hears the SQL DuckDB runs and its bound values): a local
        query takes seconds and cannot be interrupted midway (the job checks for a cancel before it starts).
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
                files = select_files(
                    self.data_dir,
                    window_partitions(self.layout, request.window),
                    request.account,
                    request.region,
                    self.layout,
                )
                self._table(con, files)
                stats = ScanStats(
                    files_scanned=len(files), bytes_scanned=self._bytes_read(con, files, template)
                )
                if template.reads_iocs:  # Athena counts the IOC table's files in the scan too
                    iocs = self._ioc_table(con)
                    stats.files_scanned = (stats.files_scanned or 0) + (iocs.files_scanned or 0)
                    stats.bytes_scanned += iocs.bytes_scanned
            sql, names = _duckdb_sql(template.sql)
            bindings = request.bindings()
            params = {name: bindings[name] for name in names}
            if control.on_sent is not None:
                bound = tuple((n, v if isinstance(v, int) else str(v)) for n, v in params.items())
                control.on_sent(SentQuery(sql, named=bound))
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


def _refuse_other_formats(by_header: dict[tuple[str, ...], list[str]], configured: tuple[str, ...]) -> None:
    """Files whose header is not the configured format: Athena's delimited table maps fields by position, so
    it would read them wrong without an error; the local engine says which files and which fields."""
    other = {headers: paths for headers, paths in by_header.items() if headers != configured}
    if not other:
        return
    count = sum(len(paths) for paths in other.values())
    headers, paths = next(iter(other.items()))
    raise EngineError(
        f"{count} file(s) in the window were written in another format than FLOWBOT_LOG_FORMAT, e.g. "
        f"{Path(paths[0]).name}, which {format_difference(headers, configured)}; Athena reads fields by "
        "position and would misread them. Set FLOWBOT_LOG_FORMAT to their format (its header line: "
        f"{' '.join(headers)}), or keep each format in its own table"
    )


def ioc_files(ioc_dir: Path | None) -> list[Path]:
    """The IOC table's files: `<ioc_dir>/table/*.csv`, in name order; none when the folder is missing.

    Names starting with `.` or `_` are skipped, as Athena (Hive) skips hidden files.
    """
    if ioc_dir is None:
        return []
    folder = ioc_dir / IOC_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.csv") if p.is_file() and not p.name.startswith((".", "_")))


_LINE_END = re.compile(r"\r\n|\r|\n")


def _split_lines(data: bytes) -> list[str]:
    """A text file's rows as Athena's text reader cuts them: UTF-8 (a leading BOM skipped), lines ended by
    `\\n`, `\\r\\n` or `\\r`, the terminator after the last line starting no extra row, empty lines kept."""
    text = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = _LINE_END.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _java_whitespace(text: str) -> bool:
    """`Character.isWhitespace` for every character (no-break spaces are not whitespace in Java)."""
    return all(c.isspace() and c not in "\u00a0\u2007\u202f" for c in text)


def opencsv_fields(line: str, separator: str = ",", quote: str = '"', escape: str = "\\") -> list[str] | None:
    """One row's fields as Hive's OpenCSVSerde gets them from opencsv 2.3's `CSVReader.readNext`.

    OpenCSVSerde reads each line on its own (the text reader has already cut the file into lines), with
    the table's separator, quote and escape characters, strictQuotes off and ignoreLeadingWhiteSpace on:
    - a quote opens and closes quoting; inside quotes (or once a field has begun) a doubled quote is one
      quote, and the escape character before a quote or an escape character yields that character;
      an escape character before anything else is dropped;
    - a quote inside a field (not at its edges, nor in the line's first three characters) is kept;
    - a line whose quoting never closes loses the unfinished field (no fields at all: None);
    - an empty line reads as no fields (None): every column NULL.
    """
    if line == "":
        return None
    tokens: list[str] = []
    token: list[str] = []
    in_quotes = in_field = False
    i = 0
    while i < len(line):
        c = line[i]
        following = line[i + 1] if i + 1 < len(line) else None
        if c == escape:
            if (in_quotes or in_field) and following in (quote, escape):
                token.append(following)
                i += 1
        elif c == quote:
            if (in_quotes or in_field) and following == quote:
                token.append(quote)
                i += 1
            else:
                if i > 2 and line[i - 1] != separator and following is not None and following != separator:
                    if token and _java_whitespace("".join(token)):
                        token = []  # white space leading up to the quote is discarded
                    else:
                        token.append(c)
                in_quotes = not in_quotes
            in_field = not in_field
        elif c == separator and not in_quotes:
            tokens.append("".join(token))
            token = []
            in_field = False
        else:
            token.append(c)
            in_field = True
        i += 1
    if not in_quotes:
        tokens.append("".join(token))
    return tokens or None


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
