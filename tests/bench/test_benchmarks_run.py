"""The benchmarks still run, at tiny sizes: each returns its figures and passes its own checks (every
acknowledged command queued, counts equal to the records generated, the uploaded CSV holding every row
asked for, the Athena call counts). Nothing here is timed: `make bench` measures, tests do not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis

from bench import (
    bench_ack,
    bench_answer,
    bench_athena,
    bench_deadlines,
    bench_enrich,
    bench_export,
    bench_faults,
    bench_layouts,
    bench_one_scan,
    bench_scan,
    bench_watch,
    datasets,
)
from bench.report import Figure, markdown
from tests.conftest import SAMPLE_END


def named(figures: list[Figure]) -> dict[str, Figure]:
    return {f"{f.section}: {f.what}": f for f in figures}


def test_report_table_has_a_row_per_figure() -> None:
    figures = [Figure("s", "a", 1500.0, "ms", 3000.0, "limit"), Figure("s", "b", 2.0, "jobs/s")]
    table = markdown(figures).splitlines()
    assert len(table) == 2 + len(figures)
    assert table[2].startswith("| s | a | 1,500 ms | 3,000 ms (limit) | 0.5x |")


@pytest.mark.e2e
def test_ack_bench_queues_every_acknowledged_command(sample_root: Path) -> None:
    figures = named(bench_ack.figures(sample_root, rates=(20,), seconds=1))
    p99 = figures["Ack at 20 commands/s: p99"]
    assert p99.reference == bench_ack.SLACK_LIMIT_MS and p99.value > 0
    assert "20 jobs enqueued, 0 failed" in figures["Ack at 20 commands/s: p50"].note


@pytest.mark.e2e
def test_deadline_bench_sends_its_commands_through_a_rate_limited_group_check(sample_root: Path) -> None:
    figures = named(bench_deadlines.figures(sample_root, count=2))
    worst = figures["Deadlines: ioc add ack, group lookup rate-limited: max"]
    assert worst.reference == bench_deadlines.SLACK_LIMIT_MS and worst.value > 0
    assert "2 commands" in worst.note and "429" in worst.note


@pytest.mark.e2e
def test_answer_bench_with_one_and_four_workers(sample_root: Path) -> None:
    figures = named(bench_answer.figures(sample_root, count=3, alone=1))
    assert figures["Command to answer, 4 workers: jobs/s sustained"].reference is not None
    assert figures["Command to answer, 1 worker: one command alone (median)"].value > 0


@pytest.mark.e2e
def test_export_bench_uploads_every_row(sample_root: Path) -> None:
    start = SAMPLE_END - timedelta(days=3)
    figures = named(bench_export.figures(sample_root, start, SAMPLE_END, sizes=(100, 1_000)))
    assert "1,000 rows" in figures["CSV export and upload: peak RSS, 1,000 rows"].note


def test_scan_bench_counts_what_it_generated(tmp_path: Path) -> None:
    figures = bench_scan.figures(tmp_path, runs=1, records=20_000, light_records=1_000)
    assert any("30-day dataset" in f.what for f in figures), [f.what for f in figures]


def test_layout_bench_gets_the_same_answers_from_both_layouts(tmp_path: Path) -> None:
    figures = bench_layouts.figures(tmp_path, scale=0.05, runs=1)  # asserts the layouts' answers agree
    read = [f for f in figures if f.what.startswith("bytes read")]
    assert len(read) == 6 and all(f.reference for f in read)
    one_hour_count = next(f for f in read if "`count`, 1-hour" in f.what)
    assert one_hour_count.value < one_hour_count.reference  # type: ignore[operator]


def test_athena_bench_counts_calls() -> None:
    figures = bench_athena.figures(rows=2_500)
    calls = next(f for f in figures if f.what.startswith("API calls"))
    # 2,501 rows with the header make 3 pages of 1,000; the first is read inside engine.run for the summary
    # on both paths, so what follows is one GetObject against the 2 remaining pages.
    assert (calls.value, calls.reference) == (1, 2)


def test_enrich_bench_names_what_it_built(redis_url: str) -> None:
    """Small inventories and ranges: the bench's own checks hold (known addresses named, a known S3 address
    `S3 us-east-1`, sampled lookups equal to a brute-force longest match, the cached inventory read back
    from Redis equal to the one stored), and its key is gone afterwards."""
    figures = named(bench_enrich.figures(redis_url, sizes=(50, 200), ipv4=300, ipv6=100, rows=2_000, runs=1))
    load = next(f for f in figures.values() if f.what.startswith("Redis round trip"))
    assert load.reference == bench_enrich.LIMIT_MS == 3_000 and load.value > 0 and "200 ENIs" in load.what
    csv = figures[f"{bench_enrich.SECTION}: `ratio` CSV with `_name` columns (ColumnNamer), per 100,000 rows"]
    assert csv.reference and "2,000 rows" in csv.note
    assert len(figures) == 9
    assert not Redis.from_url(redis_url).keys("flowbot:enrich:*")


def test_one_scan_bench_reads_before_and_after_and_gets_the_same_rows(tmp_path: Path) -> None:
    data = datasets.one_day(tmp_path, records=20_000)
    figures = named(bench_one_scan.figures(data, before="HEAD", counts=(10, 100)))
    assert figures["One read per answer: hunt: flow-table reads in the Athena SQL"].value == 1
    assert (
        figures["One read per answer: talkers: flow-table reads in the Athena SQL"].reference == 1
    )  # at HEAD
    hunt = figures["One read per answer: hunt, 100 indicators, 20,000 records: time"]
    assert hunt.reference is not None and "rows" in hunt.note
    assert len(bench_one_scan.indicators(1_000)) == len(set(bench_one_scan.indicators(1_000))) == 1_000


@pytest.mark.e2e
@pytest.mark.parametrize(("fault", "jobs"), [("worker-kill", 2), ("redis-restart", 3), ("status-429", 3)])
def test_fault_bench_answers_each_command_once(sample_root: Path, fault: str, jobs: int) -> None:
    """The fault suite at a small size: real processes, a private Redis, each fault applied; every command
    answered exactly once, and what the fault must leave true (workers alive, no stale status) held."""
    outcome = bench_faults.FAULTS[fault](sample_root, jobs)
    assert (outcome.tried, outcome.once) == (jobs, jobs), outcome
    assert outcome.held and all(outcome.held.values()), outcome.held
    assert len(outcome.seconds) == jobs


@pytest.mark.e2e
def test_fault_bench_delivers_what_slack_refused_once_it_is_back(sample_root: Path) -> None:
    """Slack down (every call 503) while two jobs run, back after 20 s: both answers kept, then re-sent by the
    workers' maintenance into their status messages' threads, each asker told once by DM, nothing left."""
    outcome = bench_faults.slack_down(sample_root, 2, down_seconds=20, quick=True)
    assert (outcome.tried, outcome.once) == (2, 2), outcome
    assert outcome.held and all(outcome.held.values()), outcome.held


@pytest.mark.e2e
def test_watch_bench_posts_each_new_hit_once() -> None:
    """The watch bench at a small size, with everything running (no restart): two deliveries, each new host
    posted once, the connection that goes on not again, nothing else."""
    tally = bench_watch.run(2, 4, restart_every=3)
    assert tally.expected == ["10.0.9.1", "10.0.9.2"]
    assert tally.posted == tally.expected
    assert len(tally.calm) == 2 and not tally.restarted
    (once, *_) = bench_watch.figures(tally, 4)
    assert (once.value, once.reference) == (2, 2)
