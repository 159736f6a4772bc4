"""Flowbot's real AWS code paths, signed by an IAM user holding ONLY the generated runtime policy, on moto
with its IAM enforcement switched on (`moto.core.enable_iam_authentication`).

What moto enforces, precisely (moto 5.2.5; read from moto/core/authorization.py and
moto/iam/access_control.py, and shown by the tests below):
- Every request is authenticated: the access key must belong to an IAM user and the SigV4 signature
  must match; then the user's attached and inline policies are evaluated (Allow, explicit Deny).
- S3: action AND resource. Object calls are checked on `arn:aws:s3:::bucket/key` (GetObject,
  PutObject, DeleteObject), bucket calls on `arn:aws:s3:::bucket` (ListObjectsV2 is s3:ListBucket, as in
  S3; moto 5.2.6 checked it as "s3:ListObjectsV2", which is why the lock excludes that release:
  `test_moto_authorises_a_listing_as_s3_does`).
  Conditions are NOT evaluated: moto implements only StringEquals, and only with values it is handed,
  which it never is for S3. So the `s3:prefix` limit on s3:ListBucket is not enforced here (the unit
  tests check it with their own evaluator), and moto answers a missing key with NoSuchKey whatever the
  caller may list, where S3 may answer 403 (see bot/aws/iam.py).
- Athena: action only. moto checks every Athena call against the resource "*", so a statement scoped
  to the workgroup ARN never matches there and moto refuses it (the first test shows this). The tests
  therefore widen the Athena statement's Resource to "*" (its actions untouched): that proves the
  action list, not the workgroup scoping, which only real IAM can check.
- OAuth mode's installation store: slack_sdk's S3 stores as bot/slack/installations.py builds them
(installations under `prefix/installations/<client id>/`, states under `prefix/states/`) save, find and delete
  installations and issue and consume states, signed by the same user: object calls are checked on their
  keys, and the store's ListObjects (v1: the deletions) as s3:ListBucket, like ListObjectsV2.
- Glue: not exercised at all. Flowbot never calls Glue itself; Athena does, with the caller's
  credentials, and moto's Athena runs no SQL and never calls Glue. Neither are the S3 reads and writes
  Athena makes for a query (flow logs, the IOC table, the result file): moto writes the result file
  from inside its backend, unchecked. Those grants rest on the AWS documentation, not on this test.
"""

from __future__ import annotations

import copy
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID, enable_iam_authentication

from bot.aws.iam import runtime_policy
from bot.iocs.objects import ObjectExists, ObjectMissing, object_store_for
from bot.iocs.store import IocStore, Submission
from bot.query.catalog import load_catalog
from bot.query.engines.athena import AthenaEngine
from bot.query.engines.base import EngineError, RunControl
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.slack.installations import bot_client, find_bot, installation_store, state_store
from tests.conftest import fake_aws_environment
from tests.slack_installations import installation

