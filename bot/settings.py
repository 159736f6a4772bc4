"""Every setting Flowbot reads, in one typed model (environment variables prefixed `FLOWBOT_`).

Every value is typed and bounded here, once. Secrets are `SecretStr` so they never show up in logs
or reprs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MissingSettingError(RuntimeError):
    """A setting the chosen mode needs is not set; the message names the variable."""


class Settings(BaseSettings):
    """Flowbot's configuration; every field is documented because it is the operator's manual."""

    model_config = SettingsConfigDict(env_prefix="FLOWBOT_", env_file=None, extra="ignore", frozen=True)

    engine: Literal["local"] = Field(
        "local", description="Query engine. `local` runs the templates on DuckDB over flow-log files."
    )
    local_data_dir: Path = Field(
        Path("sample-data"),
        description="Folder holding `AWSLogs/` exactly as the flow-log bucket does (local engine).",
    )

    default_window: str = Field("24h", description="Window when a command names none (`15m`, `6h`, `7d`).")
    max_window_days: int = Field(90, ge=1, le=3660, description="Longest window a query may cover, in days.")
    default_limit: int = Field(10_000, ge=1, description="Row limit when a command names none.")
    max_limit: int = Field(1_000_000, ge=1, description="Largest `--limit` accepted.")
    summary_rows: int = Field(10, ge=1, le=50, description="Rows shown in the phone-sized summary.")
    query_timeout_seconds: int = Field(600, ge=10, description="A job running longer than this is stopped.")

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
    http_host: str = Field("0.0.0.0", description="Address `flowbot serve` listens on.")  # noqa: S104
    http_port: int = Field(3000, ge=1, le=65535, description="Port `flowbot serve` listens on.")
    command: str = Field("/flow", description="The slash command Flowbot answers.")

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        """slack_sdk joins the method name straight onto the base URL."""
        return value if value.endswith("/") else value + "/"
