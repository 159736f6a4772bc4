"""The incident evidence log (bot/evidence/): its record, its write-once store on a folder and on moto's S3,
the worker's hook that fills it, and `/flow evidence`'s words."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from bot.evidence.recorder import EvidenceRecorder, evidence_store_for, running
from bot.evidence.records import CSV_COLUMNS, EvidenceLog, EvidenceRecord, write_csv, write_jsonl
from bot.evidence.request import EvidenceRequest
from bot.iocs.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from bot.parse.evidence import parse_evidence
from bot.parse.in_channel import parse_in_channel
from bot.query.catalog import load_catalog
from bot.query.results import ScanStats, SentQuery, scan_cost
from bot.request import FlowRequest, ReplyTarget, Window
from bot.settings import Settings
from bot.words import CommandError
from bot.worker.evidence_export import summary_line

REGION = "us-east-1"
BUCKET = "flowbot-iocs"
ASKED = datetime(2026, 11, 20, 13, 0, 0, 123456, tzinfo=UTC)
NOW = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
SHA = "ab" * 32
END = ASKED.replace(microsecond=0)


def _request(text: str = "ratio 10.0.1.25 --last 6h") -> FlowRequest:
    return FlowRequest(
        query="ratio",
        params={"ip": "10.0.1.25"},
        window=Window(start=END - timedelta(hours=6), end=END),
        limit=10_000,
        text=text,
    )


def _target(channel: str = "C0INC", job: str = "0123456789abcdef0123456789abcdef") -> ReplyTarget:
    return ReplyTarget(team_id="T0001", channel_id=channel, user_id="U0AAA", job_id=job)


def _record(**changes: object) -> EvidenceRecord:
    values: dict[str, object] = {
        "team_id": "T0001",
        "channel_id": "C0INC",
        "job_id": "0123456789abcdef0123456789abcdef",
        "outcome": "answered",
        "asked_by": "U0AAA",
        "asked_at": ASKED,
        "started_at": ASKED + timedelta(seconds=1),
        "finished_at": ASKED + timedelta(seconds=3),
        "command": "ratio 10.0.1.25 --last 6h",
        "template": "ratio",
        "engine": "athena",
        "sql": "SELECT srcaddr FROM vpcflow WHERE srcaddr = ? LIMIT 10",
        "sql_parameters": ["'10.0.1.25'"],
        "parameters": {"ip": "10.0.1.25", "limit": 10},
        "query_id": "3f1c9a0e-1111-2222-3333-444455556666",
        "bytes_scanned": 123_456_789,
        "cost_usd": 0.0006,
        "rows": 17,
        "csv_sha256": SHA,
        "permalink": "https://example.slack.com/archives/C0INC/p1",
    }
    values.update(changes)
    return EvidenceRecord.model_validate(values)


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """The same tests on a folder and on moto's S3 under a prefix (the IOC store's two back ends)."""
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "store")
        return
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield S3ObjectStore(client, BUCKET, "incident/iocs")


# The record


def test_a_record_is_kept_under_its_channel_asked_time_job_and_outcome() -> None:
    record = _record()
    assert (
        record.key
        == "evidence/T0001/C0INC/20261120T130000123456Z-0123456789abcdef0123456789abcdef.answered.json"
    )
    assert _record(outcome="failed").key.endswith(".failed.json")
    again = EvidenceRecord.model_validate_json(record.line())
    assert again == record
    assert b"\n" not in record.line()
    assert json.loads(record.line())["asked_at"] == "2026-11-20T13:00:00.123456Z"


def test_a_record_refuses_what_could_climb_out_of_its_folder_or_is_no_digest() -> None:
    with pytest.raises(ValidationError):
        _record(channel_id="../C0INC")
    with pytest.raises(ValidationError):
        _record(job_id="a/b")
    with pytest.raises(ValidationError):
        _record(csv_sha256="not-a-digest")
    with pytest.raises(ValidationError):
        _record(asked_at=datetime(2026, 11, 20, 13, 0))  # no zone: not a moment


def test_the_csv_row_has_the_sql_and_its_values_in_columns() -> None:
    out = io.StringIO()
    write_csv(out, [_record(command="=cmd|' /C calc'!A0")])
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(header) == CSV_COLUMNS
    cells = dict(zip(header, row, strict=True))
    assert cells["sql"] == "SELECT srcaddr FROM vpcflow WHERE srcaddr = ? LIMIT 10"
    assert json.loads(cells["sql_parameters"]) == ["'10.0.1.25'"]
    assert json.loads(cells["parameters"]) == {"ip": "10.0.1.25", "limit": 10}
    assert cells["bytes_scanned"] == "123456789" and cells["csv_sha256"] == SHA
    assert cells["command"].startswith("'=")  # a spreadsheet would evaluate it
    lines = io.StringIO()
    write_jsonl(lines, [_record().line()])
    assert EvidenceRecord.model_validate_json(lines.getvalue().splitlines()[0]) == _record()


# The store


def test_an_entry_is_written_once_and_a_rerun_leaves_it(objects: ObjectStore) -> None:
    log = EvidenceLog(objects)
    first = _record()
    assert log.write(first)
    assert not log.write(_record(finished_at=ASKED + timedelta(minutes=5), rows=99))  # the same job, re-run
    assert objects.list("evidence/") == [first.key]
    ((kept, line),) = log.channel("T0001", "C0INC")
    assert kept == first and line == first.line()
    assert log.write(_record(outcome="cancelled"))  # another outcome of the job is another entry
    assert len(objects.list("evidence/")) == 2


def test_a_channel_reads_only_its_own_entries_in_its_window(objects: ObjectStore) -> None:
    log = EvidenceLog(objects)
    ids = [f"{n:032x}" for n in range(4)]
    log.write(_record(job_id=ids[0]))
    log.write(_record(job_id=ids[1], asked_at=ASKED + timedelta(days=1)))
    log.write(_record(job_id=ids[2], channel_id="C0OTHER"))
    log.write(_record(job_id=ids[3], team_id="T0002"))
    assert [r.job_id for r, _ in log.channel("T0001", "C0INC")] == ids[:2]
    assert [r.job_id for r, _ in log.channel("T0001", "C0OTHER")] == [ids[2]]
    later = ASKED + timedelta(hours=1)
    assert [r.job_id for r, _ in log.channel("T0001", "C0INC", start=later)] == [ids[1]]
    assert [r.job_id for r, _ in log.channel("T0001", "C0INC", end=later)] == [ids[0]]
    assert log.channel("T0001", "C0NONE") == []


def test_an_entry_that_is_not_its_folders_is_never_shown(objects: ObjectStore) -> None:
    """A record of another channel placed in this one's folder (by hand, by a bug) is skipped."""
    foreign = _record(channel_id="C0OTHER")
    objects.put_new(foreign.key.replace("/C0OTHER/", "/C0INC/"), foreign.line())
    objects.put_new("evidence/T0001/C0INC/20261120T130000123456Z-junk.answered.json", b"{not json")
    objects.put_new("evidence/T0001/C0INC/notes.txt", b"hello")
    assert EvidenceLog(objects).channel("T0001", "C0INC") == []


