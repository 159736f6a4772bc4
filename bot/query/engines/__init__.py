"""Query engines: where a template runs. Only `make_engine` knows which ones exist, and it imports the one it
makes: importing `bot.query.engines` or `.base` loads neither DuckDB nor boto3."""

from __future__ import annotations

from pathlib import Path

from bot.flowlog_format import parse_log_format
from bot.query.engines.base import Engine, EngineError
from bot.query.layout import JSON_FOLDER
from bot.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """The engine the settings name, ready to run; fails fast with a clear message."""
    if settings.engine == "local":
        logs = settings.flow_layout.root_folder  # AWSLogs, or Security Lake's aws/VPC_FLOW/2.0
        folder = settings.local_data_dir / (logs if settings.table_kind == "vpcflow" else JSON_FOLDER)
        if not folder.is_dir():
            raise EngineError(
                f"no flow logs at {folder} "
                "(set FLOWBOT_LOCAL_DATA_DIR, or create sample data with `flowbot sample-data DIR [--json]`)"
            )
        from bot.query.engines.local import LocalEngine  # DuckDB is imported only where it runs

        return LocalEngine(
            settings.local_data_dir,
            ioc_dir=local_ioc_dir(settings),
            log_format=parse_log_format(settings.log_format),
            layout=settings.flow_layout,
        )
    from bot.query.engines.athena import AthenaEngine  # boto3 is imported only where Athena is used

    return AthenaEngine(settings)


def local_ioc_dir(settings: Settings) -> Path | None:
    """The IOC store's folder for the local engine (`~` expanded); None when the store is on S3."""
    if settings.ioc_store.startswith("s3://"):
        return None
    return Path(settings.ioc_store).expanduser()


__all__ = ["Engine", "EngineError", "local_ioc_dir", "make_engine"]
