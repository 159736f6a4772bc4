"""The IOC store of record on both back ends: S3 (moto) and a real folder, with the same layout.

Every test that takes `objects` runs twice: once on `LocalObjectStore(tmp_path)`, once on
`S3ObjectStore` over moto's S3, so the two back ends are held to one behaviour.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import ValidationError

from bot.iocs.indicators import parse_indicator
from bot.iocs.objects import (
    LocalObjectStore,
    ObjectExists,
    ObjectMissing,
    ObjectStore,
    S3ObjectStore,
    object_store_for,
)
from bot.iocs.store import (
    AuditEvent,
    IocStore,
    Submission,
    TableDialect,
    read_table_row,
    table_row,
)
from bot.settings import Settings

REGION = "us-east-1"
BUCKET = "flowbot-iocs"
PREFIX = "incident/iocs"
T0 = datetime(2026, 11, 20, 13, 0, 0, 123456, tzinfo=UTC)
ANALYST = "U024BE7LH"
OTHER = "U0G9QF9C6"
CHANNEL = "C0123ABCD"
AWKWARD = 'Cobalt "Strike" beacon, seen at 03:12\r\nsecond line\\n C:\\temp\\x.exe\ttab, =cmd'


class FakeClock:
    """The store's clock for removals: fixed moments, advanced by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["local", "s3"])
def objects(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """The same tests on a real folder and on moto's S3 under a prefix."""
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "iocs")
        return
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        yield S3ObjectStore(client, BUCKET, PREFIX)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(hours=1))


@pytest.fixture
def store(objects: ObjectStore, clock: FakeClock) -> IocStore:
    return IocStore(objects, clock=clock)


def submission(
    indicator: str,
    comment: str = "",
    *,
    by: str = ANALYST,
    minutes: float = 0,
    channel: str | None = CHANNEL,
) -> Submission:
    return Submission.new(
        indicator,
        comment=comment,
        submitted_by=by,
        channel=channel,
        source="command",
        at=T0 + timedelta(minutes=minutes),
    )


# --- the object stores ----------------------------------------------------------------------------


def test_objects_are_write_once(objects: ObjectStore) -> None:
    objects.put_new("table/a.csv", b"one")
    with pytest.raises(ObjectExists):
        objects.put_new("table/a.csv", b"two")
    assert objects.get("table/a.csv") == b"one"


def test_objects_list_sorted_by_prefix_get_and_delete(objects: ObjectStore) -> None:
    for key in ["table/b__2.csv", "table/b__1.csv", "table/bb__1.csv", "audit/b/1_add.json", "x"]:
        objects.put_new(key, key.encode())
    assert objects.list("table/") == ["table/b__1.csv", "table/b__2.csv", "table/bb__1.csv"]
    assert objects.list("table/b__") == ["table/b__1.csv", "table/b__2.csv"]
    assert objects.list("audit/b/") == ["audit/b/1_add.json"]
    assert objects.list("") == sorted(
        ["audit/b/1_add.json", "table/b__1.csv", "table/b__2.csv", "table/bb__1.csv", "x"]
    )
    assert objects.list("nothing/") == []
    assert objects.get("table/b__2.csv") == b"table/b__2.csv"
    objects.delete("table/b__2.csv")
    objects.delete("table/b__2.csv")  # already gone: no error, removals may race
    assert objects.list("table/b__") == ["table/b__1.csv"]
    with pytest.raises(ObjectMissing):
        objects.get("table/b__2.csv")


@pytest.mark.parametrize("key", ["../x", "/abs", "a//b", ".tmp-1", "a/../b", "a/.hidden", "", "a b", "a\\b"])
def test_objects_refuse_keys_that_could_escape_or_hide(objects: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a valid object key"):
        objects.put_new(key, b"x")


def test_local_objects_leave_no_temporary_files(tmp_path: Path) -> None:
    local = LocalObjectStore(tmp_path)
    local.put_new("table/a.csv", b"data")
    with pytest.raises(ObjectExists):
        local.put_new("table/a.csv", b"other")
    assert sorted(p.name for p in (tmp_path / "table").iterdir()) == ["a.csv"]
    (tmp_path / "table" / ".tmp-abandoned").write_bytes(b"half")  # a writer that crashed mid-write
    assert local.list("table/") == ["table/a.csv"]


def test_s3_put_is_conditional() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET)
        s3 = S3ObjectStore(client, BUCKET, "p/")
        s3.put_new("table/a.csv", b"one")
        assert client.get_object(Bucket=BUCKET, Key="p/table/a.csv")["Body"].read() == b"one"
        # Another writer that went straight to S3 with If-None-Match is refused the same way.
        with pytest.raises(client.exceptions.ClientError, match="PreconditionFailed"):
            client.put_object(Bucket=BUCKET, Key="p/table/a.csv", Body=b"two", IfNoneMatch="*")
        with pytest.raises(ObjectExists):
            s3.put_new("table/a.csv", b"two")
        assert s3.get("table/a.csv") == b"one"


