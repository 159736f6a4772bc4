"""The IAM policies (bot/aws/iam.py): exactly the actions Flowbot's code needs, each on the narrowest
resource.

What the code needs is written here, independently of bot/aws/iam.py, from reading the code that calls AWS
(bot/query/engines/athena.py, bot/iocs/objects.py, bot/aws/ddl.py) and what Athena does with the caller's
credentials (reads the catalog and the data, writes the results). OAuth mode's installation store
(bot/slack/installations.py, slack_sdk's S3 stores) is checked by recording every S3 call the stores make.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

import bot.slack.installations
from bot.aws.iam import enrich_role_policy, runtime_policy, s3_location, setup_policy
from bot.cli import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_OK, main
from bot.settings import MissingSettingError, Settings
from tests.conftest import fake_aws_environment
from tests.slack_installations import installation

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "111122223333"
EXAMPLE_ENV = {
    "FLOWBOT_ENGINE": "athena",
    "FLOWBOT_ATHENA_REGION": "us-east-1",
    "FLOWBOT_FLOW_LOGS_BUCKET": "example-flow-logs",
    "FLOWBOT_ATHENA_OUTPUT_LOCATION": "s3://example-athena-results/flowbot/",
    "FLOWBOT_IOC_STORE": "s3://example-flowbot-iocs/iocs",
    "FLOWBOT_ATHENA_WORKGROUP": "flowbot",
    "FLOWBOT_ATHENA_DATABASE": "flowbot",
}
"""The documented example the policies in helm/flowbot/ are generated for."""
POLICY_FILES = {
    "runtime": (ROOT / "helm/flowbot/iam-policy.json", []),
    "setup": (ROOT / "helm/flowbot/iam-setup-policy.json", ["--setup"]),
}

# Read from the code, not from bot/aws/iam.py: the call (or Athena's work) that needs each action.
RUNTIME_NEEDS = {
    "athena:StartQueryExecution": "AthenaEngine._start",
    "athena:GetQueryExecution": "AthenaEngine._execution (status polls)",
    "athena:GetQueryResults": "AthenaEngine._result (the get_query_results paginator)",
    "athena:StopQueryExecution": "AthenaEngine.cancel, _stop_quietly (deadline, cutoff, /flow cancel)",
    "glue:GetDatabase": "Athena resolves the query's database in the Data Catalog",
    "glue:GetTable": "Athena reads the tables' definitions (partition projection: no partition calls)",
    "s3:GetObject": "Athena reads flow logs and IOC rows; _copy_csv; S3ObjectStore.get",
    "s3:ListBucket": "Athena lists table locations; S3ObjectStore.list (ListObjectsV2)",
    "s3:GetBucketLocation": "Athena locates the data and results buckets",
    "s3:PutObject": "Athena writes results; S3ObjectStore.put_new (If-None-Match)",
    "s3:AbortMultipartUpload": "Athena's multipart result writes",
    "s3:ListMultipartUploadParts": "Athena's multipart result writes",
    "s3:DeleteObject": "S3ObjectStore.delete",
    "ec2:DescribeNetworkInterfaces": "enrich.eni.fetch_interfaces (FLOWBOT_ENRICH auto: on with Athena)",
    "ec2:DescribeInstances": "enrich.eni.instance_names (the instances' Name tags)",
    "guardduty:GetFindings": "aws.guardduty.read_finding (the `guardduty` pivot)",
    "guardduty:ListDetectors": "aws.guardduty.detector_id, when FLOWBOT_GUARDDUTY_DETECTOR_ID is unset",
}
UNSCOPED_ACTIONS = {"ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"}
"""EC2's Describe actions support no resource-level permissions (Service Authorization Reference, "Actions,
resources, and condition keys for Amazon EC2"): they are granted on `*`, alone in their statement."""
UNSCOPED_GUARDDUTY = {"guardduty:ListDetectors"}
"""GuardDuty's ListDetectors names no resource type (the same reference, "…for Amazon GuardDuty"): on `*`."""
SETUP_NEEDS = {
    "athena:GetWorkGroup": "workgroup._live",
    "athena:CreateWorkGroup": "workgroup.converge_workgroup: a missing workgroup",
    "athena:StartQueryExecution": "AthenaEngine.execute_statement",
    "athena:GetQueryExecution": "AthenaEngine._wait",
    "athena:StopQueryExecution": "AthenaEngine._wait at the deadline",
    "glue:GetDatabase": "glue.database_exists",
    "glue:CreateDatabase": "glue.converge: a missing database",
    "glue:GetTable": "glue.compare; the view's query reads its tables",
    "glue:CreateTable": "glue.converge: a missing table; CREATE VIEW",
    "glue:UpdateTable": "glue.converge --apply: a table that differs; CREATE OR REPLACE VIEW",
    "s3:PutObject": "Athena writes each statement's result file",
    "s3:GetObject": "Athena's result handling",
    "s3:AbortMultipartUpload": "Athena's result writes",
    "s3:ListMultipartUploadParts": "Athena's result writes",
    "s3:ListBucket": "Athena checks the results location",
    "s3:GetBucketLocation": "Athena locates the results bucket",
}
S3_OPERATIONS = {
    "PutObject": "s3:PutObject",
    "GetObject": "s3:GetObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjects": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
}
"""The IAM action S3 authorises each API operation as (Service Authorization Reference, "Actions, resources,
and condition keys for Amazon S3": https://docs.aws.amazon.com/service-authorization/latest/reference/
list_amazons3.html)."""
CLIENT_ID = "1111111111.2222222222"
SLACK_BUCKET = "example-flowbot-slack"
T1, E1 = "T0AAA0001", "E0ORG0001"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FLOWBOT_ or AWS setting of the machine leaks in."""
    fake_aws_environment(monkeypatch, tmp_path, "us-east-1", prefixes=("FLOWBOT_", "AWS_"))


def example(**overrides: Any) -> Settings:
    values: dict[str, Any] = {k.removeprefix("FLOWBOT_").lower(): v for k, v in EXAMPLE_ENV.items()}
    values.update(overrides)
    return Settings(**values)


def actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in policy["Statement"] for a in s["Action"]}


def _matches(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


def allows(policy: dict[str, Any], action: str, resource: str, prefix: str | None = None) -> bool:
    """A small evaluator of these Allow-only policies: action, resource, and the s3:prefix condition."""
    for statement in policy["Statement"]:
        if action not in statement["Action"]:
            continue
        if not any(_matches(r, resource) for r in statement["Resource"]):
            continue
        condition = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix")
        if condition is None or (prefix is not None and any(_matches(c, prefix) for c in condition)):
            return True
    return False


# --- what is granted ------------------------------------------------------------------------------


def test_runtime_actions_are_exactly_what_the_code_needs() -> None:
    assert actions(runtime_policy(example(), account=ACCOUNT)) == set(RUNTIME_NEEDS)


def test_setup_actions_are_exactly_what_the_ddl_needs() -> None:
    assert actions(setup_policy(example(), account=ACCOUNT)) == set(SETUP_NEEDS)


def test_runtime_never_carries_catalog_writes_or_partition_calls() -> None:
    granted = actions(runtime_policy(example(athena_json_location="s3://json-logs/x/"), account=ACCOUNT))
    for forbidden in ("glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "glue:CreateDatabase"):
        assert forbidden not in granted
    assert not {a for a in granted if "Partition" in a}


@pytest.mark.parametrize("build", [runtime_policy, setup_policy])
def test_no_wildcard_actions_or_resources_and_every_statement_is_named(build: Any) -> None:
    policy = build(example(athena_json_location="s3://json-logs/records/"), account=ACCOUNT)
    assert policy["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in policy["Statement"]]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in a for a in statement["Action"]), statement
        if set(statement["Action"]) <= UNSCOPED_ACTIONS | UNSCOPED_GUARDDUTY:
            assert statement["Resource"] == ["*"]
            continue
        assert "*" not in statement["Resource"], statement
        for resource in statement["Resource"]:
            assert resource.startswith(
                (
                    "arn:aws:athena:us-east-1:",
                    "arn:aws:glue:us-east-1:",
                    "arn:aws:s3:::",
                    "arn:aws:guardduty:",
                )
            )
            # object access is always under a prefix, never a whole bucket
            assert not re.fullmatch(r"arn:aws:s3:::[^/]+/\*", resource), resource


@pytest.mark.parametrize("build", [runtime_policy, setup_policy])
def test_every_list_bucket_is_limited_to_a_prefix_on_its_own_bucket(build: Any) -> None:
    policy = build(example(athena_json_location="s3://json-logs/records/"), account=ACCOUNT)
    listing = [s for s in policy["Statement"] if "s3:ListBucket" in s["Action"]]
    assert listing
    for statement in listing:
        assert statement["Action"] == ["s3:ListBucket"]
        [bucket] = statement["Resource"]
        assert re.fullmatch(r"arn:aws:s3:::[a-z0-9.-]+", bucket)
        [prefix] = statement["Condition"]["StringLike"]["s3:prefix"]
        assert prefix.endswith("/*") and len(prefix) > 2, prefix


def test_a_whole_bucket_location_lists_without_a_prefix_condition() -> None:
    """s3://bucket alone: a listing without a prefix carries no s3:prefix, which `StringLike "*"` refuses."""
    policy = runtime_policy(example(athena_output_location="s3://flowbot-results"), account=ACCOUNT)
    [results] = [s for s in policy["Statement"] if s["Sid"] == "QueryResultsList"]
    assert results == {
        "Sid": "QueryResultsList",
        "Effect": "Allow",
        "Action": ["s3:ListBucket"],
        "Resource": ["arn:aws:s3:::flowbot-results"],
    }
    assert allows(policy, "s3:ListBucket", "arn:aws:s3:::flowbot-results", prefix=None)
    assert not allows(policy, "s3:ListBucket", "arn:aws:s3:::example-flowbot-iocs", prefix=None)


