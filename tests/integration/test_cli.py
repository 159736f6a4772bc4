"""`flowbot ask` as a responder runs it: the console script in its own process, on real files."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_END
from tests.flowlog_oracle import Row, expected_count, expected_ratio

START = SAMPLE_END.replace(day=SAMPLE_END.day - 1)
WINDOW = ["--from", f"{START:%Y-%m-%dT%H:%M}", "--to", f"{SAMPLE_END:%Y-%m-%dT%H:%M}"]
BOUNDS = (int(START.timestamp()), int(SAMPLE_END.timestamp()), f"{START:%Y/%m/%d}", f"{SAMPLE_END:%Y/%m/%d}")


def flowbot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_json_is_one_object_with_the_whole_result(sample_root: Path, oracle_rows: list[Row]) -> None:
    done = flowbot("ask", "--data", str(sample_root), "--format", "json", "--", "ratio", "10.0.1.25", *WINDOW)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert set(doc) == {"query", "columns", "rows", "window", "stats"}
    assert doc["window"] == {"from": f"{START:%Y-%m-%dT%H:%M:%S}Z", "to": f"{SAMPLE_END:%Y-%m-%dT%H:%M:%S}Z"}
    expected = expected_ratio(oracle_rows, "10.0.1.25", *BOUNDS)
    assert doc["rows"] == [list(r) for r in expected]
    assert doc["stats"]["rows"] == len(expected)
    assert doc["stats"]["files_scanned"] > 0 and doc["stats"]["bytes_scanned"] > 0
    assert isinstance(doc["stats"]["elapsed_ms"], int)


def test_text_as_one_argument(sample_root: Path, oracle_rows: list[Row]) -> None:
    done = flowbot("ask", "--data", str(sample_root), "--format", "json", " ".join(["count", *WINDOW]))
    assert json.loads(done.stdout)["rows"] == [[expected_count(oracle_rows, *BOUNDS)]]


def test_table_prints_the_phone_summary_and_writes_the_csv(
    sample_root: Path, tmp_path: Path, oracle_rows: list[Row]
) -> None:
    out = tmp_path / "ratio.csv"
    done = flowbot("ask", "--data", str(sample_root), "--out", str(out), "ratio", "10.0.1.25", *WINDOW)
    assert done.returncode == 0, done.stderr
    assert "Data ratio · ratio 10.0.1.25" in done.stdout
    assert "203.0.113.66" in done.stdout
    assert "UTC" in done.stdout and "scanned" in done.stdout
    rows = list(csv.reader(out.open()))
    assert len(rows) == 1 + len(expected_ratio(oracle_rows, "10.0.1.25", *BOUNDS))


def test_csv_to_stdout(sample_root: Path) -> None:
    done = flowbot(
        "ask", "--data", str(sample_root), "--format", "csv", "top", "dst", "--limit", "5", *WINDOW
    )
    rows = list(csv.reader(io.StringIO(done.stdout)))
    assert rows[0] == ["destinationaddress", "record_count", "total_bytes"]
    assert len(rows) == 6


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["ratio", "10.0.1"], "`10.0.1` is not an IP address"),
        (["count", "--last", "soon"], "--last takes a duration"),
        (["frobnicate"], "unknown command"),
    ],
)
def test_bad_input_exits_2_with_one_line(sample_root: Path, args: list[str], says: str) -> None:
    done = flowbot("ask", "--data", str(sample_root), *args)
    assert done.returncode == 2
    assert says in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    if args[0] != "frobnicate":
        assert len(done.stderr.strip().splitlines()) == 1


def test_missing_data_exits_1_with_one_line(tmp_path: Path) -> None:
    done = flowbot("ask", "--data", str(tmp_path / "nowhere"), "count")
    assert done.returncode == 1
    assert "no flow logs at" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_sample_data_is_deterministic(tmp_path: Path) -> None:
    args = ["--end", "2026-11-20T00:00Z", "--days", "1", "--scale", "0.05"]
    assert flowbot("sample-data", str(tmp_path / "a"), *args).returncode == 0
    assert flowbot("sample-data", str(tmp_path / "b"), *args).returncode == 0
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.gz"))
    b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.gz"))
    assert a == b and a
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in a)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["serve"], "FLOWBOT_SLACK_SIGNING_SECRET is not set"),
        (["serve", "--socket"], "FLOWBOT_SLACK_APP_TOKEN"),
    ],
)
def test_serve_without_its_settings_says_which_is_missing(args: list[str], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWBOT_")}
    env["FLOWBOT_SLACK_BOT_TOKEN"] = "xoxb-test"
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1
    assert says in done.stderr and "Traceback" not in done.stderr
