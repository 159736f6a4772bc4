"""The App Home: within Slack's limits, user text escaped, answers linked; the data range from folders
or settings; and the `app_home_opened` listener publishing it, through a signed request and a mock Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

from bot.iocs.objects import LocalObjectStore
from bot.iocs.store import IocStore, Submission
from bot.query.catalog import load_catalog
from bot.query.data_range import DataRange, data_range, local_range
from bot.recent import RecentQueries, RecentQuery
from bot.rendering.home import MAX_BLOCKS, MAX_SECTION_TEXT, home_view
from bot.settings import Settings
from handlers import home
from tests.mock_slack import MockSlack
from tests.slack_signing import JSON_CONTENT_TYPE, signed_headers

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SECRET = "home-test-signing-secret"
TOKEN = "xoxb-home-test"
DATA = DataRange(date(2026, 11, 17), date(2026, 11, 20), "folders", "sample-data")
EXAMPLES = ["ratio 10.0.1.25 --last 6h", "top src --last 6h"]


def recent_query(n: int = 0, **fields: Any) -> RecentQuery:
    values: dict[str, Any] = {
        "job_id": f"job{n}",
        "team_id": "T0001",
        "user_id": "U0AAA",
        "channel_id": "C0INC",
        "text": "ratio 10.0.1.25 --last 6h",
        "status": "answered",
        "finding": "10.0.1.25 sent 3.2 GB to 203.0.113.7",
        "permalink": "https://flowbot-test.slack.com/archives/C0INC/p1700000000000100",
        "at": NOW - timedelta(minutes=5 + n),
    }
    return RecentQuery(**{**values, **fields})


def texts(view: dict[str, Any]) -> list[str]:
    """Every piece of text in the view's blocks."""
    found: list[str] = []
    for block in view["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        found.extend(e["text"] for e in block.get("elements", []) if "text" in e)
    return found


def view_of(recent: list[RecentQuery] | None, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "recent": recent,
        "ioc_count": 12,
        "engine": "local",
        "table": "sample-data",
        "data": DATA,
        "command": "/flow",
        "examples": EXAMPLES,
        "now": NOW,
    }
    return home_view(**{**args, **overrides})


# ---------------------------------------------------------------------- the view


def test_the_view_shows_a_recent_query_with_its_link_finding_time_and_channel() -> None:
    view = view_of([recent_query()])
    assert view["type"] == "home"
    assert view["blocks"][0]["type"] == "header"
    body = "\n".join(texts(view))
    assert "Your recent queries" in body
    line = next(t for t in texts(view) if "ratio 10.0.1.25" in t)
    assert line.startswith(":white_check_mark: `ratio 10.0.1.25 --last 6h`")
    assert "<https://flowbot-test.slack.com/archives/C0INC/p1700000000000100|answer>" in line
    assert "10.0.1.25 sent 3.2 GB to 203.0.113.7" in line
    assert "5 min ago" in line and "<#C0INC>" in line
    assert "*Indicators:* 12 active" in body
    assert "*Engine:* local DuckDB over `sample-data` · data 2026-11-17 → 2026-11-20" in body


def test_each_status_has_its_emoji_and_old_queries_show_utc_time() -> None:
    statuses = ("queued", "running", "failed", "cancelled")
    queries = [recent_query(i, status=s, finding=None, permalink=None) for i, s in enumerate(statuses)]
    queries.append(recent_query(9, at=datetime(2026, 11, 1, 8, 30, tzinfo=UTC), channel_id="D0DM"))
    lines = texts(view_of(queries))
    for emoji in (":hourglass_flowing_sand:", ":arrows_counterclockwise:", ":x:", ":no_entry_sign:"):
        assert any(line.startswith(emoji) for line in lines)
    assert any("2026-11-01 08:30 UTC" in line and "in a DM" in line for line in lines)
    assert not any("|answer>" in line for line in lines if line.startswith(":hourglass"))


def test_user_text_is_escaped() -> None:
    nasty = recent_query(
        text="top src <!channel> & <@U0BOSS> `x`",
        finding="<https://evil.example|click> & more",
        permalink="javascript:alert(1)",
    )
    body = "\n".join(texts(view_of([nasty])))
    assert "<!channel>" not in body and "<@U0BOSS>" not in body and "<https://evil" not in body
    assert "&lt;!channel&gt; &amp; &lt;@U0BOSS&gt; 'x'" in body
    assert "&lt;https://evil.example|click&gt; &amp; more" in body
    assert "javascript" not in body and "|answer>" not in body


def test_the_view_stays_within_slack_limits() -> None:
    queries = [
        recent_query(n, text="ratio 10.0.1.25 " + "&<>" * 2000, finding="é" * 5000, channel_id="C0INC")
        for n in range(50)
    ]
    view = view_of(queries, examples=["x" * 3000] * 10, table="<" * 4000)
    assert len(view["blocks"]) <= MAX_BLOCKS
    for block in view["blocks"]:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        for element in block.get("elements", []):
            assert len(element["text"]) <= MAX_SECTION_TEXT
    assert len(json.dumps(view)) < 250_000


def test_no_queries_yet_suggests_one_and_unavailable_parts_say_so() -> None:
    body = "\n".join(texts(view_of([], ioc_count=None)))
    assert "No queries yet — try `/flow ratio 10.0.1.25 --last 6h`" in body
    assert "*Indicators:* unavailable right now" in body
    assert "unavailable" in "\n".join(texts(view_of(None)))


def test_the_how_to_is_short_and_names_every_way_to_ask() -> None:
    how = next(t for t in texts(view_of([])) if t.startswith("*How to ask*"))
    lines = how.splitlines()[1:]
    assert len(lines) <= 6
    for part in ("/flow <query> <ip> --last 6h", "@mention", "shortcut", "/flow context", "/flow help"):
        assert part.replace("<", "&lt;").replace(">", "&gt;") in how


def test_athena_engine_line() -> None:
    data = DataRange(date(2026, 1, 1), date(2026, 11, 20), "projection")
    body = "\n".join(
        texts(view_of([], engine="athena", table="flowbot.vpcflow", data=data, workgroup="responders"))
    )
    assert (
        "*Engine:* Athena · `flowbot.vpcflow` · workgroup `responders` · "
        "data 2026-01-01 → 2026-11-20 (partition projection)" in body
    )


# ---------------------------------------------------------------------- the data range


def day_folder(root: Path, account: str, region: str, day: str, *, with_log: bool = True) -> Path:
    folder = root / "AWSLogs" / account / "vpcflowlogs" / region / day
    folder.mkdir(parents=True)
    if with_log:
        (folder / f"{account}_vpcflowlogs_{region}_fl-0abc_{day.replace('/', '')}T0000Z_x.log.gz").touch()
    return folder


def test_local_range_spans_every_account_and_region(tmp_path: Path) -> None:
    day_folder(tmp_path, "111122223333", "us-east-1", "2026/11/18")
    day_folder(tmp_path, "111122223333", "us-east-1", "2026/11/19")
    day_folder(tmp_path, "012345678901", "eu-west-1", "2026/11/17")
    day_folder(tmp_path, "012345678901", "eu-west-1", "2026/11/20")
    day_folder(tmp_path, "012345678901", "eu-west-1", "2026/11/21", with_log=False)  # nothing delivered
    day_folder(tmp_path, "012345678901", "eu-west-1", "2026/02/30")  # not a date
    day_folder(tmp_path, "not-an-account", "eu-west-1", "2026/11/01")
    day_folder(tmp_path, "111122223333", "moon-base", "2026/11/02")
    (tmp_path / "AWSLogs" / "111122223333" / "vpcflowlogs" / "us-east-1" / "2026" / "README").touch()
    found = local_range(tmp_path)
    assert (found.first, found.last) == (date(2026, 11, 17), date(2026, 11, 20))
    assert found.describe() == "data 2026-11-17 → 2026-11-20"
    settings = Settings(engine="local", local_data_dir=tmp_path)
    assert data_range(settings) == found


def test_one_day_of_data(tmp_path: Path) -> None:
    day_folder(tmp_path, "111122223333", "us-east-1", "2026/11/18")
    assert local_range(tmp_path).describe() == "data 2026-11-18"


@pytest.mark.parametrize("make", ["nothing", "empty AWSLogs", "empty day folder"])
def test_no_local_data_says_how_to_make_some(tmp_path: Path, make: str) -> None:
    if make == "empty AWSLogs":
        (tmp_path / "AWSLogs").mkdir()
    if make == "empty day folder":
        day_folder(tmp_path, "111122223333", "us-east-1", "2026/11/18", with_log=False)
    found = data_range(Settings(engine="local", local_data_dir=tmp_path))
    assert (found.first, found.last) == (None, None)
    assert f"flowbot sample-data {tmp_path}" in found.describe()
    assert "no flow logs" in found.describe()


def test_athena_range_is_the_partition_projection() -> None:
    settings = Settings(engine="athena", first_day=date(2026, 1, 1))
    found = data_range(settings, today=date(2026, 11, 20))
    assert (found.first, found.last) == (date(2026, 1, 1), date(2026, 11, 20))
    assert found.describe() == "data 2026-01-01 → 2026-11-20 (partition projection)"
    unset = data_range(Settings(engine="athena"), today=date(2026, 11, 20))
    assert "FLOWBOT_FIRST_DAY" in unset.describe()


def test_the_json_table_has_no_day_range(tmp_path: Path) -> None:
    found = data_range(Settings(engine="local", table_kind="json", local_data_dir=tmp_path))
    assert found.origin == "unpartitioned" and "no day partitions" in found.describe()


# ---------------------------------------------------------------------- the listener


@pytest.fixture
def mock_slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[MockSlack]:
    # slack_sdk would send calls to 127.0.0.1 through a proxy from the environment (it ignores NO_PROXY)
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(key, raising=False)
    with MockSlack() as slack:
        yield slack


def home_app(settings: Settings, redis: Redis, slack: MockSlack) -> App:
    """As handlers/app.py builds it (signed requests verified), with only the Home listener."""
    app = App(client=WebClient(token=TOKEN, base_url=slack.base_url, timeout=10), signing_secret=SECRET)
    home.register(app, settings, redis, clock=lambda: NOW)
    return app


def home_opened(user: str = "U0AAA", tab: str = "home") -> BoltRequest:
    body = json.dumps(
        {
            "token": "verification-token",
            "team_id": "T0001",
            "api_app_id": "A0FLOWBOT",
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": "D0HOME",
                "tab": tab,
                "event_ts": f"{time.time():.6f}",
            },
            "type": "event_callback",
            "event_id": f"Ev{int(time.time() * 1000)}{tab}",
            "event_time": int(time.time()),
            "authorizations": [
                {"team_id": "T0001", "user_id": "U0BOT", "is_bot": True, "is_enterprise_install": False}
            ],
        }
    )
    headers: dict[str, str | Sequence[str]] = {**signed_headers(SECRET, body, content_type=JSON_CONTENT_TYPE)}
    return BoltRequest(body=body, headers=headers)