REGION = "us-east-1"
RESULTS = "flowbot-results"
IOCS = "flowbot-iocs"
SLACK = "flowbot-slack"
CLIENT_ID = "1111111111.2222222222"
T1, E1 = "T0AAA0001", "E0ORG0001"
RATIO = load_catalog()["ratio"]
HEADER = [c.name for c in RATIO.columns]
ROW = ["10.0.1.25", "203.0.113.66", "7", "700", "100", "2026/11/19 00:00:00", "2026/11/19 01:00:00"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_", "AWS_"))


SETTINGS = Settings(
    engine="athena",
    athena_region=REGION,
    athena_workgroup="flowbot",
    athena_database="flowbot",
    flow_logs_bucket="flowbot-flow-logs",
    athena_output_location=f"s3://{RESULTS}/athena/",
    ioc_store=f"s3://{IOCS}/iocs",
    athena_poll_seconds=0.01,
    query_timeout_seconds=60,
)
OAUTH = SETTINGS.model_copy(
    update={
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": "client-secret-for-tests",  # a test value
        "installation_store": f"s3://{SLACK}/oauth",
        "allowed_teams": (T1, E1),
        "slack_scopes": ("chat:write", "commands"),
    }
)
"""OAuth mode, its installations on S3 under a prefix."""


def refusal(exc: BaseException) -> tuple[str, str]:
    """The operation refused and `Code: message` of the AWS error behind `exc` (moto sends Athena's
    refusals as XML inside the message)."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__
    assert isinstance(cause, ClientError), f"no AWS error behind {exc!r}"
    error = cause.response.get("Error", {})
    code, message = str(error.get("Code")), str(error.get("Message"))
    xml = re.search(r"<Code>(.*?)</Code><Message>(.*?)</Message>", message)
    return cause.operation_name, f"{xml.group(1)}: {xml.group(2)}" if xml else f"{code}: {message}"


def moto_view(policy: dict[str, Any]) -> dict[str, Any]:
    """moto checks Athena calls against resource "*" only: widen the Athena statement's resource."""
    widened = copy.deepcopy(policy)
    for statement in widened["Statement"]:
        if all(a.startswith("athena:") for a in statement["Action"]):
            statement["Resource"] = "*"
    return widened


def without(policy: dict[str, Any], sid: str, action: str | None = None) -> dict[str, Any]:
    """The policy less one statement, or less one action of it."""
    smaller = copy.deepcopy(policy)
    kept = []
    for statement in smaller["Statement"]:
        if statement["Sid"] == sid and action is not None:
            statement["Action"] = [a for a in statement["Action"] if a != action]
            kept.append(statement)
        elif statement["Sid"] != sid:
            kept.append(statement)
    assert len(kept) == len(smaller["Statement"]) - (action is None)
    smaller["Statement"] = kept
    return smaller


class Aws:
    """moto's AWS with the buckets and workgroup in place; `become` signs every later call as a user."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.iam = boto3.client("iam", region_name=REGION)
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (RESULTS, IOCS, SLACK, "flowbot-flow-logs"):
            s3.create_bucket(Bucket=bucket)
        boto3.client("athena", region_name=REGION).create_work_group(Name="flowbot", Configuration={})
        self.users = 0

    def become(self, policy: dict[str, Any]) -> None:
        """A new IAM user with only `policy`; its key becomes the process's AWS credentials."""
        self.users += 1
        name = f"flowbot-{self.users}"
        self.iam.create_user(UserName=name)
        arn = self.iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        self.monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        self.monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        boto3.setup_default_session()  # the default session caches the credentials it first found


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    with mock_aws():
        try:
            yield Aws(monkeypatch)
        finally:
            boto3.DEFAULT_SESSION = None


def policy() -> dict[str, Any]:
    return runtime_policy(SETTINGS, account=DEFAULT_ACCOUNT_ID)


def queue_result() -> None:
    """moto runs no SQL: the next execution returns this header and row (and writes them as its CSV)."""
    athena_backends[DEFAULT_ACCOUNT_ID][REGION].query_results_queue.append(
        QueryResults(
            rows=[{"Data": [{"VarCharValue": v} for v in row]} for row in (HEADER, ROW)],
            column_info=[{"Name": c.name, "Type": c.type} for c in RATIO.columns],
        )
    )


def request() -> FlowRequest:
    return FlowRequest(
        query="ratio",
        params={"ip": "10.0.1.25"},
        window=Window(start=datetime(2026, 11, 19, tzinfo=UTC), end=datetime(2026, 11, 20, tzinfo=UTC)),
        limit=100,
        text="ratio 10.0.1.25",
    )


def run_query() -> tuple[list[Any], str, str]:
    """A query to completion, as a worker runs it: its rows, its result CSV, and its execution id."""
    queue_result()
    engine = AthenaEngine(SETTINGS)  # clients built from the environment, as in the pods
    started: list[str] = []
    result = engine.run(
        RATIO, request(), RunControl(token="0123456789abcdef0123456789abcdef", on_start=started.append)
    )
    rows = [row for batch in result.batches() for row in batch]
    out = io.StringIO()
    assert result.csv_copier is not None
    result.csv_copier(out)
    return rows, out.getvalue(), started[0]


def test_moto_checks_athena_against_resource_star_only(aws: Aws) -> None:
    """Why Athena's resource is widened below: as generated (workgroup-scoped), moto refuses the call.
    If this starts failing, moto checks Athena resources and `moto_view` should go."""
    aws.become(policy())
    with enable_iam_authentication(), pytest.raises(EngineError) as failure:
        AthenaEngine(SETTINGS).run(RATIO, request())
    assert re.fullmatch(
        r"AccessDenied: User: .*user/flowbot-1 is not authorized to perform: athena:StartQueryExecution",
        refusal(failure.value)[1],
    )


def test_moto_authorises_a_listing_as_s3_does(aws: Aws) -> None:
    """The pin on moto (pyproject.toml, `moto[server]!=5.2.6`) rests on this: S3 authorises ListObjectsV2
    as the IAM action s3:ListBucket ("You must have permission to perform the s3:ListBucket action", S3 API
    Reference, ListObjectsV2), and the Service Authorization Reference for S3 lists no s3:ListObjectsV2
    action. moto 5.2.6 checks the API operation name instead, which refuses every policy written for real
    S3, ours included. If this fails after an upgrade, that moto got it wrong again: exclude it there."""
    listing = {"Bucket": IOCS, "Prefix": "iocs/table/", "EncodingType": "url"}  # as botocore sends it
    grant = {"Effect": "Allow", "Resource": f"arn:aws:s3:::{IOCS}"}
    aws.become({"Version": "2012-10-17", "Statement": [{**grant, "Action": "s3:ListBucket"}]})
    with enable_iam_authentication():
        assert boto3.client("s3", region_name=REGION).list_objects_v2(**listing)["KeyCount"] == 0
    aws.become({"Version": "2012-10-17", "Statement": [{**grant, "Action": "s3:ListObjectsV2"}]})
    with enable_iam_authentication(), pytest.raises(ClientError) as refused:
        boto3.client("s3", region_name=REGION).list_objects_v2(**listing)
    assert refusal(refused.value) == ("ListObjectsV2", "AccessDenied: Access Denied")


def test_every_call_flowbot_makes_is_allowed_by_the_runtime_policy(aws: Aws) -> None:
    aws.become(moto_view(policy()))
    with enable_iam_authentication():
        rows, csv_text, query_id = run_query()
        assert rows == [
            ("10.0.1.25", "203.0.113.66", 7, 700, 100, "2026/11/19 00:00:00", "2026/11/19 01:00:00")
        ]
        assert csv_text.splitlines()[1].startswith('"10.0.1.25","203.0.113.66"')

        engine = AthenaEngine(SETTINGS)
        engine.cancel(query_id)  # StopQueryExecution (raises on AccessDenied, unlike _stop_quietly)
        with pytest.raises(EngineError, match="cancelled"):
            engine.run(RATIO, request(), RunControl(should_cancel=lambda: True))

        objects = object_store_for(SETTINGS)  # the S3 store, its client built from the environment
        objects.put_new("table/probe.csv", b"203.0.113.7,c2\n")
        with pytest.raises(ObjectExists):  # the conditional PUT's 412 comes back, not AccessDenied
            objects.put_new("table/probe.csv", b"again")
        assert objects.get("table/probe.csv") == b"203.0.113.7,c2\n"
        assert objects.list("table/") == ["table/probe.csv"]
        objects.delete("table/probe.csv")
        assert objects.list("") == []
        with pytest.raises(ObjectMissing):
            objects.get("table/probe.csv")

        store = IocStore(objects)
        added = Submission.new("203.0.113.7", comment="c2", submitted_by="U123", channel=None, source="cli")
        assert [o.outcome for o in store.add([added])] == ["added"]
        assert [a.indicator for a in store.active()] == ["203.0.113.7"]
        assert store.remove("203.0.113.7", actor="U123", channel=None, source="cli") == 1
        assert store.active() == [] and len(store.history("203.0.113.7")) == 2


@pytest.mark.parametrize(
    ("sid", "action", "call", "denied"),
    [
        ("AthenaQueries", "athena:StartQueryExecution", "query", "StartQueryExecution"),
        ("AthenaQueries", "athena:GetQueryExecution", "query", "GetQueryExecution"),
        ("AthenaQueries", "athena:GetQueryResults", "query", "GetQueryResults"),
        ("AthenaQueries", "athena:StopQueryExecution", "cancel", "StopQueryExecution"),
        ("QueryResultsReadWrite", None, "query", "GetObject"),  # the result CSV
        ("IocStoreReadWrite", None, "put", "PutObject"),
        ("IocStoreReadWrite", None, "get", "GetObject"),
        ("IocStoreReadWrite", None, "delete", "DeleteObject"),
        ("IocStoreList", None, "list", "ListObjectsV2"),
    ],
)
def test_without_its_grant_each_call_is_denied(
    aws: Aws, sid: str, action: str | None, call: str, denied: str
) -> None:
    """The negative half: drop one grant and the call it covers fails, so the allowed runs prove it."""
    objects = object_store_for(SETTINGS)
    objects.put_new("table/seed.csv", b"198.51.100.9,scanner\n")  # as the admin, before enforcement
    aws.become(moto_view(without(policy(), sid, action)))
    with enable_iam_authentication():
        objects = object_store_for(SETTINGS)
        calls = {
            "query": run_query,
            "cancel": lambda: AthenaEngine(SETTINGS).cancel("5e8a6c1e-0d8e-4d5b-9a57-3f1f1c0c0a11"),
            "put": lambda: objects.put_new("table/new.csv", b"x"),
            "get": lambda: objects.get("table/seed.csv"),
            "delete": lambda: objects.delete("table/seed.csv"),
            "list": lambda: objects.list("table/"),
        }
        with pytest.raises((EngineError, ClientError)) as failure:
            calls[call]()
    operation, text = refusal(failure.value)
    assert operation == denied
    assert text.startswith("AccessDenied: ")
    assert action is None or text.endswith(f"is not authorized to perform: {action}")


def test_s3_grants_are_checked_on_the_object_key(aws: Aws) -> None:
    """Resource-level for S3: the same actions on the IOC bucket outside the store's prefix are refused."""
    aws.become(moto_view(policy()))
    elsewhere = SETTINGS.model_copy(update={"ioc_store": f"s3://{IOCS}/not-flowbot"})
    with enable_iam_authentication():
        with pytest.raises(ClientError) as failure:
            object_store_for(elsewhere).put_new("table/x.csv", b"x")
        assert refusal(failure.value) == ("PutObject", "AccessDenied: Access Denied")
        object_store_for(SETTINGS).put_new("table/x.csv", b"x")  # the store's own prefix: allowed


# --- OAuth mode's installation store -----------------------------------------------------------------


def oauth_policy() -> dict[str, Any]:
    return runtime_policy(OAUTH, account=DEFAULT_ACCOUNT_ID)


def test_the_installation_store_works_under_the_runtime_policy(aws: Aws) -> None:
    """What `flowbot serve` (the install flow, Bolt's lookups, its uninstall listeners) and every worker
    (`bot_client`) do with the store, as the policy's user."""
    aws.become(moto_view(oauth_policy()))
    with enable_iam_authentication():
        store = installation_store(OAUTH)  # its S3 client built from the environment, as in the pods
        store.save(installation(team_id=T1))
        store.save(installation(team_id=None, enterprise_id=E1))
        assert store.find_installation(enterprise_id=None, team_id=T1) is not None
        assert bot_client(OAUTH, team_id=T1, enterprise_id=None).token == f"xoxb-{T1}"
        org = find_bot(store, team_id="T0CCC0003", enterprise_id=E1)  # a Grid workspace: the org's token
        assert org.bot_token == f"xoxb-{E1}"
        states = state_store(OAUTH)
        assert states.consume(states.issue()) is True
        assert states.consume("5e8a6c1e-0d8e-4d5b-9a57-3f1f1c0c0a11") is False  # never issued
        store.delete_all(enterprise_id=None, team_id=T1)  # app_uninstalled: ListObjects, DeleteObject
        assert store.find_bot(enterprise_id=None, team_id=T1) is None
    keys = [
        o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=SLACK)["Contents"]
    ]
    assert keys and all(k.startswith(f"oauth/installations/{CLIENT_ID}/{E1}-none/") for k in keys), keys


