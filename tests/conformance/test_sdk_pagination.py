"""The official `northflank` SDK's pagination walks a 120-job list of a live dockyard: `.all()`
drains it, the SDK's own next-page function follows the server's cursor page by page, and a
page asked for by number is the right slice; every page parses into the SDK's list type and
together they give all 120 ids in creation order, none twice."""

from __future__ import annotations

import pytest
from northflank import ApiCallError, ApiClient

from tests.builds.conftest import LiveDockyard
from tests.conformance.sdk_types import checked, checked_all, conforms

pytestmark = pytest.mark.e2e

JOBS = 120


def create_jobs(sdk: ApiClient, project: str) -> list[str]:
    ids = []
    for number in range(JOBS):
        body = {
            "name": f"page {number:03}",
            "billing": {"deploymentPlan": "nf-compute-20"},
            "backoffLimit": 0,
        }
        ids.append(checked(sdk.create.job.manual, project_id=project, data=body)["id"])
    assert ids == [f"page-{number:03}" for number in range(JOBS)]
    return ids


def walk_with_next_page(sdk: ApiClient, project: str, per_page: int) -> list[str]:
    """Page by page through the SDK's `pagination.get_next_page()`."""
    response = sdk.list.jobs(project_id=project, per_page=per_page)
    seen: list[str] = []
    while True:
        jobs = conforms(sdk.list.jobs, response)["jobs"]
        assert response.pagination is not None
        assert response.pagination.count == len(jobs) and len(jobs) <= per_page
        seen += [job["id"] for job in jobs]
        if not response.pagination.has_next_page:
            return seen
        assert response.pagination.cursor
        response = response.pagination.get_next_page()


def test_sdk_pagination_walks_120_jobs(sdk: ApiClient) -> None:
    project = checked(sdk.create.project, data={"name": "SDK Pages"})["id"]
    ids = create_jobs(sdk, project)

    drained = checked_all(sdk.list.jobs, project_id=project, per_page=50)["jobs"]
    assert [job["id"] for job in drained] == ids

    assert walk_with_next_page(sdk, project, per_page=25) == ids
    assert walk_with_next_page(sdk, project, per_page=100) == ids

    third = checked(sdk.list.jobs, project_id=project, per_page=25, page=3)["jobs"]
    assert [job["id"] for job in third] == ids[50:75]

    checked(sdk.delete.project, project_id=project, delete_child_objects=True)
    with pytest.raises(ApiCallError) as gone:
        sdk.get.job(project_id=project, job_id=ids[0])
    assert gone.value.status == 404


def test_sdk_lists_api_tokens(sdk: ApiClient, live: LiveDockyard) -> None:
    """`list.api_tokens` (GET /v1/tokens) parses into the SDK's type; a token made through
    dockyard's own route is listed, by id and name, and once revoked only with `all`."""
    made = live.http.post(
        "/v1/tokens",
        json={"name": "sdk listed", "permissions": ["Project > Jobs > General > Read"]},
    )
    assert made.status_code == 200, made.text
    token_id = made.json()["data"]["id"]
    listed = checked_all(sdk.list.api_tokens, per_page=1)["tokens"]
    assert {"id": token_id, "name": "sdk listed"}.items() <= listed[-1].items()
    assert live.http.delete(f"/v1/tokens/{token_id}").status_code == 200
    assert token_id not in [token["id"] for token in checked(sdk.list.api_tokens)["tokens"]]
    everything = checked(sdk.list.api_tokens, all=True)["tokens"]
    assert next(token for token in everything if token["id"] == token_id)["revoked"] is True