@pytest.mark.parametrize("listed", [False, True], ids=["removed", "refused"])
def test_s3_403_on_get_is_a_missing_object_only_when_a_listing_agrees(listed: bool) -> None:
    """Under a prefix-limited s3:ListBucket (bot/aws/iam.py), S3 answers a missing key with 403, not 404."""
    client = boto3.client("s3", region_name=REGION, aws_access_key_id="k", aws_secret_access_key="s")
    key = "p/table/a.csv"
    with Stubber(client) as s3:
        where = {"Bucket": BUCKET, "Key": key}
        s3.add_client_error("get_object", "AccessDenied", "Access Denied", 403, where)
        s3.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": key}] if listed else [], "KeyCount": int(listed)},
            {"Bucket": BUCKET, "Prefix": key, "MaxKeys": 1},
        )
        store = S3ObjectStore(client, BUCKET, "p/")
        if listed:  # the object is there: the refusal is real and must not be hidden
            with pytest.raises(client.exceptions.ClientError, match="AccessDenied"):
                store.get("table/a.csv")
        else:
            with pytest.raises(ObjectMissing):
                store.get("table/a.csv")
        s3.assert_no_pending_responses()


def test_object_store_for_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    local = object_store_for(Settings(ioc_store="~/iocs"))
    assert isinstance(local, LocalObjectStore)
    assert local.root == tmp_path / "iocs"
    with mock_aws():
        s3 = object_store_for(Settings(ioc_store="s3://flowbot-iocs/incident/iocs/", athena_region=REGION))
        assert isinstance(s3, S3ObjectStore)
        assert (s3.bucket, s3.prefix) == ("flowbot-iocs", "incident/iocs")
        bare = object_store_for(Settings(ioc_store="s3://flowbot-iocs", athena_region=REGION))
        assert isinstance(bare, S3ObjectStore)
        assert (bare.bucket, bare.prefix) == ("flowbot-iocs", "")


# --- submissions and the table's one-line CSV ---------------------------------------------------------


def test_submission_ids_are_unique_and_sort_by_time() -> None:
    first, second = submission("203.0.113.7"), submission("203.0.113.7", minutes=0.001)
    same_moment = submission("203.0.113.7")
    assert first.submission_id.startswith("20261120T130000123456Z-")
    assert len({first.submission_id, second.submission_id, same_moment.submission_id}) == 3
    assert first.submission_id < second.submission_id


def test_submission_validates_its_fields() -> None:
    good = submission("hxxp://203[.]0[.]113[.]7/", "c2")
    assert good.indicator == "203.0.113.7"  # canonical whatever was pasted
    with pytest.raises(ValidationError, match="Slack user ID"):
        submission("203.0.113.7", by="alice")
    with pytest.raises(ValidationError, match="Slack channel ID"):
        submission("203.0.113.7", channel="#general")
    with pytest.raises(ValidationError):
        submission("not-an-ip")
    with pytest.raises(ValueError, match="zone"):
        Submission.new(
            "203.0.113.7",
            comment="",
            submitted_by=ANALYST,
            channel=None,
            source="cli",
            at=datetime(2026, 1, 1),
        )
    assert submission("203.0.113.7", by="cli:alice.smith").submitted_by == "cli:alice.smith"
    assert submission("203.0.113.7", "a\nb\r\nc\u2028d\x00e").comment == "a b  c d e"


def test_table_row_is_exactly_one_quoted_line() -> None:
    sub = submission("10(.)1(.)0(.)0/16", AWKWARD)
    data = table_row(sub)
    text = data.decode()
    assert text.count("\n") == 1
    assert text.endswith("\n")
    comment = 'Cobalt "Strike" beacon, seen at 03:12  second line\\n C:\\temp\\x.exe tab, =cmd'
    assert sub.comment == comment
    quoted = comment.replace("\\", "\\\\").replace('"', '\\"')
    assert text == (
        f'"10.1.0.0/16","{quoted}","{ANALYST}","2026-11-20T13:00:00.123456Z","{CHANNEL}",'
        f'"command","{sub.submission_id}"\n'
    )
    rows = list(csv.reader(io.StringIO(text), TableDialect))
    assert rows == [
        [
            "10.1.0.0/16",
            comment,
            ANALYST,
            "2026-11-20T13:00:00.123456Z",
            CHANNEL,
            "command",
            sub.submission_id,
        ]
    ]
    assert read_table_row(data) == sub
    no_channel = submission("203.0.113.7", channel=None)
    assert read_table_row(table_row(no_channel)) == no_channel


