"""Serving the app: HTTP through a production WSGI server (waitress), or Socket Mode.

Both stop gracefully on SIGTERM (what Kubernetes, systemd and `docker stop` send) and on Ctrl-C:
HTTP stops accepting connections, finishes the requests it has (a Slack command is acknowledged
rather than dropped), then exits 0; Socket Mode closes its connection cleanly. A second signal stops
at once.
"""

from __future__ import annotations

import logging
import re
import signal
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from redis import Redis
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import create_server, wasyncore

from bot.health import ReadinessProbe
from bot.queue.enqueue import FlowQueue
from bot.settings import MissingSettingError, Settings
from handlers.app import create_app
from handlers.asking import Asker

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
JSON = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
HTTP_THREADS = 8
MAX_BODY_BYTES = 4 << 20
"""Largest request body read (waitress answers 413 from the Content-Length, before reading the body).
Guess: Slack publishes no maximum; its largest payloads (a modal's view of up to 100 blocks, a message of up
to 50 blocks, form-encoded) stay well under this."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
"""The headers' forms: Slack's "Verifying requests from Slack" (docs.slack.dev/authentication/
verifying-requests-from-slack): X-Slack-Request-Timestamp is epoch seconds, X-Slack-Signature is `v0=` and a
hex HMAC-SHA256. Anything else is refused before Bolt, whose verifier raises on a timestamp that is not a
number (a 500 and a traceback, issue #16)."""
UNAUTHORISED = [("Content-Type", "application/json")]
DRAIN_SECONDS = 10.0
"""How long a stopping server waits for requests in hand; Slack gives up on a request after 3 s."""
DRAIN_POLL_SECONDS = 0.05
STOP_POLL_SECONDS = 0.2


def wsgi_app(slack: SlackRequestHandler, readiness: ReadinessProbe) -> WsgiApp:
    """Slack's requests on /slack/events; /healthz (alive: always 200) and /readyz (ready: Redis and
    the engine usable, else 503) for load balancers and orchestrators.

    Every other path goes to Bolt's handler too: in OAuth mode it serves the install page
    (FLOWBOT_SLACK_INSTALL_PATH) and Slack's redirect after an install (FLOWBOT_SLACK_REDIRECT_PATH) on
    GET; anything else it answers 404. Settings keep those two paths off /slack/events, /healthz and
    /readyz."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            start_response("200 OK", JSON)
            return [b'{"status": "ok"}']
        if path == "/readyz":
            found = readiness.check()
            start_response("200 OK" if found.ready else "503 Service Unavailable", JSON)
            return [found.json()]
        if malformed_signature(environ):
            start_response("401 Unauthorized", UNAUTHORISED)
            return [b'{"error": "invalid request signature"}']
        return slack(environ, start_response)  # /slack/events, and the install pages in OAuth mode

    return application


def malformed_signature(environ: dict[str, Any]) -> bool:
    """Whether a signature header is present but not of Slack's form (a missing one is Bolt's to refuse)."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE")
    return (timestamp is not None and not _TIMESTAMP.fullmatch(timestamp)) or (
        signature is not None and not _SIGNATURE.fullmatch(signature)
    )


class StopSignal:
    """Notes SIGTERM / SIGINT for a serving loop to act on; a second signal interrupts at once.

    The handler only sets a flag: a signal handler that took a lock the main thread holds would
    hang the process.
    """

    def __init__(self) -> None:
        self.received: str | None = None

    @property
    def requested(self) -> bool:
        return self.received is not None

    def install(self) -> StopSignal:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        return self

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.received = signal.Signals(signum).name  # logged by the loop: logging here could interleave


