"""The Athena engine against moto and botocore's Stubber: no AWS, no network, no real waiting.

moto plays Athena and S3 for the whole flow (start, poll, results, the result CSV); the Stubber
plays Athena where a test needs states moto never reaches (RUNNING with bytes scanned, FAILED,
throttling) or several result pages. The engine's clock is a fake one that sleeping advances.
"""

from __future__ import annotations

import csv
import io
import random
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import NoCredentialsError
from botocore.stub import ANY, Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID

from bot.query.catalog import ColumnSpec, QueryTemplate, load_catalog
from bot.query.engines.athena import (
    BUSY,
    AthenaEngine,
    CsvNeutraliser,
    request_token,
    scan_cost,
    to_athena,
    with_fingerprint,
)
from bot.query.engines.base import EngineError, RunControl
from bot.query.results import Column
from bot.rendering.cost import scan_phrase
from bot.rendering.csv_out import safe_cell
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.worker.answer import answer
from tests.conftest import fake_aws_environment

REGION = "us-east-1"
BUCKET = "flowbot-results"
QID = "5e8a6c1e-0d8e-4d5b-9a57-3f1f1c0c0a11"
TOKEN = "0123456789abcdef0123456789abcdef"  # a job id: 32 hex characters
IP = "10.0.1.25"
RATIO_TYPES = [
    ("sourceaddress", "varchar"),
    ("destinationaddress", "varchar"),
    ("record_count", "bigint"),
    ("total_bytes", "bigint"),
    ("data_ratio", "bigint"),
    ("first_seen", "varchar"),
    ("last_seen", "varchar"),
]
MiB = 1 << 20
TiB = 1 << 40


class FakeClock:
    """Monotonic time that only sleeping moves."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def fake_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; no profile or config file of the machine is read."""
    fake_aws_environment(monkeypatch, tmp_path, REGION)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "engine": "athena",
        "athena_region": REGION,
        "athena_database": "flowbot",
        "athena_table": "vpcflow_v2",
        "athena_workgroup": "primary",
        "athena_output_location": f"s3://{BUCKET}/athena/",
        "athena_poll_seconds": 0.5,
    }
    values.update(overrides)
    return Settings(**values)


def ratio_request(limit: int = 100) -> FlowRequest:
    return FlowRequest(
        query="ratio",
        params={"ip": IP},
        window=Window(start=datetime(2026, 11, 19, tzinfo=UTC), end=datetime(2026, 11, 20, tzinfo=UTC)),
        limit=limit,
        text=f"ratio {IP}",
    )


def athena_csv(rows: Sequence[Sequence[str | None]], newline: str = "\n") -> str:
    """A result CSV as Athena writes it: every value quoted, quotes doubled, NULL an empty field."""
    return "".join(
        ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + newline for row in rows
    )


def stubbed_athena() -> tuple[Any, Stubber]:
    client = boto3.client(
        "athena", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return client, Stubber(client)


def execution(
    state: str,
    *,
    scanned: int = 0,
    reason: str | None = None,
    engine_ms: int = 1500,
    output: str = f"s3://{BUCKET}/athena/{QID}.csv",
) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": QID,
            "Query": "SELECT ...",
            "StatementType": "DML",
            "ResultConfiguration": {"OutputLocation": output},
            "Status": status,
            "Statistics": {
                "DataScannedInBytes": scanned,
                "EngineExecutionTimeInMillis": engine_ms,
                "TotalExecutionTimeInMillis": engine_ms + 200,
            },
        }
    }


def page(
    rows: Sequence[Sequence[str | None]], columns: list[tuple[str, str]], next_token: str | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
            "ResultSetMetadata": {"ColumnInfo": [{"Name": n, "Type": t} for n, t in columns]},
        }
    }
    if next_token:
        response["NextToken"] = next_token
    return response


