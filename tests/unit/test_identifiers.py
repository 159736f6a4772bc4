"""The AWS and Slack identifier forms: what each takes and refuses, and that the models use them."""

from __future__ import annotations

import re

import pytest

from bot import identifiers
from bot.identifiers import ACCOUNT_ID, CHANNEL_ID, CONVERSATION_ID, REGION, SLACK_ID, TEAM_ID, USER_ID
from bot.request import FlowRequest


@pytest.mark.parametrize(
    ("pattern", "taken", "refused"),
    [
        (ACCOUNT_ID, ["012345678901"], ["12345678901", "0123456789012", "\u0660" * 12, "012345678901\n"]),
        (
            REGION,
            ["us-east-1", "ap-southeast-2", "us-gov-west-1"],
            ["US-EAST-1", "us-east", "us-east-\u0661", "east-1"],
        ),
        (USER_ID, ["U0AAA", "W012A3BCD"], ["C0AAA", "u0aaa", "U0"]),
        (CHANNEL_ID, ["C012AB3CD", "G0AAA"], ["D0AAA", "U0AAA"]),
        (CONVERSATION_ID, ["C012AB3CD", "G0AAA", "D0AAA"], ["U0AAA", "S0AAA"]),
        (SLACK_ID, ["U0AAA", "W0AAA", "S0IRTEAM", "C0AAA", "G0AAA", "D0AAA"], ["T0AAA", "E0AAA", "B0AAA"]),
        (TEAM_ID, ["T0001", "E0AAA"], ["U0AAA", "t0001"]),
    ],
)
def test_each_form_takes_its_ids_and_no_others(
    pattern: re.Pattern[str], taken: list[str], refused: list[str]
) -> None:
    assert all(pattern.fullmatch(v) for v in taken)
    assert not any(pattern.fullmatch(v) for v in refused)


def test_every_form_is_anchored_for_pydantic() -> None:
    forms = [v for k, v in vars(identifiers).items() if k.isupper()]
    assert forms and all(f.pattern.startswith("^") and f.pattern.endswith("$") for f in forms)


def test_a_request_checks_its_account_and_region_with_the_same_forms() -> None:
    assert FlowRequest.model_fields["account"].metadata[0].pattern == ACCOUNT_ID.pattern
    assert FlowRequest.model_fields["region"].metadata[0].pattern == REGION.pattern