def test_grants_reach_only_flowbots_own_locations() -> None:
    policy = runtime_policy(example(flow_logs_prefix="org/logs"), account=ACCOUNT)
    wg = "arn:aws:athena:us-east-1:111122223333:workgroup/"
    glue = "arn:aws:glue:us-east-1:111122223333:"
    cases = [
        # Athena: the configured workgroup only
        ("athena:StartQueryExecution", wg + "flowbot", None, True),
        ("athena:GetQueryResults", wg + "flowbot", None, True),
        ("athena:StartQueryExecution", wg + "primary", None, False),
        # Glue: read the tables the templates read, nothing else
        ("glue:GetTable", glue + "table/flowbot/vpcflow", None, True),
        ("glue:GetTable", glue + "table/flowbot/incident_iocs", None, True),
        ("glue:GetTable", glue + "table/flowbot/incident_vpc_flow_directional", None, False),
        ("glue:GetTable", glue + "table/other_db/vpcflow", None, False),
        ("glue:GetDatabase", glue + "database/flowbot", None, True),
        ("glue:GetDatabase", glue + "database/hr", None, False),
        # flow logs: read-only, under the prefix
        ("s3:GetObject", "arn:aws:s3:::example-flow-logs/org/logs/AWSLogs/1/vpcflowlogs/x.gz", None, True),
        ("s3:GetObject", "arn:aws:s3:::example-flow-logs/other/x", None, False),
        ("s3:PutObject", "arn:aws:s3:::example-flow-logs/org/logs/AWSLogs/x", None, False),
        ("s3:ListBucket", "arn:aws:s3:::example-flow-logs", "org/logs/AWSLogs/1/", True),
        ("s3:ListBucket", "arn:aws:s3:::example-flow-logs", "", False),
        ("s3:ListBucket", "arn:aws:s3:::example-flow-logs", "org/", False),
        # results: read and write under the output prefix, no delete
        ("s3:PutObject", "arn:aws:s3:::example-athena-results/flowbot/q.csv", None, True),
        ("s3:GetObject", "arn:aws:s3:::example-athena-results/flowbot/q.csv", None, True),
        ("s3:GetObject", "arn:aws:s3:::example-athena-results/elsewhere/q.csv", None, False),
        ("s3:DeleteObject", "arn:aws:s3:::example-athena-results/flowbot/q.csv", None, False),
        ("s3:ListBucket", "arn:aws:s3:::example-athena-results", "flowbot/", True),
        ("s3:ListBucket", "arn:aws:s3:::example-athena-results", "", False),
        # IOC store: read, write, delete under its root only
        ("s3:PutObject", "arn:aws:s3:::example-flowbot-iocs/iocs/table/a.csv", None, True),
        ("s3:DeleteObject", "arn:aws:s3:::example-flowbot-iocs/iocs/table/a.csv", None, True),
        ("s3:GetObject", "arn:aws:s3:::example-flowbot-iocs/iocs/audit/a.json", None, True),
        ("s3:PutObject", "arn:aws:s3:::example-flowbot-iocs/other", None, False),
        ("s3:ListBucket", "arn:aws:s3:::example-flowbot-iocs", "iocs/table/", True),
        ("s3:ListBucket", "arn:aws:s3:::example-flowbot-iocs", "", False),
        # a prefix of one bucket does not open another bucket
        ("s3:ListBucket", "arn:aws:s3:::example-flow-logs", "flowbot/", False),
        ("s3:GetBucketLocation", "arn:aws:s3:::example-athena-results", None, True),
        ("s3:GetBucketLocation", "arn:aws:s3:::someone-elses-bucket", None, False),
    ]
    wrong = [case for case in cases if allows(policy, case[0], case[1], case[2]) != case[3]]
    assert wrong == []


