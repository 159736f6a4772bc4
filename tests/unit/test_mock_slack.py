"""The mock Slack Web API and the signing helpers, exercised with the real slack_sdk and Bolt."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # tests/unit has no __init__.py: make `tests.*` importable
    sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402
from slack_sdk.errors import SlackApiError  # noqa: E402
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler  # noqa: E402
from slack_sdk.signature import SignatureVerifier  # noqa: E402
from slack_sdk.webhook import WebhookClient  # noqa: E402

from tests.mock_slack import MockSlack, child_env  # noqa: E402
from tests.slack_signing import signature, signed_headers, slash_command_body  # noqa: E402

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"


@pytest.fixture
def mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockSlack]:
    # slack_sdk would send calls to 127.0.0.1 through a proxy from the environment (it ignores NO_PROXY)
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(key, raising=False)
    with MockSlack() as m:
        yield m


@pytest.fixture
def client(mock: MockSlack) -> WebClient:
    return WebClient(token=TOKEN, base_url=mock.base_url, timeout=10)


# ---------------------------------------------------------------------- basic methods


def test_mock_base_url_shape(mock: MockSlack) -> None:
    assert mock.base_url == f"http://127.0.0.1:{mock.port}/api/"
    assert mock.port > 0


def test_mock_auth_test(mock: MockSlack, client: WebClient) -> None:
    resp = client.auth_test()
    assert resp["ok"] is True
    assert resp["team_id"] == "T0001"
    assert resp["user"] == "flowbot"
    assert resp["user_id"] and resp["bot_id"] and resp["url"].startswith("https://")
    [call] = mock.calls("auth.test")
    assert call.headers["Authorization"] == f"Bearer {TOKEN}"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"  # case-insensitive
    assert call.token == TOKEN


def test_mock_post_message_records_params_and_returns_increasing_ts(
    mock: MockSlack, client: WebClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    r1 = client.chat_postMessage(channel="C0INC", text="hi", blocks=blocks)
    r2 = client.chat_postMessage(channel="C0INC", text="again", thread_ts=r1["ts"])
    assert r1["ok"] and r1["channel"] == "C0INC" and r1["message"]["text"] == "hi"
    assert r1["ts"] < r2["ts"]
    assert r1["ts"].startswith("17") and len(r1["ts"].split(".")[1]) == 6
    assert r2["message"]["thread_ts"] == r1["ts"]

    first, second = mock.wait_for("chat.postMessage", 2)
    assert first.params["channel"] == "C0INC"
    # slack_sdk >= 3.x sends chat.* and views.* as a JSON body (blocks stay structured) ...
    assert first.headers["Content-Type"].startswith("application/json")
    assert first.params["blocks"] == blocks
    assert first.json_param("blocks") == blocks
    assert second.params["thread_ts"] == r1["ts"]
    assert json.loads(first.body)["text"] == "hi"
    # ... while a form-encoded call carries blocks as a JSON string: json_param decodes either
    client.api_call("chat.postMessage", params={"channel": "C0INC", "blocks": json.dumps(blocks)})
    third = mock.wait_for("chat.postMessage", 3)[2]
    assert isinstance(third.params["blocks"], str) and third.json_param("blocks") == blocks


def test_mock_missing_token_is_not_authed(mock: MockSlack) -> None:
    anon = WebClient(base_url=mock.base_url)
    with pytest.raises(SlackApiError) as err:
        anon.chat_postMessage(channel="C0INC", text="x")
    assert err.value.response["error"] == "not_authed"
    [call] = mock.calls("chat.postMessage")
    assert "Authorization" not in call.headers
    assert not call.ok


def test_mock_json_bodies_and_views(mock: MockSlack, client: WebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "flow_q",
        "title": {"type": "plain_text", "text": "Flow"},
        "blocks": [],
    }
    opened = client.views_open(trigger_id="123.456.abc", view=view)  # slack_sdk sends views.* as JSON
    assert opened["view"]["id"].startswith("V") and opened["view"]["callback_id"] == "flow_q"
    updated = client.views_update(view_id=opened["view"]["id"], view=view)
    assert updated["view"]["id"] == opened["view"]["id"]
    [call] = mock.calls("views.open")
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.params["view"] == view and call.params["trigger_id"] == "123.456.abc"


def test_mock_other_methods(mock: MockSlack, client: WebClient) -> None:
    assert client.conversations_info(channel="C0INC")["channel"]["id"] == "C0INC"
    assert client.users_info(user="U0AAA")["user"]["tz"]
    assert client.chat_postEphemeral(channel="C0INC", user="U0AAA", text="psst")["message_ts"]
    up = client.chat_update(channel="C0INC", ts="1700000000.000100", text="new")
    assert (up["channel"], up["ts"]) == ("C0INC", "1700000000.000100")
    assert client.reactions_add(channel="C0INC", timestamp="1700000000.000100", name="eyes")["ok"]
    with pytest.raises(SlackApiError) as err:
        client.reactions_add(channel="C0INC", timestamp="1700000000.000100", name="eyes")
    assert err.value.response["error"] == "already_reacted"
    assert client.api_call("bookmarks.list")["ok"] is True  # anything else: ok


def test_mock_refuses_blocks_over_slack_limits(mock: MockSlack, client: WebClient) -> None:
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0INC", text="x", blocks=too_many)
    assert err.value.response["error"] == "invalid_blocks"
    long_section = [{"type": "section", "text": {"type": "mrkdwn", "text": "a" * 3001}}]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0INC", text="x", blocks=long_section)
    mock.validate_blocks = False
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=too_many)["ok"]


# ---------------------------------------------------------------------- file uploads


def test_mock_files_upload_v2(mock: MockSlack, client: WebClient) -> None:
    content = b"a,b\n1,2\n"
    resp = client.files_upload_v2(
        channel="C0INC",
        filename="r.csv",
        content=content,
        title="Top talkers",
        thread_ts="1700000000.000100",
        initial_comment="results",
    )
    assert resp["ok"] is True
    assert resp["file"]["id"] == resp["files"][0]["id"]
    assert resp["file"]["title"] == "Top talkers" and resp["file"]["name"] == "r.csv"

    [get_url] = mock.calls("files.getUploadURLExternal")
    assert get_url.params["filename"] == "r.csv"
    assert get_url.params["length"] == str(len(content))

    [upload] = mock.calls("upload")
    file_id = resp["file"]["id"]
    assert upload.path == f"/upload/{file_id}"
    assert upload.body == content
    assert mock.uploads == {file_id: content}
    # the upload URL is pre-signed: slack_sdk sends no token there
    assert "Authorization" not in upload.headers

    [complete] = mock.calls("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C0INC"
    assert complete.params["thread_ts"] == "1700000000.000100"
    assert complete.params["initial_comment"] == "results"
    assert complete.json_param("files") == [{"id": file_id, "title": "Top talkers"}]

    info = client.files_info(file=file_id)
    assert info["file"]["size"] == len(content)

    # strict order of the three steps
    methods = [c.method for c in mock.calls()]
    assert methods[:3] == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_mock_upload_bytes_that_look_like_a_form_are_kept_raw(mock: MockSlack, client: WebClient) -> None:
    # urllib labels the raw upload body application/x-www-form-urlencoded; it must not be form-decoded
    content = b"a=1&b=%20two\x00\xff"
    resp = client.files_upload_v2(channel="C0INC", filename="x.bin", content=content)
    assert mock.uploads[resp["file"]["id"]] == content
    assert resp["file"]["title"] == "x.bin"  # slack_sdk defaults the title to the filename


def test_mock_upload_step_failure_is_not_retried_and_not_a_slack_api_error(mock: MockSlack) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=mock.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    mock.fail_next("upload", status=500)
    with pytest.raises(urllib.error.HTTPError):
        client.files_upload_v2(channel="C0INC", filename="r.csv", content=b"x")
    assert len(mock.calls("upload")) == 1
    assert mock.calls("files.completeUploadExternal") == []


# ---------------------------------------------------------------------- failure injection


def test_mock_rate_limit_retry_with_slack_sdk_handler(mock: MockSlack) -> None:
    client = WebClient(
        token=TOKEN,
        base_url=mock.base_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    mock.fail_next("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    resp = client.chat_postMessage(channel="C0INC", text="hello")
    assert resp["ok"] is True
    assert time.monotonic() - started >= 1.0  # it honoured Retry-After
    first, second = mock.calls("chat.postMessage")
    assert (first.status, second.status) == (429, 200)
    assert first.params == second.params


def test_mock_rate_limit_without_handler_raises(mock: MockSlack, client: WebClient) -> None:
    mock.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0INC", text="hello")
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "7"
    assert client.chat_postMessage(channel="C0INC", text="hello")["ok"]  # only the next one failed


def test_mock_fail_next_with_error_and_times(mock: MockSlack, client: WebClient) -> None:
    mock.fail_next("chat.update", error="message_not_found", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            client.chat_update(channel="C0INC", ts="1700000000.000100", text="x")
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "message_not_found"
    assert client.chat_update(channel="C0INC", ts="1700000000.000100", text="x")["ok"]


def test_mock_reset(mock: MockSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C0INC", text="x")
    mock.fail_next("auth.test", error="invalid_auth")
    mock.reset()
    assert mock.calls() == []
    assert client.auth_test()["ok"]


# ---------------------------------------------------------------------- waiting, other processes


def test_mock_wait_for_timeout_lists_what_arrived(mock: MockSlack, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match=r"auth\.test x1"):
        mock.wait_for("chat.postMessage", timeout=0.2)


def test_mock_records_calls_from_another_process(mock: MockSlack) -> None:
    code = textwrap.dedent(
        """
        import sys, time
        from slack_sdk import WebClient
        time.sleep(0.3)
        c = WebClient(token=sys.argv[2], base_url=sys.argv[1])
        r = c.chat_postMessage(channel="C0INC", text="from the worker")
        c.files_upload_v2(channel="C0INC", filename="r.csv", content=b"a,b\\n", thread_ts=r["ts"])
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code, mock.base_url, TOKEN], env=child_env())
    try:
        [call] = mock.wait_for("chat.postMessage", timeout=20)
        assert call.params["text"] == "from the worker"
        [complete] = mock.wait_for("files.completeUploadExternal", timeout=20)
        assert complete.params["channel_id"] == "C0INC"
        assert list(mock.uploads.values()) == [b"a,b\n"]
    finally:
        assert proc.wait(timeout=20) == 0


