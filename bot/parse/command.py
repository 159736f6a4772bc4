"""Turn what a responder typed after `/flow` into a typed request, or one clear line of error.

Slack rewrites text before we see it: addresses arrive as `<http://10.1.1.1|10.1.1.1>` links, people
paste defanged indicators (`10[.]1[.]1[.]1`, `hxxp://`), and phone keyboards turn `--` into an en or
em dash. All of that is undone here, and nothing else of the text is trusted: every value is parsed
into a type, and only `FlowRequest` leaves this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Protocol

from pydantic import ValidationError

from bot.echo import shown
from bot.flowlog_format import COLUMN_HEADERS, format_columns
from bot.identifiers import ACCOUNT_ID, REGION
from bot.query.catalog import TABLE_OF_KIND, Catalog, QueryTemplate
from bot.query.ocsf import OCSF_FORMAT
from bot.request import FlowRequest, Window
from bot.settings import Settings
from bot.words import CommandError, normalise, refang


class Described(Protocol):
    """Anything that says what it holds in a few words (the used part of a context)."""

    def describe(self) -> str: ...


class ContextDefaults(Protocol):
    """What a channel's context (bot/parse/channel_context.py `ChannelContext`) gives a command: the values
    it fills in
    where the command says nothing, and the part of itself a request used. The parser needs no more of it,
    so it does not import the context module (which imports the parser)."""

    @property
    def account(self) -> str | None: ...
    @property
    def region(self) -> str | None: ...
    @property
    def last(self) -> str | None: ...
    @property
    def window(self) -> Window | None: ...
    def only(self, *, account: bool, region: bool, window: bool) -> Described | None: ...


OPTIONS = ("last", "from", "to", "account", "region", "limit")
OPTION_FORMS = (
    "--last 15m|6h|7d, --from <ISO 8601> [--to <ISO 8601>], --account <12 digits>, --region <name>, --limit N"
)

_DURATION = re.compile(r"^([0-9]{1,6})\s*(m|min|mins|h|hr|hrs|d|day|days|w)$", re.IGNORECASE)
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class HelpRequest:
    """`/flow help`, an empty command or an unknown word: answer with the command list."""

    unknown: str | None = None


@dataclass(frozen=True)
class CancelRequest:
    """`/flow cancel <job>`: stop a queued or running query (the job id as shown in Flowbot's replies)."""

    job: str


_JOB_REF = re.compile(r"^[0-9a-f]{8,32}$")
_WINDOW_OPTIONS = frozenset({"last", "from", "to"})


def parse_ip(value: str) -> str:
    """A single IPv4 or IPv6 address, canonical form."""
    cleaned = refang(value)
    if "%" in cleaned:  # a zone id (`fe80::1%eth0`) is free text, and no flow-log record carries one
        raise CommandError(f"`{shown(value)}` has a zone (%…); give the address alone, e.g. fe80::1")
    try:
        return str(ip_address(cleaned))
    except ValueError:
        raise CommandError(
            f"`{shown(value)}` is not an IP address (e.g. 10.0.1.25 or 2600:1f18::1)"
        ) from None


def parse_duration(value: str) -> timedelta:
    """`15m`, `6h`, `7d`, `2w`."""
    match = _DURATION.match(value)
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"--last takes a duration like 15m, 6h or 7d (got `{shown(value)}`)")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)[0].lower()])


def parse_time(option: str, value: str) -> datetime:
    """ISO 8601 date or date-time; no zone means UTC; truncated to whole seconds."""
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--{option} takes an ISO 8601 time like 2026-11-24T13:00 or 2026-11-24T13:00:00Z "
            f"(got `{shown(value)}`)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError:
        raise CommandError(f"--{option} is out of range (got `{shown(value)}`)") from None


def _split_options(words: list[str]) -> tuple[list[str], dict[str, str]]:
    """Positional words and `--option value` pairs (also `--option=value`)."""
    positional: list[str] = []
    options: dict[str, str] = {}
    i = 0
    while i < len(words):
        word = words[i]
        if not word.startswith("--"):
            positional.append(word)
            i += 1
            continue
        name, _, inline = word[2:].partition("=")
        name = name.lower()
        if name not in OPTIONS:
            raise CommandError(f"unknown option `{shown(word)}`; options are {OPTION_FORMS}")
        if name in options:
            raise CommandError(f"--{name} is given twice")
        if inline:
            value = inline
            i += 1
        elif i + 1 < len(words) and not words[i + 1].startswith("--"):
            value = words[i + 1]
            i += 2
        else:
            raise CommandError(f"--{name} needs a value; options are {OPTION_FORMS}")
        options[name] = value
    return positional, options