def test_opening_the_home_publishes_recent_queries_and_the_ioc_count(
    redis_url: str, mock_slack: MockSlack, tmp_path: Path
) -> None:
    store_dir = tmp_path / "iocs"
    store = IocStore(LocalObjectStore(store_dir))
    for value in ("203.0.113.7", "198.51.100.0/24", "203.0.113.7"):  # two submissions of one
        store.add([Submission.new(value, comment="c2", submitted_by="U0AAA", channel=None, source="cli")])
    day_folder(tmp_path / "data", "111122223333", "us-east-1", "2026/11/18")
    settings = Settings(
        engine="local", local_data_dir=tmp_path / "data", ioc_store=str(store_dir), recent_queries=5
    )
    redis = Redis.from_url(redis_url)
    RecentQueries(redis, 5).record(
        recent_query(text="timeline 198.51.100.23 --last 7d", finding="seen 14 times")
    )
    RecentQueries(redis, 5).record(recent_query(1, user_id="U0BBB", text="someone else's query"))

    response = home_app(settings, redis, mock_slack).dispatch(home_opened())
    assert response.status == 200
    (call,) = mock_slack.wait_for("views.publish")
    assert call.ok and call.params["user_id"] == "U0AAA"
    view = call.json_param("view")
    body = "\n".join(texts(view))
    assert "`timeline 198.51.100.23 --last 7d`" in body and "seen 14 times" in body
    assert "|answer>" in body
    assert "someone else's query" not in body
    assert "*Indicators:* 2 active" in body
    assert "data 2026-11-18" in body
    example = load_catalog()["ratio"].example
    assert f"`/flow {example}`" in body
    redis.close()