def test_optional_parts_follow_the_settings() -> None:
    local_iocs = runtime_policy(example(ioc_store="/var/lib/flowbot/iocs"), account=ACCOUNT)
    assert not [s for s in local_iocs["Statement"] if s["Sid"].startswith("IocStore")]
    assert not any("incident_iocs" in r for s in local_iocs["Statement"] for r in s["Resource"])
    with_json = runtime_policy(example(athena_json_location="s3://json-logs/records"), account=ACCOUNT)
    assert allows(with_json, "s3:GetObject", "arn:aws:s3:::json-logs/records/2026/x.json")
    assert allows(with_json, "s3:ListBucket", "arn:aws:s3:::json-logs", "records/2026/")
    assert allows(
        with_json, "glue:GetTable", "arn:aws:glue:us-east-1:111122223333:table/flowbot/vpc_flow_logs"
    )
    json_only = runtime_policy(
        example(table_kind="json", flow_logs_bucket=None, athena_json_location="s3://json-logs/r/"),
        account=ACCOUNT,
    )
    assert not [s for s in json_only["Statement"] if s["Sid"].startswith("FlowLogs")]


def test_partition_region_and_an_enforced_output_location() -> None:
    policy = runtime_policy(
        example(athena_region=None, athena_output_location=None),
        account=ACCOUNT,
        partition="aws-cn",
        region="cn-north-1",
        output_location="s3://wg-results/enforced",
    )
    resources = [r for s in policy["Statement"] for r in s["Resource"]]
    assert "arn:aws-cn:athena:cn-north-1:111122223333:workgroup/flowbot" in resources
    assert "arn:aws-cn:s3:::wg-results/enforced/*" in resources
    assert all(r.startswith("arn:aws-cn:") for r in resources if r != "*")  # "*": EC2's Describe actions


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"flow_logs_bucket": None},
            "FLOWBOT_FLOW_LOGS_BUCKET is not set: the policy needs the flow-log bucket",
        ),
        ({"athena_output_location": None}, "FLOWBOT_ATHENA_OUTPUT_LOCATION is not set"),
        ({"athena_region": None}, "FLOWBOT_ATHENA_REGION is not set"),
        ({"table_kind": "json"}, "FLOWBOT_ATHENA_JSON_LOCATION is not set"),
    ],
)
def test_missing_settings_are_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(MissingSettingError, match=re.escape(message)):
        runtime_policy(example(**overrides), account=ACCOUNT)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"account": "11112222333"}, "12 digits"),
        ({"account": "1111-2222-3333"}, "12 digits"),
        ({"account": ACCOUNT, "partition": "azure"}, "partition"),
        ({"account": ACCOUNT, "region": "moon"}, "region"),
    ],
)
def test_bad_arguments_are_refused(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        runtime_policy(example(), **arguments)


def test_s3_locations_are_folders() -> None:
    assert s3_location("s3://b-1/a/b") == ("b-1", "a/b/")
    assert s3_location("s3://b-1/a/b/") == ("b-1", "a/b/")
    assert s3_location("s3://b-1") == ("b-1", "")
    with pytest.raises(ValueError):
        s3_location("https://b-1/a")


# --- OAuth mode's installation store ---------------------------------------------------------------


def oauth(store: str = f"s3://{SLACK_BUCKET}/flowbot/prod", **overrides: Any) -> Settings:
    """The example plus OAuth mode with its installation store at `store`."""
    values = {
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": "client-secret-for-tests",  # a test value
        "installation_store": store,
        "allowed_teams": (T1, E1),
    }
    return example(**{**values, **overrides})


def slack_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Sid"].startswith("SlackInstallations")]


def test_the_s3_installation_store_gets_its_own_two_statements() -> None:
    policy = runtime_policy(oauth(), account=ACCOUNT)
    assert slack_statements(policy) == [
        {
            "Sid": "SlackInstallationsReadWrite",
            "Effect": "Allow",
            "Action": ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
            "Resource": [
                f"arn:aws:s3:::{SLACK_BUCKET}/flowbot/prod/installations/{CLIENT_ID}/*",
                f"arn:aws:s3:::{SLACK_BUCKET}/flowbot/prod/states/*",
            ],
        },
        {
            "Sid": "SlackInstallationsList",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{SLACK_BUCKET}"],
            "Condition": {"StringLike": {"s3:prefix": [f"flowbot/prod/installations/{CLIENT_ID}/*"]}},
        },
    ]
    # Athena never reads the store, and boto3 never asks where a bucket is
    assert not allows(policy, "s3:GetBucketLocation", f"arn:aws:s3:::{SLACK_BUCKET}")
    # everything else is as without OAuth mode
    rest = [s for s in policy["Statement"] if s not in slack_statements(policy)]
    assert rest == runtime_policy(example(), account=ACCOUNT)["Statement"]


def test_the_installation_store_grants_reach_only_its_folders() -> None:
    policy = runtime_policy(oauth(), account=ACCOUNT)
    bucket = f"arn:aws:s3:::{SLACK_BUCKET}"
    objects = f"{bucket}/flowbot/prod/"
    workspace = f"{objects}installations/{CLIENT_ID}/none-{T1}/"
    cases = [
        ("s3:PutObject", workspace + "bot-latest", None, True),
        ("s3:GetObject", workspace + "installer-U0ADMIN-latest", None, True),
        ("s3:DeleteObject", workspace + "bot-1700000000.0", None, True),
        ("s3:PutObject", objects + "states/6f1c2e0a-8d4b-4c3e-9a57-3f1f1c0c0a11", None, True),
        ("s3:DeleteObject", objects + "states/6f1c2e0a-8d4b-4c3e-9a57-3f1f1c0c0a11", None, True),
        # another app's installations, the rest of the prefix, another prefix, another bucket
        ("s3:GetObject", f"{objects}installations/9999999999.1/none-{T1}/bot-latest", None, False),
        ("s3:PutObject", objects + "other", None, False),
        ("s3:GetObject", f"arn:aws:s3:::{SLACK_BUCKET}/flowbot/staging/states/x", None, False),
        ("s3:GetObject", f"arn:aws:s3:::{SLACK_BUCKET}/states/x", None, False),
        ("s3:PutObject", "arn:aws:s3:::example-flowbot-iocs/flowbot/prod/states/x", None, False),
        # listing: the installations folder only, never the states or the bucket
        ("s3:ListBucket", bucket, f"flowbot/prod/installations/{CLIENT_ID}/none-{T1}/bot-", True),
        ("s3:ListBucket", bucket, "flowbot/prod/states/", False),
        ("s3:ListBucket", bucket, "flowbot/prod/", False),
        ("s3:ListBucket", bucket, None, False),
        ("s3:ListBucket", bucket, "", False),
    ]
    wrong = [case for case in cases if allows(policy, case[0], case[1], case[2]) != case[3]]
    assert wrong == []


def test_a_store_at_the_top_of_a_bucket_still_lists_under_its_folder() -> None:
    """Unlike a whole-bucket Athena location, the store always lists with a Prefix: the condition stays."""
    policy = runtime_policy(oauth(f"s3://{SLACK_BUCKET}"), account=ACCOUNT)
    [_, listing] = slack_statements(policy)
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"installations/{CLIENT_ID}/*"]}}
    assert slack_statements(policy)[0]["Resource"] == [
        f"arn:aws:s3:::{SLACK_BUCKET}/installations/{CLIENT_ID}/*",
        f"arn:aws:s3:::{SLACK_BUCKET}/states/*",
    ]
    assert not allows(policy, "s3:ListBucket", f"arn:aws:s3:::{SLACK_BUCKET}", None)


