"""One account and region's network interfaces: what each private address and ENI id belongs to.

Read from EC2 with the paginators of DescribeNetworkInterfaces and DescribeInstances, and cached in Redis as
one JSON inventory per account and region (`ENRICH_ENI_KEY`) for FLOWBOT_ENRICH_ENI_TTL_SECONDS.

What the EC2 API gives (Amazon EC2 API Reference):
- DescribeNetworkInterfaces (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeNetworkInterfaces.html)
  returns NetworkInterface objects
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html): the ENI id, VpcId,
  SubnetId, Groups (security groups), InterfaceType (`interface`, `nat_gateway`, `load_balancer`,
  `network_load_balancer`, `vpc_endpoint`, `lambda`, `transit_gateway`, ...), Description (an ALB's or a NAT
  gateway's ENI says whose it is there), PrivateIpAddresses (each with its Association.PublicIp),
  Ipv6Addresses, Attachment.InstanceId, and TagSet: the tags of the *network interface*, not of the instance
  it is attached to. MaxResults is 5 to 1000 per page.
- So an instance's Name tag comes from DescribeInstances
  (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeInstances.html), whose Instance objects
  carry the instance's own Tags. The attached instances are asked for by an `instance-id` *filter*, in
  batches, not by InstanceIds: with InstanceIds, one id that no longer exists (an instance terminated since
  the interfaces were listed) fails the whole call with InvalidInstanceID.NotFound, and MaxResults cannot be
  combined with InstanceIds; a filter matches what exists and pages.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from redis import Redis

from bot.redis_keys import ENRICH_ENI_KEY

PAGE_SIZE = 1000
"""MaxResults of DescribeNetworkInterfaces and DescribeInstances (both take 5 to 1000)."""
INSTANCE_BATCH = 100
"""Instance ids per DescribeInstances `instance-id` filter (well under EC2's limit on a filter's values)."""

INTERFACE_TYPES = {
    "nat_gateway": "NAT gateway",
    "load_balancer": "load balancer",
    "network_load_balancer": "NLB",
    "gateway_load_balancer": "GWLB",
    "gateway_load_balancer_endpoint": "GWLB endpoint",
    "vpc_endpoint": "VPC endpoint",
    "lambda": "Lambda",
    "transit_gateway": "transit gateway",
    "api_gateway_managed": "API Gateway",
    "global_accelerator_managed": "Global Accelerator",
}
"""NetworkInterface.InterfaceType values (EC2 API Reference) as a responder reads them; others are shown
with `_` as spaces. `interface` (an instance's, or an ALB's or classic ELB's, whose Description names it) and
`efa`/`trunk`/`branch` are not shown as a type."""
PLAIN_TYPES = frozenset({"interface", "efa", "efa-only", "trunk", "branch"})


@dataclass(frozen=True)
class Interface:
    """What one network interface is, as its name column and the summary show it."""

    eni: str
    vpc: str = ""
    subnet: str = ""
    groups: tuple[str, ...] = ()
    interface_type: str = ""
    description: str = ""
    instance_id: str = ""
    instance_name: str = ""
    addresses: tuple[str, ...] = field(default=(), compare=False)
    """Its private IPv4 addresses, their public addresses, and its IPv6 addresses."""

    def label(self) -> str:
        """Short: `web-1 i-0123…` for an instance, `NAT gateway: Interface for NAT Gateway nat-…` else."""
        if self.instance_id:
            return f"{self.instance_name} {self.instance_id}".strip()
        kind = "" if self.interface_type in PLAIN_TYPES else self.interface_type
        kind = INTERFACE_TYPES.get(kind, kind.replace("_", " "))
        if kind and self.description:
            return f"{kind}: {self.description}"
        return kind or self.description or self.eni

    def detail(self) -> str:
        """The label with where it is: `web-1 i-0123; vpc-…; subnet-…; sg-… sg-…` (the CSV's)."""
        parts = [self.label(), self.vpc, self.subnet, " ".join(self.groups)]
        if not self.instance_id and self.label() != self.eni:
            parts.insert(1, self.eni)
        return "; ".join(p for p in parts if p)


def _interface(eni: dict[str, Any], names: dict[str, str]) -> Interface:
    attachment = eni.get("Attachment") or {}
    instance = str(attachment.get("InstanceId") or "")
    addresses: list[str] = []
    for private in eni.get("PrivateIpAddresses") or []:
        addresses.append(str(private.get("PrivateIpAddress") or ""))
        addresses.append(str((private.get("Association") or {}).get("PublicIp") or ""))
    addresses.append(str(eni.get("PrivateIpAddress") or ""))
    addresses.append(str((eni.get("Association") or {}).get("PublicIp") or ""))
    addresses += [str(v6.get("Ipv6Address") or "") for v6 in eni.get("Ipv6Addresses") or []]
    return Interface(
        eni=str(eni["NetworkInterfaceId"]),
        vpc=str(eni.get("VpcId") or ""),
        subnet=str(eni.get("SubnetId") or ""),
        groups=tuple(str(g.get("GroupId") or "") for g in eni.get("Groups") or []),
        interface_type=str(eni.get("InterfaceType") or ""),
        description=str(eni.get("Description") or ""),
        instance_id=instance,
        instance_name=names.get(instance, ""),
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
    )


def instance_names(ec2: Any, instance_ids: list[str]) -> dict[str, str]:
    """Each instance's Name tag (DescribeInstances: the instance's own tags), by instance id."""
    names: dict[str, str] = {}
    paginator = ec2.get_paginator("describe_instances")
    for start in range(0, len(instance_ids), INSTANCE_BATCH):
        batch = instance_ids[start : start + INSTANCE_BATCH]
        pages = paginator.paginate(
            Filters=[{"Name": "instance-id", "Values": batch}], PaginationConfig={"PageSize": PAGE_SIZE}
        )
        for page in pages:
            for reservation in page.get("Reservations", []):
                for instance in reservation.get("Instances", []):
                    tags = {t.get("Key"): t.get("Value") for t in instance.get("Tags") or []}
                    if tags.get("Name"):
                        names[str(instance["InstanceId"])] = str(tags["Name"])
    return names


def fetch_interfaces(ec2: Any) -> list[Interface]:
    """Every network interface of the client's account and region, each with its instance's Name tag."""
    paginator = ec2.get_paginator("describe_network_interfaces")
    raw = [
        eni
        for page in paginator.paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for eni in page.get("NetworkInterfaces", [])
    ]
    attached = sorted({str(i) for e in raw if (i := (e.get("Attachment") or {}).get("InstanceId"))})
    names = instance_names(ec2, attached) if attached else {}
    return [_interface(eni, names) for eni in raw]


class EniInventory:
    """One account and region's interfaces, by ENI id and by address."""

    def __init__(self, account: str, region: str, interfaces: list[Interface]) -> None:
        self.account, self.region, self.interfaces = account, region, interfaces
        self.by_eni = {i.eni: i for i in interfaces}
        self.by_address: dict[str, list[Interface]] = {}
        for interface in interfaces:
            for address in interface.addresses:
                self.by_address.setdefault(address, []).append(interface)

    def dumps(self) -> str:
        return json.dumps([asdict(i) for i in self.interfaces], separators=(",", ":"))

    @classmethod
    def loads(cls, account: str, region: str, text: str | bytes) -> EniInventory:
        interfaces = []
        for item in json.loads(text):
            item["groups"], item["addresses"] = tuple(item["groups"]), tuple(item["addresses"])
            interfaces.append(Interface(**item))
        return cls(account, region, interfaces)


def load_inventory(
    redis: Redis | None, ec2_factory: Any, account: str, region: str, ttl_seconds: int
) -> EniInventory:
    """The inventory from Redis, or from EC2 (`ec2_factory()` makes the client) and kept for `ttl_seconds`."""
    key = ENRICH_ENI_KEY.format(account=account, region=region)
    if redis is not None:
        cached = redis.get(key)
        if cached is not None:
            return EniInventory.loads(account, region, cached)
    inventory = EniInventory(account, region, fetch_interfaces(ec2_factory()))
    if redis is not None:
        redis.set(key, inventory.dumps(), ex=ttl_seconds)
    return inventory