def test_the_store_is_the_ioc_stores_unless_one_is_named(tmp_path: Path) -> None:
    beside = evidence_store_for(Settings(ioc_store=str(tmp_path / "iocs"), evidence_store=None))
    assert isinstance(beside, LocalObjectStore) and beside.root == tmp_path / "iocs"
    own = evidence_store_for(Settings(ioc_store=str(tmp_path / "iocs"), evidence_store=str(tmp_path / "ev")))
    assert isinstance(own, LocalObjectStore) and own.root == tmp_path / "ev"
    with mock_aws():
        s3 = evidence_store_for(
            Settings(evidence_store="s3://flowbot-audit/incidents/", athena_region=REGION)
        )
        assert isinstance(s3, S3ObjectStore) and (s3.bucket, s3.prefix) == ("flowbot-audit", "incidents")
    with pytest.raises(ValidationError):
        Settings(evidence_store="s3://Not_A_Bucket/x")


# The worker's hook


def _recorder(
    tmp_path: Path, engine: str = "athena", **settings: object
) -> tuple[EvidenceRecorder, LocalObjectStore]:
    store = LocalObjectStore(tmp_path / "evidence")
    configured = Settings(engine=engine, athena_price_per_tb=5.0, **settings)  # type: ignore[arg-type]
    clock = iter(ASKED + timedelta(seconds=n) for n in range(1, 100))
    recorder = EvidenceRecorder(
        configured,
        _request(),
        _target(),
        asked_at=ASKED,
        confirmed_by="U0BOSS",
        store=lambda _: store,
        clock=lambda: next(clock),
    )
    return recorder, store


