"""Query engines: where a template runs. Only `make_engine` knows which ones exist."""

from __future__ import annotations

from bot.engines.base import Engine, EngineError
from bot.engines.local import LocalEngine
from bot.settings import Settings


def make_engine(settings: Settings) -> Engine:
    """The engine the settings name, ready to run; fails fast with a clear message."""
    if settings.engine == "local":
        if not (settings.local_data_dir / "AWSLogs").is_dir():
            raise EngineError(
                f"no flow logs at {settings.local_data_dir}/AWSLogs "
                "(set FLOWBOT_LOCAL_DATA_DIR, or create sample data with `flowbot sample-data DIR`)"
            )
        return LocalEngine(settings.local_data_dir)
    raise EngineError(f"unknown engine {settings.engine!r}")


__all__ = ["Engine", "EngineError", "LocalEngine", "make_engine"]
