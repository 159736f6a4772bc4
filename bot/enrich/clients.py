"""The EC2 clients enrichment reads with: the worker's own credentials, or a role assumed per account.

FLOWBOT_ENRICH_ROLE_ARN names the role, `{account}` standing for the account ID; each account's client
assumes it with STS AssumeRole (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
Without it the worker's own credentials describe its own account only (GetCallerIdentity says which: it
needs no permission, https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
Every client has short timeouts and few retries: enrichment must never hold an answer up.
boto3 is imported here only, when enrichment runs: a local-only install never needs it.
"""

from __future__ import annotations

from typing import Any

from bot.settings import Settings

SESSION_NAME = "flowbot-enrich"
ROLE_SECONDS = 900
"""The shortest session AssumeRole grants: an inventory is read in seconds."""


def _config(timeout: float) -> Any:
    from botocore.config import Config

    return Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"max_attempts": 2, "mode": "standard"},
        user_agent_extra="flowbot-enrich",
    )


def default_region(settings: Settings) -> str | None:
    """The region a query naming none is enriched in: FLOWBOT_ENRICH_REGIONS' first, FLOWBOT_REGIONS'
    first, FLOWBOT_ATHENA_REGION, or the AWS SDK's."""
    listed = settings.enrich_regions or settings.regions
    if listed:
        return listed[0]
    if settings.athena_region:
        return settings.athena_region
    import boto3

    return boto3.session.Session().region_name  # type: ignore[no-any-return]


def own_account(region: str, timeout: float) -> str:
    """The account of the worker's credentials."""
    import boto3

    sts = boto3.client("sts", region_name=region, config=_config(timeout))
    return str(sts.get_caller_identity()["Account"])


def role_arn(settings: Settings, account: str) -> str | None:
    """FLOWBOT_ENRICH_ROLE_ARN for that account, or None when unset."""
    arn = settings.enrich_role_arn
    return arn.replace("{account}", account) if arn else None


def ec2_client(settings: Settings, account: str, region: str, timeout: float) -> Any:
    """An EC2 client for the account and region: through the assumed role where one is set."""
    import boto3

    config = _config(timeout)
    arn = role_arn(settings, account)
    if arn is None:
        return boto3.client("ec2", region_name=region, config=config)
    sts = boto3.client("sts", region_name=region, config=config)
    credentials = sts.assume_role(RoleArn=arn, RoleSessionName=SESSION_NAME, DurationSeconds=ROLE_SECONDS)[
        "Credentials"
    ]
    return boto3.client(
        "ec2",
        region_name=region,
        config=config,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