@pytest.mark.parametrize(
    "settings",
    [
        example(),  # one-token mode: no store
        example(installation_store=f"s3://{SLACK_BUCKET}/x"),  # a store, but no Client ID: never opened
        oauth("/var/lib/flowbot/slack"),  # a local folder: no AWS access
    ],
    ids=["no-oauth", "store-without-client-id", "folder"],
)
def test_no_installation_store_grants_unless_oauth_mode_keeps_it_on_s3(settings: Settings) -> None:
    assert slack_statements(runtime_policy(settings, account=ACCOUNT)) == []


def test_every_call_the_stores_make_is_granted(monkeypatch: pytest.MonkeyPatch) -> None:
    """slack_sdk's stores as bot/slack/installations.py builds them, on moto's S3: every S3 call they make,
    recorded
    from botocore, is allowed by the policy, and the calls are the four the policy was written from."""
    settings = oauth()
    policy = runtime_policy(settings, account=ACCOUNT)
    calls: list[tuple[str, str, str | None]] = []  # (IAM action, resource, s3:prefix)

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        bucket = params["Bucket"]
        if "Key" in params:
            calls.append((S3_OPERATIONS[model.name], f"arn:aws:s3:::{bucket}/{params['Key']}", None))
        else:
            calls.append((S3_OPERATIONS[model.name], f"arn:aws:s3:::{bucket}", params.get("Prefix")))

    made = bot.slack.installations._s3

    def recorded_s3(s: Settings) -> Any:
        client = made(s)
        client.meta.events.register("provide-client-params.s3.*", record)
        return client

    monkeypatch.setattr(bot.slack.installations, "_s3", recorded_s3)
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=SLACK_BUCKET)
        store = bot.slack.installations.installation_store(settings)
        store.save(installation(team_id=T1))
        store.save(installation(team_id=None, enterprise_id=E1))  # an org-wide install
        assert (
            bot.slack.installations.find_bot(store, team_id=T1, enterprise_id=None).bot_token == f"xoxb-{T1}"
        )
        org = bot.slack.installations.find_bot(store, team_id="T0CCC0003", enterprise_id=E1)  # via the org
        assert org.bot_token == f"xoxb-{E1}"
        assert store.find_installation(enterprise_id=None, team_id=T1, user_id="U0ADMIN") is not None
        states = bot.slack.installations.state_store(settings)
        assert states.consume(states.issue()) is True
        # what Bolt's tokens_revoked and app_uninstalled listeners call
        store.delete_installation(enterprise_id=None, team_id=T1, user_id="U0ADMIN")
        store.delete_bot(enterprise_id=None, team_id=T1)
        store.delete_all(enterprise_id=E1, team_id=None)
        assert store.find_bot(enterprise_id=None, team_id=T1) is None
        left = boto3.client("s3", region_name="us-east-1").list_objects_v2(Bucket=SLACK_BUCKET)
        assert left["KeyCount"] == 0
    assert {action for action, _, _ in calls} == {
        "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:ListBucket"
    }  # fmt: skip
    refused = [call for call in calls if not allows(policy, *call)]
    assert refused == []


