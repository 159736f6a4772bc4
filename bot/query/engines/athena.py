"""The Athena engine: the templates, run on Amazon Athena with their values as execution parameters.

Values never enter the SQL text: `to_athena` turns each `:name` into `?` and the request's values
travel as ExecutionParameters; the one exception is the row limit, a validated integer written as a
number literal because Athena takes `?` only in WHERE clauses. The job id is the ClientRequestToken,
so a retried job finds the execution its first attempt started instead of paying for a second scan.

Which library does what, and why:
- boto3 starts the query: PyAthena's SQL cursors build StartQueryExecution without a
  ClientRequestToken (in PyAthena 4.2 only the Spark calculation requests carry one), and the token
  is what makes a retried job safe.
- Polling is ours: PyAthena's cursor polls at a fixed interval, with no deadline and no
  bytes-scanned cutoff, and it would need its own Connection (its own boto3 client).
- Retrying StartQueryExecution on TooManyRequestsException is ours: PyAthena's `retry_api_call`
  waits in whole seconds on tenacity's own clock; ours uses the engine's injectable clock, so
  timeouts and retries are tested without waiting.
- boto3's GetQueryResults paginator pages the results (PyAthena's result sets need a PyAthena
  Connection, which builds its own client).
- PyAthena reads GetQueryExecution's answer (`AthenaQueryExecution`), converts values by Athena
  type (`DefaultTypeConverter`) and splits the result URL (`parse_output_location`).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import boto3
import sqlglot
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from pyathena.converter import DefaultTypeConverter
from pyathena.model import AthenaQueryExecution
from pyathena.util import parse_output_location
from sqlglot import exp

from bot.query.catalog import IOC_TABLE, JSON_TABLE, LITERAL_PARAMS, LOGICAL_TABLE, QueryTemplate
from bot.query.engines.base import UNSTEERED, EngineError, ResultStream, RunControl
from bot.query.engines.estimate import estimate_s3
from bot.query.results import Column, Estimate, Row, ScanStats, SentQuery, scan_cost
from bot.query.sources import SCOPE_ACCOUNT, flow_relation, is_the_table, scope_accounts
from bot.query.sql_checks import in_where
from bot.request import FlowRequest
from bot.settings import Settings

PAGE_ROWS = 1000
"""GetQueryResults returns at most 1,000 rows a call."""
MAX_POLL_SECONDS = 5.0
TIMEOUT_MARGIN_SECONDS = 15.0
"""Stop the query this long before the job's own timeout, so the failure is ours to report."""
START_ATTEMPTS = 5
FIRST_RETRY_SECONDS = 1.0
THROTTLED = frozenset({"TooManyRequestsException", "ThrottlingException"})
CSV_CHUNK_BYTES = 1 << 16
BUSY = "Athena is busy (too many queries running); try again in a minute"
_MARK = "flowbot_p"
_MARK_RE = re.compile(rf":{_MARK}(\d+)\b")
_TOKEN_OK = re.compile(r"[\x21-\x7e]{32,128}")