class BrokenStore(LocalObjectStore):
    def list(self, prefix: str) -> list[str]:
        raise PermissionError("AccessDenied")


def test_other_tabs_and_a_broken_ioc_store_do_not_stop_the_home(
    redis_url: str,
    mock_slack: MockSlack,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(home, "object_store_for", lambda settings: BrokenStore(tmp_path))
    settings = Settings(engine="local", local_data_dir=tmp_path)
    redis = Redis.from_url(redis_url)
    app = home_app(settings, redis, mock_slack)

    assert app.dispatch(home_opened(tab="messages")).status == 200
    time.sleep(0.3)
    assert mock_slack.calls("views.publish") == []

    assert app.dispatch(home_opened(user="U0NEW")).status == 200
    (call,) = mock_slack.wait_for("views.publish")
    body = "\n".join(texts(call.json_param("view")))
    assert "*Indicators:* unavailable right now" in body
    assert "No queries yet" in body
    assert "flowbot sample-data" in body
    assert "could not count indicators" in caplog.text
    redis.close()


def test_counting_indicators_reads_only_the_listing(tmp_path: Path) -> None:
    objects = LocalObjectStore(tmp_path)
    store = IocStore(objects)
    store.add([Submission.new("203.0.113.7", comment="", submitted_by="U0AAA", channel=None, source="cli")])
    store.add([Submission.new("10.1.0.0/16", comment="", submitted_by="U0AAA", channel=None, source="cli")])
    store.remove("10.1.0.0/16", actor="U0AAA", channel=None, source="cli")
    assert store.count_active() == len(store.active()) == 1
