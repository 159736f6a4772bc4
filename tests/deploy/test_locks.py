"""The lock files are the only source of what gets installed (README "Dependencies").

- requirements-dev.lock is one resolution of everything pyproject.toml names: the runtime dependencies, the
  `athena` extra and the `dev` and `build` groups; every requirement is pinned there in a version it allows.
- requirements.lock (the image's runtime set) and requirements-build.lock (pip and setuptools, which build
  Flowbot) are its subsets: the same versions and the same hashes, so the image runs what the tests ran.
- Every pin carries hashes.
- Every install command `make install` and the Dockerfile run is hash-checked, takes no dependency it was not
  given, and builds nothing with a build backend fetched at install time.
- The environment these tests run in holds exactly requirements-dev.lock (and Flowbot): a package installed
  by hand, or resolved by an install step, fails here.
"""

from __future__ import annotations

import importlib.metadata
import itertools
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.test_image import DOCKERFILE, stages

REPO = Path(__file__).resolve().parents[2]
DEV = REPO / "requirements-dev.lock"
RUNTIME = REPO / "requirements.lock"
BUILD = REPO / "requirements-build.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

Pins = dict[str, tuple[Version, frozenset[str]]]


def pins(lock: Path) -> Pins:
    """A lock file as {canonical name: (version, hashes)}."""
    found: dict[str, tuple[Version, set[str]]] = {}
    name = ""
    for line in lock.read_text(encoding="utf-8").splitlines():
        pin = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if pin:
            name = canonicalize_name(pin.group(1))
            assert name not in found, f"{lock.name} pins {name} twice"
            found[name] = (Version(pin.group(2)), set())
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            found[name][1].add(digest)
    assert found, f"{lock.name} pins nothing"
    return {n: (v, frozenset(h)) for n, (v, h) in found.items()}


def requirements(*parts: str) -> list[Requirement]:
    """The requirements of pyproject.toml's parts: `runtime`, `athena`, a dependency group, `build-system`."""
    project = PYPROJECT["project"]
    sources = {
        "runtime": project["dependencies"],
        "athena": project["optional-dependencies"]["athena"],
        "build-system": PYPROJECT["build-system"]["requires"],
        **PYPROJECT["dependency-groups"],
    }
    return [Requirement(spec) for part in parts for spec in sources[part]]


@pytest.mark.parametrize(
    ("lock", "parts"),
    [
        (RUNTIME, ("runtime", "athena")),
        (BUILD, ("build", "build-system")),
        (DEV, ("runtime", "athena", "dev", "build", "build-system")),
    ],
    ids=["runtime", "build", "dev"],
)
def test_every_requirement_is_pinned_in_a_version_it_allows(lock: Path, parts: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in requirements(*parts):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is not in {lock.name}: run `make lock`"
        version, _ = pinned[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name}=={version} breaks {requirement} (pyproject.toml): run `make lock`"
        )


@pytest.mark.parametrize("lock", [DEV, RUNTIME, BUILD], ids=lambda p: p.name)
def test_every_pin_carries_hashes(lock: Path) -> None:
    unhashed = [name for name, (_, hashes) in pins(lock).items() if not hashes]
    assert not unhashed, f"pins without hashes in {lock.name}: {unhashed}"


@pytest.mark.parametrize("subset", [RUNTIME, BUILD], ids=lambda p: p.name)
def test_the_image_locks_are_subsets_of_the_one_resolution(subset: Path) -> None:
    everything = pins(DEV)
    for name, pin in pins(subset).items():
        assert everything.get(name) == pin, (
            f"{name} in {subset.name} is {pin[0]}, in {DEV.name} {everything.get(name, ('missing',))[0]}: "
            "run `make lock`, which writes both from one resolution"
        )


def check_install(command: str) -> None:
    """An install step takes locked, hash-checked wheels, or builds Flowbot itself with the locked backend."""
    words = shlex.split(command)
    verb = next(after for word, after in itertools.pairwise(words) if word == "pip" or word.endswith("/pip"))
    assert verb in {"install", "download", "check"}, command
    if verb == "check":
        return
    assert "--no-deps" in words, f"resolves dependencies: {command}"
    if "-r" in words:
        assert "--require-hashes" in words and ("--only-binary", ":all:") in itertools.pairwise(words), (
            f"a lock installed without hashes or with source builds allowed: {command}"
        )
        assert Path(words[words.index("-r") + 1]).name in {DEV.name, RUNTIME.name, BUILD.name}, command
    else:
        assert words[-1] == "." and "--no-build-isolation" in words, (
            f"installs something that is not in a lock, or fetches a build backend: {command}"
        )


def pip_commands(lines: list[str]) -> list[str]:
    return [line for line in lines if re.search(r"(?:\bpip|-m pip) (install|download|check)\b", line)]


def test_make_install_takes_only_locked_packages(tmp_path: Path) -> None:
    planned = subprocess.run(
        ["make", "-n", "install", f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True, text=True
    )
    assert planned.returncode == 0, planned.stderr
    commands = pip_commands(planned.stdout.splitlines())
    assert len(commands) == 4, planned.stdout  # build lock, dev lock, Flowbot, pip check
    for command in commands:
        check_install(command)


def test_the_image_takes_only_locked_packages() -> None:
    runs = [step.argument for step in stages(DOCKERFILE)["build"] if step.keyword == "RUN"]
    commands = pip_commands([part for run in runs for part in re.split(r"\s*&&\s*", run)])
    assert len(commands) == 4, runs  # build lock, runtime lock, Flowbot, pip check
    for command in commands:
        check_install(command)


def test_these_tests_run_in_exactly_the_locked_environment() -> None:
    locked = {name: version for name, (version, _) in pins(DEV).items()}
    installed = {
        canonicalize_name(dist.metadata["Name"]): Version(dist.version)
        for dist in importlib.metadata.distributions()
    }
    assert installed.pop("flowbot", None) is not None, "Flowbot itself is not installed: run `make install`"
    extra = {n: str(v) for n, v in installed.items() if n not in locked}
    missing = sorted(set(locked) - set(installed))
    moved = {n: f"{locked[n]} locked, {v} installed" for n, v in installed.items() if locked.get(n, v) != v}
    assert not (extra or missing or moved), (
        f"this environment is not requirements-dev.lock (run `make install`): not locked {extra}, "
        f"missing {missing}, other versions {moved}"
    )