@pytest.mark.parametrize(
    ("sid", "action", "call", "denied"),
    [
        ("SlackInstallationsReadWrite", "s3:PutObject", "save", "PutObject"),
        ("SlackInstallationsReadWrite", "s3:PutObject", "issue", "PutObject"),
        ("SlackInstallationsReadWrite", "s3:DeleteObject", "delete", "DeleteObject"),
        ("SlackInstallationsList", None, "delete", "ListObjects"),
    ],
)
def test_without_its_grant_each_store_call_is_denied(
    aws: Aws, sid: str, action: str | None, call: str, denied: str
) -> None:
    installation_store(OAUTH).save(installation(team_id=T1))  # as the admin, before enforcement
    aws.become(moto_view(without(oauth_policy(), sid, action)))
    with enable_iam_authentication():
        store = installation_store(OAUTH)
        calls = {
            "save": lambda: store.save(installation(team_id="T0BBB0002")),
            "issue": lambda: state_store(OAUTH).issue(),
            "delete": lambda: store.delete_bot(enterprise_id=None, team_id=T1),
        }
        with pytest.raises(Exception) as failure:  # a ClientError, or slack_sdk's error wrapping one
            calls[call]()
    cause: BaseException | None = failure.value
    while cause is not None and not isinstance(cause, ClientError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None, f"no AWS error behind {failure.value!r}"
    assert refusal(cause) == (denied, "AccessDenied: Access Denied")


def test_the_store_grants_are_checked_on_the_key(aws: Aws) -> None:
    """Another app's installations (another Client ID) in the same prefix are out of reach."""
    aws.become(moto_view(oauth_policy()))
    other_app = OAUTH.model_copy(update={"slack_client_id": "9999999999.8888888888"})
    with enable_iam_authentication():
        with pytest.raises(ClientError) as failure:
            installation_store(other_app).save(installation(team_id=T1))
        assert refusal(failure.value) == ("PutObject", "AccessDenied: Access Denied")
        installation_store(OAUTH).save(installation(team_id=T1))  # its own folder: allowed


def test_the_preflight_estimate_lists_the_flow_logs_under_the_runtime_policy(aws: Aws) -> None:
    """The estimate's ListObjectsV2 calls are s3:ListBucket on the flow-log bucket (statement
    FlowLogsList); without that statement the estimate fails with one line, never a traceback."""
    scoped = SETTINGS.model_copy(
        update={
            "accounts": ("111111111111",),
            "regions": (REGION,),
            "first_day": datetime(2026, 11, 1).date(),
        }
    )
    key = f"AWSLogs/111111111111/vpcflowlogs/{REGION}/2026/11/19/111111111111_vpcflowlogs_{REGION}_a.log.gz"
    boto3.client("s3", region_name=REGION).put_object(Bucket="flowbot-flow-logs", Key=key, Body=b"x" * 1234)
    granted = runtime_policy(scoped, account=DEFAULT_ACCOUNT_ID)
    aws.become(moto_view(granted))
    with enable_iam_authentication():
        estimate = AthenaEngine(scoped).estimate(RATIO, request())
    assert estimate is not None and (estimate.bytes, estimate.objects) == (1234, 1)
    aws.become(moto_view(without(granted, "FlowLogsList")))
    with (
        enable_iam_authentication(),
        pytest.raises(EngineError, match=r"^could not list s3://flowbot-flow-logs/"),
    ):
        AthenaEngine(scoped).estimate(RATIO, request())