def test_the_hook_keeps_athenas_positional_sql_query_id_cost_and_the_uploaded_csvs_digest(
    tmp_path: Path,
) -> None:
    recorder, store = _recorder(tmp_path)
    recorder.on_sent(SentQuery("SELECT 1 WHERE a = ? AND b = ?", positional=("'10.0.1.25'", "1763600000")))
    recorder.on_start("q-123")
    recorder.delivered(SHA, "https://example.slack.com/archives/C0INC/p9")
    stats = ScanStats(rows=17, bytes_scanned=50 << 20, cost_usd=None)
    recorder.record("answered", stats=stats)
    ((entry, _),) = EvidenceLog(store).channel("T0001", "C0INC")
    assert entry.sql == "SELECT 1 WHERE a = ? AND b = ?"
    assert entry.sql_parameters == ["'10.0.1.25'", "1763600000"]
    assert entry.query_id == "q-123" and entry.engine == "athena"
    assert entry.bytes_scanned == 50 << 20 and entry.rows == 17
    assert entry.cost_usd == pytest.approx(scan_cost(50 << 20, 5.0))
    assert entry.csv_sha256 == SHA and entry.permalink == "https://example.slack.com/archives/C0INC/p9"
    assert (entry.asked_by, entry.confirmed_by) == ("U0AAA", "U0BOSS")
    assert entry.asked_at == ASKED and entry.started_at < entry.finished_at  # type: ignore[operator]
    assert entry.parameters["ip"] == "10.0.1.25" and entry.parameters["limit"] == 10_000
    assert entry.parameters["from_ts"] == int((END - timedelta(hours=6)).timestamp())
    assert running("0123456789abcdef0123456789abcdef") is None  # kept: no longer this process's to report


def test_the_hook_keeps_duckdbs_named_values_and_the_local_token_and_no_cost(tmp_path: Path) -> None:
    recorder, store = _recorder(tmp_path, engine="local")
    recorder.on_sent(SentQuery("SELECT $ip", named=(("ip", "10.0.1.25"), ("limit", 10))))
    recorder.record("answered", stats=ScanStats(rows=3, bytes_scanned=1000))
    ((entry, _),) = EvidenceLog(store).channel("T0001", "C0INC")
    assert entry.sql_parameters == {"ip": "10.0.1.25", "limit": 10}
    assert entry.query_id == "0123456789abcdef0123456789abcdef"  # the job id, the local engine's token
    assert entry.cost_usd is None and entry.bytes_scanned == 1000


def test_the_hook_keeps_one_entry_per_outcome_and_never_raises(tmp_path: Path) -> None:
    recorder, store = _recorder(tmp_path)
    assert running("0123456789abcdef0123456789abcdef") is recorder
    recorder.record("failed", reason="Athena could not run the query: boom")
    recorder.record("answered")  # a later word in the same run is not a second entry
    (key,) = store.list("evidence/")
    assert key.endswith(".failed.json")
    again, _ = _recorder(tmp_path)  # the job run again to the same outcome
    again.record("failed", reason="again")
    assert store.list("evidence/") == [key]
    assert EvidenceLog(store).channel("T0001", "C0INC")[0][0].reason == "Athena could not run the query: boom"

    def broken(_: Settings) -> ObjectStore:
        raise OSError("the store is down")

    failing = EvidenceRecorder(Settings(), _request(), _target(job="f" * 32), asked_at=ASKED, store=broken)
    failing.record("answered")  # logged, not raised


def test_a_switched_off_log_keeps_nothing(tmp_path: Path) -> None:
    recorder, store = _recorder(tmp_path, evidence_enabled=False)
    recorder.record("answered")
    assert store.list("evidence/") == []