def results_call(next_token: str | None = None) -> dict[str, Any]:
    params: dict[str, Any] = {"QueryExecutionId": QID, "MaxResults": 1000}
    if next_token:
        params["NextToken"] = next_token
    return params


HEADER: list[str | None] = [name for name, _ in RATIO_TYPES]


def ratio_row(src: str, dst: str, count: int) -> list[str | None]:
    return [src, dst, str(count), str(count * 100), "100", "2026/11/19 00:00:00", "2026/11/19 01:00:00"]


# --- the whole flow on moto ---------------------------------------------------------------------


def queue_moto_result(rows: Sequence[Sequence[str | None]], columns: list[tuple[str, str]]) -> None:
    """moto runs no SQL: the next execution returns these rows (header first, as Athena sends)."""
    backend = athena_backends[DEFAULT_ACCOUNT_ID][REGION]
    backend.query_results_queue.append(
        QueryResults(
            rows=[{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows],
            column_info=[{"Name": n, "Type": t} for n, t in columns],
        )
    )


def test_a_query_runs_on_athena_with_its_values_only_as_parameters(clock: FakeClock) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        athena = boto3.client("athena", region_name=REGION)
        sent: list[dict[str, Any]] = []
        athena.meta.events.register(
            "provide-client-params.athena.StartQueryExecution",
            lambda params, **_: sent.append(dict(params)),
        )
        queue_moto_result([HEADER, ratio_row(IP, "10.0.2.9", 7), ratio_row("10.0.3.3", IP, 2)], RATIO_TYPES)
        engine = AthenaEngine(
            make_settings(), athena_client=athena, s3_client=s3, clock=clock, sleep=clock.sleep
        )
        started: list[str] = []
        result = engine.run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN, on_start=started.append)
        )

        [call] = sent
        assert call["ClientRequestToken"] == TOKEN
        assert call["WorkGroup"] == "primary"
        assert call["QueryExecutionContext"] == {"Database": "flowbot"}
        assert call["ResultConfiguration"] == {"OutputLocation": f"s3://{BUCKET}/athena/"}
        assert IP not in call["QueryString"]
        assert '"flowbot"."vpcflow_v2"' in call["QueryString"]
        assert call["QueryString"].count("?") == len(call["ExecutionParameters"])
        assert call["ExecutionParameters"][:2] == [f"'{IP}'", f"'{IP}'"]
        assert call["QueryString"].rstrip().endswith("LIMIT 100")  # Athena takes ? only in WHERE
        assert len(started) == 1
        stored = athena.get_query_execution(QueryExecutionId=started[0])["QueryExecution"]
        assert stored["ExecutionParameters"] == call["ExecutionParameters"]
        assert clock.sleeps == [0.5]  # moto's execution has succeeded by the first poll

        assert result.columns == [Column(n, t) for n, t in RATIO_TYPES]
        assert list(result.batches()) == [
            [
                (IP, "10.0.2.9", 7, 700, 100, "2026/11/19 00:00:00", "2026/11/19 01:00:00"),
                ("10.0.3.3", IP, 2, 200, 100, "2026/11/19 00:00:00", "2026/11/19 01:00:00"),
            ]
        ]
        assert result.stats.rows == 2
        assert result.stats.files_scanned is None
        assert result.stats.bytes_scanned == 0
        assert result.stats.cost_usd == pytest.approx(10 * MiB / TiB * 5.0)


