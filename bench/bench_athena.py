"""Athena path: what a 1-million-row CSV export costs read through the S3 result object (one GetObject,
streamed) against paging GetQueryResults (1,000 rows a call), side by side in the same run.

Run from the repo root with the venv:

    .venv/bin/python -m bench.bench_athena [--rows 1000000] [--runs 3] [--paging-runs 1]

Both paths are Flowbot's real code: `bot.worker.answer.answer` on an `AthenaEngine` whose boto3 clients it
builds itself, pointed at moto by AWS_ENDPOINT_URL (as the scenario tests point the worker). The S3
path is what `answer` does for Athena (first page for the summary, then `ResultStream.csv_copier`);
the paging path is what it does for an engine without a copier (every batch through `write_csv`), got
by hiding the copier. moto runs as a real HTTP server (`ThreadedMotoServer` on 127.0.0.1) in its own
process, so every API call is an HTTP round trip and the server's work is not charged to the client.

moto runs no SQL: the result is queued in moto's Athena backend (`QueryResults`, the `sample`
template's 14 columns, realistic rows cycled from a pool of distinct ones), and moto itself writes the
same rows as the result CSV at the query's OutputLocation in its S3, as Athena writes both.

moto 5.2's GetQueryResults ignores MaxResults and NextToken: it returns every row in one response
with no NextToken (checked below at run time, before anything is measured). Paging through it would
be one call, so the comparison would mean nothing. The server process therefore replaces moto's
GetQueryResults response with Athena's paging (at most MaxResults <= 1,000 rows a call, the header
row first on the first page, NextToken while rows remain), over moto's stored rows; everything else
(StartQueryExecution, GetQueryExecution, S3 GetObject) is moto's own. Calls are counted on the
client (botocore `before-call`, one per API call, and `before-send`, one per HTTP request).

Absolute times are local-loopback times: real Athena adds a network round trip and its own latency
to each of the ~1,000 GetQueryResults calls, so the ratio here understates the gap.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import random
import socket
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import boto3

from bench.report import Figure, machine, markdown
from bot.parse.command import parse_command
from bot.query.catalog import load_catalog
from bot.query.engines.athena import PAGE_ROWS, AthenaEngine
from bot.query.engines.base import UNSTEERED, ResultStream, RunControl
from bot.request import FlowRequest
from bot.settings import Settings
from bot.worker.answer import answer

SECTION = "Athena result fetch (moto)"
REGION = "us-east-1"
BUCKET = "flowbot-bench-results"
TEMPLATE = "sample"
POOL = 4096
"""Distinct rows; the result cycles through them (moto then holds a million references, not 14 million
dicts, and the bytes on the wire are the same as for a million distinct rows of that shape)."""
END = datetime(2026, 11, 20, tzinfo=UTC)
PAGE_CHECK_ROWS = 2500


# --- the server process -------------------------------------------------------------------------


def _pool(seed: int = 7) -> list[list[str | None]]:
    """`sample` rows as Athena returns them (all text): VPC flow log records, some NULL-free, some REJECT."""
    rng = random.Random(seed)
    rows: list[list[str | None]] = []
    for _ in range(POOL):
        start = int(END.timestamp()) - rng.randrange(3 * 86400)
        rows.append(
            [
                datetime.fromtimestamp(start, UTC).strftime("%Y/%m/%d %H:%M:%S"),
                f"{rng.randrange(10**11, 10**12):012d}",
                f"eni-{rng.getrandbits(68):017x}",
                f"10.0.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                str(rng.choice((443, 80, 22, 53)) if rng.random() < 0.3 else rng.randrange(1024, 65536)),
                ".".join(str(x) for x in (rng.choice((198, 203, 10)), *rng.sample(range(1, 255), 3))),
                str(rng.choice((443, 80, 22, 53, 3389, 8080))),
                str(rng.choice((6, 6, 6, 17, 1))),
                str(rng.randrange(1, 2000)),
                str(rng.randrange(40, 3_000_000)),
                str(start),
                str(start + rng.randrange(1, 60)),
                "REJECT" if rng.random() < 0.2 else "ACCEPT",
                "OK",
            ]
        )
    return rows


def _athena_rows(values: list[list[str | None]]) -> list[dict[str, Any]]:
    return [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in values]


def _serve(conn: Connection, port: int, rows: int, executions: int) -> None:
    """Child process: moto on 127.0.0.1:port, `executions` copies of the result queued; runs until told."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr
    from moto.athena import responses
    from moto.athena.models import QueryResults, athena_backends
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.server import ThreadedMotoServer

    columns = load_catalog()[TEMPLATE].columns
    column_info = [{"Name": c.name, "Type": c.type, "Nullable": "UNKNOWN"} for c in columns]
    header = _athena_rows([[c.name for c in columns]])
    pool = _athena_rows(_pool())
    backend = athena_backends[DEFAULT_ACCOUNT_ID][REGION]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        # Does moto page by itself? Ask the server, with moto's own handler, for a small result.
        small = QueryResults(
            rows=header + (pool * (PAGE_CHECK_ROWS // POOL + 1))[:PAGE_CHECK_ROWS], column_info=column_info
        )
        backend.query_results_queue.append(small)
        client = boto3.client(
            "athena",
            region_name=REGION,
            endpoint_url=f"http://127.0.0.1:{port}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        qid = client.start_query_execution(QueryString="SELECT 1", WorkGroup="primary")["QueryExecutionId"]
        client.get_query_execution(QueryExecutionId=qid)
        first = client.get_query_results(QueryExecutionId=qid, MaxResults=PAGE_ROWS)
        check = {"rows": len(first["ResultSet"]["Rows"]), "next_token": "NextToken" in first}

        def get_query_results(self: responses.AthenaResponse) -> str:
            """Athena's paging over moto's stored rows: at most MaxResults (<= 1,000) a call, NextToken."""
            result = self.athena_backend.get_query_results(self._get_param("QueryExecutionId"))
            size = min(int(self._get_param("MaxResults") or PAGE_ROWS), PAGE_ROWS)
            offset = int(self._get_param("NextToken") or 0)
            page: dict[str, Any] = {
                "ResultSet": {
                    "Rows": result.rows[offset : offset + size],
                    "ResultSetMetadata": {"ColumnInfo": result.column_info},
                },
                "UpdateCount": 0,
            }
            if offset + size < len(result.rows):
                page["NextToken"] = str(offset + size)
            return json.dumps(page)

        responses.AthenaResponse.get_query_results = get_query_results  # type: ignore[method-assign]
        big = QueryResults(rows=header + (pool * (rows // POOL + 1))[:rows], column_info=column_info)
        backend.query_results_queue.extend([big] * executions)
        conn.send(check)
        conn.recv()  # stop
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the client: Flowbot's engine ---------------------------------------------------------------


@contextlib.contextmanager
def _aws_pointed_at(url: str) -> Iterator[None]:
    """boto3 here talks to moto with fake keys and reads no profile of the machine; restored after."""
    saved = dict(os.environ)
    saved_session = boto3.DEFAULT_SESSION
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    boto3.setup_default_session()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = saved_session


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak_rss() -> bool:
    """Linux resets VmHWM (peak RSS) to the current RSS on `5` > clear_refs; False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


@dataclass
class Fetch:
    """One export: seconds (wall and this process's CPU), API calls and HTTP requests after the query
    succeeded, peak RSS growth."""

    seconds: float
    cpu_seconds: float
    calls: Counter[str]
    requests: int
    rss_growth_mb: float | None
    rows: int
    csv_mb: float


class _Marked:
    """The engine, marking when `run` returns (query succeeded, first page read); can hide the copier."""

    name = "athena"

    def __init__(self, engine: AthenaEngine, copy: bool, mark: Callable[[], None]) -> None:
        self._engine, self._copy, self._mark = engine, copy, mark

    def run(self, template: Any, request: FlowRequest, control: RunControl = UNSTEERED) -> ResultStream:
        stream = self._engine.run(template, request, control)
        if not self._copy:
            stream.csv_copier = None  # what an engine without a result file gives `answer`
        self._mark()
        return stream


def _export(
    engine: AthenaEngine, request: FlowRequest, copy: bool, tally: Counter[str], out_dir: Path
) -> Fetch:
    """One `answer` with a CSV export; counts and times what happens after the query succeeded."""
    catalog = load_catalog()
    marks: dict[str, Any] = {}

    def mark() -> None:
        marks["tally"] = tally.copy()
        marks["peak"] = _reset_peak_rss()
        marks["rss"] = _rss_kib("VmHWM")  # the current RSS, just after the reset
        marks["t"] = time.perf_counter()
        marks["cpu"] = time.process_time()

    path = out_dir / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        done = answer(
            request, catalog=catalog, engine=_Marked(engine, copy, mark), summary_rows=10, csv_out=out
        )
    elapsed = time.perf_counter() - marks["t"]
    cpu = time.process_time() - marks["cpu"]
    # The kernel's RSS counters lag by a few pages per thread: below ~0.25 MB, read 0.
    growth = max((_rss_kib("VmHWM") - marks["rss"]) / 1024, 0.0) if marks["peak"] else None
    after = tally - marks["tally"]
    requests = after.pop("HTTP requests", 0)
    size = path.stat().st_size / 1e6
    path.unlink()
    return Fetch(elapsed, cpu, after, requests, growth, done.stats.rows, size)


def _calls(c: Counter[str]) -> str:
    return ", ".join(f"{n:,} {op}" for op, n in sorted(c.items()))


def figures(rows: int = 1_000_000, runs: int = 3, paging_runs: int = 1) -> list[Figure]:
    """Both paths on the same moto, interleaved: S3 object `runs` times, paging `paging_runs` times."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: safe even if the caller has threads
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, port, rows, runs + paging_runs), daemon=True)
    server.start()
    try:
        if not parent.poll(300):
            raise RuntimeError("moto did not start")
        check = parent.recv()
        with _aws_pointed_at(url):
            tally: Counter[str] = Counter()

            def count_call(event_name: str, **_: Any) -> None:
                tally[event_name.split(".")[-1]] += 1

            def count_request(**_: Any) -> None:
                tally["HTTP requests"] += 1

            boto3.DEFAULT_SESSION.events.register("before-call", count_call)
            boto3.DEFAULT_SESSION.events.register("before-send", count_request)
            boto3.client("s3").create_bucket(Bucket=BUCKET)
            settings = Settings(
                engine="athena",
                athena_region=REGION,
                athena_database="flowbot",
                athena_workgroup="primary",
                athena_output_location=f"s3://{BUCKET}/athena/",
                max_limit=max(rows, 1),
            )
            engine = AthenaEngine(settings, sleep=lambda _: None)  # clients from boto3: AWS_ENDPOINT_URL
            window = f"--from {END - timedelta(days=1):%Y-%m-%dT%H:%M}Z --to {END:%Y-%m-%dT%H:%M}Z"
            request = parse_command(f"{TEMPLATE} --limit {rows} {window}", load_catalog(), settings, END)
            assert isinstance(request, FlowRequest), request
            s3: list[Fetch] = []
            paging: list[Fetch] = []
            with tempfile.TemporaryDirectory() as tmp:
                for i in range(max(runs, paging_runs)):
                    if i < runs:
                        s3.append(_export(engine, request, True, tally, Path(tmp)))
                    if i < paging_runs:
                        paging.append(_export(engine, request, False, tally, Path(tmp)))
        for f in s3 + paging:
            assert f.rows == rows, f"read {f.rows:,} rows, expected {rows:,}"
    finally:
        parent.send("stop")
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()
    return _figures(rows, check, s3, paging)


def _figures(rows: int, check: dict[str, Any], s3: list[Fetch], paging: list[Fetch]) -> list[Figure]:
    moto_note = (
        f"moto alone answered GetQueryResults(MaxResults={PAGE_ROWS}) on a {PAGE_CHECK_ROWS:,}-row result "
        f"with {check['rows']:,} rows{' and' if check['next_token'] else ', no'} NextToken"
    )
    s3_s = statistics.median(f.seconds for f in s3)
    pg_s = statistics.median(f.seconds for f in paging)
    figs = [
        Figure(
            SECTION,
            f"API calls, S3 result object ({rows:,} rows of `{TEMPLATE}`)",
            sum(s3[0].calls.values()),
            "calls",
            sum(paging[0].calls.values()),
            "API calls, paging GetQueryResults",
            f"exact (1 : {sum(paging[0].calls.values()):,}); after the query succeeded: "
            f"{_calls(s3[0].calls)} vs {_calls(paging[0].calls)}; both also made, "
            "inside engine.run, StartQueryExecution, GetQueryExecution and the first GetQueryResults page "
            f"(the summary); HTTP requests {s3[0].requests:,} vs {paging[0].requests:,}",
        ),
        Figure(
            SECTION,
            "time to export, S3 result object",
            s3_s,
            "s",
            pg_s,
            "time to export, paging GetQueryResults",
            f"median of {len(s3)} vs {len(paging)} run(s) (all: {', '.join(f'{f.seconds:.2f}' for f in s3)} "
            f"vs {', '.join(f'{f.seconds:.2f}' for f in paging)} s), from the query's success to the last "
            f"CSV byte on disk ({s3[0].csv_mb:,.0f} MB vs {paging[0].csv_mb:,.0f} MB); loopback moto, "
            "no AWS latency per call",
        ),
        Figure(
            SECTION,
            "rows per second, S3 result object",
            rows / s3_s,
            "rows/s",
            rows / pg_s,
            "rows per second, paging GetQueryResults",
            moto_note + "; the bench pages moto's stored rows as Athena does",
        ),
    ]
    figs.append(
        Figure(
            SECTION,
            "worker CPU time, S3 result object",
            statistics.median(f.cpu_seconds for f in s3),
            "s",
            statistics.median(f.cpu_seconds for f in paging),
            "worker CPU time, paging GetQueryResults",
            "CPU of the Flowbot process only (moto's own CPU is in its process): what a worker pays "
            "whatever the server's speed; paging spends it parsing JSON pages and typing every value",
        )
    )
    growth_s3 = [f.rss_growth_mb for f in s3 if f.rss_growth_mb is not None]
    growth_pg = [f.rss_growth_mb for f in paging if f.rss_growth_mb is not None]
    if growth_s3 and growth_pg:
        figs.append(
            Figure(
                SECTION,
                "peak RSS growth during the export, S3 result object",
                statistics.median(growth_s3),
                "MB",
                statistics.median(growth_pg),
                "peak RSS growth, paging GetQueryResults",
                "client process only (moto runs in its own); VmHWM reset by /proc/self/clear_refs at the "
                "query's success; resolution about 0.25 MB (0 = no growth seen)",
            )
        )
    return figs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3, help="runs of the S3 path (median)")
    parser.add_argument("--paging-runs", type=int, default=1, help="runs of the paging path (median)")
    args = parser.parse_args()
    print(f"# Flowbot bench, Athena path — {machine()}\n")
    print(markdown(figures(args.rows, args.runs, args.paging_runs)))


if __name__ == "__main__":
    main()
