"""`flowbot detect DIR` and `flowbot athena detect`: what a flow-log bucket (or a local copy of one)
holds, and the settings that read it.

VPC Flow Logs delivers its files to S3 under keys of one of these shapes (Amazon VPC User Guide, "Flow log
files", https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-path.html):

    [prefix/]AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/[<HH>/]<file>
    [prefix/]AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/
        year=<yyyy>/month=<MM>/day=<dd>/[hour=<HH>/]<file>

the second with "Hive-compatible S3 prefixes", the `<HH>` level with "hourly partitions"; `<file>` ends
`.log.gz` (text: gzip, its first line the field names, `version account-id ...`) or `.log.parquet` (Parquet:
one column per field, named with `_` for `-`). Each combination is a layout of bot/flowlog_layouts.py.

Three parts, each testable alone:
- `classify`: pure. From the keys listed (relative to the folder holding `AWSLogs/`; a folder ends with `/`)
  and the fields read from a few files, the layout, accounts, regions, first day and format, or one line
  saying why none fits (no key in AWS's shapes, or keys in two shapes).
- `walk`: a bounded walk over a `Source` (a local folder or an S3 prefix, listed one folder level at a
  time): at most `max_lists` listings (`os.scandir`, or ListObjectsV2 with Delimiter='/'), each of at most
  `PAGE` entries. `AWSLogs/` once; each account's flow-log folder once (its regions); then down one branch
  per level (the oldest, and for the first account and region also the newest) to the files. What the
  bound left out is said (`Listing.cut_off`), never guessed.
- `detect`: walk, classify, read the fields of a few of the files seen (the header lines of up to three
  text files, each from its first 64 KiB; the column names of one Parquet file, the smallest of the newest
  folder walked to, read with DuckDB, after downloading it from S3), classify again with them.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import tempfile
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol, TextIO

from bot.flowlog_format import BY_HEADER, DEFAULT_V2_HEADERS
from bot.flowlog_layouts import FileFormat, Layout, parquet_column
from bot.identifiers import ACCOUNT_ID, REGION

ROOT = "AWSLogs/"
SERVICE = "vpcflowlogs"
MAX_LISTS = 60
"""Default bound on listings (ListObjectsV2 calls, or folders scanned) per run; `--max-lists` changes it."""
PAGE = 1000
"""Entries one listing returns at most (ListObjectsV2's own maximum); more are not looked at."""
FIRST_BRANCH_LISTS = 10
"""Listings kept for walking the first account and region down to its files, oldest and newest (at most
five levels each: years, months, days, hours, files)."""
HEAD_BYTES = 1 << 16
"""How much of a text file is read for its header line (a header is a few hundred bytes)."""
TEXT_READS = 3
"""Text files whose header line is read (each from another branch: newest, oldest, another account)."""
READ_ATTEMPTS = 3
"""Files tried at most for the fields (a Parquet file's columns are read from the first that reads)."""
MAX_PARQUET_BYTES = 64 << 20
"""Largest Parquet object downloaded from S3 to read its column names."""

_HIVE_NAMES = ("aws-account-id", "aws-service", "aws-region", "year", "month", "day", "hour")
"""The `name=` of each folder level with Hive-compatible prefixes, below `AWSLogs/`."""
_SUFFIXES: dict[str, FileFormat] = {".log.gz": "text", ".log.parquet": "parquet"}
_TWO_DIGITS = re.compile(r"^[0-9]{2}$")
_YEAR = re.compile(r"^[0-9]{4}$")
_HEADER_NAME = re.compile(r"^[a-z][a-z0-9-]*$")

SHAPES = (
    "AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<MM>/<dd>/[<HH>/]<file>, or with Hive-compatible prefixes "
    "AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<MM>/"
    "day=<dd>/[hour=<HH>/]<file>, <file> ending .log.gz or .log.parquet"
)
"""AWS's key shapes, in words, for the line that refuses keys in none of them."""


def _count(number: int, word: str) -> str:
    """`1 folder`, `2 folders`."""
    return f"{number:,} {word}{'' if number == 1 else 's'}"


class DetectError(Exception):
    """Why nothing can be detected, in one line (no key in AWS's shapes, keys in two, nothing listable)."""


class UnreadableError(Exception):
    """One file's fields could not be read (the walk goes on; the report says why)."""


# --------------------------------------------------------------------------------------------------
# One key


@dataclass(frozen=True)
class KeyShape:
    """What one key (a file or a folder) says about the layout, as far as it reaches."""

    path: str
    hive: bool
    account: str
    service: str | None
    """`vpcflowlogs`, another service's folder name, or None (the account folder itself)."""
    region: str | None = None
    day: date | None = None
    hourly: bool | None = None
    """None: a folder that does not reach below the day level."""
    file_format: FileFormat | None = None
    """None: a folder."""


def parse_key(path: str) -> KeyShape | None:
    """The shape of one key relative to the folder holding `AWSLogs/` (a folder ends with `/`); None when
    it is in none of AWS's shapes (see the module's docstring)."""
    folder = path.endswith("/")
    parts = path.removesuffix("/").split("/")
    if parts[0] != ROOT.rstrip("/") or len(parts) < 2 or "" in parts:
        return None
    levels = parts[1:] if folder else parts[1:-1]
    hive = parts[1].startswith(_HIVE_NAMES[0] + "=")
    if not levels or len(levels) > len(_HIVE_NAMES):
        return None
    values: list[str] = []
    for name, segment in zip(_HIVE_NAMES, levels, strict=False):
        key, sep, value = segment.partition("=")
        if hive and not (sep and key == name):
            return None
        values.append(value if hive else segment)
    if not ACCOUNT_ID.fullmatch(values[0]):
        return None
    account = values[0]
    if len(values) == 1:
        return KeyShape(path, hive, account, None) if folder else None
    if values[1] != SERVICE:  # another service's logs (CloudTrail, ELB, ...): not looked into
        return KeyShape(path, hive, account, values[1])
    if len(values) == 2:
        return KeyShape(path, hive, account, SERVICE) if folder else None
    if not REGION.fullmatch(values[2]):
        return None
    region = values[2]
    if len(values) == 3:
        return KeyShape(path, hive, account, SERVICE, region) if folder else None
    if not _YEAR.fullmatch(values[3]) or not all(_TWO_DIGITS.fullmatch(v) for v in values[4:]):
        return None
    if len(values) < 6:
        return KeyShape(path, hive, account, SERVICE, region) if folder else None
    try:
        day = date(int(values[3]), int(values[4]), int(values[5]))
    except ValueError:
        return None
    hourly = len(values) == 7
    if hourly and int(values[6]) > 23:
        return None
    if folder:
        return KeyShape(path, hive, account, SERVICE, region, day, True if hourly else None)
    file_format = next((f for s, f in _SUFFIXES.items() if parts[-1].endswith(s) and parts[-1] != s), None)
    if file_format is None:
        return None
    return KeyShape(path, hive, account, SERVICE, region, day, hourly, file_format)


# --------------------------------------------------------------------------------------------------
# Classifying


@dataclass(frozen=True)
class FieldsRead:
    """The field names read from one file: a text file's header line, or a Parquet file's column names."""

    key: str
    names: tuple[str, ...] = ()
    error: str = ""
    """Why the file could not be read (then `names` is empty)."""


@dataclass(frozen=True)
class Detection:
    """What the keys and fields say: the layout, where the logs are from, and their format."""

    layout: Layout
    example: str
    """One file in that layout."""
    accounts: tuple[str, ...]
    regions: tuple[str, ...]
    first_day: date
    """The earliest day folder seen (a delivery day: the start of the date projection)."""
    headers: tuple[str, ...] = ()
    """The fields Flowbot knows, in the files' order, as header names (`account-id`)."""
    unknown: tuple[str, ...] = ()
    """Fields Flowbot does not know, as header names."""
    fields_from: tuple[str, ...] = ()
    """The files whose fields were read."""
    fields_problem: str = ""
    """Why no FLOWBOT_LOG_FORMAT reads these files (empty when one does)."""
    quiet_accounts: tuple[str, ...] = ()
    """Account folders with no flow-log folder."""
    other_services: tuple[str, ...] = ()
    """Other services' folders beside `vpcflowlogs` (not flow logs, not read)."""
    ignored: tuple[str, ...] = ()
    """Keys in none of AWS's shapes (a table over these folders may read some of them)."""
    cut_off: tuple[str, ...] = ()
    """What the listing's bound left out, in words (empty: nothing)."""

    @property
    def usable(self) -> bool:
        """Whether every setting could be given (a format included)."""
        return not self.fields_problem

    @property
    def log_format(self) -> str | None:
        """The FLOWBOT_LOG_FORMAT to set: None when the default (version 2) fits, or when none does."""
        if self.fields_problem or self.headers == DEFAULT_V2_HEADERS:
            return None
        return " ".join(f"${{{h}}}" for h in self.headers)


def _examples(keys: Iterable[KeyShape], value: Any) -> dict[Any, str]:
    """One example key per value of `value(key)` (None values skipped), files preferred over folders."""
    out: dict[Any, str] = {}
    for key in sorted(keys, key=lambda k: k.file_format is None):
        found = value(key)
        if found is not None:
            out.setdefault(found, key.path)
    return out


def _layout_of(key: KeyShape) -> str | None:
    """The layout a file's key is in (None for a folder)."""
    if key.file_format is None or key.hourly is None:
        return None
    return Layout(key.file_format, key.hive, key.hourly).name


def _mixed(flow: list[KeyShape]) -> str:
    """How the keys mix shapes, in words (empty when they are all one layout): the files' layouts, or else
    the folders' prefix style or partition grain beside the files'."""
    layouts = _examples(flow, _layout_of)
    if len(layouts) > 1:
        return "files in " + " and ".join(f"{name} (e.g. {key})" for name, key in sorted(layouts.items()))
    words: dict[str, dict[Any, str]] = {
        "hive": {True: "Hive-compatible prefixes", False: "plain prefixes"},
        "hourly": {True: "hourly partitions", False: "daily partitions"},
    }
    parts = []
    for attribute, names in words.items():
        seen = _examples(flow, lambda k, a=attribute: getattr(k, a))
        if len(seen) > 1:
            parts.append(" and ".join(f"{names[v]} (e.g. {seen[v]})" for v in names if v in seen))
    return "; ".join(parts)


def _fields(layout: Layout, reads: Sequence[FieldsRead]) -> dict[str, Any]:
    """The headers, unknown fields, files read and problem of `Detection`, from the fields read."""
    good = [r for r in reads if not r.error]
    if not good:
        why = f"{reads[0].key}: {reads[0].error}" if reads else "no file's fields were read"
        return {"fields_problem": f"the fields could not be read ({why})"}
    if layout.file_format == "parquet":
        read = good[0]
        known = {parquet_column(h): h for h in BY_HEADER}
        headers = tuple(known[c] for c in read.names if c in known)
        unknown = tuple(c.replace("_", "-") for c in read.names if c not in known)
        found: dict[str, Any] = {"headers": headers, "unknown": unknown, "fields_from": (read.key,)}
        if not headers:
            found["fields_problem"] = f"{read.key} has no column of a flow-log field Flowbot knows"
        return found
    by_names: dict[tuple[str, ...], str] = {}
    for read in good:
        by_names.setdefault(read.names, read.key)
    if len(by_names) > 1:
        (first, first_key), (other, other_key) = list(by_names.items())[:2]
        extra = [h for h in other if h not in first]
        missing = [h for h in first if h not in other]
        how = "; ".join(
            [
                *([f"has {', '.join(extra)}"] if extra else []),
                *([f"lacks {', '.join(missing)}"] if missing else []),
            ]
        )
        raise DetectError(
            f"the text files differ in fields: {other_key} {how or 'has the same fields in another order'} "
            f"compared with {first_key}; Athena reads a text file's fields by position in "
            "FLOWBOT_LOG_FORMAT, so one table reads one format (give each its own prefix; `flowbot athena "
            "check-format` compares the accounts' and regions' files)"
        )
    names, key = next(iter(by_names.items()))
    found = {"fields_from": tuple(r.key for r in good)}
    if not names or not all(_HEADER_NAME.fullmatch(n) for n in names):
        return found | {"fields_problem": f"{key} does not start with a header line of field names"}
    headers = tuple(n for n in names if n in BY_HEADER)
    unknown = tuple(n for n in names if n not in BY_HEADER)
    found |= {"headers": headers, "unknown": unknown}
    if unknown:
        found["fields_problem"] = (
            f"the files hold fields Flowbot does not know ({', '.join(unknown)}), and Athena reads a text "
            "file's fields by position: no FLOWBOT_LOG_FORMAT reads them right"
        )
    elif len(set(names)) != len(names):
        found["fields_problem"] = f"{key}'s header line names a field twice"
    return found


def classify(
    keys: Iterable[str], fields: Sequence[FieldsRead] = (), *, cut_off: Sequence[str] = ()
) -> Detection:
    """The layout, accounts, regions, first day and format of a flow-log folder, from a sample of its keys
    (relative to the folder holding `AWSLogs/`; folders end with `/`) and the fields read from some of its
    files. Raises `DetectError` (one line) when no key is in AWS's shapes, no file is among them, or the
    keys mix shapes."""
    flow: list[KeyShape] = []
    ignored: list[str] = []
    others: set[str] = set()
    every_account: set[str] = set()
    for path in keys:
        shape = parse_key(path)
        if shape is None:
            ignored.append(path)
            continue
        every_account.add(shape.account)
        if shape.service == SERVICE:
            flow.append(shape)
        elif shape.service is not None:
            others.add(shape.service)
    files = [k for k in flow if k.file_format is not None]
    if not files:
        folders = f"{_count(len(flow), 'folder')} in AWS's shapes (e.g. {flow[0].path})" if flow else ""
        if cut_off:
            seen = f" ({folders})" if flow else ""
            raise DetectError(
                f"no flow-log file reached{seen} before the listing was cut off ({'; '.join(cut_off)}): "
                "allow more listings"
            )
        if flow:
            raise DetectError(
                f"no flow-log file found: {folders} but no .log.gz or .log.parquet file in the ones "
                "looked into"
            )
        if others:
            raise DetectError(
                f"no flow logs under AWSLogs/: only other services' folders ({', '.join(sorted(others))})"
            )
        example = f": e.g. {ignored[0]}" if ignored else ""
        raise DetectError(f"no key listed is in AWS's flow-log shapes ({SHAPES}){example}")
    mixed = _mixed(flow)
    if mixed:
        raise DetectError(
            f"the keys mix shapes: {mixed}; Flowbot reads one layout: point it at a prefix (or folder) that "
            "holds one"
        )
    first = files[0]
    assert first.file_format is not None and first.hourly is not None
    layout = Layout(first.file_format, first.hive, first.hourly)
    accounts = {k.account for k in flow}
    return Detection(
        layout=layout,
        example=first.path,
        accounts=tuple(sorted(accounts)),
        regions=tuple(sorted({k.region for k in flow if k.region is not None})),
        first_day=min(k.day for k in flow if k.day is not None),
        quiet_accounts=tuple(sorted(every_account - accounts)),
        other_services=tuple(sorted(others)),
        ignored=tuple(ignored),
        cut_off=tuple(cut_off),
        **_fields(layout, fields),
    )


# --------------------------------------------------------------------------------------------------
# Walking a source


@dataclass(frozen=True)
class Page:
    """One listing of one folder level: its sub-folders (ending `/`) and files (key, size), sorted."""

    folders: tuple[str, ...]
    files: tuple[tuple[str, int], ...]
    truncated: bool
    """More than `PAGE` entries: the rest were not listed."""


class Source(Protocol):
    """A folder holding `AWSLogs/`, listed one level at a time; keys are relative to it."""

    where: str
    """`/path/` or `s3://bucket/prefix/`, for messages."""

    def list(self, prefix: str) -> Page:
        """One level below `prefix` (`AWSLogs/`, `AWSLogs/<account>/vpcflowlogs/`, ...)."""
        ...

    def head(self, key: str) -> bytes:
        """The first `HEAD_BYTES` of a file (raises UnreadableError)."""
        ...

    def columns(self, key: str, size: int) -> tuple[str, ...]:
        """A Parquet file's column names (raises UnreadableError)."""
        ...


@dataclass(frozen=True)
class Listing:
    """What the bounded walk saw."""

    where: str
    keys: tuple[str, ...]
    samples: tuple[tuple[str, int], ...]
    """Files to read the fields of, best first: the newest of the first branch, its oldest, others'."""
    cut_off: tuple[str, ...]
    lists: int
    max_lists: int


class _Walker:
    def __init__(self, source: Source, max_lists: int) -> None:
        self.source, self.max_lists = source, max_lists
        self.pages: dict[str, Page] = {}
        self.keys: list[str] = []
        self.calls = 0

    def ls(self, prefix: str, *, record: bool = True) -> Page | None:
        """One listing (cached), or None once the bound is reached."""
        if prefix in self.pages:
            return self.pages[prefix]
        if self.calls >= self.max_lists:
            return None
        self.calls += 1
        page = self.source.list(prefix)
        self.pages[prefix] = page
        if record:
            self.keys.extend(page.folders)
            self.keys.extend(key for key, _ in page.files)
        return page

    def descend(self, folder: str, *, newest: bool) -> tuple[tuple[str, int] | None, bool]:
        """Down from `folder` by the oldest (or newest) sub-folder of each level, to the first level that
        holds files: one of them to read (or None), and whether the walk got there within the bound."""
        page = self.ls(folder)
        for _ in range(len(_HIVE_NAMES)):
            if page is None:
                return None, False
            if page.files or not page.folders:
                break
            page = self.ls(page.folders[-1] if newest else page.folders[0])
        if page is None:
            return None, False
        suffixes = tuple(_SUFFIXES)  # a flow-log file before any stray one, then the smallest
        return (
            min(page.files, key=lambda f: (not f[0].endswith(suffixes), f[1], f[0])) if page.files else None
        ), True


def _flow_folder(account_folder: str) -> str | None:
    """An account folder's flow-log folder, in the account folder's style; None if not an account's."""
    shape = parse_key(account_folder)
    if shape is None or shape.service is not None:
        return None
    return account_folder + (f"aws-service={SERVICE}/" if shape.hive else f"{SERVICE}/")


def _nothing_at_root(source: Source, walker: _Walker) -> str:
    """The line for a source without `AWSLogs/`: what it holds instead, when one more listing is allowed."""
    where = f"no {ROOT} under {source.where}"
    hint = ""
    if source.where.rstrip("/").endswith("/AWSLogs") or source.where.rstrip("/") == "AWSLogs":
        hint = " (give the folder, or prefix, that holds AWSLogs/, not AWSLogs/ itself)"
    page = walker.ls("", record=False)
    if page is None:
        return where + hint
    names = [p.rstrip("/").rsplit("/", 1)[-1] + "/" for p in page.folders]
    names += [k.rsplit("/", 1)[-1] for k, _ in page.files]
    if not names:
        return f"{where}: it is empty{hint}"
    more = f" and {len(names) - 5} more" if len(names) > 5 else ""
    return f"{where}: it holds {', '.join(names[:5])}{more}{hint}"


def walk(source: Source, *, max_lists: int = MAX_LISTS) -> Listing:
    """List a bounded sample of `source`'s keys: at most `max_lists` listings in all (see the module's
    docstring for the order); what the bound left out is in `Listing.cut_off`."""
    if max_lists < 1:
        raise DetectError(f"the bound on listings must be at least 1, not {max_lists}")
    walker = _Walker(source, max_lists)
    cut: list[str] = []
    root = walker.ls(ROOT, record=False)
    assert root is not None  # the first listing is always allowed
    if not root.folders and not root.files:
        raise DetectError(_nothing_at_root(source, walker))
    if root.truncated:
        cut.append(f"{ROOT} holds more entries than one listing returns: only the first were looked at")
    walker.keys.extend(key for key, _ in root.files)
    accounts: list[tuple[str, str]] = []
    for folder in root.folders:
        flow_folder = _flow_folder(folder)
        if flow_folder is None:
            walker.keys.append(folder)  # the classifier names it: in none of AWS's shapes
        else:
            accounts.append((folder, flow_folder))

    branches: list[str] = []
    listed = 0

    def list_accounts(stop_at: int) -> None:
        nonlocal listed
        while listed < len(accounts) and (listed == 0 or walker.calls < stop_at):
            folder, flow_folder = accounts[listed]
            page = walker.ls(flow_folder)
            if page is None:
                return
            listed += 1
            if not page.folders and not page.files:
                walker.keys.append(folder)  # an account folder with no flow logs
            if page.truncated:
                cut.append(f"{flow_folder} holds more entries than one listing returns: the first only")
            branches.extend(f for f in page.folders if (s := parse_key(f)) is not None and s.region)

    list_accounts(max_lists - FIRST_BRANCH_LISTS)
    samples: list[tuple[str, int]] = []
    walked = 0
    for number, branch in enumerate(branches):
        complete = True
        for newest in (True, False) if number == 0 else (False,):
            sample, reached = walker.descend(branch, newest=newest)
            complete = complete and reached
            if sample is not None and sample not in samples:
                samples.append(sample)
        if not complete:
            break
        walked += 1
    list_accounts(max_lists)  # what the bound still allows: more accounts' regions

    if listed < len(accounts):
        left = [a.rstrip("/").rsplit("=", 1)[-1].rsplit("/", 1)[-1] for a, _ in accounts[listed:]]
        more = f" and {len(left) - 5} more" if len(left) > 5 else ""
        cut.append(
            f"{_count(len(left), 'more account folder')} not looked into ({', '.join(left[:5])}{more}): "
            "left out of the accounts and regions below"
        )
    if walked < len(branches):
        cut.append(
            f"{walked} of {_count(len(branches), 'account-region folder')} walked down to their files (the "
            "first day is the earliest of those)"
        )
    return Listing(source.where, tuple(walker.keys), tuple(samples), tuple(cut), walker.calls, max_lists)


def header_fields(start: bytes) -> tuple[str, ...]:
    """The field names on a gzip'd text file's first line, from the file's first bytes."""
    try:
        text = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(start)
    except zlib.error:
        raise UnreadableError("not a gzip file") from None
    return tuple(text.split(b"\n", 1)[0].decode("ascii", errors="replace").split())


def parquet_columns(path: Path) -> tuple[str, ...]:
    """A Parquet file's column names, read with DuckDB (only the file's footer is read)."""
    import duckdb  # only `detect` on Parquet needs it

    con = duckdb.connect(":memory:")
    try:
        rows = con.execute(
            "DESCRIBE SELECT * FROM read_parquet(?, hive_partitioning=false)", [str(path)]
        ).fetchall()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableError(f"not a Parquet file DuckDB reads ({first})") from None
    finally:
        con.close()
    return tuple(str(row[0]) for row in rows)


def detect(source: Source, *, max_lists: int = MAX_LISTS) -> tuple[Detection, Listing]:
    """Walk, classify the keys (refusing early, before any read), read a few files' fields, classify again."""
    listing = walk(source, max_lists=max_lists)
    layout = classify(listing.keys, cut_off=listing.cut_off).layout
    reads: list[FieldsRead] = []
    for key, size in [s for s in listing.samples if s[0].endswith(layout.suffix)][:READ_ATTEMPTS]:
        try:
            if layout.file_format == "text":
                reads.append(FieldsRead(key, header_fields(source.head(key))))
            else:
                reads.append(FieldsRead(key, source.columns(key, size)))
        except UnreadableError as exc:
            reads.append(FieldsRead(key, error=str(exc)))
        good = [r for r in reads if not r.error]
        if len(good) == (1 if layout.file_format == "parquet" else TEXT_READS):
            break
    return classify(listing.keys, reads, cut_off=listing.cut_off), listing


# --------------------------------------------------------------------------------------------------
# Sources


class LocalSource:
    """A local folder holding `AWSLogs/` (a copy of the bucket, or `flowbot sample-data`'s)."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise DetectError(f"{root}: no such folder")
        self.root = root
        self.where = f"{root}/"

    def list(self, prefix: str) -> Page:
        folder = self.root / prefix
        folders: list[str] = []
        files: list[tuple[str, int]] = []
        truncated = False
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):  # .DS_Store and the like: not the bucket's
                        continue
                    if len(folders) + len(files) == PAGE:
                        truncated = True
                        break
                    if entry.is_dir():
                        folders.append(f"{prefix}{entry.name}/")
                    elif entry.is_file():
                        files.append((f"{prefix}{entry.name}", entry.stat().st_size))
        except (FileNotFoundError, NotADirectoryError):
            return Page((), (), False)
        except OSError as exc:
            raise DetectError(f"could not list {folder}: {exc.strerror or exc}") from None
        return Page(tuple(sorted(folders)), tuple(sorted(files)), truncated)

    def head(self, key: str) -> bytes:
        try:
            with (self.root / key).open("rb") as file:
                return file.read(HEAD_BYTES)
        except OSError as exc:
            raise UnreadableError(exc.strerror or str(exc)) from None

    def columns(self, key: str, size: int) -> tuple[str, ...]:
        return parquet_columns(self.root / key)


class S3Source:
    """An S3 bucket and prefix holding `AWSLogs/`, listed with ListObjectsV2 (Delimiter='/')."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket = s3, bucket
        self.base = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.where = f"s3://{bucket}/{self.base}"

    def list(self, prefix: str) -> Page:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            found = self.s3.list_objects_v2(
                Bucket=self.bucket, Prefix=self.base + prefix, Delimiter="/", MaxKeys=PAGE
            )
        except (ClientError, BotoCoreError) as exc:
            raise DetectError(f"could not list {self.where}{prefix}: {exc}") from None
        cut = len(self.base)
        folders = [str(p["Prefix"])[cut:] for p in found.get("CommonPrefixes") or []]
        files = [
            (str(o["Key"])[cut:], int(o["Size"]))
            for o in found.get("Contents") or []
            if not str(o["Key"]).endswith("/")  # a console-made "folder" object
        ]
        return Page(tuple(sorted(folders)), tuple(sorted(files)), bool(found.get("IsTruncated")))

    def head(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            got = self.s3.get_object(
                Bucket=self.bucket, Key=self.base + key, Range=f"bytes=0-{HEAD_BYTES - 1}"
            )
            return bytes(got["Body"].read())
        except (ClientError, BotoCoreError) as exc:
            raise UnreadableError(str(exc)) from None

    def columns(self, key: str, size: int) -> tuple[str, ...]:
        from botocore.exceptions import BotoCoreError, ClientError

        if size > MAX_PARQUET_BYTES:
            raise UnreadableError(
                f"{size / 2**20:,.0f} MiB, more than the {MAX_PARQUET_BYTES >> 20} MiB downloaded to read "
                "a Parquet file's columns"
            )
        with tempfile.TemporaryDirectory(prefix="flowbot-detect-") as scratch:
            path = Path(scratch) / "sample.parquet"
            try:
                body = self.s3.get_object(Bucket=self.bucket, Key=self.base + key)["Body"]
                with path.open("wb") as out:
                    for chunk in iter(lambda: body.read(1 << 20), b""):
                        out.write(chunk)
            except (ClientError, BotoCoreError) as exc:
                raise UnreadableError(str(exc)) from None
            return parquet_columns(path)


# --------------------------------------------------------------------------------------------------
# Reporting


def _describe(layout: Layout) -> str:
    kind = "Parquet files" if layout.file_format == "parquet" else "text files"
    prefixes = "Hive-compatible prefixes" if layout.hive else "plain prefixes"
    grain = "hourly partitions" if layout.hourly else "daily partitions"
    return f"{kind} ({layout.suffix}), {prefixes}, {grain}"


def _names(values: Sequence[str], most: int = 5) -> str:
    more = f" and {len(values) - most} more" if len(values) > most else ""
    return ", ".join(values[:most]) + more


def settings_lines(found: Detection, *, extra: Sequence[tuple[str, str]] = ()) -> list[str]:
    """The settings, as `NAME=value` lines a shell (or an env file) takes as they are."""
    pairs: list[tuple[str, str]] = [("FLOWBOT_LAYOUT", found.layout.name)]
    log_format = found.log_format
    if log_format is not None:
        pairs.append(("FLOWBOT_LOG_FORMAT", log_format))
    pairs += [("FLOWBOT_ACCOUNTS", ",".join(found.accounts)), ("FLOWBOT_REGIONS", ",".join(found.regions))]
    pairs += extra
    lines = [f"{name}={shlex.quote(value)}" for name, value in pairs]
    if found.fields_problem:
        lines.insert(1, "# FLOWBOT_LOG_FORMAT: none fits (see above)")
    return lines


def report_lines(found: Detection, listing: Listing, settings: Sequence[str]) -> list[str]:
    """What `detect` prints: what was looked at and found, as `#` comments, then the settings."""
    reads = len(found.fields_from)
    lines = [
        f"# looked at {listing.where}{ROOT}: {listing.lists} of at most {listing.max_lists} listings"
        + (f"; fields read from {reads} file{'s' if reads != 1 else ''}" if reads else ""),
        f"# layout: {found.layout.name}: {_describe(found.layout)}",
        f"#   e.g. {found.example}",
        f"# accounts: {', '.join(found.accounts)}",
        f"# regions: {', '.join(found.regions)}",
        f"# first day: {found.first_day.isoformat()}",
    ]
    if found.headers:
        kind = (
            "the default, version 2"
            if found.headers == DEFAULT_V2_HEADERS
            else f"a custom format, {len(found.headers)} fields"
        )
        lines.append(f"# fields ({kind}): {' '.join(found.headers)}")
        lines.append(f"#   from {_names(found.fields_from, 1)}")
    if found.unknown:
        how = (
            "Parquet columns are read by name: Flowbot leaves these out"
            if found.layout.file_format == "parquet"
            else "see below"
        )
        lines.append(f"# fields Flowbot does not know: {', '.join(found.unknown)} ({how})")
    if found.fields_problem:
        lines.append(f"# no FLOWBOT_LOG_FORMAT: {found.fields_problem}")
    lines += [f"# cut off by the bound: {note}" for note in found.cut_off]
    if found.cut_off:
        lines.append("#   (a larger --max-lists looks further)")
    if found.quiet_accounts:
        lines.append(f"# account folders without flow logs: {_names(found.quiet_accounts)}")
    if found.other_services:
        lines.append(f"# other services' logs (not read): {_names(found.other_services)}")
    if found.ignored:
        lines.append(
            f"# {len(found.ignored)} key{'s' if len(found.ignored) != 1 else ''} in none of AWS's shapes, "
            f"ignored: {_names(found.ignored, 3)}"
        )
    lines.append("# settings:")
    return lines + list(settings)


def _run(source_of: Any, max_lists: int, extra: Any, stdout: TextIO) -> int:
    """Detect, print the report (exit 0, or 1 when no format fits), or one line on stderr (exit 1)."""
    try:
        source = source_of()
        found, listing = detect(source, max_lists=max_lists)
    except DetectError as exc:
        print(f"flowbot: {exc}", file=sys.stderr)
        return 1
    print("\n".join(report_lines(found, listing, settings_lines(found, extra=extra(found)))), file=stdout)
    return 0 if found.usable else 1


def run_local(folder: Path, *, max_lists: int, stdout: TextIO) -> int:
    """`flowbot detect DIR`."""
    return _run(
        lambda: LocalSource(folder),
        max_lists,
        lambda _: [("FLOWBOT_LOCAL_DATA_DIR", str(folder.resolve()))],
        stdout,
    )


def run_s3(s3: Any, bucket: str, prefix: str, *, max_lists: int, stdout: TextIO) -> int:
    """`flowbot athena detect`."""
    prefix = prefix.strip("/")

    def extra(found: Detection) -> list[tuple[str, str]]:
        where = [("FLOWBOT_FLOW_LOGS_BUCKET", bucket)]
        where += [("FLOWBOT_FLOW_LOGS_PREFIX", prefix)] if prefix else []
        return [*where, ("FLOWBOT_FIRST_DAY", found.first_day.isoformat())]

    return _run(lambda: S3Source(s3, bucket, prefix), max_lists, extra, stdout)