def test_mock_response_url(mock: MockSlack) -> None:
    url = mock.response_url("abc")
    resp = WebhookClient(url).send(text="queued", response_type="ephemeral")
    assert resp.status_code == 200
    [call] = mock.wait_for("response_url")
    assert call.path == "/response_url/abc"
    assert call.params == {"text": "queued", "response_type": "ephemeral"}
    WebhookClient(mock.base_url + "response_url/xyz").send(text="done")
    assert len(mock.calls("response_url")) == 2


# ---------------------------------------------------------------------- signing helpers


def test_signing_known_signature_format() -> None:
    sig = signature("s", "body", 1700000000)
    assert sig.startswith("v0=") and len(sig) == 3 + 64
    assert sig != signature("s", "body", 1700000001) != signature("t", "body", 1700000000)


def test_signing_accepted_by_slack_sdk_signature_verifier() -> None:
    body = slash_command_body(
        "top talkers last 1h", response_url="https://hooks.slack.com/commands/T0001/1/x"
    )
    headers = signed_headers(SECRET, body)
    verifier = SignatureVerifier(SECRET)
    assert verifier.is_valid_request(body, headers)
    assert verifier.is_valid(body, headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"])
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "x", headers)
    stale = signed_headers(SECRET, body, timestamp=int(time.time()) - 6 * 60)
    assert not verifier.is_valid_request(body, stale)


