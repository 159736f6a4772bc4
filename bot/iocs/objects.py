"""Write-once objects under a root, on S3 or on disk: the only storage the IOC store needs.

The store of record never rewrites anything: every submission and every audit event is a new object
under a unique key, so concurrent writers cannot overwrite each other, and `put_new` refuses (with
`ObjectExists`) rather than replace. Both back ends hold the same keys (`table/…`, `audit/…`), so
Athena reads the S3 prefix and the local engine reads the folder, with one layout.

Keys are relative, `/`-separated, and made of letters, digits, `.`, `_` and `-` (no segment starts
with `.`): safe as file names and as S3 keys, and never able to climb out of the root.
"""

from __future__ import annotations

import builtins
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any, Protocol

from bot.settings import Settings

_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*(?:/[A-Za-z0-9_-][A-Za-z0-9._-]*)*")
_PREFIX = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)?")
_TEMP_PREFIX = ".tmp-"
S3_CONFLICT_RETRIES = 5
"""S3 answers 409 ConditionalRequestConflict while another conditional write of the key is in flight."""


class ObjectExists(Exception):
    """The key is taken: write-once objects are never replaced."""


class ObjectMissing(LookupError):
    """No object has this key (perhaps a removal deleted it a moment ago)."""


def check_key(key: str) -> str:
    """A key is relative and plain; anything else is a bug in the caller, said loudly."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a valid object key: {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """A listing prefix: whole folders, then maybe the start of a name (`table/10.1.0.0_16__`)."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"not a valid key prefix: {prefix!r}")
    return prefix


class ObjectStore(Protocol):
    """Write-once objects: create, read, list, delete; never overwrite."""

    def put_new(self, key: str, data: bytes) -> None:
        """Create the object; raise `ObjectExists` if the key is taken (never overwrite)."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; raise `ObjectMissing` if there is none."""
        ...

    def list(self, prefix: str) -> builtins.list[str]:
        """Every key that starts with `prefix`, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error if it is already gone (removals may race)."""
        ...


class LocalObjectStore:
    """Objects as files under a folder; a reader never sees half a file, a writer never replaces one."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def put_new(self, key: str, data: bytes) -> None:
        """Write a temporary file beside the target, then hard-link it: the link fails if the name exists."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.parent / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temp, path)
            except FileExistsError:
                raise ObjectExists(key) from None
            _fsync_dir(path.parent)
        finally:
            temp.unlink(missing_ok=True)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise ObjectMissing(key) from None

    def list(self, prefix: str) -> builtins.list[str]:
        """Walk only the folder the prefix names; temporary files (`.tmp-…`) are no objects."""
        folder, _, _ = check_prefix(prefix).rpartition("/")
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        keys: builtins.list[str] = []
        for directory, subdirs, files in os.walk(start):
            subdirs[:] = [d for d in subdirs if not d.startswith(".")]
            relative = Path(directory).relative_to(self.root).as_posix()
            base = "" if relative == "." else relative + "/"
            keys.extend(base + name for name in files if not name.startswith("."))
        return sorted(k for k in keys if k.startswith(prefix))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make the new name itself durable, not just the file's bytes."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3ObjectStore:
    """Objects under `s3://bucket/prefix/`; `put_new` is a conditional PUT (`If-None-Match: *`)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")

    def __repr__(self) -> str:
        return f"S3ObjectStore('s3://{self.bucket}/{self.prefix}')"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_new(self, key: str, data: bytes) -> None:
        """S3 refuses the PUT with 412 when the key exists; keys are unique anyway, this is the guard."""
        full = self._key(check_key(key))
        for attempt in range(S3_CONFLICT_RETRIES):
            try:
                self.client.put_object(Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*")
                return
            except self.client.exceptions.ClientError as exc:
                code = exc.response.get("Error", {}).get("Code")
                if code == "PreconditionFailed":
                    raise ObjectExists(key) from None
                if code != "ConditionalRequestConflict" or attempt == S3_CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def get(self, key: str) -> bytes:
        full = self._key(check_key(key))
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=full)
        except self.client.exceptions.NoSuchKey:
            raise ObjectMissing(key) from None
        except self.client.exceptions.ClientError as exc:
            # S3 answers a missing key with 403, not 404, to a caller whose s3:ListBucket is limited to a
            # prefix (the least-privilege policy, bot/aws/iam.py): a GetObject carries no s3:prefix. A listing
            # of the key itself, which that policy allows, tells a removed object from a real refusal.
            if exc.response.get("Error", {}).get("Code") != "AccessDenied" or self._listed(full):
                raise
            raise ObjectMissing(key) from None
        body: bytes = response["Body"].read()
        return body

    def _listed(self, full: str) -> bool:
        found = self.client.list_objects_v2(Bucket=self.bucket, Prefix=full, MaxKeys=1)
        return any(obj["Key"] == full for obj in found.get("Contents", []))

    def list(self, prefix: str) -> builtins.list[str]:
        start = len(self._key(""))
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self._key(check_prefix(prefix))
        )
        return sorted(obj["Key"][start:] for page in pages for obj in page.get("Contents", []))

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(check_key(key)))


def object_store_for(settings: Settings) -> ObjectStore:
    """The store `FLOWBOT_IOC_STORE` names: `s3://bucket/prefix` or a folder (`~` expanded)."""
    if settings.ioc_store.startswith("s3://"):
        import boto3  # only the S3 store needs it (the `athena` extra)

        bucket, _, prefix = settings.ioc_store.removeprefix("s3://").partition("/")
        return S3ObjectStore(boto3.client("s3", region_name=settings.athena_region), bucket, prefix)
    return LocalObjectStore(Path(settings.ioc_store).expanduser())
