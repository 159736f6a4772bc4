"""Flowbot's AWS IAM policies, built from its settings: what the pods may do, and what setup needs.

`runtime_policy` is what the bot and the workers (one Kubernetes ServiceAccount, via IRSA) need to run
the templates on Athena, keep the IOC store on S3 and, in OAuth mode, keep Slack's installations there;
`setup_policy` is what `flowbot athena setup` needs to create the database, tables and view once. An
administrator runs setup once, with the setup policy (or broader rights); the pods never carry the Glue
write actions.

Each statement is as narrow as the API allows:
- Athena: the four calls `bot/query/engines/athena.py` makes (start, status, results, stop), on the
  workgroup only. Athena authorises them on the workgroup the execution ran in.
- Glue: Athena reads the Data Catalog with the caller's credentials: GetDatabase on the catalog and the
  database (plus the `default` database, which the Athena guide lists as needed in every Region) and
  GetTable on exactly the tables the templates read. No partition actions: the flow-log table uses
  partition projection (Athena computes the partitions and never asks Glue) and the other tables have
  no partitions. No GetTables: a query names its tables, nothing lists them. The IOC view is created by
  setup but no template reads it, so the runtime policy has no grant on it.
- S3: Athena reads the data and writes the results with the caller's credentials. Objects are granted
  under each location's prefix only; every s3:ListBucket (the action S3 checks for ListObjectsV2) carries
  an `s3:prefix` condition limited to that prefix (one statement per location, so a prefix of one bucket is
  never allowed on another), except for a location that is a whole bucket (`_list` says why);
  s3:GetBucketLocation (which takes no prefix) is granted on the buckets alone.
- S3, OAuth mode's installation store (FLOWBOT_INSTALLATION_STORE on S3, bot/slack/installations.py): exactly
  the calls slack_sdk's stores make there, each mapped to the action S3 authorises it as (Service
  Authorization Reference, "Actions, resources, and condition keys for Amazon S3",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html: PutObject is
  s3:PutObject, GetObject s3:GetObject, DeleteObject s3:DeleteObject, ListObjects s3:ListBucket).
  `AmazonS3InstallationStore` keeps every installation under `{prefix}installations/{client id}/` (the
  client id it is given is that folder): `save` puts `bot-*` and `installer-*` objects, `find_bot` and
  `find_installation` get one, and `delete_bot` / `delete_installation` (what Bolt's `tokens_revoked` and
  `app_uninstalled` listeners call, `delete_all` being both, once the app registers them with
  `App.enable_token_revocation_listeners()`) list that workspace's keys with ListObjects (always with a
  `Prefix` under the folder) and delete them one by one. `AmazonS3OAuthStateStore`, whose keys
  `_KeysUnder` puts under `{prefix}states/`, puts a state, then gets and deletes it; it never lists.
  So: Get/Put/DeleteObject on those two folders and s3:ListBucket limited to the installations folder;
  no GetBucketLocation (boto3 never asks it and Athena never reads the store). A missing installation
  (a workspace not installed) comes back as 403 rather than NoSuchKey, as for the IOC store; slack_sdk's
  store treats every error of a lookup as "not found", so only the warning it logs says AccessDenied.
- EC2, when answers name their machines (FLOWBOT_ENRICH, bot/enrich/): ec2:DescribeNetworkInterfaces and
  ec2:DescribeInstances (the instances' Name tags), which support no resource-level permissions (Service
  Authorization Reference, "Actions, resources, and condition keys for Amazon EC2",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html), so on `*`; with
  FLOWBOT_ENRICH_ROLE_ARN the pods get only sts:AssumeRole on that role (in each of FLOWBOT_ACCOUNTS, or in
  any account when none is listed) and the role carries the two Describe actions (`enrich_role_policy`).
- GuardDuty, for `guardduty <finding-id>` (bot/aws/guardduty.py): guardduty:GetFindings on the detector (the
  `detector` resource type, `arn:${Partition}:guardduty:${Region}:${Account}:detector/${DetectorId}`, in the
  Service Authorization Reference, "Actions, resources, and condition keys for Amazon GuardDuty",
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonguardduty.html):
  FLOWBOT_GUARDDUTY_DETECTOR_ID's, else any detector of the account, in FLOWBOT_GUARDDUTY_REGION (or the
  policy's region) and each of FLOWBOT_REGIONS; and, only when no detector is configured,
  guardduty:ListDetectors, which names no resource type there, so on `*`.
Every other action here supports resource-level permissions, so no other statement has `"Resource": "*"`.
One consequence of the prefix condition: S3 answers GetObject of a missing key with 404 only to a caller
allowed to list the bucket, and a GetObject request carries no `s3:prefix`, so a missing IOC object may
come back as 403 AccessDenied rather than NoSuchKey: `S3ObjectStore.get` then lists that one key to tell
a removed object from a real refusal.
Not covered: KMS (results or data encrypted with SSE-KMS need kms:Decrypt/GenerateDataKey on the key)
and Lake Formation (when it governs the catalog, grants are made there as well).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from bot.aws.workgroup import DEFAULT_WORKGROUP
from bot.identifiers import ACCOUNT_ID, REGION
from bot.settings import BUCKET, MissingSettingError, Settings

POLICY_VERSION = "2012-10-17"
PARTITION = re.compile(r"^aws(-[a-z]+)*$")
_S3_URL = re.compile(r"^s3://([^/]+)/?(.*)$")

ATHENA_RUNTIME_ACTIONS = (
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
)
ATHENA_SETUP_ACTIONS = ("athena:GetQueryExecution", "athena:StartQueryExecution", "athena:StopQueryExecution")
WORKGROUP_SETUP_ACTIONS = ("athena:CreateWorkGroup", "athena:GetWorkGroup")
"""Setup creates Flowbot's workgroup when it is missing, and reads an existing one's configuration."""
"""Setup runs each statement to its end and reads no rows (`AthenaEngine.execute_statement`)."""
RESULTS_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:PutObject")
"""Athena writes results (in parts, for large ones) as the caller; the engine reads the result CSV."""
IOC_STORE_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
"""The S3 IOC store: conditional PutObject (If-None-Match), GetObject, DeleteObject (bot/iocs/objects.py)."""
INSTALLATION_STORE_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
"""OAuth mode's S3 stores (slack_sdk's, bot/slack/installations.py): put, get and delete one object at a
time."""
EVIDENCE_STORE_ACTIONS = ("s3:GetObject", "s3:PutObject")
"""The evidence log's own S3 store (FLOWBOT_EVIDENCE_STORE): entries written once (conditional PutObject) and
read; never deleted, so no DeleteObject (bot/evidence/records.py)."""
ENRICH_ACTIONS = ("ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces")
"""What naming the machines reads (bot/enrich/eni.py): the interfaces, and their instances' Name tags."""
GUARDDUTY_READ_ACTIONS = ("guardduty:GetFindings",)
"""The GuardDuty pivot reads one finding by id (bot/aws/guardduty.py `read_finding`)."""
GUARDDUTY_LIST_ACTIONS = ("guardduty:ListDetectors",)
"""…after finding the region's detector, when FLOWBOT_GUARDDUTY_DETECTOR_ID does not name it."""
VIEW_ACTIONS = ("glue:CreateTable", "glue:GetTable", "glue:UpdateTable")
"""CREATE OR REPLACE VIEW creates the view, or updates it when it exists."""


