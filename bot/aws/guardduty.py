"""One GuardDuty finding, read for the `guardduty <finding-id>` pivot (bot/worker/guardduty.py): its detector,
`GetFindings`, and the few values Flowbot asks the flow logs about.

The finding's shape is GuardDuty's published one: the `Finding` object of the API reference
(https://docs.aws.amazon.com/guardduty/latest/APIReference/API_Finding.html, returned by
https://docs.aws.amazon.com/guardduty/latest/APIReference/API_GetFindings.html), as botocore's service model
`guardduty/2017-11-28/service-2.json` encodes it, and "Finding details" in the GuardDuty User Guide
(https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings-summary.html). What is read of it:
- the remote address: `Service.Action` holds one action (API_Action.html); a `NetworkConnectionAction`
  (API_NetworkConnectionAction.html) and an `AwsApiCallAction` (API_AwsApiCallAction.html) have one
  `RemoteIpDetails`, a `PortProbeAction` has one per probe in `PortProbeDetails[]` (API_PortProbeAction.html,
  API_PortProbeDetail.html); `RemoteIpDetails` (API_RemoteIpDetails.html) has `IpAddressV4` and/or
  `IpAddressV6`. A `DnsRequestAction` (API_DnsRequestAction.html) names a domain, no address.
- the local interface: `Resource.InstanceDetails.NetworkInterfaces[]` (API_InstanceDetails.html,
  API_NetworkInterface.html): `NetworkInterfaceId`, `PrivateIpAddress`; a `NetworkConnectionAction`'s
  `LocalNetworkInterface` names the one the connection used when the instance has several.
- the time: `Service.EventFirstSeen` and `Service.EventLastSeen` (API_Service.html), ISO 8601 strings;
  `CreatedAt` / `UpdatedAt` (required in the Finding object) when they are absent.
- `Id`, `Type`, `Severity` (a number: 1.0-3.9 low, 4.0-6.9 medium, 7.0-8.9 high, 9.0-10.0 critical, "Finding
  severity levels" in the User Guide), `Title`, `AccountId`, `Region`.
Every value taken from the finding is checked (addresses parsed, the ENI id matched) before it is used: a
finding is data from outside, like a Slack message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from bot.identifiers import ACCOUNT_ID, DETECTOR_ID, REGION
from bot.request import Window
from bot.settings import Settings

ENI_ID = re.compile(r"^eni-[0-9a-f]{8,17}$")
"""An elastic network interface id (`eni-` and 8 or 17 hex digits, as EC2 issues them)."""
MAX_REMOTES_SHOWN = 5
_MARGIN = re.compile(r"^([0-9]{1,4})([mhd])$")
_UNIT = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1)}
SEVERITY_LEVELS = ((9.0, "critical"), (7.0, "high"), (4.0, "medium"), (0.0, "low"))
"""GuardDuty's severity levels by lower bound ("Finding severity levels", GuardDuty User Guide)."""


class GuardDutyError(Exception):
    """The finding could not be read; `str()` is the one line to show in the channel."""


@dataclass(frozen=True)
class Finding:
    """What the pivot needs of one GuardDuty finding, every value checked."""

    finding_id: str
    type: str
    severity: float
    title: str
    account: str | None
    region: str | None
    remote_ips: tuple[str, ...]
    """The remote addresses of its action, in the finding's order, without repeats."""
    eni_id: str | None
    private_ip: str | None
    first_seen: datetime
    last_seen: datetime

    @property
    def remote_ip(self) -> str | None:
        """The first remote address, the one the pivot asks about."""
        return self.remote_ips[0] if self.remote_ips else None

    @property
    def severity_label(self) -> str:
        """`8 (high)`."""
        level = next(name for floor, name in SEVERITY_LEVELS if self.severity >= floor)
        return f"{self.severity:g} ({level})"


def parse_margin(value: str) -> timedelta:
    """FLOWBOT_GUARDDUTY_MARGIN (`30m`, `1h`, `1d`) as a duration."""
    match = _MARGIN.fullmatch(value)
    if match is None:
        raise ValueError(f"not a margin like 30m, 1h or 1d: {value!r}")
    return int(match.group(1)) * _UNIT[match.group(2)]


def finding_window(finding: Finding, settings: Settings, now: datetime) -> tuple[Window, bool]:
    """From the first sighting minus the margin to the last plus the margin (not past `now`), in whole
    seconds; longer than FLOWBOT_MAX_WINDOW_DAYS, its last days only. The window, and whether it was cut."""
    margin = parse_margin(settings.guardduty_margin)
    start = (finding.first_seen - margin).replace(microsecond=0)
    end = min(finding.last_seen + margin, now.astimezone(UTC))
    end = end.replace(microsecond=0) + (timedelta(seconds=1) if end.microsecond else timedelta(0))
    if end <= start:  # a finding "seen" after now (clock skew): the margin after it still counts
        end = start + margin + timedelta(seconds=1)
    longest = timedelta(days=settings.max_window_days)
    cut = end - start > longest
    return Window(start=end - longest if cut else start, end=end), cut


