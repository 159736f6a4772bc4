"""A local stand-in for the Slack Web API, for unit, scenario and end-to-end tests.

The server runs in a daemon thread of the *test* process. The app and the worker may run in other
processes: they only need ``base_url`` (e.g. through an environment variable) and talk to it over HTTP,
while the test reads what arrived with :meth:`MockSlack.calls` / :meth:`MockSlack.wait_for`.

    with MockSlack() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.base_url)
        client.chat_postMessage(channel="C0INC", text="hi")
        [call] = slack.wait_for("chat.postMessage")
        assert call.params["text"] == "hi"

URL layout (PORT is picked by the OS unless given):

* ``http://127.0.0.1:PORT/api/<method>``   Web API methods (``/<method>`` without ``api/`` works too,
  like bolt-python's own mock server).
* ``http://127.0.0.1:PORT/upload/<file_id>``   the upload URL handed out by ``files.getUploadURLExternal``;
  recorded as method ``"upload"``.
* ``http://127.0.0.1:PORT/response_url/<anything>``   a slash command / action ``response_url``;
  recorded as method ``"response_url"``. ``MockSlack.response_url("abc")`` builds one.
  (The same two paths are also accepted under ``/api/``, so ``base_url + "response_url/abc"`` works.)

Notes for whoever points a *subprocess* at this server: slack_sdk's WebClient reads HTTPS_PROXY /
HTTP_PROXY from the environment and then sends every call through that proxy, ignoring NO_PROXY, so
strip those variables from the child's environment (see :func:`child_env`).

Slack's rules the mock plays (each is commented where it is applied, with the page it comes from; "guess:"
marks what Slack's documentation does not say):

* channel membership with ``chat:write.public`` (:meth:`MockSlack.without_bot`),
* direct messages to a user id (:meth:`MockSlack.dms`),
* a response_url takes 5 posts within 30 minutes (:meth:`MockSlack.response_url`),
* a trigger_id is good for 3 seconds, once (:meth:`MockSlack.trigger_id`),
* per-method rate limits by tier, off unless :meth:`MockSlack.rate_limits` turns them on,
* Block Kit refusals, ``msg_blocks_too_long`` and table refusals (:meth:`MockSlack.refuse_tables`),
* an outage of some methods, or all, until it is over (:meth:`MockSlack.down` / :meth:`MockSlack.up`).

Time-based rules read the mock's own clock (:class:`MockClock`): real elapsed time plus whatever
:meth:`MockSlack.advance` added, so tests age URLs and triggers without sleeping
(:meth:`MockSlack.freeze_clock` stops the real part for fully deterministic tests).

Only the standard library is used.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP as HTTP_POLICY
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEAM_ID = "T0001"
TEAM_NAME = "Flowbot Test"
TEAM_DOMAIN = "flowbot-test"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
BOT_USER_NAME = "flowbot"
APP_ID = "A0FLOWBOT"
# The bot scopes manifest.yml asks for (tests/unit/test_manifest.py keeps the two equal).
SCOPES = "app_mentions:read,chat:write,chat:write.public,commands,files:write,usergroups:read"

# Methods Slack answers without a token (everything else needs one).
_NO_TOKEN_METHODS = frozenset(
    {
        "api.test",
        "oauth.access",
        "oauth.v2.access",
        "oauth.v2.exchange",
        "openid.connect.token",
        "upload",
        "response_url",
    }
)

# Methods that name a channel and so answer for one the bot is not in (see without_bot).
_CHANNEL_METHODS = frozenset(
    {
        "chat.postMessage",
        "chat.update",
        "chat.delete",
        "chat.postEphemeral",
        "chat.getPermalink",
        "files.completeUploadExternal",
        "conversations.info",
        "reactions.add",
        "reactions.remove",
    }
)
# Of those, the ones chat:write.public does NOT cover: they need real membership of a public channel.
# - files.completeUploadExternal: its errors table, "not_in_channel: User/bot membership is required for
#   the specified channel" (https://docs.slack.dev/reference/methods/files.completeUploadExternal); the
#   scope page covers only sending messages (https://docs.slack.dev/reference/scopes/chat:write.public);
#   reported in https://github.com/getnao/nao/issues/1372 (postMessage lands, the upload gets not_in_channel).
# - chat.postEphemeral: not_in_channel reported with a bot token in a channel the bot is not in
#   (https://github.com/ifvictr/prox/issues/30, fixed by answering through response_url instead, #59) and
#   refused despite chat:write.public in https://github.com/slackapi/node-slack-sdk/issues/977.
#   not_in_channel is in chat.postEphemeral's errors table (https://docs.slack.dev/reference/methods/chat.postEphemeral).
_MEMBERSHIP_METHODS = frozenset({"chat.postEphemeral", "files.completeUploadExternal"})
# What files.completeUploadExternal answers for a user id as channel_id
# (https://github.com/slackapi/bolt-js/issues/2115).
_CHANNEL_ID_PATTERN_ERROR = (
    "[ERROR] input must match regex pattern: ^[CGDZ][A-Z0-9]{8,}$ [json-pointer:/channel_id]"
)
# Methods whose blocks refuse_tables() and the Block Kit checks look at.
_MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.update", "chat.postEphemeral"})

# Block Kit limits that Slack enforces by refusing the whole message (see slack-platform.md).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_TABLE_ROWS = 100
MAX_TABLE_CELLS = 20
MAX_TABLE_CHARS = 10000  # all cells of a message's table together (reported, not documented exactly)
MAX_MESSAGE_TEXT = 40000
# msg_blocks_too_long ("Blocks submitted with this message are too long", chat.postMessage's errors table,
# https://docs.slack.dev/reference/methods/chat.postMessage) comes for the text of all blocks together, a
# limit Slack does not document. Reported: refused at ~13,200 characters, exactly over 13,297 with markdown
# blocks, "12,000 text characters with a buffer for block containers" per a maintainer
# (https://github.com/slackapi/bolt-js/issues/2509); refused at 11,341 by one count in
# https://github.com/slackapi/bolt-js/issues/2867. guess: over 13,000 characters of "text" strings anywhere
# in the blocks, for chat.postMessage, chat.update and chat.postEphemeral (#2867 says respond() was spared).
MAX_BLOCKS_TEXT = 13000

# ---- rate limits: https://docs.slack.dev/apis/web-api/rate-limits ("per API method per workspace/team per
# app"; Tier 1 "1+ per minute", Tier 2 "20+", Tier 3 "50+", Tier 4 "100+"; over a limit HTTP 429 with a
# Retry-After header in seconds; chat.postMessage "generally allows posting one message per second per
# channel" with "short bursts >1 allowed"). The mock allows exactly the tier's floor per rolling minute.
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
# Each method's tier from its reference page's "Rate limits" fact (docs.slack.dev/reference/methods/<name>,
# read from the generated copy of those pages in smstoslack/slack_kit priv/docs/methods/<name>.json, 2026-05).
METHOD_TIERS: dict[str, int] = {
    "chat.update": 3,
    "chat.delete": 3,
    "chat.postEphemeral": 4,
    "usergroups.users.list": 2,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
    "conversations.info": 3,
    "users.info": 4,
    "reactions.add": 3,
    "reactions.remove": 2,
    "api.test": 4,
    # "Special rate limits apply." with no numbers for these two: guess: Tier 4.
    "chat.getPermalink": 4,
    "auth.test": 4,
}
# chat.postMessage (special): a token bucket per channel refilled at 1 message a second.
# guess: a burst of 5 (the docs only say "short bursts >1 allowed").
POST_MESSAGE_PER_SECOND = 1.0
POST_MESSAGE_BURST = 5

# ---- response_url: "With this approach, you can respond to a user's command up to 5 times within 30 minutes
# of the user's invocation" (https://api.slack.com/interactivity/slash-commands, "Delayed responses and
# multiple responses"). guess: the same for the response_url of shortcuts and actions.
RESPONSE_URL_USES = 5
RESPONSE_URL_LIFETIME = 30 * 60.0
# What a spent or expired response_url answers. The error text "Expired url" (with a space) is reported
# from production by Sentry (getsentry/sentry src/sentry/integrations/slack/utils/notifications.py: "Yes
# the error string has a space in it"; first handled in https://github.com/getsentry/sentry/pull/7955, read
# from the JSON body's "error"). guess: HTTP 404 with that JSON body; Slack documents neither.
RESPONSE_URL_REFUSED_STATUS = 404
RESPONSE_URL_REFUSED_ERROR = "Expired url"

# ---- trigger_id: "Pass a valid trigger_id within 3 seconds of receiving it"
# (https://docs.slack.dev/tools/bolt-js/concepts/creating-modals); views.open / views.push errors
# "expired_trigger_id: The trigger_id is expired." and "exchanged_trigger_id: The trigger_id was already
# exchanged in a previous call." (https://docs.slack.dev/reference/methods/views.open, .../views.push).
TRIGGER_LIFETIME = 3.0


class Headers(dict[str, str]):
    """Request headers with case-insensitive lookup (keys are stored lower-case).

    urllib sends ``Content-type``, aiohttp ``Content-Type``: ``h["content-type"]`` and
    ``h["Content-Type"]`` both work.
    """

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class RecordedCall:
    method: str  # Web API method, e.g. "chat.postMessage"; "upload" / "response_url" for those URLs
    params: dict[str, Any]  # form or JSON body merged with the query string (JSON strings left as given)
    headers: dict[str, str]  # case-insensitive (see Headers)
    body: bytes  # raw body; for "upload" the file bytes as sent
    path: str = ""  # request path, e.g. "/api/chat.postMessage", "/upload/F0001"
    status: int = 200  # HTTP status the mock answered with
    response: Any = None  # what the mock answered (dict for JSON answers, str for text)
    at: float = 0.0  # time.time() when it arrived

    @property
    def token(self) -> str | None:
        """The token sent, from ``Authorization: Bearer ...`` or a ``token`` parameter."""
        auth = self.headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        tok = self.params.get("token")
        return tok if isinstance(tok, str) and tok else None

    @property
    def ok(self) -> bool:
        """True when the mock answered HTTP 200 and (for JSON answers) ``"ok": true``."""
        if self.status != 200:
            return False
        return not isinstance(self.response, dict) or bool(self.response.get("ok", True))

    def json_param(self, name: str) -> Any:
        """A parameter that slack_sdk sends JSON-encoded in a form body (blocks, attachments, files,
        view, ...) decoded; a value that is already structured (JSON body) is returned as is."""
        value = self.params[name]
        return json.loads(value) if isinstance(value, str | bytes) else value

    def __repr__(self) -> str:
        shown = {
            k: (v if not isinstance(v, str) or len(v) < 80 else v[:77] + "...")
            for k, v in self.params.items()
        }
        return f"RecordedCall({self.method!r}, status={self.status}, params={shown!r})"


@dataclass
class _Failure:
    status: int
    retry_after: int
    error: str | None
    remaining: int


@dataclass
class _File:
    id: str
    filename: str
    length: int
    title: str | None = None
    alt_txt: str | None = None
    snippet_type: str | None = None
    completed: bool = False
    shares: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def child_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """An environment for a subprocess that talks to a MockSlack: the proxy variables that slack_sdk
    (and urllib) would otherwise route 127.0.0.1 through are removed; ``extra`` is added."""
    env = dict(os.environ if base is None else base)
    for key in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        env.pop(key, None)
    env.update(extra)
    return env


class MockClock:
    """The mock's clock, in seconds: real (monotonic) time elapsed since it started plus what
    :meth:`advance` added. :meth:`freeze` stops the real part, for tests that must not depend on how fast
    the machine is. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        with self._lock:
            real = self._frozen_at if self._frozen_at is not None else time.monotonic() - self._origin
            return real + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds

    def freeze(self, on: bool = True) -> None:
        with self._lock:
            if on and self._frozen_at is None:
                self._frozen_at = time.monotonic() - self._origin
            elif not on and self._frozen_at is not None:
                self._origin = time.monotonic() - self._frozen_at
                self._frozen_at = None

    def reset(self) -> None:
        with self._lock:
            self._origin = time.monotonic()
            self._offset = 0.0
            self._frozen_at = None


