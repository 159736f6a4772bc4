"""Many writers at once: every submission is stored and audited, none lost or overwritten.

On a real folder the writers are separate (forked) processes sharing nothing but the file system; on S3 they
are threads with their own boto3 clients against a moto server over HTTP. The same few indicators
are submitted by every writer at the same moment. A second test races removals against the adds and
checks there is never a half state: the audit history, read in id order, says exactly what the
table holds (an indicator's rows are its adds newer than its latest removal).
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from bot.iocs.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from bot.iocs.store import IocStore, Submission

INDICATORS = ("203.0.113.7", "198.51.100.0/24", "2600:1f18::1", "192.0.2.44")
WRITERS = 8
PER_WRITER = 25
ADDERS = 6
REMOVERS = 2
REMOVALS_EACH = 15
REGION = "us-east-1"
BUCKET = "flowbot-iocs"
Result = tuple[str, str]
"""A submission as JSON, and the outcome `add` reported for it."""


def submit_batch(store: IocStore, writer: int, count: int) -> list[Result]:
    """One writer's submissions, one `add` call each, cycling through the shared indicators."""
    results: list[Result] = []
    for n in range(count):
        submission = Submission.new(
            INDICATORS[(writer + n) % len(INDICATORS)],
            comment=f'writer {writer}, "submission" {n}',
            submitted_by=f"cli:writer{writer}",
            channel=None,
            source="cli",
        )
        [outcome] = store.add([submission])
        results.append((submission.model_dump_json(), outcome.outcome))
    return results


def remove_batch(store: IocStore, remover: int, count: int) -> None:
    """One responder removing indicators again and again while others add them."""
    pick = random.Random(remover)
    for _ in range(count):
        store.remove(pick.choice(INDICATORS), actor=f"cli:remover{remover}", channel=None, source="cli")


def _local_writer(root: str, writer: int, barrier: ProcessBarrier, out: Queue[list[Result]]) -> None:
    """A process: its own store over the shared folder, released with all the others at once."""
    store = IocStore(LocalObjectStore(Path(root)))
    barrier.wait()
    out.put(submit_batch(store, writer, PER_WRITER))


def _local_racer(root: str, role: int, barrier: ProcessBarrier, out: Queue[list[Result]]) -> None:
    """A process that adds (role < ADDERS) or removes (the others)."""
    store = IocStore(LocalObjectStore(Path(root)))
    barrier.wait()
    if role < ADDERS:
        out.put(submit_batch(store, role, PER_WRITER))
    else:
        remove_batch(store, role, REMOVALS_EACH)
        out.put([])


def run_processes(target: Callable[..., None], count: int, root: Path) -> list[Result]:
    """Start `count` spawned processes together; gather what they report."""
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(count)
    out: Queue[list[Result]] = context.Queue()
    processes = [context.Process(target=target, args=(str(root), n, barrier, out)) for n in range(count)]
    for process in processes:
        process.start()
    results = [result for _ in processes for result in out.get(timeout=120)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    return results


def run_threads(jobs: Sequence[Callable[[], list[Result]]]) -> list[Result]:
    """Run the jobs in threads released together; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    results: list[Result] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run(job: Callable[[], list[Result]]) -> None:
        try:
            barrier.wait()
            done = job()
            with lock:
                results.extend(done)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    if failures:
        raise failures[0]
    return results


def check_every_submission_stored(store: IocStore, objects: ObjectStore, results: list[Result]) -> None:
    submissions = {s.submission_id: s for s in (Submission.model_validate_json(r) for r, _ in results)}
    outcomes = {Submission.model_validate_json(r).submission_id: o for r, o in results}
    assert len(submissions) == WRITERS * PER_WRITER
    assert len(objects.list("table/")) == len(submissions)
    assert len(objects.list("audit/")) == len(submissions)
    stored = {s.submission_id: s for active in store.active() for s in active.submissions}
    assert stored == submissions  # every one, each exactly as submitted
    for indicator in INDICATORS:
        mine = sorted(i for i, s in submissions.items() if s.indicator == indicator)
        history = store.history(indicator)
        assert [e.submission_id for e in history] == mine
        assert {e.action for e in history} == {"add"}
        assert outcomes[mine[0]] == "added"  # nothing older: the first is always told "added"
    assert set(outcomes.values()) <= {"added", "known"}


def check_no_half_state(store: IocStore, objects: ObjectStore, results: list[Result]) -> None:
    submitted = {Submission.model_validate_json(r).submission_id: o for r, o in results}
    assert len(submitted) == ADDERS * PER_WRITER
    active = {a.indicator: {s.submission_id for s in a.submissions} for a in store.active()}
    audited_adds: set[str] = set()
    for indicator in INDICATORS:
        history = store.history(indicator)
        adds = [e.submission_id for e in history if e.action == "add"]
        removals = [e.submission_id for e in history if e.action == "remove"]
        audited_adds.update(adds)
        latest_removal = max(removals, default="")
        assert active.get(indicator, set()) == {a for a in adds if a > latest_removal}, indicator
        for add in adds:
            if submitted[add] == "removed":
                assert any(removal > add for removal in removals)
    assert audited_adds == set(submitted)  # every submission audited, removed or not
    assert len(objects.list("table/")) == sum(len(ids) for ids in active.values())


def test_concurrent_processes_on_a_folder(tmp_path: Path) -> None:
    results = run_processes(_local_writer, WRITERS, tmp_path)
    objects = LocalObjectStore(tmp_path)
    check_every_submission_stored(IocStore(objects), objects, results)
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_concurrent_adds_and_removals_on_a_folder(tmp_path: Path) -> None:
    results = run_processes(_local_racer, ADDERS + REMOVERS, tmp_path)
    objects = LocalObjectStore(tmp_path)
    check_no_half_state(IocStore(objects), objects, results)


@pytest.fixture
def moto_url() -> Iterator[str]:
    """moto's S3 over real HTTP, so the writers' requests really interleave; emptied before each test
    (moto keeps its state per process, not per server)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()  # noqa: S310
    try:
        yield url
    finally:
        server.stop()


def s3_client(url: str) -> Any:
    return boto3.session.Session().client(
        "s3",
        region_name=REGION,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(max_pool_connections=20, retries={"max_attempts": 2}),
    )


def s3_store(url: str) -> S3ObjectStore:
    return S3ObjectStore(s3_client(url), BUCKET, "incident/iocs")


def test_concurrent_threads_on_s3(moto_url: str) -> None:
    s3_client(moto_url).create_bucket(Bucket=BUCKET)
    stores = [IocStore(s3_store(moto_url)) for _ in range(WRITERS)]  # clients made before the threads
    results = run_threads([partial(submit_batch, store, n, PER_WRITER) for n, store in enumerate(stores)])
    objects = s3_store(moto_url)
    check_every_submission_stored(IocStore(objects), objects, results)


def test_concurrent_adds_and_removals_on_s3(moto_url: str) -> None:
    s3_client(moto_url).create_bucket(Bucket=BUCKET)
    adders = [IocStore(s3_store(moto_url)) for _ in range(ADDERS)]
    removers = [IocStore(s3_store(moto_url)) for _ in range(REMOVERS)]

    def removing(store: IocStore, n: int) -> list[Result]:
        remove_batch(store, n, REMOVALS_EACH)
        return []

    results = run_threads(
        [partial(submit_batch, store, n, PER_WRITER) for n, store in enumerate(adders)]
        + [partial(removing, store, ADDERS + n) for n, store in enumerate(removers)]
    )
    objects = s3_store(moto_url)
    check_no_half_state(IocStore(objects), objects, results)