def detector_id(client: Any, settings: Settings, region: str) -> str:
    """FLOWBOT_GUARDDUTY_DETECTOR_ID, else the region's one detector (ListDetectors: GuardDuty has at most
    one detector per account and region, docs.aws.amazon.com/guardduty/latest/APIReference/
    API_ListDetectors.html)."""
    if settings.guardduty_detector_id:
        return settings.guardduty_detector_id
    try:
        found = client.list_detectors(MaxResults=50).get("DetectorIds", [])
    except ClientError as exc:
        raise _client_error("ListDetectors", exc, region) from None
    except BotoCoreError as exc:
        raise GuardDutyError(f"could not reach GuardDuty in {region}: {exc}") from None
    ids = [d for d in found if isinstance(d, str) and DETECTOR_ID.fullmatch(d)]
    if not ids:
        raise GuardDutyError(
            f"GuardDuty has no detector in {region} for Flowbot's account (is GuardDuty on there?); "
            "set FLOWBOT_GUARDDUTY_DETECTOR_ID or give the finding's region with --region"
        )
    if len(ids) > 1:
        raise GuardDutyError(
            f"GuardDuty lists {len(ids)} detectors in {region}; set FLOWBOT_GUARDDUTY_DETECTOR_ID"
        )
    return ids[0]


def read_finding(client: Any, settings: Settings, finding_id: str, region: str) -> Finding:
    """GetFindings for one id with the region's detector; raises GuardDutyError with one clear line."""
    detector = detector_id(client, settings, region)
    try:
        answer = client.get_findings(DetectorId=detector, FindingIds=[finding_id])
    except ClientError as exc:
        raise _client_error("GetFindings", exc, region) from None
    except BotoCoreError as exc:
        raise GuardDutyError(f"could not reach GuardDuty in {region}: {exc}") from None
    matching = [f for f in answer.get("Findings", []) if f.get("Id") == finding_id]
    if not matching:
        raise GuardDutyError(
            f"GuardDuty has no finding `{finding_id}` in {region} (detector {detector[:12]}); "
            "check the id, or give the finding's region with --region"
        )
    return finding_from_api(matching[0])


def _client_error(action: str, exc: ClientError, region: str) -> GuardDutyError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code in {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"} or status == 403:
        return GuardDutyError(
            f"Flowbot's AWS role may not call guardduty:{action} in {region}; "
            "`flowbot athena policy` prints the permissions it needs"
        )
    message = " ".join(str(error.get("Message", "")).split())[:200]
    return GuardDutyError(f"GuardDuty refused {action} in {region} ({code or status}: {message})")


def finding_from_api(data: dict[str, Any]) -> Finding:
    """The values the pivot needs from one element of GetFindings' `Findings` (the module says where each
    comes from); addresses that do not parse and ENI ids of another form are left out."""
    service = data.get("Service") or {}
    action = service.get("Action") or {}
    connection = action.get("NetworkConnectionAction") or {}
    remote_details = [
        connection.get("RemoteIpDetails"),
        (action.get("AwsApiCallAction") or {}).get("RemoteIpDetails"),
        *(
            (p or {}).get("RemoteIpDetails")
            for p in (action.get("PortProbeAction") or {}).get("PortProbeDetails") or []
        ),
    ]
    remotes: list[str] = []
    for details in remote_details:
        for key in ("IpAddressV4", "IpAddressV6"):
            address = _address((details or {}).get(key))
            if address and address not in remotes:
                remotes.append(address)
    interfaces = [
        i
        for i in ((data.get("Resource") or {}).get("InstanceDetails") or {}).get("NetworkInterfaces") or []
        if isinstance(i, dict)
    ]
    used = connection.get("LocalNetworkInterface")
    interface = next((i for i in interfaces if i.get("NetworkInterfaceId") == used), None) or next(
        iter(interfaces), {}
    )
    eni = interface.get("NetworkInterfaceId")
    first = _time(service.get("EventFirstSeen")) or _time(data.get("CreatedAt"))
    last = _time(service.get("EventLastSeen")) or _time(data.get("UpdatedAt")) or first
    if first is None or last is None:
        raise GuardDutyError("the finding carries no time GuardDuty documents (EventFirstSeen, CreatedAt)")
    account, region = str(data.get("AccountId", "")), str(data.get("Region", ""))
    return Finding(
        finding_id=str(data.get("Id", "")),
        type=str(data.get("Type", "unknown type"))[:100],
        severity=float(data.get("Severity") or 0.0),
        title=str(data.get("Title", ""))[:300],
        account=account if ACCOUNT_ID.fullmatch(account) else None,
        region=region if REGION.fullmatch(region) else None,
        remote_ips=tuple(remotes),
        eni_id=eni if isinstance(eni, str) and ENI_ID.fullmatch(eni) else None,
        private_ip=_address(interface.get("PrivateIpAddress")),
        first_seen=min(first, last),
        last_seen=max(first, last),
    )


def _address(value: object) -> str | None:
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return str(ip_address(value.strip()))
    except ValueError:
        return None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def guardduty_client(settings: Settings, region: str) -> Any:
    """A boto3 GuardDuty client for `region`, with the SDK's credentials (and its endpoint settings)."""
    return boto3.client("guardduty", region_name=region)


def finding_region(settings: Settings, named: str | None) -> str:
    """The region to read a finding in: the command's (or the finding ARN's), FLOWBOT_GUARDDUTY_REGION,
    FLOWBOT_ATHENA_REGION, else the AWS SDK's; GuardDutyError when none is known."""
    region = named or settings.guardduty_region or settings.athena_region
    if region:
        return region
    default = boto3.session.Session().region_name
    if not default:
        raise GuardDutyError(
            "no AWS region for GuardDuty: give one with --region, or set FLOWBOT_GUARDDUTY_REGION"
        )
    return str(default)