def test_signing_slash_command_body_fields() -> None:
    body = slash_command_body(
        "src 10.0.0.1 & dst=10.0.0.2", user_id="U0BBB", response_url="http://x/response_url/1"
    )
    fields = parse_qs(body, keep_blank_values=True)
    assert list(fields) == [
        "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
        "command", "text", "api_app_id", "is_enterprise_install", "response_url", "trigger_id",
    ]  # fmt: skip
    assert fields["text"] == ["src 10.0.0.1 & dst=10.0.0.2"]
    assert (
        fields["command"] == ["/flow"] and fields["user_id"] == ["U0BBB"] and fields["team_id"] == ["T0001"]
    )


def test_signing_and_mock_with_bolt_app(mock: MockSlack) -> None:
    from slack_bolt import App, BoltRequest

    app = App(
        signing_secret=SECRET,
        client=WebClient(token=TOKEN, base_url=mock.base_url),
    )  # Bolt calls auth.test at start-up: the mock answers it
    assert mock.calls("auth.test")

    @app.command("/flow")
    def flow(ack, respond, client, command):  # type: ignore[no-untyped-def]
        ack("working on it")
        respond(f"queued: {command['text']}")
        client.chat_postMessage(channel=command["channel_id"], text="result")

    body = slash_command_body("top talkers", response_url=mock.response_url("cmd1"))
    resp = app.dispatch(BoltRequest(body=body, headers=signed_headers(SECRET, body)))
    assert resp.status == 200 and "working on it" in resp.body
    assert mock.wait_for("response_url")[0].params["text"] == "queued: top talkers"
    assert mock.wait_for("chat.postMessage")[0].params["channel"] == "C0INC"

    bad = app.dispatch(BoltRequest(body=body, headers=signed_headers("wrong", body)))
    assert bad.status == 401
    stale = app.dispatch(BoltRequest(body=body, headers=signed_headers(SECRET, body, int(time.time()) - 600)))
    assert stale.status == 401
    assert json.loads(bad.body) == {"error": "invalid request"}