@dataclass
class _ResponseUrl:
    issued: float  # mock clock
    uses: int = 0


@dataclass
class _Trigger:
    issued: float  # mock clock
    exchanged: bool = False


@dataclass
class _TableRefusal:
    error: str
    status: int


def _is_user_id(value: str) -> bool:
    """A user id (U... or, on Enterprise Grid, W...), as Slack accepts in place of a channel id."""
    return len(value) > 1 and value[0] in "UW" and value[1:].isalnum() and value.isupper()


def dm_channel_id(user_id: str) -> str:
    """The id of the app's DM with ``user_id`` in the mock (``U0AAA`` -> ``D0AAA``)."""
    return "D" + user_id[1:]


class MockSlack:
    """Local Slack Web API: records every call, answers like Slack does.

    Thread-safe; ``calls``/``wait_for`` may be used from any thread of the owning process.
    ``validate_blocks`` (default True) makes chat.postMessage / chat.update / chat.postEphemeral refuse
    messages over Slack's Block Kit limits with ``invalid_blocks`` / ``msg_blocks_too_long`` /
    ``msg_too_long`` as Slack does. :meth:`refuse_tables` plays a workspace or client that takes no
    ``table`` block (or a Slack failing on one), :meth:`without_bot` a channel Flowbot was not invited to,
    :meth:`rate_limits` Slack's per-method limits, :meth:`response_url` / :meth:`trigger_id` the expiring
    URLs and triggers of interactions (aged with :meth:`advance`), :meth:`dms` the app's direct messages.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.validate_blocks = True
        self.uploads: dict[str, bytes] = {}
        self._cond = threading.Condition(threading.RLock())
        self._calls: list[RecordedCall] = []
        self._failures: dict[str, list[_Failure]] = {}
        self._delays: dict[str, list[list[float]]] = {}
        self._files: dict[str, _File] = {}
        self._reactions: set[tuple[str, str, str]] = set()
        self._refuse_tables: _TableRefusal | None = None
        self._down: dict[str, int] = {}  # method (or "*": every method) -> HTTP status while down
        self._outside: dict[str, bool] = {}  # channel id -> private?
        self._arrived: list[str] = []
        self._ts_counter = 0
        self._file_counter = 0
        self._view_counter = 0
        self._trigger_counter = 0
        self.clock = MockClock()
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._dm_messages: dict[str, list[dict[str, Any]]] = {}  # DM channel id -> messages posted there
        self._usergroups: dict[str, list[str]] = {}  # usergroup id -> member user ids
        self._rate_limited = False
        self._post_burst = POST_MESSAGE_BURST
        self._per_minute: dict[str, int] = {}
        self._windows: dict[str, deque[float]] = {}  # method -> mock-clock times of accepted calls
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, at) for chat.postMessage
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("MockSlack already started")
        server = ThreadingHTTPServer((self.host, self.port), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="mock-slack", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> MockSlack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ URLs

    @property
    def url(self) -> str:
        """Root URL, ``http://127.0.0.1:PORT/``."""
        if self._server is None:
            raise RuntimeError("MockSlack is not started: call start() or use it as a context manager")
        return f"http://{self.host}:{self.port}/"

    @property
    def base_url(self) -> str:
        """What ``WebClient(base_url=...)`` takes: ``http://127.0.0.1:PORT/api/``."""
        return self.url + "api/"

    def response_url(self, key: str = "abc") -> str:
        """Issue a response_url served by this mock (posts to it are recorded as method "response_url").

        Like Slack's, it takes :data:`RESPONSE_URL_USES` (5) posts within :data:`RESPONSE_URL_LIFETIME`
        (30 minutes, mock clock) of now; a further post, or a later one, answers HTTP 404
        ``{"ok": false, "error": "Expired url"}`` (see the constants). Issuing a key again starts it afresh
        (a new interaction). A ``/response_url/<key>`` never issued here is limited the same way, its
        first post counting as its issue time.
        """
        with self._cond:
            self._response_urls[key] = _ResponseUrl(self.clock.now())
        return f"{self.url}response_url/{key}"

    def trigger_id(self) -> str:
        """Issue a trigger_id, as Slack puts in an interaction payload.

        views.open / views.push with it answer ``expired_trigger_id`` once :data:`TRIGGER_LIFETIME` (3 s,
        mock clock) has passed, and ``exchanged_trigger_id`` the second time it is used. Trigger ids the
        mock never issued (tests build payloads by hand) are accepted as before, any number of times.
        """
        with self._cond:
            self._trigger_counter += 1
            n = self._trigger_counter
            # the documented shape, "12345.98765.abcd2358fdea" (views.open's invalid_trigger_id)
            trigger = f"{n:05d}.98765.{n * 2654435761 % 16**12:012x}"
            self._triggers[trigger] = _Trigger(self.clock.now())
        return trigger

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id chat.postMessage answers for ``channel=<user_id>``."""
        return dm_channel_id(user_id)

    # ------------------------------------------------------------------ the mock clock

    def now(self) -> float:
        """The mock clock (seconds) that response_url / trigger expiry and rate limits read."""
        return self.clock.now()

    def advance(self, seconds: float) -> None:
        """Move the mock clock forward: ages response_urls and triggers, frees rate-limit windows."""
        self.clock.advance(seconds)

    def freeze_clock(self, on: bool = True) -> None:
        """Stop (or restart) real time flowing into the mock clock; only :meth:`advance` moves it then."""
        self.clock.freeze(on)

    # ------------------------------------------------------------------ inspection

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 30.0) -> list[RecordedCall]:
        """Block until at least ``count`` calls of ``method`` arrived (failed ones included); return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [c for c in self._calls if c.method == method]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"MockSlack: expected {count} call(s) of {method!r} within {timeout}s, "
                        f"got {len(got)}.\n" + self._summary()
                    )
                self._cond.wait(left)

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """Messages posted into the app's DM with ``user_id`` (its Messages tab), oldest first, as
        chat.postMessage answered them (``ts``, ``text``, ``blocks``, ``thread_ts``...) and as later
        chat.update calls left them."""
        with self._cond:
            return [dict(m) for m in self._dm_messages.get(dm_channel_id(user_id), [])]

    def _summary(self) -> str:
        if not self._calls:
            return "No calls arrived at all."
        counts: dict[str, int] = {}
        for c in self._calls:
            counts[c.method] = counts.get(c.method, 0) + 1
        lines = ["Calls that arrived: " + ", ".join(f"{m} x{n}" for m, n in counts.items())]
        lines += [f"  {c!r}" for c in self._calls[-15:]]
        return "\n".join(lines)

    # ------------------------------------------------------------------ control

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        error: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        With ``error``: HTTP 200 ``{"ok": false, "error": error}`` (how Slack reports most failures).
        Otherwise HTTP ``status``: for 429 with a ``Retry-After: retry_after`` header and body
        ``{"ok": false, "error": "ratelimited"}``. Works for "upload" and "response_url" too.
        Several fail_next calls queue up in order.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._cond:
            self._failures.setdefault(method, []).append(_Failure(status, retry_after, error, times))

    def slow_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` wait ``seconds`` before answering (a slow Slack;
        the call is recorded when it arrives). Several slow_next calls queue up in order."""
        if times < 1:
            raise ValueError("times must be >= 1")
        with self._cond:
            self._delays.setdefault(method, []).append([seconds, times])

    def arrived(self, method: str | None = None) -> list[str]:
        """Methods of calls that have arrived but may not be answered yet (see slow_next)."""
        with self._cond:
            return [m for m in self._arrived if method is None or m == method]

    def down(self, *methods: str, status: int = 503) -> None:
        """Slack is down for ``methods`` (every method, "upload" and "response_url" included, when none
        are named) until :meth:`up`: each call answers HTTP ``status`` with ``{"ok": false, "error":
        "fatal_error"}`` (429: ``ratelimited`` with ``Retry-After: 1``). Unlike :meth:`fail_next` it lasts
        however many calls come, until the test ends it. Pending :meth:`fail_next` failures come first."""
        with self._cond:
            self._down.update({method: status for method in methods or ("*",)})

    def up(self) -> None:
        """End every outage :meth:`down` started."""
        with self._cond:
            self._down.clear()

    def refuse_tables(self, on: bool = True, *, error: str = "invalid_blocks", status: int = 200) -> None:
        """While on, chat.postMessage / chat.update / chat.postEphemeral with a ``table`` block are refused
        (recorded like any call).

        By default as a workspace or client without the table block: HTTP 200
        ``{"ok": false, "error": "invalid_blocks", "errors": ["unsupported type: table ..."]}``. With
        another ``error``, HTTP ``status`` ``{"ok": false, "error": error}``: e.g.
        ``refuse_tables(error="internal_error", status=500)`` for the server errors reported for table
        cells (slack-platform.md; guess: the body, Slack documents none for them).
        """
        with self._cond:
            self._refuse_tables = _TableRefusal(error, status) if on else None

    def without_bot(self, channel_id: str, *, private: bool | None = None) -> None:
        """The bot is not a member of ``channel_id``; private when ``private`` is True or, left None, when
        the id starts with "G".

        A PUBLIC channel: chat.postMessage / chat.update still work (the manifest's chat:write.public);
        chat.postEphemeral and files.completeUploadExternal answer ``not_in_channel``; conversations.info
        says ``is_member: false``. A PRIVATE channel does not exist for the bot: every method naming it
        (chat.*, files.completeUploadExternal, conversations.info, reactions.*) answers
        ``channel_not_found``.
        """
        with self._cond:
            self._outside[channel_id] = channel_id.startswith("G") if private is None else private

    def with_bot(self, channel_id: str) -> None:
        """The bot was invited to ``channel_id`` (undoes :meth:`without_bot`)."""
        with self._cond:
            self._outside.pop(channel_id, None)

    def usergroup(self, usergroup_id: str, users: Iterable[str]) -> None:
        """Declare a user group: usergroups.users.list for it answers ``{"ok": true, "users": users}``.
        Groups never declared answer ``"users": []`` (guess, lenient: Slack answers ``no_such_subteam``,
        "No usergroup found with the given ID", https://docs.slack.dev/reference/methods/usergroups.users.list)."""
        with self._cond:
            self._usergroups[usergroup_id] = list(users)

    def rate_limits(
        self,
        enabled: bool = True,
        *,
        burst: int = POST_MESSAGE_BURST,
        per_minute: Mapping[str, int] | None = None,
    ) -> None:
        """Turn Slack's per-method rate limits on (or off; off by default).

        Methods in :data:`METHOD_TIERS` take their tier's floor (:data:`TIER_PER_MINUTE`) of calls per
        rolling minute of the mock clock; chat.postMessage takes 1 a second per channel after a burst of
        ``burst``. ``per_minute`` overrides the limit of named methods (chat.postMessage included, then
        per channel per minute). Other methods, "upload" and "response_url" are not limited. Over a
        limit: HTTP 429, ``Retry-After: <seconds until the window frees>``, ``{"ok": false, "error":
        "ratelimited"}``; refused calls do not count (guess). Turning them on or off starts new windows.
        """
        if burst < 1:
            raise ValueError("burst must be >= 1")
        with self._cond:
            self._rate_limited = enabled
            self._post_burst = burst
            self._per_minute = dict(per_minute or {})
            self._windows.clear()
            self._buckets.clear()

    def reset(self) -> None:
        """Forget calls, uploads, files, reactions, DMs, user groups, pending failures, refuse_tables, down,
        without_bot, rate limits (off again), issued response_urls and triggers, and the clock's advance /
        freeze (ts / ids keep increasing)."""
        with self._cond:
            self._calls.clear()
            self._failures.clear()
            self._delays.clear()
            self._arrived.clear()
            self._files.clear()
            self._reactions.clear()
            self.uploads.clear()
            self._refuse_tables = None
            self._down.clear()
            self._outside.clear()
            self._dm_messages.clear()
            self._usergroups.clear()
            self._response_urls.clear()
            self._triggers.clear()
            self._rate_limited = False
            self._post_burst = POST_MESSAGE_BURST
            self._per_minute.clear()
            self._windows.clear()
            self._buckets.clear()
            self.clock.reset()

    # ------------------------------------------------------------------ request handling

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.pop(0)
        return failure

    def _record(self, call: RecordedCall) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _next_ts(self) -> str:
        with self._cond:
            self._ts_counter += 1
            n = self._ts_counter * 100
        return f"{1700000000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _next_id(self, prefix: str) -> str:
        with self._cond:
            if prefix == "F":
                self._file_counter += 1
                return f"F{self._file_counter:04d}"
            self._view_counter += 1
            return f"V{self._view_counter:04d}"

    def handle(
        self, http_method: str, raw_path: str, headers: Headers, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Process one request; returns (status, response headers, response body)."""
        parts = urlsplit(raw_path)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        segments = [s for s in path.split("/") if s]
        if segments and segments[0] == "api" and len(segments) > 1:
            segments = segments[1:]

        if segments and segments[0] == "upload":
            method = "upload"
        elif segments and segments[0] == "response_url":
            method = "response_url"
        elif len(segments) == 1:
            method = segments[0]
        else:
            call = RecordedCall(f"?{path}", query, headers, body, path=path, status=404, at=time.time())
            call.response = "not found"
            self._record(call)
            return 404, {"Content-Type": "text/plain"}, b"not found"

        if method == "upload":
            params: dict[str, Any] = dict(query)
            data, file_fields = _upload_bytes(headers, body)
            params.update(file_fields)
        else:
            params = {**query, **_parse_body(headers, body)}
            data = body

        call = RecordedCall(method, params, headers, data, path=path, at=time.time())
        status, resp_headers, payload = self._answer(call, segments)
        call.status = status
        call.response = payload
        self._record(call)

        if isinstance(payload, dict):
            resp_headers.setdefault("Content-Type", "application/json; charset=utf-8")
            raw = json.dumps(payload).encode()
        else:
            resp_headers.setdefault("Content-Type", "text/plain; charset=utf-8")
            raw = str(payload).encode()
        return status, resp_headers, raw

    def _answer(self, call: RecordedCall, segments: list[str]) -> tuple[int, dict[str, str], Any]:
        method = call.method
        if method not in _NO_TOKEN_METHODS and call.token is None:
            return 200, {}, {"ok": False, "error": "not_authed"}

        with self._cond:
            self._arrived.append(method)
            delays = self._delays.get(method)
            delay = delays[0][0] if delays else 0.0
            if delays:
                delays[0][1] -= 1
                if delays[0][1] <= 0:
                    delays.pop(0)
        if delay:
            time.sleep(delay)
        with self._cond:
            failure = self._take_failure(method)
            outage = self._down.get(method, self._down.get("*"))
        if failure is None and outage is not None:
            failure = _Failure(outage, 1, None, 0)
        if failure is not None:
            if failure.error is not None:
                return 200, {}, {"ok": False, "error": failure.error}
            hdrs: dict[str, str] = {}
            if failure.status == 429:
                hdrs["Retry-After"] = str(failure.retry_after)
                return 429, hdrs, {"ok": False, "error": "ratelimited"}
            if method in ("upload", "response_url"):
                return failure.status, hdrs, f"error {failure.status}"
            return failure.status, hdrs, {"ok": False, "error": "fatal_error"}

        if method == "upload":
            return self._upload(call, segments)
        if method == "response_url":
            return self._post_response_url(segments[1] if len(segments) > 1 else "")

        limited = self._rate_limit(method, call.params)
        if limited is not None:
            return 429, {"Retry-After": str(limited)}, {"ok": False, "error": "ratelimited"}

        headers = {"x-oauth-scopes": SCOPES, "x-accepted-oauth-scopes": ""}
        refused = self._refusal(method, call.params)
        if refused is not None:
            status, body = refused
            return status, headers, body
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        result: dict[str, Any] = handler(call.params, call) if handler is not None else {"ok": True}
        return 200, headers, result

    def _post_response_url(self, key: str) -> tuple[int, dict[str, str], Any]:
        """A post to a response_url: at most RESPONSE_URL_USES within RESPONSE_URL_LIFETIME of its issue
        (https://api.slack.com/interactivity/slash-commands; the refusal's status and body: see
        RESPONSE_URL_REFUSED_STATUS)."""
        with self._cond:
            now = self.clock.now()
            url = self._response_urls.setdefault(key, _ResponseUrl(now))  # never issued: first use
            if now - url.issued > RESPONSE_URL_LIFETIME or url.uses >= RESPONSE_URL_USES:
                return RESPONSE_URL_REFUSED_STATUS, {}, {"ok": False, "error": RESPONSE_URL_REFUSED_ERROR}
            url.uses += 1
        return 200, {}, {"ok": True}

    def _rate_limit(self, method: str, p: dict[str, Any]) -> int | None:
        """Seconds to wait (the Retry-After) when ``method`` is over its limit now, else None; an
        accepted call is counted. https://docs.slack.dev/apis/web-api/rate-limits"""
        with self._cond:
            if not self._rate_limited:
                return None
            now = self.clock.now()
            if method == "chat.postMessage" and method not in self._per_minute:
                # special tier: "one message per second per channel", "short bursts >1 allowed"
                channel = str(p.get("channel") or "")
                if _is_user_id(channel):
                    channel = dm_channel_id(channel)
                tokens, at = self._buckets.get(channel, (float(self._post_burst), now))
                tokens = min(float(self._post_burst), tokens + (now - at) * POST_MESSAGE_PER_SECOND)
                if tokens < 1.0:
                    self._buckets[channel] = (tokens, now)
                    return max(1, math.ceil((1.0 - tokens) / POST_MESSAGE_PER_SECOND))
                self._buckets[channel] = (tokens - 1.0, now)
                return None
            limit = self._per_minute.get(method)
            if limit is None:
                tier = METHOD_TIERS.get(method)
                if tier is None:
                    return None
                limit = TIER_PER_MINUTE[tier]
            key = method
            if method == "chat.postMessage":  # a per_minute override stays per channel
                key = f"{method}:{p.get('channel') or ''}"
            window = self._windows.setdefault(key, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= limit:
                return max(1, math.ceil(window[0] + 60.0 - now))
            window.append(now)
            return None

    def _refusal(self, method: str, p: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """A channel the bot is not in (without_bot) or a refused table (refuse_tables), before the method
        runs: (HTTP status, body)."""
        with self._cond:
            outside, refuse_tables = dict(self._outside), self._refuse_tables
        if method in _CHANNEL_METHODS and outside:
            channels = {str(p.get(k) or "") for k in ("channel", "channel_id")}
            channels.update(c for c in str(p.get("channels") or "").split(",") if c)
            for channel in sorted(channels & outside.keys()):
                if outside[channel]:
                    # A private channel the bot is not in does not exist for it: channel_not_found ("Value
                    # passed for channel was invalid", every method's errors table; "Your bot user cannot
                    # jump into others' private conversations", https://github.com/slackapi/bolt-js/issues/365).
                    return 200, {"ok": False, "error": "channel_not_found"}
                if method in _MEMBERSHIP_METHODS:
                    # chat:write.public: "Send messages to channels your Slack app isn't a member of"
                    # (https://docs.slack.dev/reference/scopes/chat:write.public) covers chat.postMessage
                    # (guess: and chat.update of the app's own message); see _MEMBERSHIP_METHODS.
                    return 200, {"ok": False, "error": "not_in_channel"}
        if method in _MESSAGE_METHODS and refuse_tables and p.get("blocks") not in (None, ""):
            try:
                blocks = json.loads(p["blocks"]) if isinstance(p["blocks"], str | bytes) else p["blocks"]
            except ValueError:
                return None  # _check_message reports the bad JSON
            problems = [
                f"unsupported type: table [json-pointer:/blocks/{i}]"
                for i, block in enumerate(blocks if isinstance(blocks, list) else [])
                if isinstance(block, dict) and block.get("type") == "table"
            ]
            if problems:
                if refuse_tables.error == "invalid_blocks" and refuse_tables.status == 200:
                    return 200, _invalid_blocks(problems)
                return refuse_tables.status, {"ok": False, "error": refuse_tables.error}
        return None

    # ------------------------------------------------------------------ method implementations

    def _m_api_test(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        args = {k: v for k, v in p.items() if k != "token"}
        return {"ok": True, "args": args} if args else {"ok": True}

    def _m_auth_test(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        result: dict[str, Any] = {
            "ok": True,
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": BOT_USER_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "is_enterprise_install": False,
        }
        if not (call.token or "").startswith("xoxp-"):
            result["bot_id"] = BOT_ID
        return result

    def _message(self, p: dict[str, Any], ts: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": p.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata"):
            if key in p:
                try:
                    msg[key] = json.loads(p[key]) if isinstance(p[key], str) else p[key]
                except ValueError:
                    pass
        if p.get("thread_ts"):
            msg["thread_ts"] = p["thread_ts"]
        return msg

    def _check_message(self, p: dict[str, Any], *, need_content: bool = True) -> dict[str, Any] | None:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if need_content and not any(p.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        if len(str(p.get("text") or "")) > MAX_MESSAGE_TEXT:
            return {"ok": False, "error": "msg_too_long"}
        if "blocks" in p and p["blocks"] not in (None, "") and self.validate_blocks:
            problems = _block_problems(p["blocks"])
            if problems:
                return _invalid_blocks(problems)
            if _blocks_text_length(p["blocks"]) > MAX_BLOCKS_TEXT:  # see MAX_BLOCKS_TEXT
                return {"ok": False, "error": "msg_blocks_too_long"}
        return None

    def _m_chat_postMessage(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        err = self._check_message(p)
        if err:
            return err
        ts = self._next_ts()
        channel = str(p["channel"])
        if _is_user_id(channel):
            # A user id as channel posts into the app's DM with that user (its App Home Messages tab) and
            # the answer names the DM's own "D..." id, which chat.update / files.completeUploadExternal
            # need (https://docs.slack.dev/reference/methods/chat.postMessage, "channel": "...IM channel";
            # chat.update: "For direct messages, ensure that this value is a DM ID (starts with D) instead
            # of a User ID", https://docs.slack.dev/reference/methods/chat.update).
            # guess: the mock's DM id is "D" + the user id without its first letter.
            channel = dm_channel_id(channel)
        message = self._message(p, ts)
        if channel.startswith("D"):
            with self._cond:
                self._dm_messages.setdefault(channel, []).append({"channel": channel, **message})
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _m_chat_postEphemeral(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        err = self._check_message(p)
        if err:
            return err
        if not p.get("user"):
            return {"ok": False, "error": "user_not_in_channel"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_update(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        err = self._check_message(p, need_content=False)
        if err:
            return err
        if _is_user_id(str(p["channel"])):
            # "For direct messages, ensure that this value is a DM ID (starts with D) instead of a User ID"
            # (https://docs.slack.dev/reference/methods/chat.update). guess: channel_not_found otherwise.
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        message = self._message(p, p["ts"])
        with self._cond:
            for i, old in enumerate(self._dm_messages.get(str(p["channel"]), [])):
                if old.get("ts") == p["ts"]:
                    self._dm_messages[str(p["channel"])][i] = {**old, **message}
        return {
            "ok": True,
            "channel": p["channel"],
            "ts": p["ts"],
            "text": p.get("text", ""),
            "message": message,
        }

    def _m_chat_getPermalink(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        channel, ts = str(p.get("channel") or ""), str(p.get("message_ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}",
        }

    def _m_chat_delete(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {"ok": True, "channel": p["channel"], "ts": p["ts"]}

    def _m_files_getUploadURLExternal(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        filename = p.get("filename")
        try:
            length = int(p.get("length", ""))
        except (TypeError, ValueError):
            length = -1
        if not filename or length < 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = self._next_id("F")
        with self._cond:
            self._files[file_id] = _File(
                file_id, filename, length, alt_txt=p.get("alt_txt"), snippet_type=p.get("snippet_type")
            )
        return {"ok": True, "upload_url": f"{self.url}upload/{file_id}", "file_id": file_id}

    def _upload(self, call: RecordedCall, segments: list[str]) -> tuple[int, dict[str, str], Any]:
        file_id = segments[1] if len(segments) > 1 else ""
        with self._cond:
            self.uploads[file_id] = call.body
        return 200, {}, f"OK - {len(call.body)}"

    def _file_object(self, f: _File) -> dict[str, Any]:
        data = self.uploads.get(f.id, b"")
        ext = f.filename.rsplit(".", 1)[-1].lower() if "." in f.filename else "binary"
        return {
            "id": f.id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": f.filename,
            "title": f.title if f.title is not None else f.filename,
            "mimetype": _mimetype(f.filename),
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": BOT_USER_ID,
            "user_team": TEAM_ID,
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "is_public": True,
            "url_private": f"{self.url}files-pri/{TEAM_ID}-{f.id}/{f.filename}",
            "url_private_download": f"{self.url}files-pri/{TEAM_ID}-{f.id}/download/{f.filename}",
            "permalink": f"https://{TEAM_DOMAIN}.slack.com/files/{BOT_USER_ID}/{f.id}/{f.filename}",
            "shares": {"public": dict(f.shares)} if f.shares else {},
            "channels": sorted(f.shares),
        }

    def _m_files_completeUploadExternal(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        try:
            items = json.loads(p["files"]) if isinstance(p.get("files"), str) else p.get("files")
        except ValueError:
            items = None
        if not isinstance(items, list) or not items:
            return {"ok": False, "error": "invalid_arguments"}
        if _is_user_id(str(p.get("channel_id") or "")):
            # channel_id takes channel ids only; a user id is refused as in
            # https://github.com/slackapi/bolt-js/issues/2115 (use the D... id of the DM).
            return {
                "ok": False,
                "error": "invalid_arguments",
                "response_metadata": {"messages": [_CHANNEL_ID_PATTERN_ERROR]},
            }
        # channels: "Comma-separated string of channel IDs or user IDs where the file will be shared"
        # (https://docs.slack.dev/reference/methods/files.completeUploadExternal): a user id shares in the DM.
        channels = [
            dm_channel_id(c) if _is_user_id(c) else c for c in str(p.get("channels") or "").split(",") if c
        ]
        if p.get("channel_id"):
            channels.insert(0, p["channel_id"])
        out = []
        with self._cond:
            for item in items:
                f = self._files.get(str(item.get("id"))) if isinstance(item, dict) else None
                if f is None:
                    return {"ok": False, "error": "file_not_found"}
                if item.get("title") is not None:
                    f.title = item["title"]
                f.completed = True
                for ch in channels:
                    share = {"ts": self._next_ts(), "channel_name": ch.lower()}
                    if p.get("thread_ts"):
                        share["thread_ts"] = p["thread_ts"]
                    f.shares.setdefault(ch, []).append(share)
                out.append(self._file_object(f))
        return {"ok": True, "files": out}

    def _m_files_info(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        with self._cond:
            f = self._files.get(str(p.get("file")))
            if f is None or not f.completed:
                return {"ok": False, "error": "file_not_found"}
            return {
                "ok": True,
                "file": self._file_object(f),
                "comments": [],
                "response_metadata": {"next_cursor": ""},
            }

    def _m_conversations_info(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        cid = str(p.get("channel") or "")
        if not cid:
            return {"ok": False, "error": "channel_not_found"}
        is_im = cid.startswith("D")
        return {
            "ok": True,
            "channel": {
                "id": cid,
                "name": cid.lower(),
                "name_normalized": cid.lower(),
                "is_channel": cid.startswith("C"),
                "is_group": cid.startswith("G"),
                "is_im": is_im,
                "is_mpim": False,
                "is_private": self._outside.get(cid, cid.startswith("G")) or is_im,
                "is_archived": False,
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": cid not in self._outside,
                "context_team_id": TEAM_ID,
                "created": 1600000000,
                "creator": "U0AAA",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            },
        }

    def _m_usergroups_users_list(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        with self._cond:
            users = list(self._usergroups.get(str(p.get("usergroup") or ""), []))
        return {"ok": True, "users": users}

    def _m_users_info(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        uid = str(p.get("user") or "")
        if not uid:
            return {"ok": False, "error": "user_not_found"}
        is_bot = uid == BOT_USER_ID
        name = BOT_USER_NAME if is_bot else uid.lower()
        return {
            "ok": True,
            "user": {
                "id": uid,
                "team_id": TEAM_ID,
                "name": name,
                "deleted": False,
                "real_name": name,
                "tz": "Etc/UTC",
                "tz_label": "Coordinated Universal Time",
                "tz_offset": 0,
                "is_admin": False,
                "is_owner": False,
                "is_bot": is_bot,
                "is_app_user": False,
                "updated": 1700000000,
                "profile": {
                    "real_name": name,
                    "display_name": name,
                    "real_name_normalized": name,
                    "display_name_normalized": name,
                    "email": f"{name}@example.com",
                    "team": TEAM_ID,
                },
            },
        }

    def _view(self, p: dict[str, Any], view_id: str) -> dict[str, Any] | None:
        raw = p.get("view")
        try:
            view = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None
        if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
            return None
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"1700000000.{view_id}",
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": view_id,
            "previous_view_id": None,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }

    def _m_views_open(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        if not p.get("trigger_id") and not p.get("interactivity_pointer"):
            return {"ok": False, "error": "invalid_arguments"}
        with self._cond:
            trigger = self._triggers.get(str(p.get("trigger_id") or ""))
            if trigger is not None:  # one the mock issued; others are accepted as they are
                # views.open / views.push errors: "exchanged_trigger_id: The trigger_id was already
                # exchanged in a previous call", "expired_trigger_id: The trigger_id is expired"
                # (https://docs.slack.dev/reference/methods/views.open); good for 3 s (TRIGGER_LIFETIME).
                if trigger.exchanged:
                    return {"ok": False, "error": "exchanged_trigger_id"}
                if self.clock.now() - trigger.issued > TRIGGER_LIFETIME:
                    return {"ok": False, "error": "expired_trigger_id"}
            view = self._view(p, self._next_id("V"))
            if view is None:
                return {"ok": False, "error": "invalid_arguments"}
            if trigger is not None:
                trigger.exchanged = True  # guess: a refused view does not use the trigger up
        return {"ok": True, "view": view}

    _m_views_push = _m_views_open

    def _m_views_update(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        view_id = p.get("view_id") or p.get("external_id")
        if not view_id:
            return {"ok": False, "error": "invalid_arguments"}
        view = self._view(p, str(view_id))
        return {"ok": True, "view": view} if view else {"ok": False, "error": "invalid_arguments"}

    def _m_views_publish(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        if not p.get("user_id"):
            return {"ok": False, "error": "invalid_arguments"}
        view = self._view(p, self._next_id("V"))
        return {"ok": True, "view": view} if view else {"ok": False, "error": "invalid_arguments"}

    def _m_reactions_add(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        channel, ts, name = (str(p.get(k) or "") for k in ("channel", "timestamp", "name"))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "message_not_found"}
        if not name:
            return {"ok": False, "error": "invalid_name"}
        key = (channel, ts, name)
        with self._cond:
            if key in self._reactions:
                return {"ok": False, "error": "already_reacted"}
            self._reactions.add(key)
        return {"ok": True}

    def _m_reactions_remove(self, p: dict[str, Any], call: RecordedCall) -> dict[str, Any]:
        key = (str(p.get("channel") or ""), str(p.get("timestamp") or ""), str(p.get("name") or ""))
        with self._cond:
            if key not in self._reactions:
                return {"ok": False, "error": "no_reaction"}
            self._reactions.discard(key)
        return {"ok": True}


# ---------------------------------------------------------------------- body parsing


def _parse_body(headers: Headers, body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    ctype = (headers.get("content-type") or "").lower()
    if ctype.startswith("application/json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {"_json": parsed}
    if ctype.startswith("multipart/form-data"):
        return _parse_multipart(headers, body)[0]
    # application/x-www-form-urlencoded (also what urllib claims for any bytes body)
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def _parse_multipart(headers: Headers, body: bytes) -> tuple[dict[str, Any], list[tuple[str, str, bytes]]]:
    """Form fields (str) and file parts (name, filename, bytes) of a multipart/form-data body."""
    head = f"Content-Type: {headers.get('content-type')}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = BytesParser(policy=HTTP_POLICY).parsebytes(head + body)
    fields: dict[str, Any] = {}
    files: list[tuple[str, str, bytes]] = []
    if not msg.is_multipart():
        return fields, files
    for part in msg.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""
        if filename is not None:
            files.append((str(name), filename, payload))
            fields[str(name)] = payload
        elif name is not None:
            fields[str(name)] = payload.decode(part.get_content_charset() or "utf-8", "replace")
    return fields, files


def _upload_bytes(headers: Headers, body: bytes) -> tuple[bytes, dict[str, Any]]:
    """The file bytes of a POST to an upload URL.

    slack_sdk (sync and async) POSTs the raw bytes as the whole body; urllib then labels them
    ``application/x-www-form-urlencoded``, so the body must NOT be form-decoded. Other clients
    (curl -F, the Node SDK) send multipart/form-data with a ``file`` part: take that part's bytes.
    """
    ctype = (headers.get("content-type") or "").lower()
    if ctype.startswith("multipart/form-data"):
        fields, files = _parse_multipart(headers, body)
        if files:
            name, filename, data = files[0]
            meta = {k: v for k, v in fields.items() if not isinstance(v, bytes)}
            return data, {**meta, "filename": filename, "_part": name}
    return body, {}


def _mimetype(filename: str) -> str:
    import mimetypes

    return mimetypes.guess_type(filename)[0] or "application/octet-stream"


# ---------------------------------------------------------------------- Block Kit checks


def _invalid_blocks(problems: list[str]) -> dict[str, Any]:
    return {
        "ok": False,
        "error": "invalid_blocks",
        "errors": problems,
        "response_metadata": {"messages": [f"[ERROR] {m}" for m in problems]},
    }


def _cell_chars(cell: Any) -> int:
    """Characters of a table cell: a raw_text cell's text, or every text element of a rich_text cell."""
    if isinstance(cell, dict):
        own = len(cell["text"]) if isinstance(cell.get("text"), str) else 0
        return own + sum(_cell_chars(e) for e in cell.get("elements") or [])
    if isinstance(cell, list):
        return sum(_cell_chars(e) for e in cell)
    return 0


def _blocks_text_length(raw: Any) -> int:
    """Characters of every "text" string anywhere in the blocks (section and header text objects, fields,
    context elements, rich_text elements, table cells...), as counted for msg_blocks_too_long."""
    try:
        blocks = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError:
        return 0

    def walk(obj: Any) -> int:
        if isinstance(obj, dict):
            return sum(len(v) if k == "text" and isinstance(v, str) else walk(v) for k, v in obj.items())
        if isinstance(obj, list):
            return sum(walk(v) for v in obj)
        return 0

    return walk(blocks)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return ""


def _block_problems(raw: Any) -> list[str]:
    """The Block Kit limits Slack enforces by refusing the message (a deliberately small subset)."""
    try:
        blocks = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except ValueError:
        return ["invalid JSON in blocks"]
    if not isinstance(blocks, list):
        return ["blocks must be an array"]
    problems: list[str] = []
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]")
    tables = 0
    for i, block in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        if not isinstance(block, dict) or "type" not in block:
            problems.append(f"missing required field: type {where}")
            continue
        btype = block["type"]
        if btype == "section":
            text = _text_of(block.get("text"))
            if "text" in block and not text:
                problems.append(f"must be more than 0 characters {where}/text/text")
            if len(text) > MAX_SECTION_TEXT:
                problems.append(f"must be less than {MAX_SECTION_TEXT + 1} characters {where}/text/text")
            fields = block.get("fields") or []
            if len(fields) > MAX_SECTION_FIELDS:
                problems.append(f"no more than {MAX_SECTION_FIELDS} items allowed {where}/fields")
            for j, f in enumerate(fields):
                if len(_text_of(f)) > MAX_FIELD_TEXT:
                    problems.append(
                        f"must be less than {MAX_FIELD_TEXT + 1} characters {where}/fields/{j}/text"
                    )
            if "text" not in block and not fields:
                problems.append(f"must provide either text or fields {where}")
        elif btype == "header":
            text = _text_of(block.get("text"))
            if not text or len(text) > MAX_HEADER_TEXT:
                problems.append(f"must be 1..{MAX_HEADER_TEXT} characters {where}/text/text")
        elif btype == "table":
            tables += 1
            rows = block.get("rows") or []
            if not rows or len(rows) > MAX_TABLE_ROWS:
                problems.append(f"must have 1..{MAX_TABLE_ROWS} rows {where}/rows")
            for r, row in enumerate(rows[: MAX_TABLE_ROWS + 1]):
                if not isinstance(row, list) or not row or len(row) > MAX_TABLE_CELLS:
                    problems.append(f"must have 1..{MAX_TABLE_CELLS} cells {where}/rows/{r}")
                    continue
                for c, cell in enumerate(row):
                    if isinstance(cell, dict) and cell.get("type") == "raw_text" and not cell.get("text"):
                        problems.append(f"must be more than 0 characters {where}/rows/{r}/{c}/text")
            chars = sum(_cell_chars(row) for row in rows if isinstance(row, list))
            if chars > MAX_TABLE_CHARS:
                problems.append(
                    f"table cells must hold at most {MAX_TABLE_CHARS} characters in all, not {chars} "
                    f"{where}/rows"
                )
    if tables > 1:
        problems.append("only one table block is allowed per message [json-pointer:/blocks]")
    return problems


# ---------------------------------------------------------------------- HTTP plumbing


def _make_handler(mock: MockSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "MockSlack/1.0"

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _serve(self) -> None:
            body = self._read_body()
            headers = Headers(self.headers.items())
            try:
                status, resp_headers, raw = mock.handle(self.command, self.path, headers, body)
            except Exception as exc:  # a bug in the mock: answer 500 so the test sees it
                status, resp_headers, raw = (
                    500,
                    {"Content-Type": "text/plain"},
                    f"mock error: {exc!r}".encode(),
                )
            self.send_response(status)
            for k, v in resp_headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(raw)

        do_POST = _serve
        do_GET = _serve
        do_PUT = _serve

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
