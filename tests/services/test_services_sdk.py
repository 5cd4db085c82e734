"""The official `northflank` SDK drives build services on a live dockyard server."""

from __future__ import annotations

import pytest
from northflank import ApiClient
from northflank.errors import ApiCallError

from tests.helpers import PATCH_EXAMPLE, full_service, minimal_service, page_examples

pytestmark = pytest.mark.e2e


def test_sdk_create_patch_get_list_delete(sdk: ApiClient) -> None:
    sdk.create.project(data={"name": "Sdk Project"})
    project = "sdk-project"
    created = sdk.create.service.build(project_id=project, data=minimal_service("Example Service"))
    assert created.data["id"] == "example-service" and created.data["serviceType"] == "build"

    patched = sdk.patch.service.build(
        project_id=project, service_id="example-service", data=PATCH_EXAMPLE
    )
    assert patched.data["buildArguments"] == PATCH_EXAMPLE["buildArguments"]
    assert patched.data["buildConfiguration"]["branchRestrictions"] == ["feature/*"]

    source, _ = page_examples("update-job-build-source.md")
    sdk.update.service.build_source(
        project_id=project, service_id="example-service", data={**source, "projectType": "gitlab"}
    )
    got = sdk.get.service(project_id=project, service_id="example-service").data
    assert got["serviceType"] == "build" and got["vcsData"]["projectType"] == "gitlab"
    assert "buildArguments" not in got

    sdk.put.service.build(project_id=project, data=minimal_service("Second Service"))
    listed = sdk.list.services(project_id=project)
    assert [item["id"] for item in listed.data["services"]] == [
        "example-service",
        "second-service",
    ]
    assert listed.pagination is not None and listed.pagination.has_next_page is False

    with pytest.raises(ApiCallError) as clash:
        sdk.create.service.build(project_id=project, data=full_service())
    assert clash.value.status == 409
    with pytest.raises(ApiCallError) as invalid:
        bad = full_service() | {"buildFiles": {"/a/../b": {"data": "QQ=="}}}
        sdk.create.service.build(project_id=project, data=bad)
    assert invalid.value.status == 400

    sdk.delete.service(project_id=project, service_id="example-service")
    with pytest.raises(ApiCallError) as gone:
        sdk.get.service(project_id=project, service_id="example-service")
    assert gone.value.status == 404