# ---------------------------------------------------------------------- permalinks, tables, membership


TABLE = {
    "type": "table",
    "rows": [
        [{"type": "raw_text", "text": "address"}, {"type": "raw_text", "text": "bytes"}],
        [{"type": "raw_text", "text": "10.0.1.25"}, {"type": "raw_text", "text": "1,024"}],
    ],
}
SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*Top talkers*"}}


def test_mock_get_permalink(mock: MockSlack, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C0INC", text="answer")
    link = client.chat_getPermalink(channel="C0INC", message_ts=posted["ts"])
    assert link["channel"] == "C0INC"
    assert (
        link["permalink"] == f"https://flowbot-test.slack.com/archives/C0INC/p{posted['ts'].replace('.', '')}"
    )
    assert link["permalink"].endswith("/p1700000000000100")  # the mock's first ts
    [call] = mock.calls("chat.getPermalink")
    assert call.params == {"channel": "C0INC", "message_ts": posted["ts"]}
    with pytest.raises(SlackApiError) as err:
        client.api_call("chat.getPermalink", params={"channel": "C0INC"})
    assert err.value.response["error"] == "message_not_found"


def test_mock_refuse_tables(mock: MockSlack, client: WebClient) -> None:
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[SECTION, TABLE])["ok"]
    mock.refuse_tables()
    for send in (
        lambda: client.chat_postMessage(channel="C0INC", text="x", blocks=[SECTION, TABLE]),
        lambda: client.chat_update(channel="C0INC", ts="1700000000.000100", text="x", blocks=[TABLE]),
        lambda: client.chat_postEphemeral(channel="C0INC", user="U0AAA", text="x", blocks=[TABLE]),
    ):
        with pytest.raises(SlackApiError) as err:
            send()
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "invalid_blocks"
        assert err.value.response["errors"] and "table" in err.value.response["errors"][0]
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[SECTION])["ok"]  # no table: fine
    refused = [c for c in mock.calls() if not c.ok]
    assert [c.method for c in refused] == ["chat.postMessage", "chat.update", "chat.postEphemeral"]
    assert refused[0].response["errors"] == ["unsupported type: table [json-pointer:/blocks/1]"]
    mock.refuse_tables(False)
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[TABLE])["ok"]
    mock.refuse_tables()
    mock.reset()
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[TABLE])["ok"]


def test_mock_table_character_limit(mock: MockSlack, client: WebClient) -> None:
    def table(cell_text: str, rows: int) -> dict[str, object]:
        cells = [{"type": "raw_text", "text": cell_text}] * 10
        return {"type": "table", "rows": [cells] * rows}

    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[table("a" * 10, 100)])["ok"]  # 10,000
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0INC", text="x", blocks=[table("a" * 11, 100)])  # 11,000
    assert err.value.response["error"] == "invalid_blocks"
    assert any("10000 characters" in e for e in err.value.response["errors"])
    rich = {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "b" * 5001}]}],
    }
    with pytest.raises(SlackApiError):  # rich_text cells count their text elements
        client.chat_update(
            channel="C0INC",
            ts="1700000000.000100",
            text="x",
            blocks=[{"type": "table", "rows": [[rich, rich]]}],
        )