def test_the_evidence_log_on_its_own_s3_store_may_write_once_and_read_never_delete() -> None:
    """The evidence log on moto's S3 at FLOWBOT_EVIDENCE_STORE: every call it makes (an entry written, the
    same entry again, the channel read back) is allowed; deleting is not. Under the IOC store it needs no
    grant of its own."""
    from datetime import UTC, datetime

    from bot.evidence.records import EvidenceLog, EvidenceRecord
    from bot.iocs.objects import S3ObjectStore

    settings = example(evidence_store="s3://example-evidence/flowbot/log")
    policy = runtime_policy(settings, account=ACCOUNT)
    calls: list[tuple[str, str, str | None]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        bucket = params["Bucket"]
        if "Key" in params:
            calls.append((S3_OPERATIONS[model.name], f"arn:aws:s3:::{bucket}/{params['Key']}", None))
        else:
            calls.append((S3_OPERATIONS[model.name], f"arn:aws:s3:::{bucket}", params.get("Prefix")))

    asked = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    entry = EvidenceRecord.model_validate(
        {
            "team_id": "T0001", "channel_id": "C0INC", "job_id": "0123456789abcdef0123456789abcdef",
            "outcome": "answered", "asked_by": "U0AAA", "asked_at": asked, "started_at": asked,
            "finished_at": asked, "command": "count", "template": "count", "engine": "athena",
            "sql": "SELECT count(*) FROM vpcflow", "parameters": {"limit": 1},
        }
    )  # fmt: skip
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="example-evidence")
        client.meta.events.register("provide-client-params.s3.*", record)
        log = EvidenceLog(S3ObjectStore(client, "example-evidence", "flowbot/log"))
        assert log.write(entry) and not log.write(entry)
        assert [r for r, _ in log.channel("T0001", "C0INC")] == [entry]
    assert {action for action, _, _ in calls} == {"s3:PutObject", "s3:GetObject", "s3:ListBucket"}
    assert [call for call in calls if not allows(policy, *call)] == []
    written = next(resource for action, resource, _ in calls if action == "s3:PutObject")
    assert not allows(policy, "s3:DeleteObject", written)
    beside_iocs = runtime_policy(example(), account=ACCOUNT)
    assert not [st for st in beside_iocs["Statement"] if st["Sid"].startswith("EvidenceLog")]