# --- the store ------------------------------------------------------------------------------------


def test_add_then_known_stores_and_audits_every_submission(store: IocStore, objects: ObjectStore) -> None:
    first = submission("203.0.113.7", "C2 from the phishing payload")
    again = submission("203[.]0[.]113[.]7", "+1, also in proxy logs", by=OTHER, minutes=5)
    other = submission("2600:1f18::1", minutes=6)
    outcomes = store.add([first, again, other])
    assert [(o.indicator, o.outcome) for o in outcomes] == [
        ("203.0.113.7", "added"),
        ("203.0.113.7", "known"),
        ("2600:1f18::1", "added"),
    ]
    assert objects.list("table/") == sorted(
        [
            f"table/203.0.113.7__{first.submission_id}.csv",
            f"table/203.0.113.7__{again.submission_id}.csv",
            f"table/2600-1f18--1__{other.submission_id}.csv",
        ]
    )
    assert objects.list("audit/") == sorted(
        [
            f"audit/203.0.113.7/{first.submission_id}_add.json",
            f"audit/203.0.113.7/{again.submission_id}_add.json",
            f"audit/2600-1f18--1/{other.submission_id}_add.json",
        ]
    )
    event = json.loads(objects.get(f"audit/203.0.113.7/{again.submission_id}_add.json"))
    assert event == {
        "action": "add",
        "indicator": "203.0.113.7",
        "actor": OTHER,
        "at": "2026-11-20T13:05:00.123456Z",
        "channel": CHANNEL,
        "source": "command",
        "comment": "+1, also in proxy logs",
        "submission_id": again.submission_id,
    }


def test_active_keeps_every_submission(store: IocStore) -> None:
    first = submission("203.0.113.7", "", minutes=0)
    explained = submission("203.0.113.7", "C2 beacon", by=OTHER, minutes=2)
    later = submission("203.0.113.7", "+1", minutes=9)
    wide = submission("198.51.100.0/24", "scanner range", minutes=1)
    store.add([later, wide, first, explained])  # out of order: the ids decide
    active = store.active()
    assert [a.indicator for a in active] == ["203.0.113.7", "198.51.100.0/24"]
    ip = active[0]
    assert ip.submissions == (first, explained, later)
    assert ip.comment == "C2 beacon"  # the first comment that says something
    assert ip.first == first
    assert ip.first_submitted == T0
    assert ip.last_submitted == T0 + timedelta(minutes=9)
    assert active[1].submissions == (wide,)


def test_remove_deletes_every_submission_and_is_audited(store: IocStore, objects: ObjectStore) -> None:
    store.add([submission("203.0.113.7", "c2"), submission("203.0.113.7", "+1", by=OTHER, minutes=1)])
    store.add([submission("198.51.100.9", "scanner", minutes=2)])
    removed = store.remove("203[.]0[.]113[.]7", actor=OTHER, channel=CHANNEL, source="command", comment="FP")
    assert removed == 2
    assert [a.indicator for a in store.active()] == ["198.51.100.9"]
    assert objects.list("table/203.0.113.7__") == []
    history = store.history("203.0.113.7")
    assert [(e.action, e.actor) for e in history] == [("add", ANALYST), ("add", OTHER), ("remove", OTHER)]
    removal = history[-1]
    assert removal.comment == "FP"
    assert removal.at == T0 + timedelta(hours=1)
    assert removal.submission_id.startswith("20261120T140000123456Z-")


def test_removing_an_unknown_indicator_changes_nothing(store: IocStore, objects: ObjectStore) -> None:
    assert store.remove("203.0.113.7", actor=ANALYST, channel=None, source="cli") == 0
    assert objects.list("") == []
    assert store.history("203.0.113.7") == []