# `/flow evidence`


def test_evidence_alone_is_every_entry_and_options_bound_it() -> None:
    assert parse_evidence([], NOW) == EvidenceRequest()
    last = parse_evidence(["--last", "7d"], NOW)
    assert (last.start, last.end, last.text) == (NOW - timedelta(days=7), None, "evidence --last 7d")
    span = parse_evidence(["--from", "2026-11-19", "--to=2026-11-20T06:00Z"], NOW)
    assert (span.start, span.end) == (
        datetime(2026, 11, 19, tzinfo=UTC),
        datetime(2026, 11, 20, 6, tzinfo=UTC),
    )
    assert parse_evidence(["--last", "999999w"], NOW).start is None  # further back than time itself
    assert "since 2026-11-14 09:30 UTC" == last.describe()


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (["now"], "unexpected `now`"),
        (["--limit", "3"], "unexpected `--limit`"),
        (["--last"], "--last needs a value"),
        (["--last", "7d", "--from", "2026-11-19"], "either --last or --from/--to"),
        (["--to", "2026-11-19"], "--to needs --from"),
        (["--from", "2026-11-20", "--to", "2026-11-19"], "--from must be before --to"),
        (["--last", "7d", "--last", "1d"], "--last is given twice"),
        (["--last", "soon"], "--last takes a duration"),
    ],
)
def test_evidence_refuses_what_it_cannot_read_in_one_line(words: list[str], said: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_evidence(words, NOW)
    assert said in str(caught.value)


def test_the_channel_parser_routes_evidence() -> None:
    parsed = parse_in_channel("evidence --last 24h", load_catalog(), Settings(), NOW)
    assert isinstance(parsed, EvidenceRequest) and parsed.start == NOW - timedelta(hours=24)


def test_the_summary_line_counts_queries_bytes_and_dollars() -> None:
    ask = EvidenceRequest()
    records = [_record(bytes_scanned=1_000_000, cost_usd=0.25), _record(outcome="failed", cost_usd=0.5)]
    line = summary_line(records, "C0INC", ask)
    assert "2 queries, 124.5 MB scanned, $0.75 (answered 1, failed 1)" in line
    assert "no queries" in summary_line([], "C0INC", ask)
    local = summary_line([_record(engine="local", cost_usd=None)], "C0INC", ask)
    assert "1 query" in local and "$0 (local engine)" in local


def test_the_export_job_the_app_enqueues_by_name_is_the_workers() -> None:
    import importlib

    from bot.queue.enqueue import EVIDENCE_JOB

    module, _, name = EVIDENCE_JOB.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name))


def test_athena_tells_the_hook_exactly_the_sql_and_parameters_it_sends(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The SentQuery the hook hears is what StartQueryExecution received (the Stubber checks the call)."""
    from bot.query.engines.athena import to_athena
    from bot.query.engines.base import EngineError, RunControl
    from tests.conftest import fake_aws_environment
    from tests.unit.test_athena_engine import (
        IP,
        QID,
        TOKEN,
        FakeClock,
        engine_with,
        execution,
        make_settings,
        ratio_request,
        start_call,
        stubbed_athena,
    )
    from tests.unit.test_athena_engine import (
        REGION as ATHENA_REGION,
    )

    fake_aws_environment(monkeypatch, tmp_path, ATHENA_REGION)
    template, request = load_catalog()["ratio"], ratio_request()
    sql, parameters = to_athena(template.sql, make_settings(), request.bindings())
    client, stub = stubbed_athena()
    sent = start_call(QueryString=sql, ExecutionParameters=parameters)
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, sent)
    stub.add_response("get_query_execution", execution("FAILED", reason="boom"), {"QueryExecutionId": QID})
    heard: list[SentQuery] = []
    started: list[str] = []
    control = RunControl(token=TOKEN, on_sent=heard.append, on_start=started.append)
    with stub, pytest.raises(EngineError):
        engine_with(client, FakeClock()).run(template, request, control)
    assert heard == [SentQuery(sql, positional=tuple(parameters))] and started == [QID]
    assert "?" in sql and IP not in sql