class S3Location(NamedTuple):
    """An s3:// URL split into its bucket and key prefix (empty, or ending in `/`)."""

    bucket: str
    prefix: str


def s3_location(url: str) -> S3Location:
    """`s3://bucket/some/folder` -> (bucket, `some/folder/`): Athena treats every location as a folder."""
    match = _S3_URL.fullmatch(url)
    if match is None or not BUCKET.fullmatch(match.group(1)):
        raise ValueError(f"not an s3://bucket/prefix URL: {url}")
    prefix = match.group(2).strip("/")
    return S3Location(match.group(1), f"{prefix}/" if prefix else "")


class _Arns:
    """The ARNs of one account, partition and region."""

    def __init__(self, account: str, partition: str, region: str) -> None:
        if not ACCOUNT_ID.fullmatch(account):
            raise ValueError(f"an AWS account ID is 12 digits, not {account!r}")
        if not PARTITION.fullmatch(partition):
            raise ValueError(f"not an AWS partition (aws, aws-cn, aws-us-gov): {partition!r}")
        if not REGION.fullmatch(region):
            raise ValueError(f"not an AWS region name: {region!r}")
        self.account, self.partition, self.region = account, partition, region

    def workgroup(self, name: str) -> str:
        return f"arn:{self.partition}:athena:{self.region}:{self.account}:workgroup/{name}"

    def glue(self, resource: str) -> str:
        return f"arn:{self.partition}:glue:{self.region}:{self.account}:{resource}"

    def bucket(self, bucket: str) -> str:
        return f"arn:{self.partition}:s3:::{bucket}"

    def objects(self, where: S3Location) -> str:
        return f"arn:{self.partition}:s3:::{where.bucket}/{where.prefix}*"