# --- the documents in the repository -------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(POLICY_FILES))
def test_the_policy_files_in_helm_match_the_code(kind: str) -> None:
    path, flags = POLICY_FILES[kind]
    build = setup_policy if kind == "setup" else runtime_policy
    expected = json.dumps(build(example(), account=ACCOUNT), indent=2) + "\n"
    env = " ".join(f"{k}={v}" for k, v in EXAMPLE_ENV.items())
    command = f"env {env} flowbot athena policy --account {ACCOUNT} {' '.join(flags)}".strip()
    assert path.is_file(), f"{path} is missing; regenerate it with: {command} > {path.relative_to(ROOT)}"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(ROOT)} is out of step with bot/aws/iam.py; regenerate it with: "
        f"{command} > {path.relative_to(ROOT)}"
    )


@pytest.mark.parametrize("kind", sorted(POLICY_FILES))
def test_iam_accepts_the_documents(kind: str) -> None:
    """moto's IAM validates policy grammar (Version, Effect, Action/Resource forms, Sid, conditions)."""
    document = POLICY_FILES[kind][0].read_text(encoding="utf-8")
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        created = iam.create_policy(PolicyName=f"flowbot-{kind}", PolicyDocument=document)
        assert created["Policy"]["Arn"].endswith(f":policy/flowbot-{kind}")
        broken = json.loads(document)
        del broken["Statement"][0]["Effect"]
        with pytest.raises(ClientError, match="MalformedPolicyDocument"):  # the check is real
            iam.create_policy(PolicyName="broken", PolicyDocument=json.dumps(broken))