def test_an_add_older_than_a_removal_lands_before_it(store: IocStore, clock: FakeClock) -> None:
    """A slow add whose id is older than a removal is removed, by itself if the remover missed it."""
    store.add([submission("203.0.113.7", "c2")])
    clock.now = T0 + timedelta(minutes=10)
    assert store.remove("203.0.113.7", actor=OTHER, channel=CHANNEL, source="modal") == 1
    late = submission("203.0.113.7", "submitted at 13:05, stored after the 13:10 removal", minutes=5)
    newer = submission("203.0.113.7", "after the removal", minutes=15)
    outcomes = store.add([late, newer])
    assert [o.outcome for o in outcomes] == ["removed", "added"]
    assert [a.submissions for a in store.active()] == [(newer,)]
    assert [e.action for e in store.history("203.0.113.7")] == ["add", "add", "remove", "add"]


def test_add_is_idempotent_for_one_submission(store: IocStore, objects: ObjectStore) -> None:
    sub = submission("203.0.113.7", "c2")
    assert [o.outcome for o in store.add([sub])] == ["added"]
    objects.delete(objects.list("table/")[0])  # as if the first attempt died after its audit event
    assert [o.outcome for o in store.add([sub])] == ["added"]
    assert [o.outcome for o in store.add([sub])] == ["added"]
    assert len(objects.list("table/")) == 1
    assert len(store.history("203.0.113.7")) == 1
    clash = sub.model_copy(update={"comment": "a different submission with the same id"})
    with pytest.raises(ObjectExists):
        store.add([clash])


def test_history_is_per_indicator_and_oldest_first(store: IocStore) -> None:
    store.add([submission("203.0.113.7", "b", minutes=3), submission("203.0.113.7", "a", minutes=1)])
    store.add([submission("203.0.113.70", "other", minutes=2)])  # its slug starts the same way
    history = store.history(parse_indicator("203.0.113.7"))
    assert [e.comment for e in history] == ["a", "b"]
    assert all(isinstance(e, AuditEvent) and e.indicator == "203.0.113.7" for e in history)


def test_foreign_and_broken_objects_are_skipped(store: IocStore, objects: ObjectStore) -> None:
    store.add([submission("203.0.113.7", "c2")])
    objects.put_new("table/manual-upload.csv", b'"198.51.100.1","uploaded by hand"\n')
    objects.put_new(f"table/192.0.2.1__{submission('192.0.2.1').submission_id}.csv", b"not,a,row\n")
    assert [a.indicator for a in store.active()] == ["203.0.113.7"]


def test_export_csv_one_row_per_indicator_spreadsheet_safe(store: IocStore) -> None:
    store.add(
        [
            submission("203.0.113.7", '=HYPERLINK("http://evil")', minutes=0),
            submission("203.0.113.7", "+1", by=OTHER, minutes=1),
            submission("2600:1f18::/48", AWKWARD, minutes=2),
        ]
    )
    out = io.StringIO()
    assert store.export_csv(out) == 2
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows == [
        ["threat_ip", "threat_comment", "first_submitted_by", "first_submitted_at", "submissions"],
        ["203.0.113.7", '\'=HYPERLINK("http://evil")', ANALYST, "2026-11-20 13:00:00.123456+00:00", "2"],
        [
            "2600:1f18::/48",
            'Cobalt "Strike" beacon, seen at 03:12  second line\\n C:\\temp\\x.exe tab, =cmd',
            ANALYST,
            "2026-11-20 13:02:00.123456+00:00",
            "1",
        ],
    ]


def test_export_of_an_empty_store_is_a_header(store: IocStore) -> None:
    out = io.StringIO()
    assert store.export_csv(out) == 0
    assert out.getvalue() == "threat_ip,threat_comment,first_submitted_by,first_submitted_at,submissions\n"


def test_the_local_engine_reads_the_table_folder_as_athena_would(tmp_path: Path) -> None:
    """DuckDB with the serde's quote and escape characters reads every submission back, commas and all."""
    store = IocStore(LocalObjectStore(tmp_path))
    store.add([submission("203.0.113.7", AWKWARD), submission("2600:1f18::/48", "plain", minutes=1)])
    relation = duckdb.sql(
        f"SELECT column0 AS threat_ip, column1 AS threat_comment FROM read_csv('{tmp_path}/table/*.csv', "
        "header = false, quote = '\"', escape = '\\', all_varchar = true) ORDER BY threat_ip"
    )
    assert relation is not None
    rows = relation.fetchall()
    assert rows == [
        ("203.0.113.7", 'Cobalt "Strike" beacon, seen at 03:12  second line\\n C:\\temp\\x.exe tab, =cmd'),
        ("2600:1f18::/48", "plain"),
    ]