def _statement(sid: str, actions: tuple[str, ...], resources: list[str], **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(actions),
        "Resource": list(dict.fromkeys(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _list(sid: str, arns: _Arns, where: S3Location) -> dict[str, Any]:
    """ListBucket, limited to keys under the location's prefix; a whole-bucket location gets no condition.

    IAM compares `s3:prefix` with the request's `prefix` parameter; a listing sent without one has no such
    key, and "if the key that you specify in a policy condition is not present in the request context, the
    values do not match" (IAM User Guide, condition operators): `StringLike "*"` would refuse exactly the
    listings of a whole bucket that the grant means to allow. `encoding-type=url`, which botocore adds to
    every ListObjectsV2, only encodes the keys in the response (S3 API Reference) and does not touch it.
    """
    if not where.prefix:
        return _statement(sid, ("s3:ListBucket",), [arns.bucket(where.bucket)])
    return _statement(
        sid, ("s3:ListBucket",), [arns.bucket(where.bucket)], StringLike={"s3:prefix": [f"{where.prefix}*"]}
    )


def _region(settings: Settings, region: str | None) -> str:
    found = region or settings.athena_region
    if not found:
        raise MissingSettingError(
            "FLOWBOT_ATHENA_REGION is not set: the policy needs Athena's region (or give --region)"
        )
    return found


def _results(settings: Settings, output_location: str | None) -> S3Location:
    """Where Athena writes results: the argument (a workgroup-enforced location) or the setting."""
    url = output_location or settings.athena_output_location
    if not url:
        raise MissingSettingError(
            "FLOWBOT_ATHENA_OUTPUT_LOCATION is not set: the policy needs where Athena writes results "
            "(give --output-location when the workgroup enforces its own)"
        )
    return s3_location(url)


def _flow_logs(settings: Settings) -> S3Location | None:
    """The flow-log objects the partition-projected table reads (`{prefix}/AWSLogs/...`)."""
    if not settings.flow_logs_bucket:
        if settings.table_kind == "vpcflow":
            raise MissingSettingError(
                "FLOWBOT_FLOW_LOGS_BUCKET is not set: the policy needs the flow-log bucket"
            )
        return None
    prefix = f"{settings.flow_logs_prefix}/" if settings.flow_logs_prefix else ""
    return S3Location(settings.flow_logs_bucket, f"{prefix}AWSLogs/")


def _json_records(settings: Settings) -> S3Location | None:
    if settings.athena_json_location is None:
        if settings.table_kind == "json":
            raise MissingSettingError(
                "FLOWBOT_ATHENA_JSON_LOCATION is not set: the policy needs where the JSON records are"
            )
        return None
    return s3_location(settings.athena_json_location)


def _ioc_store(settings: Settings) -> S3Location | None:
    """The S3 IOC store's root, or None for a local folder (no AWS access needed)."""
    return s3_location(settings.ioc_store) if settings.ioc_store.startswith("s3://") else None


def _evidence_store(settings: Settings) -> S3Location | None:
    """The evidence log's S3 root when it has one of its own; None when it is off, in a folder, or under the
    IOC store (`evidence/` beside `table/`: the IOC store's grant covers it)."""
    where = settings.evidence_store
    if not settings.evidence_enabled or where is None or not where.startswith("s3://"):
        return None
    return s3_location(where)


class InstallationFolders(NamedTuple):
    """Where OAuth mode's S3 stores keep their objects: each installation, and the install flow's states."""

    installations: S3Location
    states: S3Location


def _installation_store(settings: Settings) -> InstallationFolders | None:
    """The S3 installation store's folders in OAuth mode; None without OAuth mode or for a local folder.

    The layout is bot/slack/installations.py's: `{prefix}installations/{client id}/` for
    `AmazonS3InstallationStore`, `{prefix}states/` for the state store's keys."""
    store = settings.installation_store
    if not settings.oauth_enabled or store is None or not store.startswith("s3://"):
        return None
    root = s3_location(store)
    return InstallationFolders(
        installations=S3Location(root.bucket, f"{root.prefix}installations/{settings.slack_client_id}/"),
        states=S3Location(root.bucket, f"{root.prefix}states/"),
    )


FOREIGN_TABLE_RUNTIME_ACTIONS = (
    "glue:GetDatabase",
    "glue:GetTable",
    "glue:GetPartition",
    "glue:GetPartitions",
    "glue:BatchGetPartition",
)
"""What Athena needs of a flow-log table in another database (Security Lake's, or an adopted one whose
partitions Glue keeps: Athena User Guide, "Fine-grained access to databases and tables in the AWS Glue Data
Catalog", which lists GetPartition(s) and BatchGetPartition for querying partitioned tables)."""
FOREIGN_TABLE_SETUP_ACTIONS = ("glue:GetDatabase", "glue:GetTable", "glue:GetPartitions")
"""What `flowbot athena setup` and `adopt` read of it: the table, and one page of partitions (adopt reads a
day key's format from them)."""


def _foreign_flow_table(arns: _Arns, settings: Settings, actions: tuple[str, ...]) -> dict[str, Any]:
    """Read access to a flow-log table outside Flowbot's database (never write: it is not Flowbot's)."""
    database = settings.flow_database
    resources = [
        arns.glue("catalog"),
        arns.glue(f"database/{database}"),
        arns.glue(f"table/{database}/{settings.athena_table}"),
    ]
    return _statement("GlueReadFlowTable", actions, resources)


def _tables(settings: Settings, flow_logs: bool, json_records: bool, iocs: bool) -> list[str]:
    """Flowbot's tables that exist for these settings: the flow-log table, the JSON one, the IOC one."""
    present = (
        (settings.athena_table, flow_logs and settings.flow_database == settings.athena_database),
        (settings.athena_json_table, json_records),
        (settings.athena_ioc_table, iocs),
    )
    return [name for name, there in present if there]


def _database_arns(arns: _Arns, settings: Settings) -> list[str]:
    """The catalog, `default` (the Athena guide asks for it in every Region) and Flowbot's database."""
    return [
        arns.glue("catalog"),
        arns.glue("database/default"),
        arns.glue(f"database/{settings.athena_database}"),
    ]


def _table_arns(arns: _Arns, settings: Settings, tables: list[str]) -> list[str]:
    """Glue authorises a table call on the catalog, the database and the table."""
    database = settings.athena_database
    return [arns.glue("catalog"), arns.glue(f"database/{database}")] + [
        arns.glue(f"table/{database}/{table}") for table in tables
    ]


def _enrich(settings: Settings) -> list[dict[str, Any]]:
    """Naming the machines: EC2's two Describe actions, or the role that has them."""
    if not settings.enrich_enabled:
        return []
    role = settings.enrich_role_arn
    if role is None:
        return [_statement("EnrichDescribeInterfaces", ENRICH_ACTIONS, ["*"])]
    accounts = settings.accounts or ("*",)
    roles = [role.replace("{account}", account) for account in accounts] if "{account}" in role else [role]
    return [_statement("EnrichAssumeRole", ("sts:AssumeRole",), roles)]


def enrich_role_policy() -> dict[str, Any]:
    """The policy FLOWBOT_ENRICH_ROLE_ARN's role needs in each account (its trust policy names the pods'
    role)."""
    return {"Version": POLICY_VERSION, "Statement": [_statement("EnrichDescribe", ENRICH_ACTIONS, ["*"])]}


def _guardduty(settings: Settings, arns: _Arns) -> list[dict[str, Any]]:
    """The GuardDuty pivot: GetFindings on the detector in each region a finding may be read in, and
    ListDetectors when the detector must be found."""
    regions = dict.fromkeys([settings.guardduty_region or arns.region, *settings.regions])
    detector = settings.guardduty_detector_id or "*"
    detectors = [
        f"arn:{arns.partition}:guardduty:{region}:{arns.account}:detector/{detector}" for region in regions
    ]
    statements = [_statement("GuardDutyReadFindings", GUARDDUTY_READ_ACTIONS, detectors)]
    if settings.guardduty_detector_id is None:
        statements.append(_statement("GuardDutyListDetectors", GUARDDUTY_LIST_ACTIONS, ["*"]))
    return statements


def runtime_policy(
    settings: Settings,
    *,
    account: str,
    partition: str = "aws",
    region: str | None = None,
    output_location: str | None = None,
) -> dict[str, Any]:
    """The policy the bot and workers need, as an IAM JSON policy document.

    `region` defaults to FLOWBOT_ATHENA_REGION and `output_location` to FLOWBOT_ATHENA_OUTPUT_LOCATION;
    one of each is required. Raises MissingSettingError naming the missing setting.
    """
    arns = _Arns(account, partition, _region(settings, region))
    results = _results(settings, output_location)
    flow_logs, json_records, iocs = _flow_logs(settings), _json_records(settings), _ioc_store(settings)
    tables = _tables(settings, flow_logs is not None, json_records is not None, iocs is not None)
    statements = [
        _statement("AthenaQueries", ATHENA_RUNTIME_ACTIONS, [arns.workgroup(settings.athena_workgroup)]),
        _statement("GlueReadDatabase", ("glue:GetDatabase",), _database_arns(arns, settings)),
        _statement("GlueReadTables", ("glue:GetTable",), _table_arns(arns, settings, tables)),
    ]
    if settings.flow_database != settings.athena_database:
        statements.append(_foreign_flow_table(arns, settings, FOREIGN_TABLE_RUNTIME_ACTIONS))
    buckets = [results.bucket]
    if flow_logs is not None:
        statements += [
            _statement("FlowLogsRead", ("s3:GetObject",), [arns.objects(flow_logs)]),
            _list("FlowLogsList", arns, flow_logs),
        ]
        buckets.append(flow_logs.bucket)
    if json_records is not None:
        statements += [
            _statement("JsonFlowLogsRead", ("s3:GetObject",), [arns.objects(json_records)]),
            _list("JsonFlowLogsList", arns, json_records),
        ]
        buckets.append(json_records.bucket)
    statements += [
        _statement("QueryResultsReadWrite", RESULTS_ACTIONS, [arns.objects(results)]),
        _list("QueryResultsList", arns, results),
    ]
    if iocs is not None:
        # Athena's IOC table reads `{root}table/`, inside the same grant.
        statements += [
            _statement("IocStoreReadWrite", IOC_STORE_ACTIONS, [arns.objects(iocs)]),
            _list("IocStoreList", arns, iocs),
        ]
        buckets.append(iocs.bucket)
    evidence = _evidence_store(settings)
    if evidence is not None:
        statements += [
            _statement("EvidenceLogWriteOnceRead", EVIDENCE_STORE_ACTIONS, [arns.objects(evidence)]),
            _list("EvidenceLogList", arns, evidence),
        ]
        buckets.append(evidence.bucket)
    slack = _installation_store(settings)
    if slack is not None:
        # The installations folder is never a whole bucket (it ends in `installations/<client id>/`), so
        # its listing always carries the s3:prefix condition: the store always lists with a Prefix.
        statements += [
            _statement(
                "SlackInstallationsReadWrite",
                INSTALLATION_STORE_ACTIONS,
                [arns.objects(slack.installations), arns.objects(slack.states)],
            ),
            _list("SlackInstallationsList", arns, slack.installations),
        ]
    statements.append(
        _statement("S3BucketLocation", ("s3:GetBucketLocation",), [arns.bucket(b) for b in buckets])
    )
    statements += _enrich(settings)
    statements += _guardduty(settings, arns)
    return {"Version": POLICY_VERSION, "Statement": statements}


def setup_policy(
    settings: Settings,
    *,
    account: str,
    partition: str = "aws",
    region: str | None = None,
    output_location: str | None = None,
) -> dict[str, Any]:
    """The policy `flowbot athena setup` needs (an administrator runs it once), on its own.

    Setup creates Flowbot's workgroup when it is missing (GetWorkGroup, CreateWorkGroup: bot/aws/workgroup.py;
    not for `primary`), reads, creates and (with `--apply`) updates the database and tables through Glue
    itself (GetDatabase, CreateDatabase, GetTable, CreateTable, UpdateTable: bot/aws/glue.py), and runs
    CREATE OR REPLACE VIEW through Athena, which creates the view's Glue object as the caller and writes the
    statement's result file. Creating a table reads no data, so no flow-log access is needed. Glue's
    CreateDatabase on `default` follows the Athena guide (Athena may create that database on first use
    in a Region).
    """
    arns = _Arns(account, partition, _region(settings, region))
    results = _results(settings, output_location)
    if _flow_logs(settings) is None and settings.flow_table_managed:
        raise MissingSettingError("FLOWBOT_FLOW_LOGS_BUCKET is not set: setup creates the flow-log table")
    has_iocs = _ioc_store(settings) is not None
    tables = _tables(settings, True, _json_records(settings) is not None, has_iocs)
    statements = [
        _statement("AthenaRunDdl", ATHENA_SETUP_ACTIONS, [arns.workgroup(settings.athena_workgroup)]),
    ]
    if settings.athena_workgroup != DEFAULT_WORKGROUP:  # setup creates Flowbot's own (bot/aws/workgroup.py)
        statements.append(
            _statement(
                "AthenaCreateWorkgroup", WORKGROUP_SETUP_ACTIONS, [arns.workgroup(settings.athena_workgroup)]
            )
        )
    statements += [
        _statement(
            "GlueCreateDatabase", ("glue:CreateDatabase", "glue:GetDatabase"), _database_arns(arns, settings)
        ),
        _statement(
            "GlueCreateOrUpdateTables",
            ("glue:CreateTable", "glue:GetDatabase", "glue:GetTable", "glue:UpdateTable"),
            _table_arns(arns, settings, tables),
        ),
    ]
    if settings.flow_database != settings.athena_database:
        statements.append(_foreign_flow_table(arns, settings, FOREIGN_TABLE_SETUP_ACTIONS))
    if has_iocs:
        view = _table_arns(arns, settings, [settings.athena_ioc_view])
        statements.append(_statement("GlueCreateOrReplaceView", VIEW_ACTIONS, view))
    statements += [
        _statement("QueryResultsReadWrite", RESULTS_ACTIONS, [arns.objects(results)]),
        _list("QueryResultsList", arns, results),
        _statement("S3BucketLocation", ("s3:GetBucketLocation",), [arns.bucket(results.bucket)]),
    ]
    return {"Version": POLICY_VERSION, "Statement": statements}
