"""Every setting Flowbot reads, in one typed model (environment variables prefixed `FLOWBOT_`).

Every value is typed and bounded here, once: the only SQL identifiers Flowbot ever writes (database,
table and view names) come from these fields and are checked against a strict pattern. Secrets are
`SecretStr` so they never show up in logs or reprs.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.flowlog_format import COLUMN_HEADERS, DEFAULT_V2_FORMAT, parse_log_format
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS, Layout
from bot.identifiers import ACCOUNT_ID, REGION, SLACK_ID, TEAM_ID
from bot.manifest import manifest_bot_scopes

IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX = re.compile(r"^[A-Za-z0-9!_.*()/-]*$")
CLIENT_ID = re.compile(r"^\d+\.\d+$")
SCOPE = re.compile(r"^[a-z][a-z0-9_.-]*(:[a-z0-9_.-]+)*$")
URL_PATH = re.compile(r"^/[A-Za-z0-9._~/-]*$")
ENRICH_ROLE = re.compile(r"^arn:aws(-[a-z]+)*:iam::(\d{12}|\{account\}):role/[\w+=,.@/-]{1,512}$")
RESERVED_PATHS = frozenset({"/slack/events", "/healthz", "/readyz"})
"""Paths `flowbot serve` answers itself: the install pages may not take them."""
CommaList = Annotated[tuple[str, ...], NoDecode]

ADOPTED_TYPES = ("tinyint", "smallint", "int", "integer", "bigint", "string", "varchar")
"""The Hive types an adopted table's flow-log column may have (Flowbot casts them to its own)."""
ADOPTED_COLUMN = re.compile(
    rf"([a-z_][a-z0-9_]{{0,127}}):([a-z][a-z0-9]{{0,63}})(?::({'|'.join(ADOPTED_TYPES)}))?"
)
PARTITION_ROLES = ("account", "region", "service", "year", "month", "day", "hour", "date", "date-slashes",
                   "date-dashes")  # fmt: skip
"""What an adopted table's partition key holds: the account, the region, the service (`vpcflowlogs`, not
read), Hive's year, month, day of the month and hour strings, or the whole day as a `date`, as 'yyyy/MM/dd'
text (`date-slashes`) or as 'yyyy-MM-dd' text (`date-dashes`)."""
DAY_ROLES = ("date", "date-slashes", "date-dashes")
ADOPTED_PARTITION = re.compile(rf"([a-z_][a-z0-9_-]{{0,127}}):({'|'.join(PARTITION_ROLES)})")
"""`column:logical[:type]` and `key:role`, the entries of FLOWBOT_ATHENA_ADOPTED_COLUMNS and _PARTITIONS.

Parsed by hand, not as JSON: they are comma lists like every other list setting (one line in an env file or a
Helm value), and each entry is matched whole by these patterns before it is split, so every name written
into SQL is a plain lower-case identifier (a partition key may also hold `-`, as AWS's `aws-account-id` does;
Flowbot writes it double-quoted)."""


def adopted_column(entry: str) -> tuple[str, str, str | None]:
    """`protocol:protocol:bigint` → ('protocol', 'protocol', 'bigint'); the type is None when the table's
    is Flowbot's own. The entry must match ADOPTED_COLUMN (the settings checked it)."""
    match = ADOPTED_COLUMN.fullmatch(entry)
    if match is None:
        raise ValueError(f"`{entry}` is not `column:logical` or `column:logical:type`")
    column, logical, kind = match.groups()
    return column, logical, kind


def adopted_partition(entry: str) -> tuple[str, str]:
    """`aws-region:region` → ('aws-region', 'region'). The entry must match ADOPTED_PARTITION."""
    match = ADOPTED_PARTITION.fullmatch(entry)
    if match is None:
        raise ValueError(f"`{entry}` is not `key:role` with a role of {', '.join(PARTITION_ROLES)}")
    key, role = match.groups()
    return key, role


class MissingSettingError(RuntimeError):
    """A setting the chosen mode needs is not set; the message names the variable."""