def parse_account(value: str, settings: Settings, name: str = "--account") -> str:
    """A 12-digit account ID the table covers: one the operator listed, when they listed any."""
    if not ACCOUNT_ID.fullmatch(value):
        raise CommandError(f"{name} takes a 12-digit AWS account ID (got `{shown(value)}`)")
    if settings.accounts and value not in settings.accounts:
        listed = ", ".join(settings.accounts)
        raise CommandError(f"{name} must be an account the table covers: {listed} (got `{shown(value)}`)")
    return value


def parse_region(value: str, settings: Settings, name: str = "--region") -> str:
    """A region name (any case) the table covers: one the operator listed, when they listed any."""
    region = value.lower()
    if not REGION.fullmatch(region):
        raise CommandError(f"{name} takes an AWS region name like us-east-1 (got `{shown(value)}`)")
    if settings.regions and region not in settings.regions:
        listed = ", ".join(settings.regions)
        raise CommandError(f"{name} must be a region the table covers: {listed} (got `{shown(value)}`)")
    return region


def recheck(request: FlowRequest, catalog: Catalog, settings: Settings) -> FlowRequest:
    """A request that came back from Slack (a button's value) checked as a typed command is: a template
    of the configured table, exactly its parameters, and the limit, window, account and region bounds."""
    try:
        template = catalog[request.query]
    except KeyError:
        raise CommandError(f"`{request.query}` is not one of Flowbot's queries") from None
    if template.table != TABLE_OF_KIND[settings.table_kind]:
        raise CommandError(f"`{request.query}` reads the `{template.table}` table, not this Flowbot's")
    if set(request.params) != {p.name for p in template.params}:
        raise CommandError(f"`{template.usage}` takes {len(template.params)} address(es)")
    if not 1 <= request.limit <= settings.max_limit:
        raise CommandError(f"--limit takes a whole number from 1 to {settings.max_limit:,}")
    check_span(request.window, settings)
    if request.account is not None:
        parse_account(request.account, settings)
    if request.region is not None:
        parse_region(request.region, settings)
    return request


def check_span(window: Window, settings: Settings) -> Window:
    """The window itself, unless it is longer than a query may cover."""
    if window.end - window.start > timedelta(days=settings.max_window_days):
        raise CommandError(f"the window is longer than {settings.max_window_days} days; narrow it")
    return window


def parse_window(options: Mapping[str, str], settings: Settings, now: datetime) -> Window:
    """`last` before `now`, `from` to `to` (or to `now`), or else the default window before `now`."""
    if "last" in options and ("from" in options or "to" in options):
        raise CommandError("use either --last or --from/--to, not both")
    if "to" in options and "from" not in options:
        raise CommandError("--to needs --from (e.g. --from 2026-11-24T00:00 --to 2026-11-24T06:00)")
    end = now.astimezone(UTC).replace(microsecond=0)
    if "from" not in options:
        span = parse_duration(options.get("last", settings.default_window))
        if span > timedelta(days=settings.max_window_days):  # before subtracting: 99999w would overflow
            raise CommandError(f"the window is longer than {settings.max_window_days} days; narrow it")
        return Window(start=end - span, end=end)
    start = parse_time("from", options["from"])
    if "to" in options:
        end = parse_time("to", options["to"])
    if start >= end:
        raise CommandError("--from must be before --to (and before now)")
    return check_span(Window(start=start, end=end), settings)


def _limit(options: dict[str, str], template: QueryTemplate, settings: Settings) -> int:
    if "limit" not in options:
        return min(template.default_limit or settings.default_limit, settings.max_limit)
    value = options["limit"].replace(",", "").replace("_", "")
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= settings.max_limit:
        raise CommandError(
            f"--limit takes a whole number from 1 to {settings.max_limit:,} (got `{options['limit']}`)"
        )
    return int(value)


def _canonical(template: QueryTemplate, args: dict[str, str], options: dict[str, str]) -> str:
    words = [*template.command, *args.values()]
    words += [f"--{name} {options[name]}" for name in OPTIONS if name in options]
    return " ".join(words)