def test_mock_without_bot_in_a_public_channel(mock: MockSlack, client: WebClient) -> None:
    mock.without_bot("C0PUB")  # a C... id: public unless told otherwise
    # chat:write.public lets the bot post (and edit its message) without being a member ...
    posted = client.chat_postMessage(channel="C0PUB", text="x")
    assert posted["ok"] and posted["channel"] == "C0PUB"
    assert client.chat_update(channel="C0PUB", ts=posted["ts"], text="y")["ok"]
    # ... but not post ephemeral messages or share files there
    for send in (
        lambda: client.chat_postEphemeral(channel="C0PUB", user="U0AAA", text="x"),
        lambda: client.files_upload_v2(channel="C0PUB", filename="r.csv", content=b"a\n"),
    ):
        with pytest.raises(SlackApiError) as err:
            send()
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "not_in_channel"
    assert [c.method for c in mock.calls() if not c.ok] == [
        "chat.postEphemeral",
        "files.completeUploadExternal",
    ]
    info = client.conversations_info(channel="C0PUB")["channel"]
    assert info["is_member"] is False and info["is_private"] is False
    assert client.conversations_info(channel="C0INC")["channel"]["is_member"] is True
    mock.with_bot("C0PUB")
    assert client.chat_postEphemeral(channel="C0PUB", user="U0AAA", text="x")["ok"]
    mock.without_bot("C0PUB")
    mock.reset()
    assert client.files_upload_v2(channel="C0PUB", filename="r.csv", content=b"a\n")["ok"]


def test_mock_without_bot_in_a_private_channel(mock: MockSlack, client: WebClient) -> None:
    mock.without_bot("G0PRIV")  # a G... id: private
    mock.without_bot("C0SECRET", private=True)  # today's private channels have C... ids too
    mock.without_bot("G0OPEN", private=False)
    for channel in ("G0PRIV", "C0SECRET"):
        for send in (
            lambda ch=channel: client.chat_postMessage(channel=ch, text="x"),
            lambda ch=channel: client.chat_update(channel=ch, ts="1700000000.000100", text="x"),
            lambda ch=channel: client.chat_postEphemeral(channel=ch, user="U0AAA", text="x"),
            lambda ch=channel: client.files_upload_v2(channel=ch, filename="r.csv", content=b"a\n"),
            lambda ch=channel: client.conversations_info(channel=ch),
        ):
            with pytest.raises(SlackApiError) as err:
                send()
            assert err.value.response["error"] == "channel_not_found"
    refused = [c.method for c in mock.calls() if not c.ok]
    assert refused == 2 * [
        "chat.postMessage", "chat.update", "chat.postEphemeral", "files.completeUploadExternal",
        "conversations.info",
    ]  # fmt: skip
    assert client.chat_postMessage(channel="G0OPEN", text="x")["ok"]  # private=False wins over the G
    mock.with_bot("G0PRIV")
    assert client.conversations_info(channel="G0PRIV")["channel"]["is_member"] is True
    mock.reset()
    assert client.chat_postMessage(channel="C0SECRET", text="x")["ok"]


