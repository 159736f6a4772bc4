"""The GuardDuty pivot: the `guardduty <finding-id>` parser, reading a finding, and the pivot job.

moto serves no GetFindings for GuardDuty (moto/guardduty/responses.py has detectors, filters and admin
accounts only), so the finding is served by botocore's `Stubber`, which checks every request's parameters and
every stubbed response against botocore's published GuardDuty service model (`guardduty/2017-11-28/
service-2.json`, the model the AWS API reference is generated from): a finding that does not have
GuardDuty's published shape, or a call Flowbot makes wrongly, fails the test. The findings
(tests/guardduty_findings.py) are modelled on the EC2 finding types GuardDuty documents.

The job runs on the real Redis (FLOWBOT_TEST_REDIS_URL) and an RQ queue of its own, with the recording mock
Slack; the flow jobs it queues are RQ jobs of that queue, run by an in-process worker where a test says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from redis import Redis
from rq import Queue, SimpleWorker
from slack_sdk import WebClient

from bot.aws.guardduty import GuardDutyError, finding_from_api, finding_window, read_finding
from bot.parse.guardduty import findings_in, parse_guardduty
from bot.parse.in_channel import parse, parse_in_channel
from bot.query.catalog import load_catalog
from bot.queue.enqueue import FlowQueue, job_id_for
from bot.redis_keys import ANSWERED_KEY
from bot.request import GuardDutyRequest, ReplyTarget
from bot.settings import Settings
from bot.words import CommandError
from bot.worker.guardduty import pivot
from tests.conftest import fake_aws_environment
from tests.guardduty_findings import (
    ACCOUNT,
    DETECTOR,
    DNS_ID,
    DNS_NO_NETWORK,
    PORT_PROBE,
    PROBE_ID,
    REGION,
    SSH_BRUTE_FORCE,
    SSH_ID,
    GuardDutyEndpoint,
)
from tests.mock_slack import MockSlack

QUEUE = "flowbot-guardduty-tests"
NOW = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
ARN_EU = f"arn:aws:guardduty:eu-west-1:{ACCOUNT}:detector/{DETECTOR}/finding/{SSH_ID}"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake_aws_environment(monkeypatch, tmp_path, REGION, prefixes=("FLOWBOT_GUARDDUTY",))


def _stubbed(*findings: dict[str, Any], detectors: list[str] | None = None) -> tuple[Any, Stubber]:
    """A GuardDuty client answering ListDetectors then GetFindings for each finding, each call and answer
    validated against botocore's model."""
    client = boto3.client("guardduty", region_name=REGION)
    stub = Stubber(client)
    for finding in findings:
        stub.add_response("list_detectors", {"DetectorIds": [DETECTOR] if detectors is None else detectors})
        expected = {"DetectorId": DETECTOR, "FindingIds": [finding["Id"]]}
        stub.add_response("get_findings", {"Findings": [finding]}, expected)
    stub.activate()
    return client, stub


# --- the parser -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "finding_id", "region"),
    [
        (f"guardduty {SSH_ID}", SSH_ID, None),
        (f"GuardDuty {SSH_ID.upper()}", SSH_ID, None),
        (f"guardduty {SSH_ID} --region eu-west-1", SSH_ID, "eu-west-1"),
        (f"guardduty {SSH_ID} \u2014region=EU-WEST-1", SSH_ID, "eu-west-1"),
        (
            f"guardduty arn:aws:guardduty:eu-west-1:{ACCOUNT}:detector/{DETECTOR}/finding/{SSH_ID}",
            SSH_ID,
            "eu-west-1",
        ),
        ("guardduty 1ab92989eaf0e742df4a014d5e", "1ab92989eaf0e742df4a014d5e", None),
    ],
)
def test_a_finding_id_or_arn_is_parsed(text: str, finding_id: str, region: str | None) -> None:
    parsed = parse_in_channel(text, load_catalog(), Settings(), NOW)
    assert parsed == GuardDutyRequest(
        finding_id=finding_id,
        region=region,
        text=f"guardduty {finding_id}" + (f" --region {region}" if region else ""),
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("guardduty", "takes one finding id"),
        (f"guardduty {SSH_ID} {PROBE_ID}", "takes one finding id"),
        ("guardduty 10.0.1.25", "is not a GuardDuty finding id"),
        ("guardduty 96b05c6b-3a2b", "is not a GuardDuty finding id"),
        ("guardduty x'OR'1'='1;--", "is not a GuardDuty finding id"),
        ("guardduty g" + "0" * 31, "is not a GuardDuty finding id"),
        ("guardduty " + "a" * 301, "is not a GuardDuty finding id"),
        (f"guardduty {SSH_ID} --last 6h", "takes only --region"),
        (f"guardduty {SSH_ID} --region mars", "--region takes an AWS region name"),
        (f"guardduty {SSH_ID} --region", "--region needs a value"),
        (
            f"guardduty {ARN_EU} --region us-east-1",
            "is in eu-west-1, not us-east-1",
        ),
    ],
)
def test_anything_else_is_refused_in_one_line(text: str, says: str) -> None:
    with pytest.raises(CommandError, match=says) as refused:
        parse_in_channel(text, load_catalog(), Settings(), NOW)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 300


