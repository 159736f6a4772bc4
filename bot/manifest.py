"""Reading the Slack app manifest (`bot/manifest.yml`): `flowbot manifest` prints it for a host, and the
OAuth install flow asks for exactly its bot scopes, so the two can never drift apart.

Imports nothing of Flowbot's: settings read the scopes from here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

MANIFEST_FILE = Path(__file__).resolve().parent / "manifest.yml"
"""The Slack app manifest, shipped inside the package so an installed `flowbot` (the image) has it."""


class ManifestError(Exception):
    """The manifest file is missing or holds no manifest; the message says which and what to do."""


def load_manifest(path: Path = MANIFEST_FILE) -> dict[str, Any]:
    """The manifest as a dict; ManifestError when the file is missing, not YAML, or holds no mapping."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(
            f"no manifest at {path}; run from a Flowbot checkout or give --file PATH"
        ) from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(loaded, dict):
        raise ManifestError(f"{path} holds no manifest (was the output redirected onto it?)")
    return loaded


def bot_scopes_of(manifest: dict[str, Any]) -> tuple[str, ...]:
    """`oauth_config.scopes.bot`, in the manifest's order (empty when it declares none)."""
    scopes = ((manifest.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return tuple(str(scope) for scope in scopes)


@cache
def manifest_bot_scopes(path: Path = MANIFEST_FILE) -> tuple[str, ...]:
    """The bot scopes the shipped manifest asks for (read once per process); empty when it cannot be read,
    which the OAuth settings check then reports."""
    try:
        return bot_scopes_of(load_manifest(path))
    except ManifestError:
        return ()
