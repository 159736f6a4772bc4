"""GuardDuty findings for the pivot's tests, and a local GuardDuty endpoint serving them to another process.

moto serves no GetFindings for GuardDuty (moto/guardduty/responses.py: detectors, filters and administrator
accounts only). In-process tests use botocore's `Stubber`; a worker process cannot, so `GuardDutyEndpoint` is
a small HTTP server answering the two calls Flowbot makes, ListDetectors (`GET /detector`) and GetFindings
(`POST /detector/{DetectorId}/findings/get`), the way botocore's published GuardDuty service model
(`guardduty/2017-11-28/service-2.json`: rest-json, the `http` and `locationName` of each operation and member)
says GuardDuty does. Every answer is checked against that model before it is sent: validated against the
operation's output shape (as `Stubber` validates), written in the wire names the model gives, and parsed back
by botocore's own rest-json parser to the same value. The worker reaches it through the SDK's
service-specific endpoint setting, AWS_ENDPOINT_URL_GUARDDUTY.

The findings follow the types GuardDuty documents ("GuardDuty EC2 finding types": UnauthorizedAccess:EC2/
SSHBruteForce, Recon:EC2/PortProbeUnprotectedPort, Backdoor:EC2/C&CActivity.B!DNS).
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape
from botocore.parsers import RestJSONParser
from botocore.validate import ParamValidator

REGION = "us-east-1"
ACCOUNT = "111122223333"
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"
SSH_ID = "96b05c6b3a2b8e2d1f3e8a21c6d2a4f1"
PROBE_ID = "4c1a0e5b9d7f2a6c8e3b1d0f9a7c5e21"
DNS_ID = "0f2e4d6c8b1a3957e0d2c4b6a8f1e3d5"


def remote(address: str) -> dict[str, Any]:
    """A RemoteIpDetails of an IPv4 address."""
    return {
        "City": {"CityName": "Example City"},
        "Country": {"CountryCode": "ZZ", "CountryName": "Example"},
        "GeoLocation": {"Lat": 1.5, "Lon": 2.5},
        "IpAddressV4": address,
        "Organization": {"Asn": "64500", "AsnOrg": "Example AS", "Isp": "Example ISP", "Org": "Example Org"},
    }


def instance(interfaces: bool = True, private_ip: str = "10.0.1.25") -> dict[str, Any]:
    """A Resource of type Instance, with one network interface unless `interfaces` is False."""
    details: dict[str, Any] = {
        "AvailabilityZone": "us-east-1a",
        "ImageId": "ami-0abcdef1234567890",
        "InstanceId": "i-0abcd1234ef567890",
        "InstanceState": "running",
        "InstanceType": "t3.micro",
        "LaunchTime": "2026-11-01T10:00:00.000Z",
    }
    if interfaces:
        dns = f"ip-{private_ip.replace('.', '-')}.ec2.internal"
        details["NetworkInterfaces"] = [
            {
                "Ipv6Addresses": [],
                "NetworkInterfaceId": "eni-0a1b2c3d4e5f60718",
                "PrivateDnsName": dns,
                "PrivateIpAddress": private_ip,
                "PrivateIpAddresses": [{"PrivateDnsName": dns, "PrivateIpAddress": private_ip}],
                "PublicDnsName": "ec2-203-0-113-10.compute-1.amazonaws.com",
                "PublicIp": "203.0.113.10",
                "SecurityGroups": [{"GroupId": "sg-0123456789abcdef0", "GroupName": "web"}],
                "SubnetId": "subnet-0123456789abcdef0",
                "VpcId": "vpc-0123456789abcdef0",
            }
        ]
    return {"ResourceType": "Instance", "InstanceDetails": details}


def finding(
    finding_id: str,
    kind: str,
    action: dict[str, Any],
    resource: dict[str, Any],
    *,
    account: str = ACCOUNT,
    first_seen: str = "2026-11-19T08:04:03.000Z",
    last_seen: str = "2026-11-19T09:41:37.000Z",
) -> dict[str, Any]:
    """A Finding as GetFindings returns it (boto3's member names)."""
    return {
        "AccountId": account,
        "Arn": f"arn:aws:guardduty:{REGION}:{account}:detector/{DETECTOR}/finding/{finding_id}",
        "Confidence": 5.0,
        "CreatedAt": "2026-11-19T08:10:11.123Z",
        "Description": "Example finding for Flowbot's tests.",
        "Id": finding_id,
        "Partition": "aws",
        "Region": REGION,
        "Resource": resource,
        "SchemaVersion": "2.0",
        "Service": {
            "Action": action,
            "Archived": False,
            "Count": 12,
            "DetectorId": DETECTOR,
            "EventFirstSeen": first_seen,
            "EventLastSeen": last_seen,
            "ResourceRole": "TARGET",
            "ServiceName": "guardduty",
        },
        "Severity": 5.0,
        "Title": f"{kind} seen on i-0abcd1234ef567890.",
        "Type": kind,
        "UpdatedAt": "2026-11-19T09:45:00.000Z",
    }


def ssh_brute_force(finding_id: str = SSH_ID, remote_ip: str = "198.51.100.7", **kw: Any) -> dict[str, Any]:
    """UnauthorizedAccess:EC2/SSHBruteForce: an inbound NetworkConnectionAction."""
    private_ip = kw.pop("private_ip", "10.0.1.25")
    action = {
        "ActionType": "NETWORK_CONNECTION",
        "NetworkConnectionAction": {
            "Blocked": False,
            "ConnectionDirection": "INBOUND",
            "LocalPortDetails": {"Port": 22, "PortName": "SSH"},
            "Protocol": "TCP",
            "LocalIpDetails": {"IpAddressV4": private_ip},
            "LocalNetworkInterface": "eni-0a1b2c3d4e5f60718",
            "RemoteIpDetails": remote(remote_ip),
            "RemotePortDetails": {"Port": 46522, "PortName": "Unknown"},
        },
    }
    return finding(
        finding_id, "UnauthorizedAccess:EC2/SSHBruteForce", action, instance(private_ip=private_ip), **kw
    )


SSH_BRUTE_FORCE = ssh_brute_force()
PORT_PROBE = finding(
    PROBE_ID,
    "Recon:EC2/PortProbeUnprotectedPort",
    {
        "ActionType": "PORT_PROBE",
        "PortProbeAction": {
            "Blocked": False,
            "PortProbeDetails": [
                {
                    "LocalPortDetails": {"Port": 3389, "PortName": "RDP"},
                    "LocalIpDetails": {"IpAddressV4": "10.0.2.40"},
                    "RemoteIpDetails": remote("192.0.2.200"),
                },
                {
                    "LocalPortDetails": {"Port": 22, "PortName": "SSH"},
                    "LocalIpDetails": {"IpAddressV4": "10.0.2.40"},
                    "RemoteIpDetails": remote("203.0.113.99"),
                },
            ],
        },
    },
    instance(private_ip="10.0.2.40"),
)
DNS_NO_NETWORK = finding(
    DNS_ID,
    "Backdoor:EC2/C&CActivity.B!DNS",
    {
        "ActionType": "DNS_REQUEST",
        "DnsRequestAction": {"Domain": "command.example.com", "Protocol": "UDP", "Blocked": False},
    },
    instance(interfaces=False),
)


# --- the local endpoint -------------------------------------------------------------------------------

_MODEL = botocore.session.get_session().get_service_model("guardduty")
_FINDINGS_PATH = re.compile(r"^/detector/([^/]+)/findings/get$")


def _wire(value: Any, shape: Shape) -> Any:
    """A value in boto3's member names, in the wire names (`locationName`) the model gives."""
    if isinstance(shape, StructureShape):
        return {
            shape.members[name].serialization.get("name", name): _wire(item, shape.members[name])
            for name, item in value.items()
        }
    if isinstance(shape, ListShape):
        return [_wire(item, shape.member) for item in value]
    if isinstance(shape, MapShape):
        return {key: _wire(item, shape.value) for key, item in value.items()}
    return value


def model_checked_body(operation: str, response: dict[str, Any]) -> bytes:
    """The JSON body GuardDuty would send for `response`, after checking it against the model."""
    shape = _MODEL.operation_model(operation).output_shape
    assert shape is not None
    report = ParamValidator().validate(response, shape)
    if report.has_errors():
        raise AssertionError(f"{operation} answer is not GuardDuty's shape: {report.generate_report()}")
    body = json.dumps(_wire(response, shape)).encode()
    parsed = RestJSONParser().parse({"body": body, "headers": {}, "status_code": 200}, shape)
    parsed.pop("ResponseMetadata", None)
    if parsed != response:
        raise AssertionError(f"{operation} answer does not survive botocore's parser: {parsed} != {response}")
    return body


class GuardDutyEndpoint:
    """ListDetectors and GetFindings over HTTP, answered from `findings`; every request is recorded."""

    def __init__(self, findings: list[dict[str, Any]], detectors: tuple[str, ...] = (DETECTOR,)) -> None:
        self.findings = {f["Id"]: f for f in findings}
        self.detectors = detectors
        self.requests: list[tuple[str, str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                endpoint.requests.append(("GET", self.path, None))
                if self.path.split("?")[0] == "/detector":
                    body = model_checked_body("ListDetectors", {"DetectorIds": list(endpoint.detectors)})
                    self._answer(200, body)
                else:
                    self._answer(404, b'{"message": "not found"}')

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent = json.loads(self.rfile.read(length) or b"{}")
                endpoint.requests.append(("POST", self.path, sent))
                match = _FINDINGS_PATH.fullmatch(self.path)
                if match is None or match.group(1) not in endpoint.detectors:
                    error = {"message": "The request is rejected because the input detectorId is not owned."}
                    self.send_response(400)
                    self.send_header("x-amzn-ErrorType", "BadRequestException")
                    body = json.dumps(error).encode()
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                found = [endpoint.findings[i] for i in sent.get("findingIds", []) if i in endpoint.findings]
                self._answer(200, model_checked_body("GetFindings", {"Findings": found}))

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """What AWS_ENDPOINT_URL_GUARDDUTY takes."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> GuardDutyEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
