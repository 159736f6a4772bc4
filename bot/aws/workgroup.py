"""Flowbot's Athena workgroup: results where the settings say, encrypted, and a per-query scan limit that
Athena enforces itself.

The engine's own cutoff (FLOWBOT_ATHENA_BYTES_SCANNED_CUTOFF) is checked between status polls, so a
runaway query overshoots by what it reads in one poll interval; a workgroup's BytesScannedCutoffPerQuery
is applied by Athena as the query runs ("Athena cancels the query when it exceeds the limit", Athena
guide, "Configure per-query and per-workgroup data usage controls"). `flowbot athena setup` creates the
workgroup FLOWBOT_ATHENA_WORKGROUP names (never `primary`, which every account has and others use) and
reports an existing one that does not enforce those settings; it does not change a workgroup that exists,
since other teams' queries may run in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from bot.settings import MissingSettingError, Settings

DEFAULT_WORKGROUP = "primary"


@dataclass
class WorkgroupReport:
    """Lines for setup's output, and whether the workgroup falls short of the settings."""

    lines: list[str] = field(default_factory=list)
    drifted: bool = False


def wanted_configuration(settings: Settings) -> dict[str, Any]:
    """CreateWorkGroup's Configuration for these settings."""
    if not settings.athena_output_location:
        raise MissingSettingError(
            "a new Athena workgroup needs FLOWBOT_ATHENA_OUTPUT_LOCATION for its results"
        )
    configuration: dict[str, Any] = {
        "ResultConfiguration": {
            "OutputLocation": settings.athena_output_location,
            "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
        },
        "EnforceWorkGroupConfiguration": True,
        "PublishCloudWatchMetricsEnabled": True,
    }
    if settings.athena_bytes_scanned_cutoff is not None:
        configuration["BytesScannedCutoffPerQuery"] = settings.athena_bytes_scanned_cutoff
    return configuration


def shortfalls(configuration: dict[str, Any], settings: Settings) -> list[str]:
    """How an existing workgroup's Configuration falls short of what the settings ask (empty: it does not)."""
    out = []
    results = configuration.get("ResultConfiguration") or {}
    if not configuration.get("EnforceWorkGroupConfiguration"):
        out.append("does not enforce its configuration (queries may send results elsewhere)")
    location = results.get("OutputLocation")
    if not location:
        out.append("sets no result location")
    elif settings.athena_output_location and location != settings.athena_output_location:
        out.append(
            f"writes results to {location}, not to FLOWBOT_ATHENA_OUTPUT_LOCATION "
            f"{settings.athena_output_location}"
        )
    if not (results.get("EncryptionConfiguration") or {}).get("EncryptionOption"):
        out.append("does not encrypt results")
    cutoff = settings.athena_bytes_scanned_cutoff
    have = configuration.get("BytesScannedCutoffPerQuery")
    if cutoff is not None and (have is None or int(have) > cutoff):
        out.append(
            f"has a per-query scan limit of {f'{int(have):,}' if have else 'none'}, above "
            "FLOWBOT_ATHENA_BYTES_SCANNED_CUTOFF "
            f"{cutoff:,}"
        )
    return out


def _live(athena: Any, name: str) -> dict[str, Any] | None:
    """GetWorkGroup's WorkGroup, None when there is none: Athena answers InvalidRequestException "WorkGroup is
    not found." (reported by clients, e.g. https://github.com/uber/athenadriver/pull/70; the API reference
    names only the exception), moto an empty WorkGroup."""
    try:
        found = athena.get_work_group(WorkGroup=name).get("WorkGroup")
    except ClientError as exc:
        error = exc.response.get("Error", {})
        if error.get("Code") == "InvalidRequestException" and "not found" in str(error.get("Message", "")):
            return None
        raise
    return found or None


def converge_workgroup(athena: Any, settings: Settings) -> WorkgroupReport:
    """Create the workgroup when it is missing; say how an existing one falls short."""
    name = settings.athena_workgroup
    report = WorkgroupReport()
    if name == DEFAULT_WORKGROUP:
        report.lines.append(
            "workgroup primary is not Flowbot's: set FLOWBOT_ATHENA_WORKGROUP to have setup create one that "
            "enforces the result location, encryption and the scan limit"
        )
        return report
    live = _live(athena, name)
    if live is None:
        athena.create_work_group(
            Name=name, Configuration=wanted_configuration(settings), Description="Flowbot's queries"
        )
        report.lines.append(f"created workgroup {name}")
        return report
    short = shortfalls(live.get("Configuration") or {}, settings)
    if short:
        report.drifted = True
        report.lines += [
            f"workgroup {name} falls short of the settings:",
            *(f"  it {line}" for line in short),
        ]
        report.lines.append(
            f"  (setup does not change an existing workgroup; update {name} in the Athena console)"
        )
    else:
        report.lines.append(f"workgroup {name} matches the settings")
    return report
