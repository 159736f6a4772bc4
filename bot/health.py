"""Readiness: can this process take a command now? Redis answers, and the engine is usable.

Liveness is only "the process serves" (`/healthz`); readiness (`/readyz`, `flowbot worker --check`)
looks at the two things a command needs. Redis is asked on every probe, with a 1 s limit, because a
probe must answer before the orchestrator gives up on it. The engine is judged from the settings and the
file system, and on Athena from the Glue catalog (do the tables match the settings?); the verdict is kept
for 30 s: settings do not change while a process runs, a folder that disappears is noticed within the
half minute, and Glue is asked at most twice a minute.

What a probe reports names the broken part and never holds a secret (it passes the log redactor).
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis import Redis

from bot.logs import Redactor
from bot.query.layout import JSON_FOLDER
from bot.settings import MissingSettingError, Settings

OK = "ok"
REDIS_TIMEOUT_SECONDS = 1.0
ENGINE_CHECK_TTL_SECONDS = 30.0
MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class Readiness:
    """What a probe found: "ok" or the reason, for Redis and for the engine."""

    redis: str
    engine: str

    @property
    def ready(self) -> bool:
        return self.redis == OK and self.engine == OK

    def json(self) -> bytes:
        """The probe's body: `{"redis": …, "engine": …}`."""
        return json.dumps({"redis": self.redis, "engine": self.engine}).encode()

    def line(self) -> str:
        """One line for a terminal or an exec probe's output."""
        return f"redis: {self.redis}; engine: {self.engine}"


def probe_redis(redis_url: str) -> Redis:
    """A Redis client for probes only: it gives up after 1 s instead of hanging the probe."""
    return Redis.from_url(
        redis_url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
    )


def redis_problem(redis: Redis) -> str | None:
    """None when Redis answers PING, else what went wrong."""
    try:
        redis.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def engine_problem(settings: Settings) -> str | None:
    """None when the configured engine can run a query, as far as can be told without running one."""
    if settings.engine == "local":
        folder = settings.local_data_dir / ("AWSLogs" if settings.table_kind == "vpcflow" else JSON_FOLDER)
        if not folder.is_dir():
            return f"no flow logs at {folder} (FLOWBOT_LOCAL_DATA_DIR)"
        if not os.access(folder, os.R_OK | os.X_OK):
            return f"cannot read {folder} (permissions)"
        return None
    return athena_problem(settings) or catalog_problem(settings)


def catalog_problem(settings: Settings) -> str | None:
    """None when the Glue catalog holds the tables as the settings describe them, else what differs.

    A table made before FLOWBOT_ACCOUNTS, FLOWBOT_REGIONS, FLOWBOT_FIRST_DAY or FLOWBOT_LOG_FORMAT
    changed answers wrong without an error (bot/aws/glue.py), so it is reported here, where an operator looks.
    One GetDatabase and a GetTable per table, at most once per ENGINE_CHECK_TTL_SECONDS (see EngineCheck).
    """
    import boto3  # only an Athena deployment pays for importing boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from bot.aws.glue import drift

    try:
        lines = drift(boto3.client("glue", region_name=settings.athena_region), settings)
    except MissingSettingError:  # no accounts, regions or first day: no table shape to compare with
        return None
    except (BotoCoreError, ClientError) as exc:
        return f"cannot read the Glue catalog: {exc}"
    return "; ".join(lines) or None


def athena_problem(settings: Settings, region: Callable[[], str | None] | None = None) -> str | None:
    """The Athena settings a query needs: where the logs are, where results go, and a region.

    Results need FLOWBOT_ATHENA_OUTPUT_LOCATION unless a workgroup other than `primary` is named
    (such a workgroup is where an enforced output location is set). The region comes from
    FLOWBOT_ATHENA_REGION or the AWS SDK's own configuration (environment, config file), read
    without a network call.
    """
    if settings.table_kind == "vpcflow" and not settings.flow_logs_bucket:
        return "FLOWBOT_FLOW_LOGS_BUCKET is not set"
    if settings.table_kind == "json" and not settings.athena_json_location:
        return "FLOWBOT_ATHENA_JSON_LOCATION is not set"
    if not settings.athena_output_location and settings.athena_workgroup == "primary":
        return "FLOWBOT_ATHENA_OUTPUT_LOCATION is not set (needed unless the workgroup sets its own)"
    if not (settings.athena_region or (region or _sdk_region)()):
        return "no AWS region (set FLOWBOT_ATHENA_REGION or AWS_REGION)"
    return None


def _sdk_region() -> str | None:
    import boto3  # only an Athena deployment pays for importing boto3

    name: str | None = boto3.session.Session().region_name
    return name


class EngineCheck:
    """`engine_problem`, remembered for a while: probes come every few seconds, the answer rarely
    changes, and an Athena check should not cost a call each time."""

    def __init__(
        self,
        settings: Settings,
        *,
        ttl_seconds: float = ENGINE_CHECK_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()  # waitress answers probes from several threads
        self._checked_at: float | None = None
        self._problem: str | None = None

    def __call__(self) -> str | None:
        with self._lock:
            now = self._clock()
            if self._checked_at is None or now - self._checked_at >= self.ttl_seconds:
                try:
                    self._problem = engine_problem(self.settings)
                except Exception as exc:  # a probe reports, it does not crash
                    self._problem = f"{type(exc).__name__}: {exc}"
                self._checked_at = now
            return self._problem


class ReadinessProbe:
    """Redis and the engine, checked together and reported without secrets."""

    def __init__(
        self,
        settings: Settings,
        *,
        redis: Redis | None = None,
        engine: Callable[[], str | None] | None = None,
    ) -> None:
        self.redis = redis or probe_redis(settings.redis_url)
        self.engine = engine or EngineCheck(settings)
        self._redactor = Redactor.from_settings(settings)

    def check(self) -> Readiness:
        return Readiness(redis=self._report(redis_problem(self.redis)), engine=self._report(self.engine()))

    def _report(self, problem: str | None) -> str:
        if problem is None:
            return OK
        text = self._redactor.redact(" ".join(problem.split()))
        return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 1] + "…"


def worker_readiness(settings: Settings) -> Readiness:
    """What `flowbot worker --check` reports: this worker's Redis and engine, checked now."""
    return ReadinessProbe(settings).check()  # a new probe: nothing remembered from an earlier check
