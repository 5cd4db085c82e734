"""The official `northflank` SDK drives manual jobs on a live dockyard server."""

from __future__ import annotations

import pytest
from northflank import ApiClient
from northflank.errors import ApiCallError

from tests.helpers import minimal_job, page_examples

pytestmark = pytest.mark.e2e


def test_sdk_create_patch_get_list_delete(sdk: ApiClient) -> None:
    sdk.create.project(data={"name": "Sdk Project"})
    request, _ = page_examples("create-manual-job.md")
    created = sdk.create.job.manual(project_id="sdk-project", data=request)
    assert created.data["id"] == "example-job" and created.data["jobType"] == "manual"

    patched = sdk.patch.job.manual(
        project_id="sdk-project", job_id="example-job", data={"backoffLimit": 4}
    )
    assert patched.data["backoffLimit"] == 4

    source, _ = page_examples("update-job-build-source.md")
    sdk.update.job.build_source(
        project_id="sdk-project", job_id="example-job", data={**source, "projectBranch": "dev"}
    )
    got = sdk.get.job(project_id="sdk-project", job_id="example-job").data
    assert got["settings"]["backoffLimit"] == 4
    assert got["vcsData"]["projectBranch"] == "dev"

    sdk.put.job.manual(project_id="sdk-project", data=minimal_job("Second Job"))
    listed = sdk.list.jobs(project_id="sdk-project")
    assert [job["id"] for job in listed.data["jobs"]] == ["example-job", "second-job"]
    assert listed.pagination is not None and listed.pagination.has_next_page is False

    with pytest.raises(ApiCallError) as clash:
        sdk.create.job.manual(project_id="sdk-project", data=request)
    assert clash.value.status == 409
    with pytest.raises(ApiCallError) as invalid:
        sdk.create.job.manual(project_id="sdk-project", data={**request, "backoffLimit": "x"})
    assert invalid.value.status == 400

    sdk.delete.job(project_id="sdk-project", job_id="example-job")
    with pytest.raises(ApiCallError) as gone:
        sdk.get.job(project_id="sdk-project", job_id="example-job")
    assert gone.value.status == 404