def test_a_region_the_table_does_not_cover_is_refused() -> None:
    with pytest.raises(CommandError, match="must be a region the table covers"):
        parse_guardduty([SSH_ID, "--region", "eu-west-1"], Settings(regions="us-east-1"))  # type: ignore[arg-type]


def test_flowbot_ask_says_the_pivot_belongs_to_slack() -> None:
    with pytest.raises(CommandError, match="runs from Slack"):
        parse(f"guardduty {SSH_ID}", load_catalog(), Settings(), NOW)


def test_a_message_names_its_finding_by_arn_console_link_or_id() -> None:
    arn = f"arn:aws:guardduty:eu-west-2:{ACCOUNT}:detector/{DETECTOR}/finding/{SSH_ID}"
    assert [(f.finding_id, f.region) for f in findings_in(f"GuardDuty finding {arn} severity 5")] == [
        (SSH_ID, "eu-west-2")
    ]
    link = f"https://console.aws.amazon.com/guardduty/home?region=us-west-2#/findings?macros=current&fId={PROBE_ID}"
    assert [(f.finding_id, f.region) for f in findings_in(f"see <{link}|the finding>")] == [
        (PROBE_ID, "us-west-2")
    ]
    assert [f.finding_id for f in findings_in(f"New finding {SSH_ID} on i-0abc")] == [SSH_ID]
    pasted = json.dumps({"detectorId": DETECTOR, "id": SSH_ID})  # a detector id is not a finding
    assert [f.finding_id for f in findings_in(pasted)] == [SSH_ID]
    assert findings_in("sha256 " + "ab" * 32 + " and 10.0.1.25") == []  # 64 hex digits: no finding id
    assert len(findings_in(f"{SSH_ID} then {PROBE_ID}")) == 2


# --- reading the finding (Stubber, botocore's published model) -----------------------------------------


def test_an_ssh_brute_force_gives_its_remote_address_and_local_interface(aws: None) -> None:
    client, stub = _stubbed(SSH_BRUTE_FORCE)
    finding = read_finding(client, Settings(), SSH_ID, REGION)
    stub.assert_no_pending_responses()
    assert finding.type == "UnauthorizedAccess:EC2/SSHBruteForce" and finding.severity_label == "5 (medium)"
    assert finding.remote_ips == ("198.51.100.7",)
    assert (finding.eni_id, finding.private_ip) == ("eni-0a1b2c3d4e5f60718", "10.0.1.25")
    assert (finding.account, finding.region) == (ACCOUNT, REGION)
    window, cut = finding_window(finding, Settings(), NOW)
    assert not cut
    assert (window.start, window.end) == (
        datetime(2026, 11, 19, 7, 4, 3, tzinfo=UTC),
        datetime(2026, 11, 19, 10, 41, 37, tzinfo=UTC),
    )


def test_a_port_probe_gives_every_prober_in_order(aws: None) -> None:
    client, _ = _stubbed(PORT_PROBE)
    finding = read_finding(client, Settings(), PROBE_ID, REGION)
    assert finding.remote_ips == ("192.0.2.200", "203.0.113.99") and finding.remote_ip == "192.0.2.200"
    assert finding.private_ip == "10.0.2.40"


def test_a_dns_finding_without_interfaces_has_nothing_for_the_flow_logs(aws: None) -> None:
    client, _ = _stubbed(DNS_NO_NETWORK)
    finding = read_finding(client, Settings(), DNS_ID, REGION)
    assert finding.remote_ips == () and finding.eni_id is None and finding.private_ip is None