# --- the CLI --------------------------------------------------------------------------------------


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, **env: str | None
) -> tuple[int, str, str]:
    for name, value in {**EXAMPLE_ENV, **env}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    out = io.StringIO()
    code = main(list(argv), stdout=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_cli_prints_the_runtime_and_setup_policies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "athena", "policy", "--account", ACCOUNT)
    assert (code, err) == (EXIT_OK, "")
    assert json.loads(out) == runtime_policy(example(), account=ACCOUNT)
    code, out, _ = run_cli(monkeypatch, capsys, "athena", "policy", "--account", ACCOUNT, "--setup")
    assert code == EXIT_OK and json.loads(out) == setup_policy(example(), account=ACCOUNT)
    code, out, _ = run_cli(
        monkeypatch, capsys, "athena", "policy", "--account", ACCOUNT, "--partition", "aws-us-gov",
        "--region", "us-gov-west-1", FLOWBOT_ATHENA_REGION=None,
    )  # fmt: skip
    assert code == EXIT_OK and "arn:aws-us-gov:athena:us-gov-west-1:" in out


@pytest.mark.parametrize("account", ["12345", "1111222233334", "abcdefghijkl", None])
def test_cli_refuses_a_bad_account_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], account: str | None
) -> None:
    argv = ["athena", "policy"] + (["--account", account] if account else [])
    code, out, err = run_cli(monkeypatch, capsys, *argv)
    assert code == EXIT_BAD_INPUT and out == ""
    assert err.count("\n") == 1 and "--account must be a 12-digit AWS account ID" in err


def test_cli_reports_a_missing_setting_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        monkeypatch, capsys, "athena", "policy", "--account", ACCOUNT, FLOWBOT_FLOW_LOGS_BUCKET=None
    )
    assert (code, out) == (EXIT_FAILURE, "")
    assert err == "flowbot: FLOWBOT_FLOW_LOGS_BUCKET is not set: the policy needs the flow-log bucket\n"


def test_cli_policy_options_belong_to_policy(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "athena", "ddl", "--account", ACCOUNT)
    assert code == EXIT_BAD_INPUT and "go with `policy`" in err


# --- a flow-log table that is not Flowbot's (Security Lake's, or an adopted one) ---------------------------

SL_DB = "amazon_security_lake_glue_db_us_east_1"
SL_TABLE = "amazon_security_lake_table_us_east_1_vpc_flow_2_0"


@pytest.mark.parametrize("build", [runtime_policy, setup_policy])
def test_a_table_in_another_database_is_read_there_and_never_written(build: Any) -> None:
    settings = example(layout="security-lake", athena_flow_database=SL_DB, athena_table=SL_TABLE)
    policy = build(settings, account=ACCOUNT)
    table = f"arn:aws:glue:us-east-1:{ACCOUNT}:table/{SL_DB}/{SL_TABLE}"
    assert allows(policy, "glue:GetTable", table)
    assert allows(policy, "glue:GetPartitions", table)  # Athena reads Glue-kept partitions, adopt a page
    assert allows(policy, "glue:BatchGetPartition", table) == (build is runtime_policy)
    for write in ("glue:UpdateTable", "glue:CreateTable", "glue:DeleteTable", "glue:BatchCreatePartition"):
        assert not allows(policy, write, table)
    own = f"arn:aws:glue:us-east-1:{ACCOUNT}:table/{settings.athena_database}/{SL_TABLE}"
    assert not allows(policy, "glue:GetTable", own)  # no grant on a same-named table in Flowbot's database


