"""How every Slack job begins in the worker: its RQ job, and the Slack client of the workspace it answers.

A job re-run after its answer is in Slack does nothing; a workspace that uninstalled Flowbot since it asked
has nobody to answer, so nothing is run for it. Both end the job with a status, not an error."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from redis import Redis
from rq import get_current_job
from rq.job import Job
from slack_sdk import WebClient

from bot.request import ReplyTarget
from bot.settings import Settings
from bot.slack.delivery import is_answered
from bot.slack.installations import NotInstalledError, bot_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Started:
    """A job to run: RQ's job and a Slack client for its workspace."""

    job: Job
    client: WebClient

    @property
    def redis(self) -> Redis:
        return self.job.connection


def current_job() -> Job:
    """The RQ job this process runs; Flowbot's jobs run nowhere else."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("Flowbot's jobs run inside an RQ worker")
    return job


def start(settings: Settings, target: ReplyTarget) -> Started | dict[str, Any]:
    """The job and its client, or the status to end the job with at once (already answered, not installed)."""
    job = current_job()
    if is_answered(job.connection, target):
        return {"status": "already answered"}
    try:
        client = bot_client(settings, team_id=target.team_id, enterprise_id=target.enterprise_id)
    except NotInstalledError as exc:  # uninstalled since it was asked: nobody to answer, nothing to run
        log.warning("job %s dropped: %s", target.job_id, exc)
        return {"status": "not installed"}
    return Started(job, client)