def test_the_result_csv_is_streamed_from_s3_with_formula_cells_neutralised(clock: FakeClock) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        athena = boto3.client("athena", region_name=REGION)
        queue_moto_result([HEADER, ratio_row(IP, "10.0.2.9", 7)], RATIO_TYPES)
        engine = AthenaEngine(
            make_settings(), athena_client=athena, s3_client=s3, clock=clock, sleep=clock.sleep
        )
        started: list[str] = []
        result = engine.run(load_catalog()["ratio"], ratio_request(), RunControl(on_start=started.append))
        rows: list[list[str | None]] = [
            HEADER,
            ['=HYPERLINK("http://x")', "-", "1", "2", "3", "+1", "@SUM(A1)"],
            ["-2+3", 'a,"=b"', "1", "2", None, "line one\n=line two", "\tx"],
            ["10.0.1.25", "\r=cr", "1", "2", "3", "", "-"],
        ]
        # moto wrote its own CSV there; Athena's (every field quoted) replaces it
        s3.put_object(Bucket=BUCKET, Key=f"athena/{started[0]}.csv", Body=athena_csv(rows).encode())
        assert result.csv_copier is not None
        out = io.StringIO(newline="")
        result.csv_copier(out)
        parsed = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
        assert parsed == [[safe_cell(v) for v in row] for row in rows]
        assert parsed[1][:2] == ['\'=HYPERLINK("http://x")', "-"]
        assert result.stats.rows == 3


def test_answer_copies_athenas_csv_and_counts_its_rows(clock: FakeClock) -> None:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        athena = boto3.client("athena", region_name=REGION)
        rows = [HEADER] + [ratio_row(f"10.0.9.{i}", IP, 50 - i) for i in range(30)]
        queue_moto_result(rows, RATIO_TYPES)  # moto writes these to the output location too
        engine = AthenaEngine(
            make_settings(), athena_client=athena, s3_client=s3, clock=clock, sleep=clock.sleep
        )
        out = io.StringIO(newline="")
        result = answer(ratio_request(), catalog=load_catalog(), engine=engine, summary_rows=5, csv_out=out)
        assert result.stats.rows == 30
        assert len(result.head) == 5
        assert len(list(csv.reader(io.StringIO(out.getvalue())))) == 31
        assert "(< $0.01)" in result.scope_line()


# --- states and failures on the Stubber ---------------------------------------------------------


def start_call(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "QueryString": ANY,
        "ExecutionParameters": ANY,
        "QueryExecutionContext": {"Database": "flowbot"},
        "WorkGroup": "primary",
        "ClientRequestToken": TOKEN,
        "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena/"},
    }
    params.update(extra)
    return params


def engine_with(stub_client: Any, clock: FakeClock, **settings: Any) -> AthenaEngine:
    return AthenaEngine(
        make_settings(**settings),
        athena_client=stub_client,
        s3_client=object(),
        clock=clock,
        sleep=clock.sleep,
    )


def test_results_page_through_next_token_and_values_take_their_types(clock: FakeClock) -> None:
    columns = [
        ("packets", "bigint"),  # numpackets: bigint, as in AWS's reference DDL
        ("ratio", "double"),
        ("accepted", "boolean"),
        ("started", "timestamp"),
        ("day", "date"),
        ("port", "smallint"),
        ("sourceaddress", "varchar"),
        ("numbytes", "bigint"),
        ("protocol", "integer"),
    ]
    template = QueryTemplate(
        name="typed",
        command=("typed",),
        title="Typed",
        description="every type",
        finding="{packets} packets",
        example="typed",
        source="test",
        columns=tuple(ColumnSpec(name=n, type=t) for n, t in columns),
        summary_columns=("packets",),
        sql="SELECT numpackets AS packets, CAST(numbytes AS double) AS ratio, action = 'ACCEPT' AS accepted,"
        " from_unixtime(starttime) AS started, CAST(from_unixtime(starttime) AS date) AS day,"
        " sourceport AS port, sourceaddress, numbytes, protocol FROM vpcflow"
        " WHERE date_partition BETWEEN :first_day AND :last_day AND starttime >= :from_ts"
        " AND starttime < :to_ts LIMIT :limit",
    )
    header = [n for n, _ in columns]
    row = [
        "3000000000",
        "1.5",
        "true",
        "2026-11-19 10:00:00.000",
        "2026-11-19",
        "443",
        "10.0.0.1",
        "9000000000",
        "6",
    ]
    nulls: list[str | None] = [None] * len(columns)
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    stub.add_response("get_query_results", page([header, row, nulls], columns, "t1"), results_call())
    stub.add_response("get_query_results", page([row] * 3, columns, "t2"), results_call("t1"))
    stub.add_response("get_query_results", page([row], columns), results_call("t2"))
    with stub:
        result = engine_with(client, clock).run(template, ratio_request(), RunControl(token=TOKEN))
        batches = list(result.batches())
    stub.assert_no_pending_responses()
    typed = (
        3_000_000_000,
        1.5,
        True,
        datetime(2026, 11, 19, 10, 0),
        date(2026, 11, 19),
        443,
        "10.0.0.1",
        9_000_000_000,
        6,
    )
    assert batches == [[typed, (None,) * len(columns)], [typed] * 3, [typed]]
    assert result.stats.rows == 6