class Settings(BaseSettings):
    """Flowbot's configuration; every field is documented because it is the operator's manual."""

    model_config = SettingsConfigDict(env_prefix="FLOWBOT_", env_file=None, extra="ignore", frozen=True)

    engine: Literal["local", "athena"] = Field(
        "local",
        description="Query engine: `local` runs the templates on DuckDB over flow-log files, `athena` on "
        "Amazon Athena.",
    )
    log_format: str = Field(
        DEFAULT_V2_FORMAT,
        description="The flow logs' format string, as configured on the flow log (`${version} ${account-id} "
        "...`); the default is version 2's. Decides the table's columns.",
    )
    layout: str = Field(
        DEFAULT_LAYOUT,
        description="How the flow logs are delivered: file format, prefix style and partition grain, e.g. "
        "`text-daily` (the default), `text-hourly`, `parquet-hive-hourly` (the README's table of layouts).",
    )
    table_kind: Literal["vpcflow", "json"] = Field(
        "vpcflow",
        description="Which of the playbook's tables queries read: `vpcflow` (delimited text, partition "
        "projected) or `json` (the JSON-serde `vpc_flow_logs` table).",
    )
    local_data_dir: Path = Field(
        Path("sample-data"),
        description="Folder holding `AWSLogs/` exactly as the flow-log bucket does (local engine).",
    )

    flow_logs_bucket: str | None = Field(None, description="S3 bucket the flow logs are delivered to.")
    flow_logs_prefix: str = Field("", description="Prefix before `AWSLogs/` in that bucket, if any.")
    accounts: CommaList = Field((), description="Account IDs whose logs the table covers (comma-separated).")
    account_projection: Literal["enum", "injected"] = Field(
        "enum",
        description="How the table projects accounts: `enum` lists FLOWBOT_ACCOUNTS in the table (a few "
        "dozen at most, as AWS advises); `injected` takes each query's accounts from the query, for an "
        "organisation's hundreds (a query then needs an account, or runs over FLOWBOT_ACCOUNTS).",
    )
    regions: CommaList = Field((), description="Regions whose logs the table covers (comma-separated).")
    first_day: date | None = Field(None, description="First day of logs (start of the date projection).")
    athena_database: str = Field("flowbot", description="Athena database holding Flowbot's tables.")
    athena_table: str = Field("vpcflow", description="The partition-projected flow-log table.")
    athena_flow_database: str | None = Field(
        None,
        description="Database of the flow-log table when another service owns it (Security Lake's "
        "`amazon_security_lake_glue_db_<region>`); unset: FLOWBOT_ATHENA_DATABASE.",
    )
    athena_adopt_table: bool = Field(
        False,
        description="The flow-log table FLOWBOT_ATHENA_FLOW_DATABASE.FLOWBOT_ATHENA_TABLE already exists and "
        "is someone else's (the VPC console's Athena integration's, or one made from AWS's documentation): "
        "Flowbot reads it through FLOWBOT_ATHENA_ADOPTED_COLUMNS and FLOWBOT_ATHENA_ADOPTED_PARTITIONS and "
        "never creates or changes it. `flowbot athena adopt` reads the table from Glue and prints the "
        "settings.",
    )
    athena_adopted_columns: CommaList = Field(
        (),
        description="The adopted table's flow-log columns, in its order: `column:logical` "
        "(`srcaddr:sourceaddress`), or `column:logical:type` where the table's type is not Flowbot's "
        "(`protocol:protocol:bigint`). Printed by `flowbot athena adopt`.",
    )
    athena_adopted_partitions: CommaList = Field(
        (),
        description="The adopted table's partition keys, in its order, as `key:role`: `account`, `region`, "
        "`service` (not read), Hive's `year`, `month`, `day` (of the month) and `hour`, or the whole day as "
        "`date` (a date), `date-slashes` ('yyyy/MM/dd') or `date-dashes` ('yyyy-MM-dd'). Printed by "
        "`flowbot athena adopt`.",
    )
    athena_json_table: str = Field("vpc_flow_logs", description="The JSON-serde flow-log table.")
    athena_json_location: str | None = Field(None, description="S3 URL of the JSON flow-log records.")
    athena_ioc_table: str = Field("incident_iocs", description="The IOC table.")
    athena_ioc_view: str = Field("incident_vpc_flow_directional", description="The directional IOC view.")
    athena_workgroup: str = Field("primary", description="Athena workgroup queries run in.")
    athena_output_location: str | None = Field(
        None, description="S3 URL for query results (unless the workgroup enforces its own)."
    )
    athena_region: str | None = Field(None, description="AWS region of Athena (default: the AWS SDK's).")
    guardduty_detector_id: str | None = Field(
        None,
        pattern=r"^[0-9a-f]{1,300}$",
        description="GuardDuty detector whose findings `guardduty <finding-id>` reads (the administrator "
        "account's, to read its members' findings); unset: the one detector ListDetectors finds in the "
        "region.",
    )
    guardduty_region: str | None = Field(
        None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-[0-9]$",
        description="AWS region whose GuardDuty findings `guardduty` reads when the command names none "
        "(default: FLOWBOT_ATHENA_REGION, else the AWS SDK's).",
    )
    guardduty_margin: str = Field(
        "1h",
        pattern=r"^[0-9]{1,4}[mhd]$",
        description="Time added before a GuardDuty finding's first sighting and after its last, for the "
        "window of the queries `guardduty` runs (`30m`, `1h`, `1d`).",
    )
    athena_bytes_scanned_cutoff: int | None = Field(
        None, ge=10_000_000, description="A query that scans more bytes than this is stopped."
    )
    athena_price_per_tb: float = Field(5.0, ge=0, description="US dollars per TB scanned, for the cost line.")
    athena_poll_seconds: float = Field(
        0.5, gt=0, le=30, description="First wait between status polls (doubles up to 5 s)."
    )
    athena_result_reuse_minutes: int | None = Field(
        None,
        ge=1,
        le=10080,  # ResultReuseByAgeConfiguration.MaxAgeInMinutes: 0 to 10080 (Athena API Reference)
        description="Reuse Athena's stored result of an identical query up to this many minutes old "
        "(windows are then snapped to 5 minutes so repeated questions match); unset: never reuse.",
    )
    enrich: Literal["off", "on", "auto"] = Field(
        "auto",
        description="Name the machines in answers (bot/enrich/): private addresses and ENIs from EC2 "
        "DescribeNetworkInterfaces, public ones from AWS's ip-ranges.json. `auto`: on with the Athena "
        "engine, off with the local one (so a local run never reaches AWS or the internet).",
    )
    enrich_timeout_seconds: float = Field(
        3.0,
        gt=0,
        le=30,
        description="Longest an answer waits for the names, counted from the job's start; past it the answer "
        "comes without them and says so.",
    )
    enrich_eni_ttl_seconds: int = Field(
        900,
        ge=30,
        le=86400,
        description="How long one account and region's network interfaces (and their instances' Name tags) "
        "are kept in Redis before EC2 is asked again.",
    )
    enrich_ip_ranges_ttl_seconds: int = Field(
        86400,
        ge=300,
        le=7 * 86400,
        description="How long AWS's ip-ranges.json is kept in Redis before it is fetched again.",
    )
    enrich_ip_ranges_url: str = Field(
        "https://ip-ranges.amazonaws.com/ip-ranges.json",
        description="Where AWS's published IP ranges are read: an https:// URL, or a file path.",
    )
    enrich_role_arn: str | None = Field(
        None,
        description="Role assumed (sts:AssumeRole) to describe each account's network interfaces, "
        "`{account}` standing for the account ID (`arn:aws:iam::{account}:role/flowbot-enrich`); unset: the "
        "worker's own credentials, for its own account only.",
    )
    enrich_regions: CommaList = Field(
        (),
        description="Regions whose network interfaces name addresses when a query names none (comma-"
        "separated); empty: FLOWBOT_REGIONS, else the AWS SDK's region.",
    )
    confirm_bytes: int | None = Field(
        1 << 40,
        ge=1,
        description="A query estimated to scan more than this many bytes waits for a *Run it* click "
        "(default 1 TiB); unset: never asks.",
    )
    channel_daily_bytes: int | None = Field(
        None, ge=1, description="Bytes one channel's queries may scan per UTC day; unset: no budget."
    )
    estimate_max_lists: int = Field(
        200,
        ge=1,
        le=10_000,
        description="Most S3 list calls one pre-flight estimate makes; past it, the estimate is "
        "extrapolated from the folders it listed.",
    )

    ioc_store: str = Field(
        "~/.local/share/flowbot/iocs",
        description="Where indicators are kept: `s3://bucket/prefix` (Athena's IOC table reads its `table/` "
        "folder) or a local folder (the local engine reads the same layout).",
    )
    ioc_add_allowed: CommaList = Field(
        (),
        description="Who may add indicators: Slack user (U…), user group (S…) or channel (C…) IDs; "
        "empty: anyone.",
    )
    ioc_remove_allowed: CommaList = Field(
        (), description="Who may remove indicators (same forms); empty: anyone who may add."
    )
    ioc_admins: CommaList = Field(
        (), description="Users (U…) or user groups (S…) who may add private, reserved or very wide ranges."
    )
    ioc_announce_channel: str | None = Field(
        None, description="Channel ID where every IOC submission and removal is announced."
    )
    evidence_enabled: bool = Field(
        True,
        description="Keep an entry of every query run in a channel (who, when, the exact SQL and values, "
        "query id, bytes scanned, cost, the CSV's SHA-256) for `/flow evidence`; each written once, never "
        "rewritten.",
    )
    evidence_store: str | None = Field(
        None,
        description="Where evidence entries are kept (under `evidence/`): `s3://bucket/prefix` or a folder; "
        "unset: the IOC store (FLOWBOT_IOC_STORE), beside its `table/` and `audit/`.",
    )

    default_window: str = Field("24h", description="Window when a command names none (`15m`, `6h`, `7d`).")
    max_window_days: int = Field(90, ge=1, le=3660, description="Longest window a query may cover, in days.")
    retrohunt_days: int = Field(
        30,
        ge=0,
        le=3660,
        description="Adding indicators hunts them back this many days at once, in the submitter's thread and "
        "the announce channel; 0 turns retro-hunts off. FLOWBOT_MAX_WINDOW_DAYS caps it.",
    )
    watch_max_days: int = Field(
        7, ge=1, le=90, description="A standing watch (`/flow watch …`) ends this many days after it began."
    )
    watch_min_every_seconds: int = Field(
        300,
        ge=1,
        le=86400,
        description="The shortest interval a watch may run at (`every 5m`); each run is one query.",
    )
    watch_delivery_lag_seconds: int = Field(
        900,
        ge=0,
        le=86400,
        description="How far behind the clock a watch's windows run, for flow logs to be delivered: VPC Flow "
        "Logs aggregates up to 10 minutes and publishes to S3 every 5 (Amazon VPC User Guide, 'Flow log "
        "records'). A record delivered later than this is not seen by the watch (README, known limits).",
    )
    watches_per_channel: int = Field(
        10, ge=1, le=100, description="Most standing watches one channel may have."
    )
    default_limit: int = Field(10_000, ge=1, description="Row limit when a command names none.")
    max_limit: int = Field(1_000_000, ge=1, description="Largest `--limit` accepted.")
    summary_rows: int = Field(10, ge=1, le=50, description="Rows shown in the phone-sized summary.")
    query_timeout_seconds: int = Field(600, ge=10, description="A job running longer than this is stopped.")
    kept_rows: int = Field(
        100,
        ge=10,
        le=1000,
        description="Rows of each answer kept in Redis for its *Show next rows* button "
        "(the rest is in the CSV).",
    )
    status_update_seconds: float = Field(
        5.0, ge=1.0, description="Least time between two edits of a job's status message (Slack rate limits)."
    )
    channel_post_interval_seconds: float = Field(
        1.0,
        ge=0.0,
        description="Least time between two Flowbot messages in one channel, across all workers "
        "(Slack allows about one per second).",
    )
    context_ttl_days: int = Field(
        90, ge=1, description="How long a channel's `context` (accounts, regions, window) is kept unused."
    )
    recent_queries: int = Field(
        10, ge=1, le=50, description="How many of a person's recent queries their App Home lists."
    )

    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis holding the job queue.")
    queue_name: str = Field("flowbot", description="RQ queue the bot enqueues to and workers read.")
    dedupe_ttl_seconds: int = Field(
        3600, ge=60, description="How long a Slack request id is remembered, so a retry makes no second job."
    )

    slack_bot_token: SecretStr | None = Field(None, description="Bot token (xoxb-...) for the Web API.")
    slack_signing_secret: SecretStr | None = Field(
        None, description="Verifies every HTTP request from Slack."
    )
    slack_app_token: SecretStr | None = Field(None, description="App-level token (xapp-...) for Socket Mode.")
    slack_api_url: str = Field(
        "https://slack.com/api/", description="Slack Web API base URL; tests point it at a local mock."
    )
    slack_client_id: str | None = Field(
        None,
        description="The app's Client ID (Basic Information → App Credentials). Setting it switches on OAuth "
        "mode: one deployment serves every workspace (or Enterprise Grid org) that installs Flowbot through "
        "its install page, each with its own bot token; FLOWBOT_SLACK_BOT_TOKEN is then not used, and "
        "FLOWBOT_SLACK_CLIENT_SECRET, FLOWBOT_INSTALLATION_STORE and FLOWBOT_ALLOWED_TEAMS are required.",
    )
    slack_client_secret: SecretStr | None = Field(
        None, description="The app's Client Secret (Basic Information → App Credentials); OAuth mode."
    )
    installation_store: str | None = Field(
        None,
        description="Where OAuth mode keeps each installation's bot token and the install flow's "
        "short-lived state values: `s3://bucket/prefix` (shared by every replica and worker) or a local "
        "folder (one host only).",
    )
    slack_scopes: CommaList = Field(
        default_factory=lambda data: manifest_bot_scopes() if data.get("slack_client_id") else (),
        description="Bot scopes the install flow asks for (comma-separated); default in OAuth mode: "
        "`bot/manifest.yml`'s, so the two never drift.",
    )
    slack_install_path: str = Field(
        "/slack/install", description="Path of the page that starts an install (OAuth mode)."
    )
    slack_redirect_path: str = Field(
        "/slack/oauth_redirect",
        description="Path Slack sends the installer back to (OAuth mode); `flowbot manifest --oauth` "
        "registers it as the app's redirect URL (implied once FLOWBOT_SLACK_CLIENT_ID is set).",
    )
    http_host: str = Field("0.0.0.0", description="Address `flowbot serve` listens on.")  # noqa: S104
    http_port: int = Field(3000, ge=1, le=65535, description="Port `flowbot serve` listens on.")
    status_post_threads: int = Field(
        8,
        ge=1,
        le=256,
        description="Threads posting status messages in `flowbot serve`, apart from the ones that "
        "acknowledge commands, so a slow Slack delays status messages, never acknowledgements.",
    )
    command: str = Field("/flow", description="The slash command Flowbot answers.")

    allowed_teams: CommaList = Field(
        (), description="Slack workspace (team) IDs Flowbot answers (comma-separated); empty: any."
    )
    allowed_channels: CommaList = Field(
        (),
        description="Channel IDs (C…, G…, D…) where Flowbot answers queries; empty: any. `T…:C…` (or "
        "`E…:C…`) allows a channel in that workspace (or org) only; once the list is set, each workspace is "
        "served in the plain entries and its own, nowhere else.",
    )
    user_queries_per_minute: int = Field(
        10, ge=1, description="Queries one person may start per minute; more get a clear reply."
    )
    channel_queries_per_minute: int = Field(
        30, ge=1, description="Queries one channel may start per minute; more get a clear reply."
    )
    job_retries: int = Field(
        2, ge=0, le=5, description="Times a job whose worker died is run again (it answers once either way)."
    )
    worker_heartbeat_seconds: int = Field(
        10,
        ge=1,
        le=300,
        description="How often a worker proves it is alive; a running job whose worker stops proving it "
        "counts as abandoned 15 s after the heartbeat it missed.",
    )
    worker_maintenance_seconds: int = Field(
        30,
        ge=5,
        description="How often workers, idle or busy, look for jobs whose worker died, to run them again.",
    )
    worker_redis_outage_seconds: int = Field(
        60,
        ge=1,
        le=3600,
        description="How long a worker's Redis calls (and its running job's) wait for Redis to answer again "
        "before giving up on the call; a worker then reconnects and keeps serving.",
    )
    undelivered_dir: Path = Field(
        Path("~/.local/share/flowbot/undelivered"),
        description="Where a worker keeps an answer Slack would not take (summary and CSV), by job id.",
    )
    undelivered_retry_seconds: int = Field(
        60,
        ge=5,
        description="How long after keeping an undelivered answer the workers first try to send it again; "
        "each failed try doubles the wait (at most an hour).",
    )
    undelivered_max_attempts: int = Field(
        20,
        ge=1,
        description="Tries at sending a kept answer again before the workers give up on it (it stays on "
        "disk; `flowbot undelivered resend` still sends it).",
    )
    undelivered_max_age_hours: int = Field(
        24,
        ge=1,
        description="Age past which a kept answer is no longer sent again by the workers (it stays on disk; "
        "`flowbot undelivered resend` still sends it).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severity logged (logs are JSON lines on stderr)."
    )

    @field_validator("layout")
    @classmethod
    def _layout(cls, value: str) -> str:
        """One of the layouts Flowbot reads (bot/flowlog_layouts.py)."""
        if value not in LAYOUTS:
            raise ValueError(f"`{value}` is not a flow-log layout; use one of {', '.join(LAYOUTS)}")
        return value

    @property
    def flow_layout(self) -> Layout:
        """The configured layout, as a model."""
        return LAYOUTS[self.layout]

    @property
    def retrohunt_window_days(self) -> int:
        """How far back a new indicator is hunted: FLOWBOT_RETROHUNT_DAYS, within the longest window."""
        return min(self.retrohunt_days, self.max_window_days)

    @property
    def flow_database(self) -> str:
        """The database holding the flow-log table."""
        return self.athena_flow_database or self.athena_database

    @property
    def flow_table_managed(self) -> bool:
        """Whether `flowbot athena setup` makes and keeps the flow-log table: not Security Lake's, which
        Security Lake owns, nor an adopted one (setup checks that they are there and have what Flowbot
        reads)."""
        return self.flow_layout.file_format != "ocsf" and not self.athena_adopt_table

    @field_validator("athena_adopted_columns")
    @classmethod
    def _adopted_columns(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each entry `column:logical[:type]` of a known logical column, each column and each logical
        column once; with FLOWBOT_ATHENA_ADOPT_TABLE, the fields of FLOWBOT_LOG_FORMAT (in its order for a
        text table, whose columns are read by position)."""
        entries = [adopted_column(entry) for entry in value]
        unknown = [logical for _, logical, _ in entries if logical not in COLUMN_HEADERS]
        if unknown:
            raise ValueError(f"not flow-log columns: {', '.join(unknown)}")
        for position, what in ((0, "column"), (1, "logical column")):
            names = [str(entry[position]) for entry in entries]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"a {what} appears twice: {', '.join(twice)}")
        log_format, layout = info.data.get("log_format"), info.data.get("layout")
        if info.data.get("athena_adopt_table") and entries and log_format and layout:
            fields = [COLUMN_HEADERS[logical] for _, logical, _ in entries]
            wanted = list(parse_log_format(log_format))
            same = fields == wanted if LAYOUTS[layout].file_format == "text" else set(fields) == set(wanted)
            if not same:
                raise ValueError(
                    f"the columns read {' '.join(fields)}, FLOWBOT_LOG_FORMAT has {' '.join(wanted)}: set "
                    "both as `flowbot athena adopt` prints them"
                )
        return value

    @field_validator("athena_adopted_partitions")
    @classmethod
    def _adopted_partitions(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        """Each entry `key:role`, each key and role once, the day held once (year, month and day, or one
        date key); with FLOWBOT_ATHENA_ADOPT_TABLE, one account (and region) configured where the table has
        no such key, and an hourly FLOWBOT_LAYOUT exactly when it has an hour."""
        if not value:
            return value
        entries = [adopted_partition(entry) for entry in value]
        keys, roles = [k for k, _ in entries], [r for _, r in entries]
        for names, what in ((keys, "key"), (roles, "role")):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"a {what} appears twice: {', '.join(twice)}")
        split = [r for r in roles if r in ("year", "month", "day")]
        whole = [r for r in roles if r in DAY_ROLES]
        if not ((len(split) == 3 and not whole) or (len(whole) == 1 and not split)):
            raise ValueError(
                "the day must be held once: by `year`, `month` and `day` keys, or by one key of role "
                f"{', '.join(DAY_ROLES)}"
            )
        if not info.data.get("athena_adopt_table"):
            return value
        for role, setting in (("account", "accounts"), ("region", "regions")):
            configured = info.data.get(setting)
            if role not in roles and configured is not None and len(configured) != 1:
                raise ValueError(
                    f"the table has no {role} key, so it holds one {role}'s logs: set "
                    f"FLOWBOT_{setting.upper()} to that one {role}"
                )
        layout = info.data.get("layout")
        if layout and LAYOUTS[layout].file_format == "ocsf":
            raise ValueError("an adopted table is a VPC flow-log table, not Security Lake's (FLOWBOT_LAYOUT)")
        if layout and LAYOUTS[layout].hourly != ("hour" in roles):
            has = "has an hour key" if "hour" in roles else "has no hour key"
            raise ValueError(f"the table {has}: FLOWBOT_LAYOUT={layout} says otherwise")
        return value

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        """Every `${field}` must be a known flow-log field, once."""
        parse_log_format(value)
        return value

    @field_validator(
        "athena_database",
        "athena_table",
        "athena_flow_database",
        "athena_json_table",
        "athena_ioc_table",
        "athena_ioc_view",
    )
    @classmethod
    def _identifier(cls, value: str | None) -> str | None:
        """Only plain lower-case identifiers may ever be written into SQL."""
        if value is not None and not IDENTIFIER.fullmatch(value):
            raise ValueError(
                "must be a lower-case identifier: letters, digits and _, not starting with a digit"
            )
        return value

    @field_validator(
        "accounts",
        "regions",
        "enrich_regions",
        "ioc_add_allowed",
        "ioc_remove_allowed",
        "ioc_admins",
        "allowed_teams",
        "allowed_channels",
        "slack_scopes",
        "athena_adopted_columns",
        "athena_adopted_partitions",
        mode="before",
    )
    @classmethod
    def _comma_list(cls, value: object) -> object:
        """`012345678901,111122223333` as well as a list."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("accounts")
    @classmethod
    def _accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [a for a in value if not ACCOUNT_ID.fullmatch(a)]
        if bad:
            raise ValueError(f"account IDs are 12 digits (leading zeros kept): {bad}")
        return value

    @field_validator("regions", "enrich_regions")
    @classmethod
    def _regions(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in value if not REGION.fullmatch(r)]
        if bad:
            raise ValueError(f"not AWS region names: {bad}")
        return value

    @field_validator("athena_region")
    @classmethod
    def _athena_region(cls, value: str | None) -> str | None:
        if value is not None and not REGION.fullmatch(value):
            raise ValueError("not an AWS region name")
        return value

    @field_validator("flow_logs_bucket")
    @classmethod
    def _bucket(cls, value: str | None) -> str | None:
        if value is not None and not BUCKET.fullmatch(value):
            raise ValueError("not an S3 bucket name")
        return value

    @field_validator("flow_logs_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """No quotes or spaces: the prefix is written into DDL string literals."""
        if not PREFIX.fullmatch(value):
            raise ValueError("a prefix holds letters, digits and ! _ . * ( ) / - only")
        return value.strip("/")

    @field_validator("athena_output_location", "athena_json_location")
    @classmethod
    def _s3_url(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(
            r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()/-]*)?", value
        ):
            raise ValueError("must be an s3://bucket/prefix/ URL")
        return value

    @field_validator("ioc_store", "installation_store", "evidence_store")
    @classmethod
    def _store(cls, value: str | None) -> str | None:
        """An s3:// URL with a valid bucket, or a folder."""
        if value is not None and value.startswith("s3://"):
            bucket, _, prefix = value[5:].partition("/")
            if not BUCKET.fullmatch(bucket) or not PREFIX.fullmatch(prefix):
                raise ValueError("must be s3://bucket/prefix with a valid bucket name")
            return f"s3://{bucket}/{prefix.strip('/')}".rstrip("/")
        return value

    @field_validator("allowed_teams")
    @classmethod
    def _team_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not TEAM_ID.fullmatch(v)]
        if bad:
            raise ValueError(f"not Slack workspace IDs (T…): {', '.join(bad)}")
        return value

    @field_validator("ioc_add_allowed", "ioc_remove_allowed", "ioc_admins")
    @classmethod
    def _slack_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not SLACK_ID.fullmatch(v)]
        if bad:
            raise ValueError(f"not Slack user, user group or channel IDs: {bad}")
        return value

    @field_validator("allowed_channels")
    @classmethod
    def _channel_entries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """`C…` for every workspace, `T…:C…` / `E…:C…` for one workspace or org."""
        bad = []
        for entry in value:
            team, _, channel = entry.rpartition(":")
            if (team and not TEAM_ID.fullmatch(team)) or not SLACK_ID.fullmatch(channel):
                bad.append(entry)
        if bad:
            raise ValueError(f"not channel IDs (C…) or workspace:channel pairs (T…:C…): {bad}")
        return value

    @field_validator("slack_client_id")
    @classmethod
    def _client_id(cls, value: str | None) -> str | None:
        if value is not None and not CLIENT_ID.fullmatch(value):
            raise ValueError(
                "not a Slack Client ID (digits.digits, from Basic Information → App Credentials)"
            )
        return value

    @field_validator("slack_scopes")
    @classmethod
    def _scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not SCOPE.fullmatch(v)]
        if bad:
            raise ValueError(f"not Slack scope names (like chat:write): {bad}")
        return value

    @field_validator("slack_install_path", "slack_redirect_path")
    @classmethod
    def _url_path(cls, value: str) -> str:
        """A plain path of its own: not one `flowbot serve` already answers."""
        if not URL_PATH.fullmatch(value):
            raise ValueError("must be a URL path: / then letters, digits and . _ ~ / - only")
        if value in RESERVED_PATHS:
            raise ValueError(f"{value} is taken by `flowbot serve` itself")
        return value

    @field_validator("enrich_role_arn")
    @classmethod
    def _enrich_role(cls, value: str | None) -> str | None:
        """An IAM role ARN, whose account may be `{account}`."""
        if value is not None and not ENRICH_ROLE.fullmatch(value):
            raise ValueError("must be an IAM role ARN, e.g. arn:aws:iam::{account}:role/flowbot-enrich")
        return value

    @property
    def enrich_enabled(self) -> bool:
        """Whether answers name their machines: FLOWBOT_ENRICH, `auto` meaning on with Athena only."""
        return self.enrich == "on" or (self.enrich == "auto" and self.engine == "athena")

    @property
    def oauth_enabled(self) -> bool:
        """OAuth mode: Slack's install flow gives each workspace (or org) its own bot token."""
        return self.slack_client_id is not None

    @property
    def ioc_table_location(self) -> str | None:
        """The S3 folder Athena's IOC table reads, when the store is on S3."""
        return f"{self.ioc_store}/table/" if self.ioc_store.startswith("s3://") else None

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        """slack_sdk joins the method name straight onto the base URL."""
        return value if value.endswith("/") else value + "/"
