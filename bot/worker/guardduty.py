"""The GuardDuty pivot's job: read the finding, post one header message, queue `ratio` and `timeline` for its
addresses as ordinary flow jobs answering in the header's thread.

Once per Slack request, whatever RQ re-runs: the header is claimed in Redis (`GUARDDUTY_HEADER_KEY`) and
posted once; each flow job's id is derived from the pivot's job id and the query, and `FlowQueue.submit`
enqueues an id once, so a re-run of this job after a crash queues nothing twice; the pivot's final claim
(`ANSWERED_KEY`) is taken last, so a re-run after it does nothing at all. The flow jobs are the workers'
ordinary `run_flow_job`: status message, pre-flight estimate, budget, answer and CSV, all in the thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from redis import Redis
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.aws.guardduty import (
    MAX_REMOTES_SHOWN,
    Finding,
    GuardDutyError,
    finding_region,
    finding_window,
    guardduty_client,
    read_finding,
)
from bot.flowlog_format import format_columns
from bot.query.catalog import TABLE_OF_KIND, Catalog, QueryTemplate, load_catalog
from bot.query.ocsf import OCSF_FORMAT
from bot.queue.enqueue import FlowQueue, job_id_for
from bot.recent import note_query
from bot.redis_keys import GUARDDUTY_HEADER_KEY, STATUS_TTL_SECONDS
from bot.rendering.status import JobState, StatusView
from bot.request import FlowRequest, GuardDutyRequest, ReplyTarget, Window
from bot.settings import Settings
from bot.slack.delivery import claim_final, deliver_once, is_answered, post_failure, post_message
from bot.slack.status_board import status_board
from bot.worker.started import Started, start

log = logging.getLogger(__name__)
PIVOT_QUERIES = (("ratio", "remote"), ("timeline", "remote"), ("timeline", "local"))
"""What the pivot asks the flow logs, in this order: (the query's command word, which address)."""
HEADER_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Pivot:
    """What a pivot did: its header message and the flow jobs it queued (new ones and ones already queued)."""

    status: str
    header_ts: str | None = None
    jobs: tuple[str, ...] = ()
    reason: str | None = None


def run_guardduty_job(request_data: dict[str, Any], target_data: dict[str, Any]) -> dict[str, Any]:
    """RQ's entry point: read the finding, post the header, queue its queries in the header's thread."""
    settings = Settings()
    request = GuardDutyRequest.model_validate(request_data)
    target = ReplyTarget.model_validate(target_data)
    started = start(settings, target)
    if not isinstance(started, Started):
        return started
    done = pivot(
        request,
        target,
        settings=settings,
        redis=started.redis,
        slack=started.client,
        guardduty=guardduty_client,
    )
    return {
        "status": done.status,
        "header_ts": done.header_ts,
        "jobs": list(done.jobs),
        "reason": done.reason,
    }


def pivot(
    request: GuardDutyRequest,
    target: ReplyTarget,
    *,
    settings: Settings,
    redis: Redis,
    slack: WebClient,
    guardduty: Callable[[Settings, str], Any] = guardduty_client,
    catalog: Catalog | None = None,
    now: datetime | None = None,
) -> Pivot:
    """Read the finding with a client from `guardduty` (settings, region), then post and queue, once."""
    if is_answered(redis, target):
        return Pivot("already answered")
    try:
        region = finding_region(settings, request.region)
        finding = read_finding(guardduty(settings, region), settings, request.finding_id, region)
    except GuardDutyError as exc:
        return _fail(redis, slack, target, request, str(exc))
    catalog = catalog or load_catalog()
    window, cut = finding_window(finding, settings, now or datetime.now(UTC))
    asks, skipped = pivot_requests(finding, window, catalog, settings)
    if not asks:
        line = f"{_headline(finding)}: {skipped or 'no remote address and no local network interface'}"
        line += "; nothing to ask the flow logs."
        deliver_once(
            redis, target, lambda: post_message(slack, target, text=line, thread_ts=target.thread_ts)
        )
        return Pivot("nothing to ask", reason=line)
    header = _header(finding, window, cut, asks, skipped)
    header_ts, header_channel = _post_header_once(redis, slack, target, header)
    thread = target.thread_ts or header_ts
    jobs: list[str] = []
    queue = FlowQueue(redis, settings)
    for ask in asks:
        child = target.model_copy(
            update={
                "job_id": job_id_for(
                    target.team_id, f"guardduty:{target.job_id}:{ask.query}:{_address(ask)}"
                ),
                "thread_ts": thread,
                "channel_id": header_channel,
            }
        )
        if queue.submit(ask, child):
            note_query(redis, settings, child, ask.text, "queued")
            _announce(slack, redis, settings, queue, ask, child)
        jobs.append(child.job_id)
    claim_final(redis, target.job_id)
    return Pivot("queued", header_ts=header_ts, jobs=tuple(jobs))


def pivot_requests(
    finding: Finding, window: Window, catalog: Catalog, settings: Settings
) -> tuple[list[FlowRequest], str]:
    """The flow requests of PIVOT_QUERIES the finding has addresses for and the configured table offers,
    and why any were left out ("" when none was)."""
    table = TABLE_OF_KIND[settings.table_kind]
    security_lake = settings.flow_layout.file_format == "ocsf"
    columns = format_columns(OCSF_FORMAT if security_lake else settings.log_format)
    addresses = {"remote": finding.remote_ip, "local": finding.private_ip}
    asks: list[FlowRequest] = []
    missing: list[str] = []
    for word, which in PIVOT_QUERIES:
        address = addresses[which]
        matched = catalog.match([word], table)
        if address is None:
            continue
        if (
            matched is None
            or matched[0].fields_used - columns
            or [p.type for p in matched[0].params] != ["ip"]
        ):
            missing.append(f"`{word}` (not offered for this table or log format)")
            continue
        asks.append(_flow_request(matched[0], address, finding, window, settings))
    return asks, "; ".join(missing)


def _flow_request(
    template: QueryTemplate, address: str, finding: Finding, window: Window, settings: Settings
) -> FlowRequest:
    """One query as `/flow <command> <address> --from … --to …` would ask it, scoped to the finding's account
    and region where the template filters by them and the table covers them."""
    account = finding.account
    if "account" not in template.placeholders or (settings.accounts and account not in settings.accounts):
        account = None
    region = finding.region
    if "region" not in template.placeholders or (settings.regions and region not in settings.regions):
        region = None
    [param] = template.params
    words = [*template.command, address, "--from", _iso(window.start), "--to", _iso(window.end)]
    words += [f"--account {account}"] if account else []
    words += [f"--region {region}"] if region else []
    return FlowRequest(
        query=template.name,
        params={param.name: address},
        window=window,
        account=account,
        region=region,
        limit=min(template.default_limit or settings.default_limit, settings.max_limit),
        text=" ".join(words),
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _address(request: FlowRequest) -> str:
    return ",".join(str(v) for v in request.params.values())


def _escape(text: str) -> str:
    """Text from the finding, shown literally in Slack's mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")


def _headline(finding: Finding) -> str:
    return f"GuardDuty {_escape(finding.type)}, severity {finding.severity_label}"


def _header(finding: Finding, window: Window, cut: bool, asks: list[FlowRequest], skipped: str) -> str:
    """`GuardDuty <type>, severity N, remote X, local eni-… (10.0.1.25), window …`, then what is queued."""
    parts = [_headline(finding)]
    if finding.remote_ip:
        others = finding.remote_ips[1:MAX_REMOTES_SHOWN]
        more = f" (also {', '.join(others)})" if others else ""
        parts.append(f"remote {finding.remote_ip}{more}")
    if finding.eni_id or finding.private_ip:
        local = finding.eni_id or "an interface"
        parts.append(f"local {local}" + (f" ({finding.private_ip})" if finding.private_ip else ""))
    where = " · ".join(v for v in (finding.account, finding.region) if v)
    parts.append(f"window {window.describe()}" + (f" · {where}" if where else ""))
    lines = [":mag: " + ", ".join(parts)]
    if finding.title:
        lines.append(f"> {_escape(finding.title)}")
    if cut:
        lines.append("The finding spans more than the longest window a query may cover: its last days only.")
    lines.append("Queued in this thread: " + ", ".join(f"`{a.text.split(' --from')[0]}`" for a in asks) + ".")
    if skipped:
        lines.append(f"Not asked: {skipped}.")
    lines.append(f"Finding `{finding.finding_id}`.")
    return "\n".join(lines)


def _post_header_once(redis: Redis, slack: WebClient, target: ReplyTarget, text: str) -> tuple[str, str]:
    """The header's ts and channel, posting it unless an earlier run of this job did (where Flowbot may not
    post, it goes to the asker's DM, and the queries follow it there)."""
    key = GUARDDUTY_HEADER_KEY.format(job_id=target.job_id)
    ts, channel = _stored(redis, key)
    if ts:
        return ts, channel or target.channel_id
    if not redis.hsetnx(key, "claim", "1"):
        # an earlier run claimed it and died before recording its ts: post it (once more at worst)
        log.warning("job %s: header claimed but not recorded; posting it", target.job_id)
    redis.expire(key, STATUS_TTL_SECONDS)
    try:
        posted = post_message(slack, target, text=text, blocks=[_section(text)], thread_ts=target.thread_ts)
    except Exception:
        redis.hdel(key, "claim")
        raise
    redis.hset(key, mapping={"ts": posted.ts, "channel": posted.channel})
    return posted.ts, posted.channel


def _stored(redis: Redis, key: str) -> tuple[str | None, str | None]:
    values = [v.decode() if isinstance(v, bytes) else v for v in redis.hmget(key, ["ts", "channel"])]
    return values[0], values[1]


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:2900]}}


def _announce(
    slack: WebClient, redis: Redis, settings: Settings, queue: FlowQueue, ask: FlowRequest, child: ReplyTarget
) -> None:
    """The flow job's "queued" status message in the thread, as the listener posts it for a typed query.
    Best effort: the job's worker posts it itself when it finds none."""
    try:
        board = status_board(slack, redis, child, settings)
        view = StatusView(
            JobState.QUEUED, ask, child.job_id, child.user_id, position=queue.position(child.job_id)
        )
        board.open(view)
    except (SlackApiError, OSError) as exc:
        log.warning("status message for job %s not posted: %s", child.job_id, exc)


def _fail(
    redis: Redis, slack: WebClient, target: ReplyTarget, request: GuardDutyRequest, reason: str
) -> Pivot:
    """The finding could not be read: one line where it was asked, once."""
    deliver_once(redis, target, lambda: post_failure(slack, target, request.text, reason))
    return Pivot("failed", reason=reason)