def to_athena(sql: str, settings: Settings, bindings: dict[str, object]) -> tuple[str, list[str]]:
    """A template as Athena SQL with `?` placeholders, and its ExecutionParameters in order.

    Athena takes `?` only in WHERE conditions; the validated integers of `LITERAL_PARAMS` (the row limit)
    are written into the text as number literals instead.

    A template's tables become the settings' own: `vpcflow` becomes the configured layout's logical relation
    (bot/query/sources.py: the quoted `"database"."table"` for text-daily, a subquery over it for every other
    layout, whose partition predicate brings placeholders of its own, `:first_hour` ...), the JSON table
    `vpc_flow_logs` and the IOC table `incident_iocs` their quoted `"database"."table"` (identifiers the
    settings validated). Then each occurrence of `:name` becomes one `?` (a name used twice gives two, and
    its value twice). The order comes from the written text, not the tree: each placeholder is first written
    under a numbered name, and the numbers' order in that text is the parameters' order.
    """
    tree = sqlglot.parse_one(sql, read="trino")
    bindings = _with_scope_accounts(settings, bindings)
    _point_tables(tree, settings, sum(1 for name in bindings if name.startswith("scope_account_")))
    names: list[str] = []
    for placeholder in list(tree.find_all(exp.Placeholder)):
        if not placeholder.this:  # an anonymous `?` has no `this` (its .name reads "?")
            raise ValueError("templates use named placeholders (:name), not ?")
        if placeholder.name in LITERAL_PARAMS:
            placeholder.replace(integer_literal(placeholder.name, bindings))
            continue
        if not in_where(placeholder):
            raise ValueError(f":{placeholder.name} is outside a WHERE clause, where Athena takes no ?")
        placeholder.replace(exp.Placeholder(this=f"{_MARK}{len(names)}"))
        names.append(placeholder.name)
    order = [int(n) for n in _MARK_RE.findall(tree.sql(dialect="trino", pretty=True))]
    if sorted(order) != list(range(len(names))):
        raise ValueError("could not place every parameter of the template")
    for placeholder in list(tree.find_all(exp.Placeholder)):
        placeholder.replace(exp.Placeholder())
    missing = sorted({n for n in names if n not in bindings})
    if missing:
        raise ValueError(f"no value for {missing}")
    return tree.sql(dialect="trino", pretty=True), [sql_literal(bindings[names[i]]) for i in order]


def _with_scope_accounts(settings: Settings, bindings: dict[str, object]) -> dict[str, object]:
    """The bindings plus the accounts an injected account projection must name (bot/query/sources.py)."""
    if settings.account_projection != "injected":
        return bindings
    accounts = scope_accounts(settings, str(bindings.get("account") or ""))
    if not accounts:
        raise ValueError("an injected account projection needs an account: the request's or FLOWBOT_ACCOUNTS")
    return bindings | {SCOPE_ACCOUNT.format(i): account for i, account in enumerate(accounts)}


def _point_tables(tree: exp.Expr, settings: Settings, accounts: int = 0) -> None:
    """Replace the template's tables, in place, by what stands for them on Athena (see `to_athena`)."""
    real_tables = {
        LOGICAL_TABLE: settings.athena_table,
        JSON_TABLE: settings.athena_json_table,
        IOC_TABLE: settings.athena_ioc_table,
    }
    relation = None if is_the_table(settings) else flow_relation(settings, accounts=accounts)
    for table in list(tree.find_all(exp.Table)):  # the template's own: a relation's table is not revisited
        real = real_tables.get(table.name)
        if real is None or table.args.get("db") or table.args.get("catalog"):
            raise ValueError(f"templates read {sorted(real_tables)}, not {table.sql('trino')}")
        if table.name == LOGICAL_TABLE and relation is not None:
            select = sqlglot.parse_one(relation, read="trino").unnest()  # the SELECT inside the parentheses
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(LOGICAL_TABLE))
            table.replace(exp.Subquery(this=select, alias=alias))
            continue
        database = settings.flow_database if table.name == LOGICAL_TABLE else settings.athena_database
        table.set("this", exp.to_identifier(real, quoted=True))
        table.set("db", exp.to_identifier(database, quoted=True))


def integer_literal(name: str, bindings: dict[str, object]) -> exp.Expression:
    """A validated integer written into the SQL (`LIMIT 100`): Athena takes `?` only in WHERE."""
    if name not in bindings:
        raise ValueError(f"no value for {[name]}")
    value = bindings[name]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f":{name} must be a non-negative integer to be written into the SQL, not {value!r}")
    return exp.Literal.number(value)


def sql_literal(value: object) -> str:
    """One ExecutionParameter: Athena reads each as a SQL literal (ints as digits, text quoted)."""
    if isinstance(value, bool):  # a bool is an int to Python, not to Trino
        raise TypeError("no boolean parameters")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot pass {type(value).__name__} as an Athena parameter")


def with_fingerprint(sql: str, parameters: list[str]) -> str:
    """The SQL with a digest of its parameters in a leading comment, when results may be reused.

    Athena reuses a result when "the query string is an exact match" (Athena User Guide, "Reuse query
    results"); it does not say whether ExecutionParameters take part. The digest makes two queries
    with different values differ in their text, so a reused result is always one for the same values.
    Only hex digits enter the text.
    """
    digest = hashlib.sha256("\x1f".join(parameters).encode()).hexdigest()
    return f"-- flowbot parameters sha256:{digest}\n{sql}"