def test_polls_back_off_from_the_first_wait_to_five_seconds(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    for state in ["QUEUED", "RUNNING", "RUNNING", "RUNNING", "RUNNING", "RUNNING"]:
        stub.add_response("get_query_execution", execution(state), {"QueryExecutionId": QID})
    stub.add_response(
        "get_query_execution", execution("SUCCEEDED", scanned=3 * TiB), {"QueryExecutionId": QID}
    )
    stub.add_response("get_query_results", page([HEADER], RATIO_TYPES), results_call())
    started: list[str] = []
    with stub:
        result = engine_with(client, clock, athena_poll_seconds=0.5).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN, on_start=started.append)
        )
        assert list(result.batches()) == []
    assert started == [QID]
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert result.stats.bytes_scanned == 3 * TiB
    assert result.stats.cost_usd == pytest.approx(15.0)
    assert result.stats.elapsed_ms == 1500


def test_a_failed_query_reports_athenas_reason_on_one_line(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    reason = (
        "COLUMN_NOT_FOUND: line 3:8: Column 'sourceadress' cannot be resolved\nat io.trino.Foo(Foo.java:1)"
    )
    stub.add_response("get_query_execution", execution("FAILED", reason=reason), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError) as failure:
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    message = str(failure.value)
    assert message == (
        "Athena could not run the query: COLUMN_NOT_FOUND: line 3:8: Column 'sourceadress' cannot be resolved"
    )


def test_a_cancelled_query_says_so(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("CANCELLED"), {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError, match=r"^the query was cancelled$"):
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))


def test_too_many_queries_is_retried_with_backoff_under_the_same_token(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_client_error(
        "start_query_execution", "TooManyRequestsException", "limit", 400, None, start_call()
    )
    stub.add_client_error(
        "start_query_execution", "ThrottlingException", "slow down", 400, None, start_call()
    )
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    stub.add_response(
        "get_query_results", page([HEADER, ratio_row(IP, "10.0.0.2", 1)], RATIO_TYPES), results_call()
    )
    with stub:
        result = engine_with(client, clock).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN)
        )
        assert sum(len(b) for b in result.batches()) == 1
    stub.assert_no_pending_responses()
    assert clock.sleeps == [1.0, 2.0, 0.5]