def test_a_configured_detector_is_used_without_listing(aws: None) -> None:
    client = boto3.client("guardduty", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response(
            "get_findings", {"Findings": [SSH_BRUTE_FORCE]}, {"DetectorId": DETECTOR, "FindingIds": [SSH_ID]}
        )
        read_finding(client, Settings(guardduty_detector_id=DETECTOR), SSH_ID, REGION)
        stub.assert_no_pending_responses()


def test_values_of_another_form_are_left_out() -> None:
    odd = json.loads(json.dumps(SSH_BRUTE_FORCE))
    action = odd["Service"]["Action"]["NetworkConnectionAction"]
    action["RemoteIpDetails"]["IpAddressV4"] = "198.51.100.7; DROP TABLE x"
    odd["Resource"]["InstanceDetails"]["NetworkInterfaces"][0]["NetworkInterfaceId"] = "eni-<script>"
    finding = finding_from_api(odd)
    assert finding.remote_ips == () and finding.eni_id is None and finding.private_ip == "10.0.1.25"


@pytest.mark.parametrize(
    ("detectors", "error", "says"),
    [
        ([], None, "GuardDuty has no detector in us-east-1"),
        ([DETECTOR, "0" * 32], None, "set FLOWBOT_GUARDDUTY_DETECTOR_ID"),
        (None, ("AccessDeniedException", 403), "may not call guardduty:ListDetectors in us-east-1"),
        (None, ("BadRequestException", 400), "GuardDuty refused ListDetectors in us-east-1"),
    ],
)
def test_detector_problems_are_one_clear_line(
    aws: None, detectors: list[str] | None, error: tuple[str, int] | None, says: str
) -> None:
    client = boto3.client("guardduty", region_name=REGION)
    with Stubber(client) as stub:
        if error:
            stub.add_client_error("list_detectors", error[0], "The request is rejected.", error[1])
        else:
            stub.add_response("list_detectors", {"DetectorIds": detectors})
        with pytest.raises(GuardDutyError, match=says) as raised:
            read_finding(client, Settings(), SSH_ID, REGION)
    assert "\n" not in str(raised.value) and "Traceback" not in str(raised.value)


def test_no_such_finding_and_access_denied_are_one_clear_line(aws: None) -> None:
    client = boto3.client("guardduty", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("get_findings", {"Findings": []}, {"DetectorId": DETECTOR, "FindingIds": [SSH_ID]})
        with pytest.raises(GuardDutyError, match=f"GuardDuty has no finding `{SSH_ID}` in us-east-1"):
            read_finding(client, Settings(guardduty_detector_id=DETECTOR), SSH_ID, REGION)
        stub.add_client_error("get_findings", "AccessDeniedException", "User is not authorized", 403)
        with pytest.raises(GuardDutyError, match="may not call guardduty:GetFindings"):
            read_finding(client, Settings(guardduty_detector_id=DETECTOR), SSH_ID, REGION)


def test_a_finding_longer_than_the_longest_window_keeps_its_last_days() -> None:
    long = json.loads(json.dumps(SSH_BRUTE_FORCE))
    long["Service"]["EventFirstSeen"] = "2026-01-01T00:00:00Z"
    window, cut = finding_window(finding_from_api(long), Settings(max_window_days=7), NOW)
    assert cut and window.end == datetime(2026, 11, 19, 10, 41, 37, tzinfo=UTC)
    assert (window.end - window.start).days == 7


# --- the pivot job (real Redis, an RQ queue, the mock Slack) -----------------------------------------------


@pytest.fixture
def env(
    aws: None, monkeypatch: pytest.MonkeyPatch, redis_url: str, slack: MockSlack, sample_root: Path
) -> Iterator[Redis]:
    monkeypatch.setenv("FLOWBOT_SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("FLOWBOT_SLACK_API_URL", slack.base_url)
    monkeypatch.setenv("FLOWBOT_REDIS_URL", redis_url)
    monkeypatch.setenv("FLOWBOT_QUEUE_NAME", QUEUE)
    monkeypatch.setenv("FLOWBOT_LOCAL_DATA_DIR", str(sample_root))
    monkeypatch.setenv("FLOWBOT_GUARDDUTY_REGION", REGION)
    monkeypatch.setenv("FLOWBOT_UNDELIVERED_DIR", str(sample_root.parent / "undelivered-guardduty"))
    redis = Redis.from_url(redis_url)
    yield redis
    redis.close()


def _target(request_id: str = "trigger-gd-1", thread_ts: str | None = None) -> ReplyTarget:
    return ReplyTarget(
        team_id="T1",
        channel_id="C1",
        user_id="U1",
        job_id=job_id_for("T1", request_id),
        thread_ts=thread_ts,
    )


def _request(finding_id: str = SSH_ID) -> GuardDutyRequest:
    return GuardDutyRequest(finding_id=finding_id, text=f"guardduty {finding_id}")


def _pivot(redis: Redis, slack: MockSlack, client: Any, target: ReplyTarget, finding_id: str = SSH_ID) -> Any:
    return pivot(
        _request(finding_id),
        target,
        settings=Settings(),
        redis=redis,
        slack=WebClient(token="xoxb-test", base_url=slack.base_url),
        guardduty=lambda settings, region: client,
        now=NOW,
    )


def test_the_header_is_posted_once_and_the_queries_queued_in_its_thread(env: Redis, slack: MockSlack) -> None:
    client, _ = _stubbed(SSH_BRUTE_FORCE)
    target = _target()
    done = _pivot(env, slack, client, target)
    header, *statuses = slack.calls("chat.postMessage")
    text = header.params["text"]
    assert text.startswith(":mag: GuardDuty UnauthorizedAccess:EC2/SSHBruteForce, severity 5 (medium)")
    assert "remote 198.51.100.7, local eni-0a1b2c3d4e5f60718 (10.0.1.25)" in text
    assert "window 2026-11-19 07:04:03 → 2026-11-19 10:41:37 UTC" in text
    assert "thread_ts" not in header.params or not header.params["thread_ts"]
    assert done.status == "queued" and done.header_ts == header.response["ts"]
    queue = Queue(QUEUE, connection=env)
    expected = [
        job_id_for("T1", f"guardduty:{target.job_id}:{query}:{address}")
        for query, address in (
            ("ratio", "198.51.100.7"),
            ("timeline", "198.51.100.7"),
            ("timeline", "10.0.1.25"),
        )
    ]
    assert list(done.jobs) == expected and sorted(queue.job_ids) == sorted(expected)
    for job_id in expected:
        job = queue.fetch_job(job_id)
        assert job is not None and job.func_name == "bot.worker.jobs.run_flow_job"
        request, child = job.args[0], job.args[1]
        assert child["thread_ts"] == header.response["ts"] and child["channel_id"] == "C1"
        assert request["window"] == {"start": "2026-11-19T07:04:03Z", "end": "2026-11-19T10:41:37Z"}
        assert (request["account"], request["region"]) == (ACCOUNT, REGION)  # the finding's own
    texts = sorted(json.loads(json.dumps(queue.fetch_job(j).args[0]))["text"] for j in expected)  # type: ignore[union-attr]
    assert texts[0] == (
        "ratio 198.51.100.7 --from 2026-11-19T07:04:03Z --to 2026-11-19T10:41:37Z "
        f"--account {ACCOUNT} --region {REGION}"
    )
    assert [s.params["thread_ts"] for s in statuses] == [header.response["ts"]] * 3  # their "queued" messages


def test_a_rerun_posts_and_queues_nothing_twice(env: Redis, slack: MockSlack) -> None:
    client, _ = _stubbed(SSH_BRUTE_FORCE, SSH_BRUTE_FORCE)
    target = _target()
    first = _pivot(env, slack, client, target)
    posts = len(slack.calls("chat.postMessage"))
    assert _pivot(env, slack, client, target).status == "already answered"  # RQ ran it again after the end
    # …or its worker died after queueing, before its end:
    env.delete(ANSWERED_KEY.format(job_id=target.job_id))
    again = _pivot(env, slack, client, target)
    assert again.header_ts == first.header_ts and again.jobs == first.jobs
    assert len(slack.calls("chat.postMessage")) == posts  # no second header, no second status message
    assert Queue(QUEUE, connection=env).count == 3


def test_a_shortcut_on_a_threaded_message_keeps_everything_in_that_thread(
    env: Redis, slack: MockSlack
) -> None:
    client, _ = _stubbed(PORT_PROBE)
    done = _pivot(env, slack, client, _target("shortcut-1", thread_ts="1700000000.000100"), PROBE_ID)
    header, *_ = slack.calls("chat.postMessage")
    assert header.params["thread_ts"] == "1700000000.000100"
    assert "remote 192.0.2.200 (also 203.0.113.99)" in header.params["text"]
    for job_id in done.jobs:
        job = Queue(QUEUE, connection=env).fetch_job(job_id)
        assert job is not None and job.args[1]["thread_ts"] == "1700000000.000100"


def test_a_finding_with_no_addresses_gets_one_line(env: Redis, slack: MockSlack) -> None:
    client, _ = _stubbed(DNS_NO_NETWORK)
    done = _pivot(env, slack, client, _target("dns-1"), DNS_ID)
    (line,) = slack.calls("chat.postMessage")
    assert done.status == "nothing to ask" and Queue(QUEUE, connection=env).count == 0
    assert (
        "no remote address and no local network interface; nothing to ask the flow logs"
        in line.params["text"]
    )


def test_an_unknown_finding_is_said_once_without_a_traceback(env: Redis, slack: MockSlack) -> None:
    client = boto3.client("guardduty", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("list_detectors", {"DetectorIds": [DETECTOR]})
    stub.add_response("get_findings", {"Findings": []}, {"DetectorId": DETECTOR, "FindingIds": [SSH_ID]})
    stub.activate()
    target = _target("unknown-1")
    done = _pivot(env, slack, client, target)
    assert done.status == "failed"
    assert _pivot(env, slack, client, target).status == "already answered"
    (line,) = slack.calls("chat.postMessage")
    assert f"`guardduty {SSH_ID}` could not be answered: GuardDuty has no finding" in line.params["text"]
    assert "Traceback" not in line.params["text"]


def test_through_rq_the_queries_answer_in_the_headers_thread(
    env: Redis, slack: MockSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real path: the pivot job enqueued by FlowQueue, run by an RQ worker, then its flow jobs."""
    client, _ = _stubbed(SSH_BRUTE_FORCE)
    monkeypatch.setattr("bot.worker.guardduty.guardduty_client", lambda settings, region: client)
    target = _target("rq-1")
    queue = FlowQueue(env, Settings())
    assert queue.submit_guardduty(_request(), target) is True
    assert queue.submit_guardduty(_request(), target) is False  # Slack's retry: no second pivot
    worker = SimpleWorker([QUEUE], connection=env)
    worker.work(burst=True, max_jobs=1)
    pivot_job = worker.queues[0].fetch_job(target.job_id)
    assert pivot_job is not None and pivot_job.return_value()["status"] == "queued"
    header_ts = pivot_job.return_value()["header_ts"]
    worker.work(burst=True)  # the three flow jobs, as any worker runs them
    posts = slack.calls("chat.postMessage")
    assert sum(1 for p in posts if str(p.params.get("text", "")).startswith(":mag: GuardDuty")) == 1
    assert all(p.params.get("thread_ts") == header_ts for p in posts[1:]), posts
    assert len(posts) >= 1 + 3 + 3  # header, three status messages, three answers
    edits = slack.calls("chat.update")
    assert edits and all(e.params["channel"] == "C1" for e in edits)


def test_the_local_endpoint_answers_boto3_as_the_model_says(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint a scenario's worker process reads (tests/guardduty_findings.py), through boto3 itself."""
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)
    with GuardDutyEndpoint([SSH_BRUTE_FORCE, PORT_PROBE]) as endpoint:
        monkeypatch.setenv("AWS_ENDPOINT_URL_GUARDDUTY", endpoint.url)
        client = boto3.client("guardduty", region_name=REGION)
        assert read_finding(client, Settings(), PROBE_ID, REGION).remote_ips == (
            "192.0.2.200",
            "203.0.113.99",
        )
        with pytest.raises(GuardDutyError, match="has no finding"):
            read_finding(client, Settings(), DNS_ID, REGION)
        with pytest.raises(
            GuardDutyError, match="GuardDuty refused GetFindings in us-east-1 \\(BadRequestException"
        ):
            read_finding(client, Settings(guardduty_detector_id="0" * 32), SSH_ID, REGION)
    assert ("POST", f"/detector/{DETECTOR}/findings/get", {"findingIds": [PROBE_ID]}) in endpoint.requests


def test_a_message_shortcut_is_known_by_its_trigger_and_answers_in_the_messages_thread() -> None:
    from handlers.ingress import from_message_shortcut

    shortcut = {
        "type": "message_action",
        "trigger_id": "trig-1",
        "team": {"id": "T1"},
        "user": {"id": "U1"},
        "channel": {"id": "C1"},
        "message": {"ts": "1700000000.000200", "thread_ts": "1700000000.000100"},
        "response_url": "https://hooks.slack.com/actions/T1/1/x",
    }
    target = from_message_shortcut(shortcut)
    assert target == from_message_shortcut(json.loads(json.dumps(shortcut)))  # a retry: the same job
    assert target.thread_ts == "1700000000.000100" and target.channel_id == "C1"
    unthreaded = from_message_shortcut({**shortcut, "message": {"ts": "1700000000.000200"}})
    assert unthreaded.thread_ts == "1700000000.000200"
    assert from_message_shortcut({**shortcut, "trigger_id": "trig-2"}).job_id != target.job_id