def request_token(token: str) -> str:
    """A ClientRequestToken Athena accepts (32 to 128 printable characters), same for the same job."""
    return token if _TOKEN_OK.fullmatch(token) else hashlib.sha256(token.encode()).hexdigest()


def _first_line(text: str | None, limit: int = 200) -> str:
    """Athena's reasons can run to many lines; a responder needs a short first one."""
    lines = (text or "").strip().splitlines()
    line = lines[0].strip() if lines else "no reason given"
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Error"))


def _client_error(action: str, exc: ClientError) -> EngineError:
    message = exc.response.get("Error", {}).get("Message")
    return EngineError(f"{action}: {_code(exc)}: {_first_line(message)}")


def _aws_error(action: str, exc: BotoCoreError) -> EngineError:
    """botocore's own failures (credentials, network), each with what to do about it."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        hint = "no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID, or give the worker a role)"
    elif isinstance(exc, NoRegionError):
        hint = "no AWS region (set FLOWBOT_ATHENA_REGION or AWS_REGION)"
    elif isinstance(exc, EndpointConnectionError):
        hint = "cannot reach AWS (network or region wrong?)"
    else:
        hint = _first_line(str(exc))
    return EngineError(f"{action}: {hint}")


def _athena_type(type_name: str) -> str:
    """ColumnInfo's Type, named as a ColumnSpec type (`varchar`, `bigint`, ...)."""
    return type_name.lower().split("(")[0].strip()


