"""`/flow` end to end on the Athena engine: the app and a worker in their own processes, the worker's
boto3 pointed at a moto server standing in for Athena and S3 (moto runs no SQL: the test queues the
rows Athena would return, computed by the independent oracle from the sample logs)."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.server import ThreadedMotoServer

from bot.query.catalog import load_catalog
from tests.flowlog_oracle import RATIO_COLUMNS, Row
from tests.mock_slack import MockSlack
from tests.scenarios.flowbot_processes import WINDOW, free_port, run_worker, slash, window_ratio

pytestmark = pytest.mark.e2e
REGION = "us-east-1"
RESULTS = "flowbot-athena-results"


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def env(env: dict[str, str], moto_url: str) -> dict[str, str]:
    """The scenario environment, with the engine switched to Athena and AWS pointed at moto."""
    aws = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }
    boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=RESULTS)
    return {
        **env,
        **aws,
        "FLOWBOT_ENGINE": "athena",
        "FLOWBOT_ATHENA_REGION": REGION,
        "FLOWBOT_ATHENA_OUTPUT_LOCATION": f"s3://{RESULTS}/results/",
    }


def queue_athena_result(moto_url: str, rows: list[tuple[object, ...]]) -> None:
    """The next query moto 'runs' returns these rows under the ratio template's columns."""
    columns = [{"Name": c.name, "Type": c.type} for c in load_catalog()["ratio"].columns]

    def data(values: tuple[object, ...]) -> dict[str, object]:
        return {"Data": [{} if v is None else {"VarCharValue": str(v)} for v in values]}

    body = {
        "account_id": DEFAULT_ACCOUNT_ID,
        "region": REGION,
        "results": [{"rows": [data(RATIO_COLUMNS), *(data(r) for r in rows)], "column_info": columns}],
    }
    request = urllib.request.Request(  # noqa: S310
        moto_url + "/moto-api/static/athena/query-results",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=10).read()  # noqa: S310


def test_ratio_on_athena_is_answered_with_summary_cost_and_the_result_csv(
    app_url: str, env: dict[str, str], moto_url: str, mock_slack: MockSlack, oracle_rows: list[Row]
) -> None:
    expected = window_ratio(oracle_rows, "10.0.1.25")
    queue_athena_result(moto_url, expected)
    status, _ = slash(app_url, f"ratio 10.0.1.25 {WINDOW}", trigger_id="trig-athena-1")
    assert status == 200
    run_worker(env)

    status_message, posted = mock_slack.wait_for("chat.postMessage", count=2)
    assert posted.params["thread_ts"] == status_message.response["ts"]
    blocks = json.dumps(posted.json_param("blocks"))
    assert expected[0][1] in blocks and f"{len(expected):,} rows" in blocks
    assert "(athena)" in blocks and "$" in blocks  # the cost of the scan, at the configured price
    (uploaded,) = mock_slack.uploads.values()
    rows = list(csv.reader(io.StringIO(uploaded.decode())))
    assert rows[0] == list(RATIO_COLUMNS)
    assert rows[1:] == [["" if v is None else str(v) for v in row] for row in expected]