def serve_http(settings: Settings, *, port: int | None = None) -> None:
    """Answer Slack on POST /slack/events until SIGTERM or Ctrl-C, then finish the requests in hand."""
    queue = FlowQueue(Redis.from_url(settings.redis_url), settings)
    asker = Asker(settings, queue)
    app = create_app(settings, queue, asker=asker)
    port = port or settings.http_port
    sockets: dict[int, Any] = {}
    server = create_server(
        wsgi_app(SlackRequestHandler(app), ReadinessProbe(settings)),
        map=sockets,
        host=settings.http_host,
        port=port,
        threads=HTTP_THREADS,
        max_request_body_size=MAX_BODY_BYTES,
    )
    stop = StopSignal().install()
    log.info("Flowbot listening on http://%s:%d/slack/events", settings.http_host, port)
    if settings.oauth_enabled:
        log.info(
            "OAuth mode: installs start at %s, Slack redirects to %s",
            settings.slack_install_path,
            settings.slack_redirect_path,
        )
    while not stop.requested:
        wasyncore.loop(  # a signal does not cut a poll short (PEP 475): keep each one short
            timeout=min(server.adj.asyncore_loop_timeout, STOP_POLL_SECONDS),
            map=sockets,
            use_poll=server.adj.asyncore_use_poll,
            count=1,
        )
    log.info("%s received: finishing the requests in hand", stop.received)
    left = drain(sockets, deadline=time.monotonic() + DRAIN_SECONDS, use_poll=server.adj.asyncore_use_poll)
    if left:
        log.warning("stopped with %d connection(s) still busy after %.0f s", left, DRAIN_SECONDS)
    server.task_dispatcher.shutdown(timeout=1)
    wasyncore.close_all(sockets)
    dropped = asker.stop_announcing()
    log.info("Flowbot stopped (%d status message(s) left to the workers)", dropped)


def drain(sockets: dict[int, Any], *, deadline: float, use_poll: bool = False) -> int:
    """Stop listening, let each connection finish its request and send its response, close idle ones;
    return how many connections were still busy at the deadline.

    waitress's own shutdown stops its loop at once, so a response its threads are writing is never
    sent; this keeps the loop turning until every answer is out.
    """
    for dispatcher in list(sockets.values()):
        if getattr(dispatcher, "accepting", False):  # a listening socket
            wasyncore.dispatcher.close(dispatcher)
    while True:
        busy = 0
        for channel in [d for d in list(sockets.values()) if hasattr(d, "requests")]:
            with channel.requests_lock:
                if channel.requests or channel.request is not None:
                    busy += 1
                else:  # idle (keep-alive): close once its last response is flushed
                    channel.close_when_flushed = True
        connections = sum(1 for d in list(sockets.values()) if hasattr(d, "requests"))
        if connections == 0 or time.monotonic() >= deadline:
            return busy
        wasyncore.loop(timeout=DRAIN_POLL_SECONDS, map=sockets, use_poll=use_poll, count=1)


def serve_socket_mode(settings: Settings) -> None:
    """Run over a Socket Mode connection (no public endpoint needed) until SIGTERM or Ctrl-C, then
    close the connection cleanly."""
    if settings.slack_app_token is None:
        raise MissingSettingError("FLOWBOT_SLACK_APP_TOKEN is not set (needed for Socket Mode)")
    queue = FlowQueue(Redis.from_url(settings.redis_url), settings)
    asker = Asker(settings, queue)
    app = create_app(settings, queue, socket_mode=True, asker=asker)
    handler = SocketModeHandler(app, settings.slack_app_token.get_secret_value())
    stop = StopSignal().install()
    handler.connect()  # type: ignore[no-untyped-call]
    log.info("Flowbot connected over Socket Mode")
    if settings.oauth_enabled:
        log.warning(
            "OAuth mode over Socket Mode: the install pages (%s) are served only by `flowbot serve` over "
            "HTTP; workspaces installed there (same FLOWBOT_INSTALLATION_STORE) are answered here",
            settings.slack_install_path,
        )
    try:
        while not stop.requested:
            time.sleep(STOP_POLL_SECONDS)
        log.info("%s received: closing the Socket Mode connection", stop.received)
    finally:
        handler.close()  # type: ignore[no-untyped-call]
        dropped = asker.stop_announcing()
    log.info("Flowbot stopped (%d status message(s) left to the workers)", dropped)
