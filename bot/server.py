"""Serving the app: HTTP through a production WSGI server (waitress), or Socket Mode."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from redis import Redis
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import create_app
from bot.queue import FlowQueue
from bot.settings import MissingSettingError, Settings

log = logging.getLogger(__name__)
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(slack: SlackRequestHandler, redis: Redis) -> WsgiApp:
    """Slack events on /slack/events, and /healthz that answers only while Redis does."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            try:
                redis.ping()
            except Exception:
                start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
                return [b"redis unavailable\n"]
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        return slack(environ, start_response)

    return application


def serve_http(settings: Settings, *, port: int | None = None) -> None:
    """Run until stopped, answering Slack on POST /slack/events."""
    redis = Redis.from_url(settings.redis_url)
    app = create_app(settings, FlowQueue(redis, settings))
    port = port or settings.http_port
    log.info("Flowbot listening on http://%s:%d/slack/events", settings.http_host, port)
    waitress.serve(wsgi_app(SlackRequestHandler(app), redis), host=settings.http_host, port=port, threads=8)


def serve_socket_mode(settings: Settings) -> None:
    """Run until stopped over a Socket Mode connection (no public endpoint needed)."""
    if settings.slack_app_token is None:
        raise MissingSettingError("FLOWBOT_SLACK_APP_TOKEN is not set (needed for Socket Mode)")
    redis = Redis.from_url(settings.redis_url)
    app = create_app(settings, FlowQueue(redis, settings), socket_mode=True)
    SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
