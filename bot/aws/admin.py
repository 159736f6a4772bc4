"""`flowbot athena …`: the administrator's commands for the Athena side (DDL, setup, policies, formats).

Each prints what it made or found; the CLI (`bot/cli.py`) maps its exit codes and errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.aws.glue import SetupReport, converge
from bot.settings import Settings
from bot.words import CommandError

EXIT_OK, EXIT_FAILURE = 0, 1
"""As `bot/cli.py`'s (which imports this module only when `flowbot athena` runs)."""


def athena_command(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    """`flowbot athena ACTION`: an administrator's command, printing what it made or found."""
    from bot.aws.ddl import statements

    policy_options = (args.account, args.partition, args.region, args.output_location, args.setup)
    detect_options = (args.bucket, args.prefix, args.max_lists)
    if args.apply and args.action != "setup":
        raise CommandError("--apply goes with `setup`")
    if args.action != "policy" and any(policy_options):
        raise CommandError("--account, --partition, --region, --output-location and --setup go with `policy`")
    if args.action != "detect" and any(option is not None for option in detect_options):
        raise CommandError("--bucket, --prefix and --max-lists go with `detect`")
    if args.action == "detect":
        return detect(args, settings, stdout)
    if args.action == "adopt":
        return adopt(settings, stdout)
    if args.action == "policy":
        from bot.aws.iam import runtime_policy, setup_policy
        from bot.identifiers import ACCOUNT_ID

        if not args.account or not ACCOUNT_ID.fullmatch(args.account):
            given = args.account or "missing"
            raise CommandError(f"--account must be a 12-digit AWS account ID, not {given}")
        build = setup_policy if args.setup else runtime_policy
        try:
            policy = build(
                settings,
                account=args.account,
                partition=args.partition or "aws",
                region=args.region,
                output_location=args.output_location,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        print(json.dumps(policy, indent=2), file=stdout)
        return EXIT_OK
    if args.action == "check-format":
        from bot.aws.format_check import report_formats

        lines, agree = report_formats(settings, datetime.now(UTC).date())
        print("\n".join(lines), file=stdout)
        return EXIT_OK if agree else EXIT_FAILURE
    if args.action == "ddl":
        print(";\n\n".join(s.sql for s in statements(settings)) + ";", file=stdout)
        return EXIT_OK
    if not _adoption_pending(settings):
        statements(settings)  # a missing setting stops here, before any call

    report = setup(settings, apply=args.apply)
    print("\n".join(report.lines), file=stdout)
    return EXIT_FAILURE if report.drifted else EXIT_OK


def detect(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    """`flowbot athena detect`: list a bounded sample of the flow-log bucket (FLOWBOT_FLOW_LOGS_BUCKET and
    _PREFIX, or --bucket and --prefix) and print the settings that read it (bot/detect.py)."""
    import boto3

    from bot.detect import MAX_LISTS, run_s3
    from bot.settings import BUCKET, PREFIX

    bucket = args.bucket or settings.flow_logs_bucket
    prefix = settings.flow_logs_prefix if args.prefix is None else args.prefix
    max_lists = MAX_LISTS if args.max_lists is None else args.max_lists
    if bucket is None:
        raise CommandError("which bucket? give --bucket or set FLOWBOT_FLOW_LOGS_BUCKET")
    if not BUCKET.fullmatch(bucket):
        raise CommandError(f"--bucket `{bucket}` is not an S3 bucket name")
    if not PREFIX.fullmatch(prefix):
        raise CommandError(f"--prefix `{prefix}`: a prefix holds letters, digits and ! _ . * ( ) / - only")
    if max_lists < 1:
        raise CommandError(f"--max-lists must be at least 1, not {max_lists}")
    s3 = boto3.client("s3", region_name=settings.athena_region)
    return run_s3(s3, bucket, prefix, max_lists=max_lists, stdout=stdout)


def adopt(settings: Settings, stdout: TextIO) -> int:
    """`flowbot athena adopt`: read the flow-log table FLOWBOT_ATHENA_FLOW_DATABASE.FLOWBOT_ATHENA_TABLE from
    Glue and print the settings that read it as it is (bot/aws/adopt.py); change nothing. A table Flowbot
    cannot read is one line on stderr (exit 1)."""
    import boto3

    from bot.aws.adopt import AdoptError, adoption_lines
    from bot.aws.adopt import adopt as read

    try:
        found = read(boto3.client("glue", region_name=settings.athena_region), settings)
    except AdoptError as exc:
        print(f"flowbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print("\n".join(adoption_lines(found)), file=stdout)
    return EXIT_OK


def _adoption_pending(settings: Settings) -> bool:
    """An adopted table whose settings are not set yet: setup prints them, and the IOC view (which reads the
    table) waits for them."""
    adopted = settings.athena_adopted_columns and settings.athena_adopted_partitions
    return settings.athena_adopt_table and not adopted


def setup(settings: Settings, *, apply: bool) -> SetupReport:
    """`flowbot athena setup`: Flowbot's workgroup (bot/aws/workgroup.py), the database and tables through
    Glue (`converge`), then the IOC view through Athena (`CREATE OR REPLACE VIEW` converges by itself)."""
    import boto3

    from bot.aws.ddl import ioc_view
    from bot.aws.workgroup import converge_workgroup
    from bot.query.engines.athena import AthenaEngine

    athena = boto3.client("athena", region_name=settings.athena_region)
    workgroup = converge_workgroup(athena, settings)  # first: the view's statement runs in it
    report = converge(boto3.client("glue", region_name=settings.athena_region), settings, apply=apply)
    report.lines[:0] = workgroup.lines
    report.drifted += workgroup.drifted
    if settings.ioc_table_location is not None and _adoption_pending(settings):
        report.lines.append("the IOC view reads the adopted table: it waits for the settings above")
    elif settings.ioc_table_location is not None:
        view = ioc_view(settings)
        AthenaEngine(settings, athena_client=athena).execute_statement(view.sql)
        report.lines.append(f"created or replaced {view.creates}")
    return report
