"""`flowbot`: ask a question from a terminal, make sample data, print the Slack app manifest, run the Slack
app or a worker, probe readiness, send answers Slack would not take.

`flowbot ask` parses text exactly as `/flow` does and runs the same job function inline (no Redis,
no Slack), so a terminal answer equals a Slack answer. Exit status: 0 answered, 2 bad input (one
line on stderr), 1 any other failure (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import copy
import getpass
import json
import logging
import re
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TextIO
from urllib.parse import urlsplit

from pydantic import ValidationError

from bot.detect import MAX_LISTS
from bot.enrich.lookup import PendingNames, start_names
from bot.flowlog_layouts import DEFAULT_LAYOUT, LAYOUTS
from bot.iocs.commands import IocRequest
from bot.logs import configure_logging
from bot.parse.command import CancelRequest, HelpRequest
from bot.parse.help import help_text
from bot.parse.in_channel import parse
from bot.query.catalog import Catalog, load_catalog
from bot.query.engines import EngineError, make_engine
from bot.query.sql_checks import check_catalog
from bot.request import FlowRequest
from bot.settings import MissingSettingError, Settings
from bot.words import CommandError
from bot.worker.answer import answer, answer_rows
from bot.worker.retrohunt import retrohunt_request

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2
MANIFEST_FILE = Path(__file__).resolve().parent / "manifest.yml"
"""The Slack app manifest, shipped inside the package so an installed `flowbot` (the image) has it."""
SLASH_COMMAND = re.compile(r"^/[^\sA-Z/]{1,31}$")
"""Slack's rule for a command name: a slash, then at most 31 lower-case characters, no spaces."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad usage in one line with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see --help)\n")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowbot", description="VPC Flow Log answers for incident responders.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    ask = commands.add_parser("ask", help="answer one question inline, as /flow would")
    ask.add_argument("--engine", choices=["local"], help="query engine (default: settings)")
    ask.add_argument("--data", type=Path, help="folder holding AWSLogs/ (local engine)")
    ask.add_argument("--format", choices=["table", "json", "csv"], default="table")
    ask.add_argument("--out", type=Path, help="write the CSV (table, csv) or JSON (json) here")
    ask.add_argument("--admin", action="store_true", help="allow private, reserved and very wide IOC ranges")
    ask.add_argument("text", nargs=argparse.REMAINDER, help="what you would type after /flow")

    sample = commands.add_parser("sample-data", help="write realistic sample flow logs in the S3 layout")
    sample.add_argument("dir", type=Path)
    sample.add_argument("--days", type=int, default=3)
    sample.add_argument("--seed", type=int, default=7)
    sample.add_argument("--scale", type=float, default=1.0)
    sample.add_argument("--end", help="UTC end of the data, ISO 8601 (default: this hour)")
    sample.add_argument("--json", action="store_true", help="also write the JSON table's records")
    sample.add_argument(
        "--log-format",
        help="a flow-log format string, v5 for every field the console's queries read, or tgw for a transit "
        "gateway's flow logs in its default format",
    )
    sample.add_argument(
        "--layout",
        choices=list(LAYOUTS),
        default=DEFAULT_LAYOUT,
        help="how the files are delivered: text or Parquet, plain or Hive prefixes, daily or hourly folders "
        "(read them with FLOWBOT_LAYOUT set to the same)",
    )

    detect = commands.add_parser(
        "detect",
        help="look at a folder holding AWSLogs/ (a copy of the flow-log bucket) and print the settings that "
        "read it: layout, log format, accounts, regions",
    )
    detect.add_argument("dir", type=Path, help="the folder holding AWSLogs/")
    detect.add_argument(
        "--max-lists",
        type=int,
        default=MAX_LISTS,
        help=f"most folders listed (default {MAX_LISTS}); the report says what it left out",
    )

    serve = commands.add_parser("serve", help="run the Slack app (HTTP on /slack/events, or Socket Mode)")
    serve.add_argument("--socket", action="store_true", help="use Socket Mode instead of HTTP")
    serve.add_argument("--port", type=int, help="HTTP port (default: FLOWBOT_HTTP_PORT)")

    manifest = commands.add_parser(
        "manifest", help="print the Slack app manifest for your host (HTTP) or for Socket Mode"
    )
    where = manifest.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="https://host[/prefix] Slack reaches `flowbot serve` at")
    where.add_argument("--socket", action="store_true", help="for `flowbot serve --socket`: no request URLs")
    manifest.add_argument("--file", type=Path, help="the manifest to start from (default: the repository's)")
    manifest.add_argument(
        "--oauth",
        action="store_true",
        help="for OAuth mode (FLOWBOT_SLACK_CLIENT_ID: several workspaces or an org, each installing from "
        "the install page): register <url>FLOWBOT_SLACK_REDIRECT_PATH as the redirect URL (implied when "
        "FLOWBOT_SLACK_CLIENT_ID is set)",
    )
    manifest.add_argument(
        "--org", action="store_true", help="an org-ready app, installable on a whole Enterprise Grid org"
    )

    athena = commands.add_parser(
        "athena", help="the Athena tables: print or apply their DDL, or print the IAM policy they need"
    )
    athena.add_argument(
        "action",
        choices=["ddl", "setup", "policy", "check-format", "detect", "adopt"],
        help="ddl prints the statements; setup creates the tables in Glue, or shows how they differ from "
        "the settings; policy prints the pods' IAM policy (JSON); check-format reads the header line of "
        "a few flow-log files per account and region and compares it with FLOWBOT_LOG_FORMAT; detect "
        "lists a bounded sample of the flow-log bucket and prints the settings that read it (layout, log "
        "format, accounts, regions, first day); adopt reads an existing flow-log table from Glue "
        "(FLOWBOT_ATHENA_FLOW_DATABASE.FLOWBOT_ATHENA_TABLE) and prints the settings that read it",
    )
    athena.add_argument(
        "--apply", action="store_true", help="setup: update tables that differ from the settings"
    )
    athena.add_argument("--account", help="policy: the AWS account ID (12 digits)")
    athena.add_argument("--partition", help="policy: the AWS partition (default: aws)")
    athena.add_argument("--region", help="policy: Athena's region (default: FLOWBOT_ATHENA_REGION)")
    athena.add_argument(
        "--output-location", help="policy: s3:// URL of the results when the workgroup enforces its own"
    )
    athena.add_argument(
        "--setup", action="store_true", help="policy: the one-time policy `flowbot athena setup` needs"
    )
    athena.add_argument("--bucket", help="detect: the bucket (default: FLOWBOT_FLOW_LOGS_BUCKET)")
    athena.add_argument(
        "--prefix", help="detect: what comes before AWSLogs/ in it (default: FLOWBOT_FLOW_LOGS_PREFIX)"
    )
    athena.add_argument(
        "--max-lists",
        type=int,
        help=f"detect: most ListObjectsV2 calls (default {MAX_LISTS}); the report says what it left out",
    )

    commands.add_parser(
        "check", help="readiness probe for any process: exit 0 when Redis answers and the engine is usable"
    )

    undelivered = commands.add_parser(
        "undelivered", help="answers Slack would not take, kept by the workers: list them, or send them now"
    )
    kept = undelivered.add_subparsers(dest="action", required=True, parser_class=_Parser)
    kept.add_parser(
        "list", help="one line per kept answer: job, when kept, age, attempts, next attempt, question, why"
    )
    resend = kept.add_parser(
        "resend", help="send kept answers now, whatever their wait, attempts or age (exit 1 if any failed)"
    )
    resend.add_argument(
        "job_ids", nargs="*", metavar="JOB_ID_PREFIX", help="only these jobs (the 8 characters shown suffice)"
    )

    worker = commands.add_parser("worker", help="run a queue worker")
    how = worker.add_mutually_exclusive_group()
    how.add_argument("--burst", action="store_true", help="stop when the queue is empty")
    how.add_argument(
        "--check",
        action="store_true",
        help="readiness probe: exit 0 when Redis answers and the engine is usable, else 1",
    )
    return parser


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _ask(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    catalog = check_catalog(load_catalog())
    parsed = parse(" ".join(args.text), catalog, settings, datetime.now(UTC))
    if not isinstance(parsed, FlowRequest | HelpRequest | CancelRequest):
        return _ioc(parsed, args, settings, stdout)
    if isinstance(parsed, CancelRequest):
        raise CommandError(
            "cancel stops a job queued from Slack; `flowbot ask` runs inline (Ctrl-C stops it)"
        )
    if isinstance(parsed, HelpRequest):
        print(help_text(catalog, settings, parsed.unknown, markup=False), file=stdout)
        return EXIT_OK if parsed.unknown is None else EXIT_BAD_INPUT
    engine = make_engine(settings)
    if args.format == "json":
        summary, rows = answer_rows(
            parsed, catalog=catalog, engine=engine, summary_rows=settings.summary_rows
        )
        window = parsed.window.model_dump(mode="json")
        document = {
            "query": parsed.text,
            "columns": [c.name for c in summary.columns],
            "rows": [[_json_value(v) for v in row] for row in rows],
            "window": {"from": window["start"], "to": window["end"]},
            "stats": {
                "rows": summary.stats.rows,
                "bytes_scanned": summary.stats.bytes_scanned,
                "files_scanned": summary.stats.files_scanned,
                "elapsed_ms": summary.stats.elapsed_ms,
            },
        }
        _emit(args.out, stdout, lambda out: out.write(json.dumps(document, ensure_ascii=False) + "\n"))
        return EXIT_OK
    if args.format == "csv":
        _emit(
            args.out,
            stdout,
            lambda out: answer(
                parsed,
                catalog=catalog,
                engine=engine,
                summary_rows=settings.summary_rows,
                csv_out=out,
                names=_names(settings, parsed),
            ),
        )
        return EXIT_OK
    _print_answer(parsed, catalog, settings, args.out, stdout)
    return EXIT_OK


def _names(settings: Settings, request: FlowRequest) -> PendingNames | None:
    """The names of the answer's machines, looked up as Slack's are (without Redis: nothing is cached)."""
    return start_names(settings, None, request.account, request.region) if settings.enrich_enabled else None


def _print_answer(
    request: FlowRequest, catalog: Catalog, settings: Settings, path: Path | None, stdout: TextIO
) -> None:
    """The summary on the terminal, every row in a CSV file (`path`, or one under `out/`)."""
    out_path = path or Path("out") / f"{request.query}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.csv"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with out_path.open("w", newline="", encoding="utf-8") as out:
        summary = answer(
            request,
            catalog=catalog,
            engine=make_engine(settings),
            summary_rows=settings.summary_rows,
            csv_out=out,
            names=_names(settings, request),
        )
    print(summary.text(), file=stdout)
    print(f"\nCSV: {out_path}", file=stdout)


def _ioc(request: IocRequest, args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    """`flowbot ask ioc …`: the same request as in Slack, on the same store, run inline."""
    from bot.iocs.actions import run_ioc_request
    from bot.iocs.commands import IocAdd
    from bot.iocs.indicators import check_indicator, parse_indicator
    from bot.iocs.objects import object_store_for
    from bot.iocs.store import IocStore

    if isinstance(request, IocAdd):
        refused = [
            f"{v}: {why}"
            for v in request.indicators
            if (why := check_indicator(parse_indicator(v), admin=args.admin))
        ]
        if refused:
            raise CommandError("not added: " + "; ".join(refused))
    actor = "cli:" + re.sub(r"[^A-Za-z0-9._-]", "_", getpass.getuser())[:64]
    with tempfile.TemporaryDirectory(prefix="flowbot-") as tmp:
        reply = run_ioc_request(
            IocStore(object_store_for(settings)),
            request,
            actor=actor,
            channel=None,
            source="cli",
            export_dir=Path(tmp),
        )
        if reply.csv_path is not None:
            _emit(args.out, stdout, lambda out: out.write(reply.csv_path.read_text(encoding="utf-8")))
            return EXIT_OK
    print(reply.text, file=stdout)
    retrohunt = retrohunt_request(reply.added, load_catalog(), settings, datetime.now(UTC))
    if retrohunt is not None:  # as in Slack: the new indicators hunted back at once, here inline
        print(f"\nRetro-hunt of the new indicators, last {settings.retrohunt_window_days} days:", file=stdout)
        _print_answer(retrohunt, load_catalog(), settings, None, stdout)
    return EXIT_OK


def _emit(path: Path | None, stdout: TextIO, write: Any) -> None:
    """Write to a file when one is named, else to stdout."""
    if path is None:
        write(stdout)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        write(out)


def _detect(args: argparse.Namespace, stdout: TextIO) -> int:
    """`flowbot detect DIR`: the settings that read a local copy of the flow-log bucket (bot/detect.py)."""
    from bot.detect import run_local

    if args.max_lists < 1:
        raise CommandError(f"--max-lists must be at least 1, not {args.max_lists}")
    return run_local(args.dir, max_lists=args.max_lists, stdout=stdout)


def _sample_data(args: argparse.Namespace, stdout: TextIO) -> int:
    from bot.flowlog_format import TGW_DEFAULT_FORMAT, parse_log_format
    from bot.parse.command import parse_time
    from bot.samples.flow_logs import INCIDENTS, V5_FORMAT, GenerationReport, generate
    from bot.samples.tgw_logs import TGW_INCIDENTS, generate_tgw

    end = parse_time("end", args.end) if args.end else None
    tgw = args.log_format == "tgw"
    if tgw and (args.layout != DEFAULT_LAYOUT or args.json):
        raise CommandError("--log-format tgw writes transit gateway logs as text in daily folders only")
    log_format = V5_FORMAT if args.log_format == "v5" else args.log_format
    if log_format is not None and not tgw:
        try:
            parse_log_format(log_format)
        except ValueError as exc:
            raise CommandError(f"--log-format: {exc}") from None
    report: GenerationReport
    try:
        if tgw:
            report = generate_tgw(args.dir, end=end, days=args.days, seed=args.seed, scale=args.scale)
        else:
            report = generate(
                args.dir,
                end=end,
                days=args.days,
                seed=args.seed,
                scale=args.scale,
                log_format=log_format,
                layout=args.layout,
            )
    except FileExistsError:
        raise CommandError(
            f"{args.dir} already holds flow logs (in AWSLogs or Security Lake's folder); remove them or "
            "choose another folder"
        ) from None
    print(
        f"wrote {report.records:,} records in {report.files:,} files to {report.root} "
        f"({report.first_day} to {report.last_day}; accounts {', '.join(report.accounts)}; "
        f"regions {', '.join(report.regions)}; layout {args.layout})",
        file=stdout,
    )
    if args.layout != DEFAULT_LAYOUT:
        print(f"  read them with FLOWBOT_LAYOUT={args.layout}", file=stdout)
    if tgw:
        print(f"  read them with FLOWBOT_LOG_FORMAT='{TGW_DEFAULT_FORMAT}'", file=stdout)
    if args.json:
        from bot.samples.json_logs import write_json_sample

        print(f"wrote {write_json_sample(args.dir):,} JSON records to {args.dir}/vpc_flow_logs", file=stdout)
    for incident in TGW_INCIDENTS if tgw else INCIDENTS:
        print(
            f"  planted: {incident.name}: {incident.description} (try: {incident.example_command})",
            file=stdout,
        )
    return EXIT_OK


OAUTH_EVENTS = ("app_uninstalled", "tokens_revoked")
"""Events Bolt answers itself in OAuth mode, deleting an uninstalled workspace's tokens from the store."""


def app_manifest(
    manifest: dict[str, Any],
    *,
    command: str,
    url: str | None = None,
    socket: bool = False,
    org: bool = False,
    oauth: bool = False,
    redirect_path: str = "/slack/oauth_redirect",
) -> dict[str, Any]:
    """The manifest for one installation: `command` as the slash command, and either every request URL
    on `url` (`https://host[/prefix]`, each URL keeping its path) or Socket Mode with no request URLs.

    `org`: an org-ready app (`settings.org_deploy_enabled`), installable on a whole Enterprise Grid org.
    `oauth`: for OAuth mode, `url` + `redirect_path` as the app's redirect URL, and the uninstall events
    that keep the installation store clean; needs `url` (Slack's redirect reaches `flowbot serve`)."""
    if not SLASH_COMMAND.fullmatch(command):
        raise CommandError(
            f"FLOWBOT_COMMAND `{command}` is not a Slack command name (a slash and up to 31 lower-case "
            "characters, no spaces)"
        )
    if (url is None) == (not socket):
        raise CommandError("give either --url https://host or --socket")
    if oauth and socket:
        raise CommandError(
            "OAuth mode needs --url: Slack sends each installer back to `flowbot serve` over HTTPS "
            "(unset FLOWBOT_SLACK_CLIENT_ID for a Socket Mode manifest)"
        )
    base = ""
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
            raise CommandError(
                f"--url must be https://host[:port][/prefix] (Slack calls HTTPS only), not {url}"
            )
        base = f"https://{parts.netloc}{parts.path.rstrip('/')}"
    out = copy.deepcopy(manifest)
    features, settings = out.setdefault("features", {}), out.setdefault("settings", {})
    holders = [
        *features.get("slash_commands", []),
        settings.get("event_subscriptions", {}),
        settings.get("interactivity", {}),
    ]
    for holder in holders:
        for key in ("url", "request_url", "message_menu_options_url"):
            if key not in holder:
                continue
            if socket:
                del holder[key]
            else:
                holder[key] = base + (urlsplit(str(holder[key])).path or "/slack/events")
    commands = features.get("slash_commands", [])
    if len(commands) != 1:
        raise CommandError(f"the manifest should declare one slash command, not {len(commands)}")
    commands[0]["command"] = command
    settings["socket_mode_enabled"] = socket
    if org:
        settings["org_deploy_enabled"] = True
    if oauth:
        out.setdefault("oauth_config", {})["redirect_urls"] = [base + redirect_path]
        events = settings.setdefault("event_subscriptions", {}).setdefault("bot_events", [])
        events.extend(e for e in OAUTH_EVENTS if e not in events)
    return out


def _manifest(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    import yaml

    from bot.manifest import ManifestError, load_manifest

    path: Path = args.file or MANIFEST_FILE
    try:
        loaded = load_manifest(path)
    except ManifestError as exc:
        print(f"flowbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    oauth = args.oauth or settings.oauth_enabled
    made = app_manifest(
        loaded,
        command=settings.command,
        url=args.url,
        socket=args.socket,
        org=args.org,
        oauth=oauth,
        redirect_path=settings.slack_redirect_path,
    )
    how = ("--socket" if args.socket else f"--url {args.url}") + (" --org" if args.org else "")
    how += " --oauth" if oauth else ""
    print(
        f"# Flowbot's Slack app manifest (`flowbot manifest {how}`, command {settings.command}).\n"
        "# Paste it at https://api.slack.com/apps -> Create New App -> From a manifest.",
        file=stdout,
    )
    if oauth:
        print(
            f"# OAuth mode: installers start at {args.url.rstrip('/')}{settings.slack_install_path}; give "
            "Flowbot the app's Client ID and Client Secret (FLOWBOT_SLACK_CLIENT_ID, "
            "FLOWBOT_SLACK_CLIENT_SECRET).",
            file=stdout,
        )
    stdout.write(yaml.safe_dump(made, sort_keys=False, allow_unicode=True, width=100))
    return EXIT_OK


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from handlers.server import serve_http, serve_socket_mode

    if args.socket:
        serve_socket_mode(settings)
    else:
        serve_http(settings, port=args.port)
    return EXIT_OK


def _check(settings: Settings, stdout: TextIO) -> int:
    """An exec probe (a worker, or `serve --socket`, which has no HTTP port): one line, exit 0 or 1."""
    from bot.health import worker_readiness

    found = worker_readiness(settings)
    if not found.ready:
        print(f"flowbot: not ready: {found.line()}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"ready: {found.line()}", file=stdout)
    return EXIT_OK


def _worker(args: argparse.Namespace, settings: Settings, stdout: TextIO) -> int:
    if args.check:
        return _check(settings, stdout)
    from bot.worker.runner import run_worker

    run_worker(settings, burst=args.burst)
    return EXIT_OK


def _log_level(args: argparse.Namespace, settings: Settings) -> str:
    """Long-running processes log at FLOWBOT_LOG_LEVEL; a command run by hand (`ask`, a probe) only
    warns, so its terminal output stays its answer."""
    running = args.command == "serve" or (args.command == "worker" and not args.check)
    return settings.log_level if running else "WARNING"


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    """Entry point of the `flowbot` console script."""
    stdout = stdout or sys.stdout
    args = _build_parser().parse_args(argv)
    try:
        overrides: dict[str, Any] = {}
        if getattr(args, "engine", None):
            overrides["engine"] = args.engine
        if getattr(args, "data", None):
            overrides["local_data_dir"] = args.data
        settings = Settings(**overrides)
        configure_logging(settings, level=_log_level(args, settings))
        if args.command == "ask":
            return _ask(args, settings, stdout)
        if args.command == "sample-data":
            return _sample_data(args, stdout)
        if args.command == "detect":
            return _detect(args, stdout)
        if args.command == "serve":
            return _serve(args, settings)
        if args.command == "athena":
            from bot.aws.admin import athena_command

            return athena_command(args, settings, stdout)
        if args.command == "manifest":
            return _manifest(args, settings, stdout)
        if args.command == "check":
            return _check(settings, stdout)
        if args.command == "undelivered":
            from bot.undelivered_admin import undelivered_command

            return undelivered_command(args, settings, stdout)
        return _worker(args, settings, stdout)
    except CommandError as exc:
        print(f"flowbot: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"flowbot: setting {'.'.join(map(str, first['loc']))}: {first['msg']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (EngineError, MissingSettingError) as exc:
        print(f"flowbot: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as exc:  # a CLI reports, it does not dump tracebacks on a responder
        logging.getLogger("flowbot").debug("failure", exc_info=True)
        print(f"flowbot: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