def parse_command(
    text: str, catalog: Catalog, settings: Settings, now: datetime, context: ContextDefaults | None = None
) -> FlowRequest | HelpRequest | CancelRequest:
    """Parse the text after `/flow`; raise `CommandError` with one clear line when it is wrong.

    A channel's `context` fills in, field by field, the account, region and window the text does not
    give; the request records which of its values it used.
    """
    words = normalise(text)
    if words[:1] == ["--"]:
        words = words[1:]
    if not words or words[0].lower() in {"help", "?", "--help"}:
        return HelpRequest()
    if words[0].lower() == "cancel":
        if len(words) != 2 or not _JOB_REF.fullmatch(words[1].lower()):
            raise CommandError("cancel takes the job id Flowbot showed you, e.g. `cancel 3f2a9c1d`")
        return CancelRequest(words[1].lower())
    positional, options = _split_options(words)
    table = TABLE_OF_KIND[settings.table_kind]
    matched = catalog.match(positional, table)
    if matched is None:
        family = catalog.families(table).get(positional[0].lower()) if positional else None
        if family:
            forms = " or ".join(f"`{t.usage}`" for t in family)
            raise CommandError(f"`{shown(positional[0])}` needs more: {forms}")
        elsewhere = next((t for t in (TABLE_OF_KIND.values()) if catalog.match(positional, t)), None)
        if elsewhere is not None:
            raise CommandError(
                f"`{shown(positional[0])}` reads the `{elsewhere}` table; this Flowbot reads `{table}` "
                "(FLOWBOT_TABLE_KIND)"
            )
        return HelpRequest(unknown=positional[0] if positional else words[0])
    template, used = matched
    security_lake = settings.flow_layout.file_format == "ocsf"
    missing = template.fields_used - format_columns(OCSF_FORMAT if security_lake else settings.log_format)
    if missing:
        headers = ", ".join(sorted(COLUMN_HEADERS[c] for c in missing))
        source = (
            "which Security Lake's OCSF records do not carry"
            if security_lake
            else "which the configured log format (FLOWBOT_LOG_FORMAT) does not include"
        )
        raise CommandError(f"`{' '.join(template.command)}` needs the flow-log fields {headers}, {source}")
    rest = positional[used:]
    args: dict[str, str] = {}
    for spec in template.params:
        if not rest:
            raise CommandError(f"`{' '.join(template.command)}` needs {spec.help}: `{template.example}`")
        args[spec.name] = parse_ip(rest.pop(0))
    if rest:
        raise CommandError(f"unexpected `{shown(' '.join(rest))}`; the form is `{template.usage} [options]`")
    for option in ("account", "region"):
        if option in options and option not in template.placeholders:
            raise CommandError(
                f"`{' '.join(template.command)}` cannot filter by --{option} (its table has no {option})"
            )
    account = parse_account(options["account"], settings) if "account" in options else None
    region = parse_region(options["region"], settings) if "region" in options else None
    window = parse_window(options, settings, now) if options.keys() & _WINDOW_OPTIONS else None
    applied: str | None = None
    if context is not None:
        account, region, window, applied = _apply_context(
            context, template, settings, now, account=account, region=region, window=window
        )
    if window is None:
        window = parse_window({}, settings, now)  # the default window
    injected = settings.engine == "athena" and settings.account_projection == "injected"
    if injected and table == "vpcflow" and account is None and not settings.accounts:
        raise CommandError(
            "the flow-log table takes its accounts from each query (FLOWBOT_ACCOUNT_PROJECTION=injected): "
            f"name one, `{template.example} --account 123456789012`, or set the channel's "
            "(`context account 123456789012`)"
        )
    try:
        return FlowRequest(
            query=template.name,
            params=args,  # validated into addresses by the model
            window=window,
            account=account,
            region=region,
            limit=_limit(options, template, settings),
            text=_canonical(template, args, options),
            context=applied,
        )
    except ValidationError as exc:  # every field was checked above; this is a last guard
        raise CommandError(f"that command could not be understood: {exc.errors()[0]['msg']}") from None


def _apply_context(
    context: ContextDefaults,
    template: QueryTemplate,
    settings: Settings,
    now: datetime,
    *,
    account: str | None,
    region: str | None,
    window: Window | None,
) -> tuple[str | None, str | None, Window | None, str | None]:
    """Fill what the command left open from the channel's context, and describe the values used.

    Field by field: `--account` replaces only the context's account, `--last` or `--from` only its
    window. A template with no account or region filter takes none from the context. The context is
    checked again against today's settings, which may have changed since it was set.
    """
    use_account = account is None and "account" in template.placeholders and context.account is not None
    use_region = region is None and "region" in template.placeholders and context.region is not None
    use_window = window is None and (context.window is not None or context.last is not None)
    try:
        if use_account and context.account is not None:
            account = parse_account(context.account, settings, "the channel's context account")
        if use_region and context.region is not None:
            region = parse_region(context.region, settings, "the channel's context region")
        if use_window and context.window is not None:
            window = check_span(context.window, settings)
        elif use_window and context.last is not None:
            window = parse_window({"last": context.last}, settings, now)
    except CommandError as exc:
        raise CommandError(f"{exc}; `context clear` removes it") from None
    used = context.only(account=use_account, region=use_region, window=use_window)
    return account, region, window, used.describe() if used is not None else None