def test_mock_direct_messages_to_a_user(mock: MockSlack, client: WebClient) -> None:
    first = client.chat_postMessage(channel="U0AAA", text="your answer")
    assert first["channel"] == "D0AAA" == mock.dm_channel("U0AAA")  # the DM's own id, stable per user
    second = client.chat_postMessage(channel="U0AAA", text="and more")
    assert second["channel"] == "D0AAA" and second["ts"] > first["ts"]
    assert client.chat_postMessage(channel="W0ENT", text="grid user")["channel"] == "D0ENT"
    # the D... id works for chat.update, chat.postMessage and file shares
    assert client.chat_update(channel="D0AAA", ts=first["ts"], text="your answer (final)")["ok"]
    assert client.chat_postMessage(channel="D0AAA", text="third", thread_ts=first["ts"])["ok"]
    shared = client.files_upload_v2(channel="D0AAA", filename="r.csv", content=b"a\n")
    assert shared["file"]["channels"] == ["D0AAA"]
    assert [(m["text"], m.get("thread_ts")) for m in mock.dms("U0AAA")] == [
        ("your answer (final)", None), ("and more", None), ("third", first["ts"]),
    ]  # fmt: skip
    assert [m["text"] for m in mock.dms("W0ENT")] == ["grid user"] and mock.dms("U0NOBODY") == []
    # a user id is not a channel for chat.update, nor for files.completeUploadExternal's channel_id ...
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="U0AAA", ts=first["ts"], text="x")
    assert err.value.response["error"] == "channel_not_found"
    with pytest.raises(SlackApiError) as err:
        client.files_upload_v2(channel="U0AAA", filename="r.csv", content=b"a\n")
    assert err.value.response["error"] == "invalid_arguments"
    assert "json-pointer:/channel_id" in err.value.response["response_metadata"]["messages"][0]
    # ... though its "channels" list takes user ids and shares into their DMs
    upload = client.files_getUploadURLExternal(filename="s.csv", length=2)
    done = client.files_completeUploadExternal(files=[{"id": upload["file_id"]}], channels=["U0AAA"])
    assert done["files"][0]["channels"] == ["D0AAA"]
    mock.reset()
    assert mock.dms("U0AAA") == []


def test_mock_response_url_takes_five_posts(mock: MockSlack) -> None:
    url = mock.response_url("five")
    hook = WebhookClient(url)
    assert [hook.send(text=f"update {i}").status_code for i in range(5)] == [200] * 5
    sixth = hook.send(text="one too many")
    assert sixth.status_code == 404  # WebhookClient returns it, Bolt's respond() too: no exception
    assert json.loads(sixth.body) == {"ok": False, "error": "Expired url"}
    calls = mock.calls("response_url")
    assert [c.status for c in calls] == [200] * 5 + [404] and calls[-1].params["text"] == "one too many"
    assert not calls[-1].ok
    # another interaction's URL has its own five; issuing a key again starts it afresh
    assert WebhookClient(mock.response_url("other")).send(text="x").status_code == 200
    assert WebhookClient(mock.response_url("five")).send(text="new interaction").status_code == 200


def test_mock_response_url_expires_after_thirty_minutes(mock: MockSlack) -> None:
    mock.freeze_clock()
    fresh, old = mock.response_url("fresh"), mock.response_url("old")
    assert WebhookClient(old).send(text="queued").status_code == 200
    mock.advance(29 * 60)
    assert WebhookClient(old).send(text="still in time").status_code == 200
    mock.advance(60 + 1)  # 30 minutes and a second after it was issued
    assert WebhookClient(old).send(text="too late").status_code == 404
    assert WebhookClient(fresh).send(text="too late as well").status_code == 404  # age, not use, counts
    # a response_url the mock never issued: its first post starts its 30 minutes and 5 posts
    adhoc = WebhookClient(mock.base_url + "response_url/adhoc")
    assert adhoc.send(text="first").status_code == 200
    mock.advance(30 * 60 + 1)
    assert adhoc.send(text="late").status_code == 404
    mock.reset()  # forgets what was issued and the clock's advance
    assert WebhookClient(old).send(text="after reset").status_code == 200


def test_mock_response_url_limit_through_bolt_respond(mock: MockSlack) -> None:
    from slack_bolt import App, BoltRequest

    app = App(signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=mock.base_url))
    statuses: list[int] = []

    @app.command("/flow")
    def flow(ack, respond):  # type: ignore[no-untyped-def]
        ack()
        statuses.extend(respond(f"step {i}").status_code for i in range(6))

    body = slash_command_body("count", response_url=mock.response_url("bolt"))
    assert app.dispatch(BoltRequest(body=body, headers=signed_headers(SECRET, body))).status == 200
    mock.wait_for("response_url", 6)
    deadline = time.monotonic() + 10  # the listener runs in Bolt's thread pool
    while len(statuses) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert statuses == [200] * 5 + [404]