def test_too_many_queries_for_too_long_tells_the_responder_to_try_later(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    for _ in range(5):
        stub.add_client_error(
            "start_query_execution", "TooManyRequestsException", "limit", 400, None, start_call()
        )
    with stub, pytest.raises(EngineError) as failure:
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    stub.assert_no_pending_responses()
    assert str(failure.value) == BUSY
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_a_query_running_past_the_budget_is_stopped(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    for _ in range(4):  # polls at 1, 3, 7 and 10 s
        stub.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    engine = engine_with(client, clock, query_timeout_seconds=20, athena_poll_seconds=1.0)
    assert engine.budget_seconds == 10  # 20 s less the margin, which is at most half of it
    with stub, pytest.raises(EngineError) as failure:
        engine.run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    stub.assert_no_pending_responses()
    assert str(failure.value) == "the query ran longer than 10 s; narrow the window"
    assert clock.sleeps == [1.0, 2.0, 4.0, 3.0]
    assert make_settings().query_timeout_seconds - AthenaEngine(make_settings()).budget_seconds == 15


def test_a_query_scanning_past_the_cutoff_is_stopped(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response(
        "get_query_execution", execution("RUNNING", scanned=9_000_000), {"QueryExecutionId": QID}
    )
    stub.add_response(
        "get_query_execution", execution("RUNNING", scanned=60_000_000), {"QueryExecutionId": QID}
    )
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    progress: list[int] = []
    with stub, pytest.raises(EngineError, match="more than 50,000,000 bytes") as failure:
        engine_with(client, clock, athena_bytes_scanned_cutoff=50_000_000).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN, on_progress=progress.append)
        )
    stub.assert_no_pending_responses()
    assert "\n" not in str(failure.value)
    assert progress == [9_000_000, 60_000_000]  # what the status message shows while it runs


def test_other_refusals_and_missing_credentials_are_one_clear_line(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_client_error(
        "start_query_execution", "InvalidRequestException", "Idempotent parameters do not match\nx", 400
    )
    with stub, pytest.raises(EngineError) as refused:
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    assert str(refused.value) == (
        "Athena refused the query: InvalidRequestException: Idempotent parameters do not match"
    )

    class NoCredentials:
        def start_query_execution(self, **_: Any) -> dict[str, Any]:
            raise NoCredentialsError()

    with pytest.raises(EngineError, match="no AWS credentials found"):
        engine_with(NoCredentials(), clock).run(load_catalog()["ratio"], ratio_request())


def test_no_region_anywhere_fails_at_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(EngineError, match="FLOWBOT_ATHENA_REGION"):
        AthenaEngine(make_settings(athena_region=None))


def test_columns_other_than_the_templates_are_refused(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    wrong = [(n, "integer" if t == "bigint" else t) for n, t in RATIO_TYPES]
    stub.add_response("get_query_results", page([HEADER], wrong), results_call())
    with stub, pytest.raises(EngineError, match="the template expects"):
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))


def test_a_cancel_request_between_polls_stops_the_query(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    asked = iter([False, True])
    with stub, pytest.raises(EngineError, match=r"^the query was cancelled$"):
        engine_with(client, clock).run(
            load_catalog()["ratio"],
            ratio_request(),
            RunControl(token=TOKEN, should_cancel=lambda: next(asked)),
        )
    stub.assert_no_pending_responses()


def test_ddl_runs_without_parameters_or_database_context_and_waits(clock: FakeClock) -> None:
    sql = "CREATE DATABASE IF NOT EXISTS `flowbot`"
    client, stub = stubbed_athena()
    expected = {
        "QueryString": sql,
        "WorkGroup": "primary",
        "ResultConfiguration": {"OutputLocation": f"s3://{BUCKET}/athena/"},
    }
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, expected)
    stub.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, expected)
    stub.add_response(
        "get_query_execution", execution("FAILED", reason="no such bucket"), {"QueryExecutionId": QID}
    )
    with stub:
        engine_with(client, clock).execute_statement(sql)
        with pytest.raises(EngineError, match="no such bucket"):
            engine_with(client, clock).execute_statement(sql)
    stub.assert_no_pending_responses()