class AthenaEngine:
    """Runs templates on Athena: starts, watches, stops, and streams what a query returns."""

    name = "athena"

    def __init__(
        self,
        settings: Settings,
        *,
        athena_client: Any | None = None,
        s3_client: Any | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Clients are passed in (tests) or built from the settings; clock and sleep are for tests."""
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._converter = DefaultTypeConverter()
        try:
            self._athena = (
                athena_client
                if athena_client is not None
                else boto3.client("athena", region_name=settings.athena_region)
            )
            self._s3 = (
                s3_client if s3_client is not None else boto3.client("s3", region_name=settings.athena_region)
            )
        except BotoCoreError as exc:
            raise _aws_error("cannot set up Athena", exc) from exc

    @property
    def budget_seconds(self) -> float:
        """How long a query may run: the job timeout less a margin (at most half of it)."""
        timeout = float(self.settings.query_timeout_seconds)
        return timeout - min(TIMEOUT_MARGIN_SECONDS, timeout / 2)

    def run(
        self,
        template: QueryTemplate,
        request: FlowRequest,
        control: RunControl = UNSTEERED,
    ) -> ResultStream:
        """Start the query (idempotently under `control.token`), wait for it, and stream its result.

        `control.on_start` gets the query execution id once Athena gives it; `control.should_cancel` is
        asked between polls (a responder's `/flow cancel`), and a yes stops the query; `control.on_progress`
        hears the bytes scanned so far after each poll (the job's status message shows them).
        """
        started = time.perf_counter()
        deadline = self._clock() + self.budget_seconds
        sql, parameters = to_athena(template.sql, self.settings, request.bindings())
        reuse = self.settings.athena_result_reuse_minutes
        if reuse is not None:
            sql = with_fingerprint(sql, parameters)
        if control.on_sent is not None:
            control.on_sent(SentQuery(sql, positional=tuple(parameters)))
        query_id = self._start(sql, parameters, control.token, deadline, self.settings.athena_database, reuse)
        if control.on_start is not None:
            control.on_start(query_id)
        execution = self._wait(query_id, deadline, control.should_cancel, control.on_progress)
        return self._result(template, execution, started)

    def estimate(self, template: QueryTemplate, request: FlowRequest) -> Estimate | None:
        """What the query would read: the sizes of the objects under the partitions it opens.

        The flow-log table's partitions are projected, so the folders a window opens are known without
        asking Glue: `<location>/<account>/vpcflowlogs/<region>/<yyyy/MM/dd>/` for the request's (or
        every configured) account and region and each day of the window within the projection's range.
        None for the JSON table (no partitions: it reads its whole location).
        """
        if template.table != LOGICAL_TABLE or not self.settings.flow_logs_bucket:
            return None
        return estimate_s3(self._s3, self.settings, request)

    def execute_statement(self, sql: str) -> None:
        """Run one of Flowbot's own DDL statements (`flowbot athena setup`) and wait for it to end.

        The statement is built from validated settings and names its database itself, so no
        database context is sent (a CREATE DATABASE must not depend on the database existing).
        """
        deadline = self._clock() + self.budget_seconds
        query_id = self._start(sql, [], None, deadline, None)
        self._wait(query_id, deadline, None)

    def cancel(self, query_execution_id: str) -> None:
        """Stop a running query (StopQueryExecution); Athena bills what it scanned so far."""
        try:
            self._athena.stop_query_execution(QueryExecutionId=query_execution_id)
        except ClientError as exc:
            raise _client_error("Athena would not stop the query", exc) from exc
        except BotoCoreError as exc:
            raise _aws_error("could not stop the Athena query", exc) from exc

    def _start(
        self,
        sql: str,
        parameters: list[str],
        token: str | None,
        deadline: float,
        database: str | None,
        reuse_minutes: int | None = None,
    ) -> str:
        """StartQueryExecution, retried with backoff while Athena has too many queries running."""
        call: dict[str, Any] = {"QueryString": sql, "WorkGroup": self.settings.athena_workgroup}
        if reuse_minutes is not None:  # Athena API Reference: ResultReuseConfiguration (engine v3)
            call["ResultReuseConfiguration"] = {
                "ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": reuse_minutes}
            }
        if database is not None:
            call["QueryExecutionContext"] = {"Database": database}
        if parameters:  # the API refuses an empty list
            call["ExecutionParameters"] = parameters
        if token is not None:
            call["ClientRequestToken"] = request_token(token)
        if self.settings.athena_output_location:
            call["ResultConfiguration"] = {"OutputLocation": self.settings.athena_output_location}
        delay = FIRST_RETRY_SECONDS
        for attempt in range(START_ATTEMPTS):
            try:
                return str(self._athena.start_query_execution(**call)["QueryExecutionId"])
            except ClientError as exc:
                if _code(exc) not in THROTTLED:
                    raise _client_error("Athena refused the query", exc) from exc
                if attempt == START_ATTEMPTS - 1 or self._clock() + delay > deadline:
                    raise EngineError(BUSY) from exc
            except BotoCoreError as exc:
                raise _aws_error("could not start the Athena query", exc) from exc
            self._sleep(delay)
            delay *= 2
        raise EngineError(BUSY)  # not reached: the last attempt returns or raises

    def _wait(
        self,
        query_id: str,
        deadline: float,
        should_cancel: Callable[[], bool] | None,
        on_progress: Callable[[int], None] | None = None,
    ) -> AthenaQueryExecution:
        """Poll with backoff until the query ends; stop it at the deadline, past the cutoff, or on request."""
        delay = self.settings.athena_poll_seconds
        cutoff = self.settings.athena_bytes_scanned_cutoff
        scanned = 0
        while True:
            if should_cancel is not None and should_cancel():
                raise EngineError("the query was cancelled", self._stop_and_count(query_id, scanned))
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise EngineError(
                    f"the query ran longer than {self.budget_seconds:g} s; narrow the window",
                    self._stop_and_count(query_id, scanned),
                )
            self._sleep(min(delay, remaining))
            delay = min(delay * 2, MAX_POLL_SECONDS)
            execution = self._execution(query_id)
            if execution is None:  # throttled status call: the query runs on, ask again later
                continue
            if execution.state == AthenaQueryExecution.STATE_SUCCEEDED:
                return execution
            if execution.state == AthenaQueryExecution.STATE_FAILED:
                raise EngineError(
                    f"Athena could not run the query: {_first_line(execution.state_change_reason)}",
                    self._spent(execution.data_scanned_in_bytes or scanned),
                )
            if execution.state == AthenaQueryExecution.STATE_CANCELLED:
                raise EngineError(
                    "the query was cancelled", self._spent(execution.data_scanned_in_bytes or scanned)
                )
            scanned = execution.data_scanned_in_bytes or 0
            if on_progress is not None:
                on_progress(scanned)
            if cutoff is not None and scanned > cutoff:
                raise EngineError(
                    f"the query was stopped after scanning more than {cutoff:,} bytes "
                    "(FLOWBOT_ATHENA_BYTES_SCANNED_CUTOFF); narrow the window",
                    self._stop_and_count(query_id, scanned),
                )

    def _execution(self, query_id: str) -> AthenaQueryExecution | None:
        """GetQueryExecution; None when throttled (a status call may simply be retried)."""
        try:
            return AthenaQueryExecution(self._athena.get_query_execution(QueryExecutionId=query_id))
        except ClientError as exc:
            if _code(exc) in THROTTLED:
                return None
            raise _client_error("could not read the Athena query's status", exc) from exc
        except BotoCoreError as exc:
            raise _aws_error("could not read the Athena query's status", exc) from exc

    def _stop_and_count(self, query_id: str, scanned: int) -> ScanStats:
        """Stop the query, then read what it scanned in all (Athena bills a stopped query for that).

        Best effort: the error the responder sees is why we stopped, not whether stopping worked; when
        the last status cannot be read, the last poll's figure stands.
        """
        try:
            self._athena.stop_query_execution(QueryExecutionId=query_id)
            final = self._execution(query_id)
        except (ClientError, BotoCoreError, EngineError):
            final = None
        if final is not None and final.data_scanned_in_bytes is not None:
            scanned = max(scanned, final.data_scanned_in_bytes)
        return self._spent(scanned)

    def _spent(self, scanned: int) -> ScanStats:
        """A failed or stopped query's bill: bytes scanned and their cost."""
        return ScanStats(
            files_scanned=None,
            bytes_scanned=scanned,
            cost_usd=scan_cost(scanned, self.settings.athena_price_per_tb),
        )

    def _result(
        self, template: QueryTemplate, execution: AthenaQueryExecution, started: float
    ) -> ResultStream:
        """Columns from the first result page; rows page by page; the CSV object for the full copy."""
        query_id = str(execution.query_id)
        paginator = self._athena.get_paginator("get_query_results")
        pages = iter(paginator.paginate(QueryExecutionId=query_id, PaginationConfig={"PageSize": PAGE_ROWS}))
        first = self._page(pages)
        info = (first or {}).get("ResultSet", {}).get("ResultSetMetadata", {}).get("ColumnInfo", [])
        columns = [Column(str(c["Name"]), _athena_type(str(c["Type"]))) for c in info]
        expected = [(c.name, c.type) for c in template.columns]
        if [(c.name, c.type) for c in columns] != expected:
            raise EngineError(
                f"{template.name}: Athena returned columns {columns}, the template expects {expected}"
            )
        scanned = execution.data_scanned_in_bytes or 0
        reused = bool(execution.reused_previous_result)
        stats = ScanStats(
            rows=0,  # counted as rows are read (or by the CSV copy)
            files_scanned=None,  # Athena does not say how many files it read
            bytes_scanned=scanned,
            elapsed_ms=execution.engine_execution_time_in_millis
            or execution.total_execution_time_in_millis
            or 0,
            cost_usd=0.0 if reused else scan_cost(scanned, self.settings.athena_price_per_tb),
            reused=reused,
        )
        location = execution.output_location

        def copy(out: TextIO) -> None:
            stats.rows = self._copy_csv(location, out)

        return ResultStream(columns, self._batches(first, pages, columns), stats, started, csv_copier=copy)

    def _page(self, pages: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
        try:
            return next(pages, None)
        except ClientError as exc:
            raise _client_error("could not read the Athena result", exc) from exc
        except BotoCoreError as exc:
            raise _aws_error("could not read the Athena result", exc) from exc

    def _batches(
        self, first: dict[str, Any] | None, pages: Iterator[dict[str, Any]], columns: list[Column]
    ) -> Iterator[list[Row]]:
        """Each page's rows, typed; the first row of the first page is a SELECT's header, skipped."""
        page, skip = first, 1
        while page is not None:
            rows = page.get("ResultSet", {}).get("Rows", [])[skip:]
            if rows:
                yield [self._row(r, columns) for r in rows]
            page, skip = self._page(pages), 0

    def _row(self, row: dict[str, Any], columns: list[Column]) -> Row:
        """Athena sends text; a missing VarCharValue is NULL."""
        return tuple(
            self._converter.convert(column.type, datum.get("VarCharValue"))
            for column, datum in zip(columns, row.get("Data", []), strict=True)
        )

    def _copy_csv(self, location: str | None, out: TextIO) -> int:
        """Stream Athena's result CSV to `out`, formula cells neutralised; returns the data rows."""
        if not location:
            raise EngineError("Athena gave no result location (set FLOWBOT_ATHENA_OUTPUT_LOCATION)")
        bucket, key = parse_output_location(location)
        action = f"could not read the result file {location}"
        try:
            body = self._s3.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as exc:
            raise _client_error(action, exc) from exc
        except BotoCoreError as exc:
            raise _aws_error(action, exc) from exc
        neutraliser = CsvNeutraliser()
        try:
            for chunk in body.iter_chunks(CSV_CHUNK_BYTES):
                out.write(neutraliser.feed(chunk))
            out.write(neutraliser.finish())
        except BotoCoreError as exc:
            raise _aws_error(action, exc) from exc
        finally:
            body.close()
        return max(neutraliser.records - 1, 0)  # the first record is the header


# Athena's result CSV quotes every non-NULL field (a NULL is an empty, unquoted field) and doubles
# a quote inside a field. So a field whose value starts with = + - @ tab or CR appears as `"=`,
# `"+`, ... at the start of a line or right after a `,`; the fix is to insert `'` after that quote,
# exactly what csv_out.safe_cell does to such a value (a lone `"-"` stays as it is).
#
# Why a per-line regex is sound although fields may hold commas and newlines: inside a field every
# `"` is one of a doubled pair, so it is either preceded by `"` (the second of a pair) or followed
# by `"` (the first). Neither is a quote at a line start or after `,` that is followed by a formula
# character, so `,"=` cannot occur inside a field, and a match is always a field's opening quote,
# even on a line that continues a field across a newline. One ambiguity is left: a field ending
# in `,` and followed by a CRLF line end reads `,"` then CR, like a field starting with CR.
# Counting quotes settles it: before an opening quote, the number of quotes since the start of the
# file is even. The same count tells where records end (a newline at an even count), which gives
# the row count without parsing the file.
#
# The pattern is written quote first, with the "line start or after a comma" test last, so the
# regex engine scans for the literal quote instead of trying every position (about 8 times faster).
_RISKY_FIELD = re.compile(rb'"(?=[=+@\t\r]|-(?!"(?:,|\r?$)))(?<![^,\n]")', re.MULTILINE)


class CsvNeutraliser:
    """Rewrites Athena's CSV as it streams past, chunk by chunk, holding at most one partial line."""

    def __init__(self) -> None:
        self._pending = b""
        self._inside = False  # whether the text so far ends inside a quoted field
        self.records = 0

    def feed(self, chunk: bytes) -> str:
        """The complete lines received so far, rewritten; the last partial line waits."""
        data = self._pending + chunk
        cut = data.rfind(b"\n") + 1
        self._pending = data[cut:]
        return self._block(data[:cut])

    def finish(self) -> str:
        """The last line, when the file does not end with a newline."""
        block, self._pending = self._pending, b""
        text = self._block(block)
        if block and not self._inside:
            self.records += 1
        return text

    def _block(self, block: bytes) -> str:
        if not block:
            return ""
        inside, last = self._inside, 0

        def fix(match: re.Match[bytes]) -> bytes:
            nonlocal inside, last
            if block.count(b'"', last, match.start()) % 2:
                inside = not inside
            last = match.start()
            return b'"' if inside else b"\"'"

        fixed = _RISKY_FIELD.sub(fix, block)
        *lines, tail = block.split(b"\n")
        for line in lines:
            if line.count(b'"') % 2:
                self._inside = not self._inside
            if not self._inside:
                self.records += 1
        if tail.count(b'"') % 2:
            self._inside = not self._inside
        return fixed.decode("utf-8", errors="replace")
