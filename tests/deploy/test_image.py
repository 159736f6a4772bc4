"""The container image, checked without a container engine (this machine has only the docker client;
`.ci/build-image` builds and runs the real image wherever an engine answers).

- hadolint passes on the Dockerfile at its strictest threshold;
- the runtime stage is what the chart relies on (numeric non-root user, `flowbot` entry point, a health
  check, no secret-looking ENV or ARG);
- the build stage, replayed here instruction by instruction (WORKDIR, COPY from a context filtered by
  .dockerignore, ENV, RUN with the image's paths mapped into a temporary root), produces a virtualenv
  whose `flowbot` answers a question the independent oracle also answers, prints the Slack manifest and
  passes its readiness check: a file the Dockerfile forgets to COPY, a package the lock misses or a
  package-data file the wheel leaves out fails here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_ratio

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
START = SAMPLE_END.replace(day=SAMPLE_END.day - 1)
WINDOW = ["--from", f"{START:%Y-%m-%dT%H:%M}", "--to", f"{SAMPLE_END:%Y-%m-%dT%H:%M}"]
BOUNDS = (int(START.timestamp()), int(SAMPLE_END.timestamp()), f"{START:%Y/%m/%d}", f"{SAMPLE_END:%Y/%m/%d}")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    argument: str


def stages(dockerfile: Path) -> dict[str, list[Instruction]]:
    """Instructions per stage (named by `AS name`, the last one `runtime`), continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in dockerfile.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    found: dict[str, list[Instruction]] = {}
    current: list[Instruction] | None = None
    for line in logical:
        keyword, _, argument = line.partition(" ")
        if keyword.upper() == "FROM":
            name = argument.split(" AS ")[1].strip() if " AS " in argument else "runtime"
            current = found.setdefault(name, [])
            continue
        if current is not None:
            current.append(Instruction(keyword.upper(), argument.strip()))
    return found


def ignored(patterns: list[str], relative: Path) -> bool:
    """.dockerignore's rule for the patterns this repository uses (`**/name`, `name`, `*.ext`)."""
    text = relative.as_posix()
    for pattern in patterns:
        if pattern.startswith("**/") and any(fnmatch.fnmatch(part, pattern[3:]) for part in relative.parts):
            return True
        if fnmatch.fnmatch(text, pattern) or fnmatch.fnmatch(relative.parts[0], pattern):
            return True
    return False