def test_cancel_stops_the_execution(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    with stub:
        engine_with(client, clock).cancel(QID)
    stub.assert_no_pending_responses()


def test_tokens_athena_would_refuse_are_hashed_the_same_way_every_time() -> None:
    assert request_token(TOKEN) == TOKEN
    short = request_token("job-7")
    assert short == request_token("job-7") and len(short) == 64 and short != request_token("job-8")


def test_cost_is_per_whole_megabyte_with_a_ten_megabyte_minimum() -> None:
    assert scan_cost(0, 5.0) == pytest.approx(10 * MiB / TiB * 5.0)
    assert scan_cost(10 * MiB + 1, 5.0) == pytest.approx(11 * MiB / TiB * 5.0)
    assert scan_cost(TiB, 5.0) == pytest.approx(5.0)
    assert scan_cost(2 * TiB, 6.25) == pytest.approx(12.5)
    assert scan_cost(TiB, 0.0) == 0.0


# --- the CSV neutraliser on its own -------------------------------------------------------------


class ChunkedBody:
    """An S3 body that can only be streamed (no read()), and records that it was closed."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size, self.closed = data, size, False

    def iter_chunks(self, chunk_size: int) -> Iterator[bytes]:
        for i in range(0, len(self.data), self.size):
            yield self.data[i : i + self.size]

    def close(self) -> None:
        self.closed = True


def test_the_copy_streams_the_object_chunk_by_chunk(clock: FakeClock) -> None:
    rows: list[list[str | None]] = [HEADER, ["=1", "-", "1", "2", "3", "x", "y"]]
    body = ChunkedBody(athena_csv(rows).encode(), 5)

    class S3:
        def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
            assert (Bucket, Key) == (BUCKET, f"athena/{QID}.csv")
            return {"Body": body}

    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    stub.add_response("get_query_results", page(rows, RATIO_TYPES), results_call())
    engine = AthenaEngine(
        make_settings(), athena_client=client, s3_client=S3(), clock=clock, sleep=clock.sleep
    )
    with stub:
        result = engine.run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    out = io.StringIO()
    assert result.csv_copier is not None
    result.csv_copier(out)
    assert out.getvalue().splitlines()[1].startswith('"\'=1","-",')
    assert body.closed and result.stats.rows == 1


FIELD = st.one_of(
    st.none(),
    st.sampled_from(["-", "=1+2", "+", "@x", "\t", "\r", "-5", 'a,"=b"', "x\n=y", '"-"', '-"', ""]),
    st.text(alphabet=st.sampled_from(list("ab,\"\n\r=-+@\t' é")), max_size=8),
)


@given(
    rows=st.lists(st.lists(FIELD, min_size=2, max_size=4), min_size=1, max_size=8),
    newline=st.sampled_from(["\n", "\r\n"]),
    seed=st.integers(0, 1000),
    trailing=st.booleans(),
)
def test_neutralised_csv_reads_back_as_safe_cell_would_write_it(
    rows: list[list[str | None]], newline: str, seed: int, trailing: bool
) -> None:
    data = athena_csv(rows, newline).encode()
    if not trailing:
        data = data[: -len(newline)]
    chunker = random.Random(seed)
    neutraliser = CsvNeutraliser()
    out, i = [], 0
    while i < len(data):
        size = chunker.randint(1, 9)
        out.append(neutraliser.feed(data[i : i + size]))
        i += size
    out.append(neutraliser.finish())
    parsed = list(csv.reader(io.StringIO("".join(out), newline="")))
    assert parsed == [[safe_cell(v) for v in row] for row in rows]
    assert neutraliser.records == len(rows)


def _reused(execution_response: dict[str, Any]) -> dict[str, Any]:
    """GetQueryExecution's answer for a query Athena answered from a stored result (2022-11-07 API)."""
    execution_response["QueryExecution"]["Statistics"]["ResultReuseInformation"] = {
        "ReusedPreviousResult": True
    }
    return execution_response


def test_result_reuse_is_asked_for_and_a_reused_answer_says_it_scanned_nothing(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    reuse = {"ResultReuseByAgeConfiguration": {"Enabled": True, "MaxAgeInMinutes": 60}}
    stub.add_response(
        "start_query_execution", {"QueryExecutionId": QID}, start_call(ResultReuseConfiguration=reuse)
    )
    stub.add_response("get_query_execution", _reused(execution("SUCCEEDED")), {"QueryExecutionId": QID})
    stub.add_response(
        "get_query_results", page([HEADER, ratio_row(IP, "10.0.0.2", 1)], RATIO_TYPES), results_call()
    )
    with stub:
        result = engine_with(client, clock, athena_result_reuse_minutes=60).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN)
        )
        list(result.batches())
    stub.assert_no_pending_responses()
    assert result.stats.reused and result.stats.cost_usd == 0.0
    assert scan_phrase(result.stats) == "reused Athena's stored result of the same query (nothing scanned)"