def test_mock_trigger_id_is_good_once_for_three_seconds(mock: MockSlack, client: WebClient) -> None:
    mock.freeze_clock()
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Flow"}, "blocks": []}
    trigger = mock.trigger_id()
    assert trigger.count(".") == 2 and trigger != mock.trigger_id()  # "12345.98765.abcd2358fdea"
    mock.advance(2.9)
    assert client.views_open(trigger_id=trigger, view=view)["ok"]
    for use in (
        lambda: client.views_open(trigger_id=trigger, view=view),
        lambda: client.views_push(trigger_id=trigger, view=view),
    ):
        with pytest.raises(SlackApiError) as err:
            use()
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "exchanged_trigger_id"
    late = mock.trigger_id()
    mock.advance(3.1)
    for use in (
        lambda: client.views_push(trigger_id=late, view=view),
        lambda: client.views_open(trigger_id=late, view=view),
    ):
        with pytest.raises(SlackApiError) as err:
            use()
        assert err.value.response["error"] == "expired_trigger_id"
    # a refused view does not use the trigger up
    spare = mock.trigger_id()
    with pytest.raises(SlackApiError):
        client.views_open(trigger_id=spare, view={"type": "nonsense"})
    assert client.views_push(trigger_id=spare, view=view)["ok"]
    # triggers the mock never issued (payloads built by hand) are accepted, again and again
    assert client.views_open(trigger_id="trig-by-hand", view=view)["ok"]
    assert client.views_open(trigger_id="trig-by-hand", view=view)["ok"]
    mock.reset()
    assert client.views_open(trigger_id=trigger, view=view)["ok"]  # forgotten: just an unknown trigger


def test_mock_rate_limits_by_tier(mock: MockSlack, client: WebClient) -> None:
    def update() -> object:
        return client.chat_update(channel="C0INC", ts="1700000000.000100", text="x")

    mock.freeze_clock()
    for _ in range(60):  # off by default
        update()
    mock.rate_limits()
    for _ in range(50):  # chat.update is Tier 3: 50+ per minute
        update()
    with pytest.raises(SlackApiError) as err:
        update()
    assert err.value.response.status_code == 429
    assert err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "60"
    assert mock.calls("chat.update")[-1].status == 429
    assert client.users_info(user="U0AAA")["ok"]  # each method has its own window
    mock.advance(45)
    with pytest.raises(SlackApiError) as err:
        update()
    assert err.value.response.headers["Retry-After"] == "15"  # until the window frees
    mock.advance(15)
    assert update()
    for _ in range(20):  # usergroups.users.list is Tier 2: 20+ per minute
        client.usergroups_users_list(usergroup="S0ONCALL")
    with pytest.raises(SlackApiError):
        client.usergroups_users_list(usergroup="S0ONCALL")
    assert client.api_call("bookmarks.list")["ok"]  # methods the mock has no tier for are not limited
    mock.rate_limits(per_minute={"views.publish": 1})  # a test can tighten one method
    assert client.views_publish(user_id="U0AAA", view={"type": "home", "blocks": []})["ok"]
    with pytest.raises(SlackApiError) as err:
        client.views_publish(user_id="U0AAA", view={"type": "home", "blocks": []})
    assert err.value.response.status_code == 429
    mock.reset()  # rate limits off again
    for _ in range(3):
        client.views_publish(user_id="U0AAA", view={"type": "home", "blocks": []})