def replay_build_stage(root: Path) -> Path:
    """Run the Dockerfile's build stage with every image path under `root`; returns the virtualenv."""
    patterns = [
        p.strip()
        for p in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if p.strip() and not p.startswith("#")
    ]
    mapped: list[str] = []  # image paths the stage creates, longest first when substituting

    def host(path: str) -> Path:
        return root / path.lstrip("/")

    def substitute(command: str) -> str:
        for path in sorted(mapped, key=len, reverse=True):
            command = re.sub(rf"(?<![\w/.]){re.escape(path)}(?=/|\s|$)", str(host(path)), command)
        words = shlex.split(command)
        if words and words[0] == "python":
            command = shlex.quote(sys.executable) + command[len("python") :]
        return command

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    cwd = root
    venv: Path | None = None
    for step in stages(DOCKERFILE)["build"]:
        if step.keyword == "WORKDIR":
            mapped.append(step.argument)
            cwd = host(step.argument)
            cwd.mkdir(parents=True, exist_ok=True)
        elif step.keyword == "ENV":
            for pair in shlex.split(step.argument):
                key, _, value = pair.partition("=")
                env[key] = value
        elif step.keyword == "COPY":
            *sources, dest = shlex.split(step.argument)
            assert not any(s.startswith("--") for s in sources), (
                f"the replay copies from the context only: {step}"
            )
            base = host(dest) if dest.startswith("/") else cwd / dest
            for source in sources:
                origin = REPO / source
                if origin.is_dir():  # Docker copies a folder's contents into the destination
                    shutil.copytree(
                        origin,
                        base,
                        ignore=lambda folder, names: [
                            n for n in names if ignored(patterns, (Path(folder) / n).relative_to(REPO))
                        ],
                        dirs_exist_ok=True,
                    )
                    continue
                target = base / origin.name if dest.endswith("/") else base
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
        elif step.keyword == "RUN":
            venv_target = re.search(r"-m venv (\S+)", step.argument)
            if venv_target:
                mapped.append(venv_target.group(1))
                venv = host(venv_target.group(1))
            done = subprocess.run(
                ["bash", "-c", substitute(step.argument)],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert done.returncode == 0, f"RUN {step.argument}\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        else:
            pytest.fail(f"the build-stage replay does not know {step.keyword}: teach it, or keep it out")
    assert venv is not None, "the build stage makes no virtualenv"
    return venv


def test_hadolint_passes_at_its_strictest() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"
    assert hadolint.exists(), "hadolint not found: run `make install`"
    done = subprocess.run(
        [str(hadolint), "--failure-threshold", "style", "--no-color", str(DOCKERFILE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_runtime_stage_is_what_the_chart_expects() -> None:
    runtime = stages(DOCKERFILE)["runtime"]
    last = {step.keyword: step.argument for step in runtime}
    assert re.fullmatch(r"\d+:\d+", last["USER"]) and not last["USER"].startswith("0:"), (
        "USER must be numeric and non-root (Kubernetes' runAsNonRoot checks a numeric uid)"
    )
    assert last["USER"] == "10001:10001"  # helm/flowbot's runAsUser / runAsGroup
    assert json.loads(last["ENTRYPOINT"]) == ["flowbot"]
    assert json.loads(last["CMD"]) == ["serve"]
    assert "CMD" in last["HEALTHCHECK"] and "flowbot" in last["HEALTHCHECK"]
    assert last["WORKDIR"] == "/tmp"  # noqa: S108  writable under a read-only root (an emptyDir)
    for step in runtime + stages(DOCKERFILE)["build"]:
        if step.keyword in {"ENV", "ARG"}:
            assert not re.search(r"(TOKEN|SECRET|PASSWORD)\w*=\S", step.argument, re.IGNORECASE), step


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return replay_build_stage(tmp_path_factory.mktemp("image-root"))


def run_installed(venv: Path, home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    runtime_env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(home),
        "FLOWBOT_LOCAL_DATA_DIR": str(home / "data" / "flowlogs"),
        "FLOWBOT_IOC_STORE": str(home / "data" / "iocs"),
        "FLOWBOT_UNDELIVERED_DIR": str(home / "data" / "undelivered"),
        **env,
    }
    return subprocess.run(
        [str(venv / "bin" / "flowbot"), *args],
        capture_output=True,
        text=True,
        cwd=home,
        env=runtime_env,
        timeout=300,
    )


def test_built_package_runs_outside_the_checkout(image_venv: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [
            str(image_venv / "bin" / "python"),
            "-c",
            "import bot, handlers, query_templates; print(bot.__file__)",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(image_venv), "flowbot imported from the checkout"
    shutil.rmtree(image_venv.parents[1] / "src")  # nothing may depend on the build stage's source tree
    manifest = run_installed(image_venv, tmp_path, "manifest", "--socket")
    assert manifest.returncode == 0, manifest.stderr
    assert yaml.safe_load(manifest.stdout)["settings"]["socket_mode_enabled"] is True


def test_built_package_answers_like_the_oracle(
    image_venv: Path, tmp_path: Path, sample_root: Path, oracle_rows: list[Row]
) -> None:
    done = run_installed(
        image_venv,
        tmp_path,
        "ask",
        "--data",
        str(sample_root),
        "--format",
        "json",
        "--",
        "ratio",
        "10.0.1.25",
        *WINDOW,
    )
    assert done.returncode == 0, done.stderr
    expected = expected_ratio(oracle_rows, "10.0.1.25", *BOUNDS)
    assert expected and json.loads(done.stdout)["rows"] == [list(r) for r in expected]


def test_built_package_readiness_check(image_venv: Path, tmp_path: Path, redis_url: str) -> None:
    not_ready = run_installed(image_venv, tmp_path, "check", FLOWBOT_REDIS_URL=redis_url)
    assert not_ready.returncode == 1 and "no flow logs" in not_ready.stderr
    made = run_installed(
        image_venv, tmp_path, "sample-data", str(tmp_path / "data" / "flowlogs"), "--days", "1"
    )
    assert made.returncode == 0, made.stderr
    ready = run_installed(image_venv, tmp_path, "check", FLOWBOT_REDIS_URL=redis_url)
    assert ready.returncode == 0, ready.stderr
    assert ready.stdout.startswith("ready: redis: ok")