def test_with_reuse_on_the_query_text_differs_whenever_a_value_differs() -> None:
    """Athena reuses on an exact match of the query string; the parameters' digest keeps two questions
    with different values apart whatever Athena does with ExecutionParameters."""
    settings = make_settings(athena_result_reuse_minutes=5)
    texts = []
    for ip in (IP, "10.0.1.26", IP):
        request = ratio_request().model_copy(update={"params": {"ip": ip}})
        sql, parameters = to_athena(load_catalog()["ratio"].sql, settings, request.bindings())
        texts.append(with_fingerprint(sql, parameters))
    assert texts[0] == texts[2] and texts[0] != texts[1]
    first_lines = [t.splitlines()[0] for t in texts]
    assert all(re.fullmatch(r"-- flowbot parameters sha256:[0-9a-f]{64}", line) for line in first_lines)


def test_without_reuse_no_reuse_configuration_is_sent(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())  # exact keys
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QID})
    stub.add_response("get_query_results", page([HEADER], RATIO_TYPES), results_call())
    with stub:
        result = engine_with(client, clock).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN)
        )
        list(result.batches())
    stub.assert_no_pending_responses()
    assert not result.stats.reused


def test_a_failed_query_carries_what_it_scanned_and_cost(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    failed = execution("FAILED", reason="Query exhausted resources at this scale factor", scanned=3 * TiB)
    stub.add_response("get_query_execution", failed, {"QueryExecutionId": QID})
    with stub, pytest.raises(EngineError) as failure:
        engine_with(client, clock).run(load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN))
    spent = failure.value.stats
    assert spent is not None and spent.bytes_scanned == 3 * TiB and spent.cost_usd == pytest.approx(15.0)
    assert scan_phrase(spent) == "scanned 3.3 TB ($15.00)"  # bytes shown in SI units, billed per 2^40


def test_a_cancelled_query_reads_its_final_bill_after_stopping(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response(
        "get_query_execution", execution("RUNNING", scanned=100 * MiB), {"QueryExecutionId": QID}
    )
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    stub.add_response(
        "get_query_execution", execution("CANCELLED", scanned=150 * MiB), {"QueryExecutionId": QID}
    )
    asked = iter([False, True])
    with stub, pytest.raises(EngineError, match=r"^the query was cancelled$") as failure:
        engine_with(client, clock).run(
            load_catalog()["ratio"],
            ratio_request(),
            RunControl(token=TOKEN, should_cancel=lambda: next(asked)),
        )
    stub.assert_no_pending_responses()
    assert failure.value.stats is not None and failure.value.stats.bytes_scanned == 150 * MiB


def test_a_stopped_query_keeps_the_last_polled_bill_when_its_status_cannot_be_read(clock: FakeClock) -> None:
    client, stub = stubbed_athena()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, start_call())
    stub.add_response(
        "get_query_execution", execution("RUNNING", scanned=60_000_000), {"QueryExecutionId": QID}
    )
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    stub.add_client_error("get_query_execution", "InternalServerException", "oops", 500)
    with stub, pytest.raises(EngineError, match="more than 50,000,000 bytes") as failure:
        engine_with(client, clock, athena_bytes_scanned_cutoff=50_000_000).run(
            load_catalog()["ratio"], ratio_request(), RunControl(token=TOKEN)
        )
    assert failure.value.stats is not None and failure.value.stats.bytes_scanned == 60_000_000