def test_mock_rate_limit_of_post_message_per_channel(mock: MockSlack, client: WebClient) -> None:
    mock.freeze_clock()
    mock.rate_limits(burst=3)
    for _ in range(3):  # a short burst is allowed ...
        client.chat_postMessage(channel="C0INC", text="x")
    with pytest.raises(SlackApiError) as err:  # ... then about one a second per channel
        client.chat_postMessage(channel="C0INC", text="x")
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="C0OTHER", text="x")["ok"]  # another channel: its own bucket
    mock.advance(1)
    assert client.chat_postMessage(channel="C0INC", text="x")["ok"]
    with pytest.raises(SlackApiError):
        client.chat_postMessage(channel="C0INC", text="x")
    mock.freeze_clock(False)  # real time flows again: slack_sdk's handler waits Retry-After and retries
    patient = WebClient(
        token=TOKEN, base_url=mock.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    assert patient.chat_postMessage(channel="C0INC", text="x")["ok"]
    assert [c.status for c in mock.calls("chat.postMessage")][-2:] == [429, 200]


def test_mock_usergroup_members(mock: MockSlack, client: WebClient) -> None:
    mock.usergroup("S0IRTEAM", ["U0LEAD", "U0AAA"])
    assert client.usergroups_users_list(usergroup="S0IRTEAM")["users"] == ["U0LEAD", "U0AAA"]
    assert client.usergroups_users_list(usergroup="S0OTHER")["users"] == []  # never declared
    mock.reset()
    assert client.usergroups_users_list(usergroup="S0IRTEAM")["users"] == []


def test_mock_refuses_blocks_with_too_much_text_in_all(mock: MockSlack, client: WebClient) -> None:
    def sections(n: int, size: int) -> list[dict[str, object]]:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": "a" * size}}] * n

    assert client.chat_postMessage(channel="C0INC", text="x", blocks=sections(4, 2900))["ok"]  # 11,600
    for send in (
        lambda: client.chat_postMessage(channel="C0INC", text="x", blocks=sections(5, 2700)),  # 13,500
        lambda: client.chat_update(channel="C0INC", ts="1.0", text="x", blocks=sections(5, 2700)),
    ):
        with pytest.raises(SlackApiError) as err:
            send()
        assert err.value.response.status_code == 200
        assert err.value.response["error"] == "msg_blocks_too_long"
    table = {"type": "table", "rows": [[{"type": "raw_text", "text": "b" * 100}] * 10] * 10}  # 10,000
    with pytest.raises(SlackApiError) as err:  # table cells count too
        client.chat_postMessage(channel="C0INC", text="x", blocks=[*sections(2, 2000), table])
    assert err.value.response["error"] == "msg_blocks_too_long"
    mock.validate_blocks = False
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=sections(5, 2700))["ok"]


def test_mock_refuse_tables_with_any_error(mock: MockSlack, client: WebClient) -> None:
    mock.refuse_tables(error="internal_error", status=500)
    with pytest.raises(SlackApiError) as err:
        client.chat_postMessage(channel="C0INC", text="x", blocks=[SECTION, TABLE])
    assert err.value.response.status_code == 500
    assert err.value.response["error"] == "internal_error"
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[SECTION])["ok"]  # no table: fine
    mock.refuse_tables(error="invalid_blocks_format")
    with pytest.raises(SlackApiError) as err:
        client.chat_update(channel="C0INC", ts="1.0", text="x", blocks=[TABLE])
    assert err.value.response.status_code == 200
    assert err.value.response.data == {"ok": False, "error": "invalid_blocks_format"}
    assert [c.status for c in mock.calls() if not c.ok] == [500, 200]
    mock.refuse_tables(False)
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[TABLE])["ok"]
    mock.refuse_tables(error="internal_error", status=500)
    mock.reset()
    assert client.chat_postMessage(channel="C0INC", text="x", blocks=[TABLE])["ok"]


def test_mock_rate_limit_on_chat_update_with_slack_sdk_handler(mock: MockSlack) -> None:
    client = WebClient(
        token=TOKEN, base_url=mock.base_url, retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)]
    )
    mock.fail_next("chat.update", status=429, retry_after=1)
    started = time.monotonic()
    assert client.chat_update(channel="C0INC", ts="1700000000.000100", text="running")["ok"]
    assert time.monotonic() - started >= 1.0
    first, second = mock.calls("chat.update")
    assert (first.status, second.status) == (429, 200)
    assert first.response == {"ok": False, "error": "ratelimited"}
    mock.fail_next("chat.update", status=429, retry_after=3)
    with pytest.raises(SlackApiError) as err:
        WebClient(token=TOKEN, base_url=mock.base_url).chat_update(
            channel="C0INC", ts="1700000000.000100", text="x"
        )
    assert err.value.response.status_code == 429 and err.value.response.headers["Retry-After"] == "3"


def test_slow_next_delays_only_the_next_calls_and_they_are_seen_on_arrival() -> None:
    with MockSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        slack.slow_next("chat.update", 0.6)
        started = time.monotonic()
        done = threading.Thread(target=lambda: client.chat_update(channel="C1", ts="1.0", text="x"))
        done.start()
        deadline = time.monotonic() + 5
        while not slack.arrived("chat.update") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slack.arrived("chat.update") == ["chat.update"] and slack.calls("chat.update") == []
        done.join()
        assert time.monotonic() - started >= 0.6
        started = time.monotonic()
        client.chat_update(channel="C1", ts="1.0", text="y")
        assert time.monotonic() - started < 0.5