# --- naming the machines (bot/enrich/) ------------------------------------------------------------


def test_enrichment_adds_the_ec2_describe_actions_only_when_on() -> None:
    on = runtime_policy(example(enrich="on"), account=ACCOUNT)
    assert actions(on) >= {"ec2:DescribeNetworkInterfaces", "ec2:DescribeInstances"}
    assert allows(on, "ec2:DescribeNetworkInterfaces", "*") and allows(on, "ec2:DescribeInstances", "*")
    off = runtime_policy(example(enrich="off"), account=ACCOUNT)
    assert not {a for a in actions(off) if a.startswith(("ec2:", "sts:"))}
    local = runtime_policy(example(engine="local"), account=ACCOUNT)  # auto: off with the local engine
    assert not {a for a in actions(local) if a.startswith(("ec2:", "sts:"))}


def test_an_enrichment_role_is_assumed_in_each_account_and_carries_the_describes() -> None:
    role = "arn:aws:iam::{account}:role/flowbot-enrich"
    policy = runtime_policy(
        example(enrich="on", enrich_role_arn=role, accounts="111122223333,444455556666"), account=ACCOUNT
    )
    assert not {a for a in actions(policy) if a.startswith("ec2:")}  # the role describes, not the pods
    assert allows(policy, "sts:AssumeRole", "arn:aws:iam::444455556666:role/flowbot-enrich")
    assert not allows(policy, "sts:AssumeRole", "arn:aws:iam::999999999999:role/flowbot-enrich")
    assert not allows(policy, "sts:AssumeRole", "arn:aws:iam::444455556666:role/admin")
    anywhere = runtime_policy(example(enrich="on", enrich_role_arn=role), account=ACCOUNT)
    assert allows(anywhere, "sts:AssumeRole", "arn:aws:iam::999999999999:role/flowbot-enrich")
    fixed = runtime_policy(
        example(enrich="on", enrich_role_arn="arn:aws:iam::111122223333:role/x"), account=ACCOUNT
    )
    assert allows(fixed, "sts:AssumeRole", "arn:aws:iam::111122223333:role/x")
    assert actions(enrich_role_policy()) == UNSCOPED_ACTIONS
    with mock_aws():  # moto's IAM checks the grammar of both documents
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_policy(PolicyName="pods", PolicyDocument=json.dumps(policy))
        iam.create_policy(PolicyName="role", PolicyDocument=json.dumps(enrich_role_policy()))


def test_a_bad_enrichment_role_is_refused() -> None:
    with pytest.raises(ValueError, match="IAM role ARN"):
        example(enrich_role_arn="arn:aws:iam::{acct}:role/x")


# --- the GuardDuty pivot (bot/aws/guardduty.py) ------------------------------------------------------


def test_guardduty_reads_findings_on_the_accounts_detectors_in_its_regions() -> None:
    policy = runtime_policy(
        example(regions="us-east-1,eu-west-1", guardduty_region="us-east-2"), account=ACCOUNT
    )
    for region in ("us-east-2", "us-east-1", "eu-west-1"):
        detector = f"arn:aws:guardduty:{region}:{ACCOUNT}:detector/12abc34d567e8fa901bc2d34e56789f0"
        assert allows(policy, "guardduty:GetFindings", detector)
    assert not allows(policy, "guardduty:GetFindings", "arn:aws:guardduty:ap-south-1:111122223333:detector/1")
    assert not allows(policy, "guardduty:GetFindings", "arn:aws:guardduty:us-east-1:999999999999:detector/1")
    assert allows(policy, "guardduty:ListDetectors", "*")
    assert not {a for a in actions(policy) if a.startswith("guardduty:")} - {
        "guardduty:GetFindings", "guardduty:ListDetectors"
    }  # fmt: skip


def test_a_configured_detector_is_the_only_one_read_and_nothing_is_listed() -> None:
    detector = "12abc34d567e8fa901bc2d34e56789f0"
    policy = runtime_policy(example(guardduty_detector_id=detector), account=ACCOUNT)
    assert allows(
        policy, "guardduty:GetFindings", f"arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/{detector}"
    )
    assert not allows(policy, "guardduty:GetFindings", f"arn:aws:guardduty:us-east-1:{ACCOUNT}:detector/0ab")
    assert "guardduty:ListDetectors" not in actions(policy)
