"""The check the conformance tests apply to every SDK answer is strict: it finds the type an
endpoint declares, rejects a missing required field, a wrong type or a coercible string, and
lets a null through only where `UNKNOWABLE` says, in the state it names. No server needed."""

from __future__ import annotations

from typing import Any

import pytest
from northflank import ApiCallResponse, ApiClient, RequestInfo
from northflank._types import GetJobBuildResponse, GetJobBuildsResponse

from tests.conformance.sdk_types import conforms, declared_type

SDK = ApiClient(api_token="unused", base_url="http://127.0.0.1:1")
RUN = {
    "id": "joyous-view-6290",
    "runName": "job-abcde",
    "status": "SUCCESS",
    "active": 0,
    "succeeded": 1,
    "failed": 0,
    "completions": 1,
    "backoffLimit": 0,
    "concluded": True,
    "startedAt": "2021-07-28T15:55:38.296Z",
    "concludedAt": "2021-07-28T15:56:38.296Z",
}


def answer(data: Any) -> ApiCallResponse[Any]:
    return ApiCallResponse(data=data, request=RequestInfo(url="", method="GET"), status=200)


def test_the_declared_type_of_a_call_and_of_all() -> None:
    assert declared_type(SDK.get.job.build) is GetJobBuildResponse
    assert declared_type(SDK.get.job.builds, "all") is GetJobBuildsResponse


@pytest.mark.parametrize(
    "change",
    [
        {"id": None},
        {"active": "0"},
        {"concluded": "true"},
        {"status": "QUEUED"},
        {"runName": 7},
    ],
)
def test_a_wrong_field_is_rejected(change: dict[str, Any]) -> None:
    with pytest.raises(AssertionError, match="rejects"):
        conforms(SDK.get.job.run, answer(RUN | change))


def test_a_missing_required_field_is_rejected_and_an_extra_one_allowed() -> None:
    missing = {key: value for key, value in RUN.items() if key != "backoffLimit"}
    with pytest.raises(AssertionError, match="backoffLimit"):
        conforms(SDK.get.job.run, answer(missing))
    assert conforms(SDK.get.job.run, answer(RUN | {"message": "extra"}))["id"] == RUN["id"]


def test_nulls_pass_only_in_the_state_where_no_value_exists() -> None:
    running = RUN | {"status": "RUNNING", "active": 1, "concluded": False, "concludedAt": None}
    queued = running | {"active": 0, "startedAt": None}
    assert conforms(SDK.get.job.run, answer(running)) == running
    assert conforms(SDK.get.job.runs, answer({"runs": [queued]}))["runs"] == [queued]
    for impossible in [RUN | {"concludedAt": None}, running | {"startedAt": None}]:
        with pytest.raises(AssertionError, match="rejects"):
            conforms(SDK.get.job.run, answer(impossible))
