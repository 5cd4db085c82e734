"""The typed view of stored specs: a job's or build service's JSON column (its public part,
secret fields sealed apart) parses as its type's create body, once per loaded row."""

from __future__ import annotations

from typing import Any

from dockyard.jobs import repository as jobs
from dockyard.jobs.models import Job
from dockyard.jobs.schemas import CronJobSpec, ManualJobSpec
from dockyard.jobs.service import SECRETS as JOB_SECRETS
from dockyard.secrets.crypto import SecretBox
from dockyard.services import repository as services
from dockyard.services.models import Service
from dockyard.services.schemas import BuildServiceSpec
from dockyard.services.service import SECRETS as SERVICE_SECRETS
from dockyard.wire.bodies import wire_body
from tests.helpers import full_service

BOX = SecretBox([b"k" * 32])


def _stored(body: dict[str, Any], model: type[ManualJobSpec] | type[BuildServiceSpec]) -> Any:
    """The JSON column a write leaves: the validated body without its secret fields."""
    secrets = JOB_SECRETS if model is not BuildServiceSpec else SERVICE_SECRETS
    public, sealed = secrets.seal(BOX, "uid", wire_body(model.model_validate(body)))
    assert sealed
    return public


def test_a_stored_job_parses_without_its_secrets_and_once(
    create_example: dict[str, Any],
) -> None:
    job = Job(job_type="manual", spec=_stored(create_example, ManualJobSpec))
    spec = jobs.spec_of(job)
    assert type(spec) is ManualJobSpec and spec.name == create_example["name"]
    assert spec.runtime_environment is None and spec.build_arguments is None
    assert spec.build_configuration is not None
    assert spec.build_configuration.docker_credentials is None
    assert jobs.spec_of(job) is spec
    assert wire_body(spec) == job.spec  # the column as it was written

    job.spec = dict(job.spec, description="changed")
    assert jobs.spec_of(job).description == "changed"


def test_a_stored_cron_job_parses_as_a_cron_spec(create_example: dict[str, Any]) -> None:
    body = create_example | {"schedule": "30 8 * * *", "concurrencyPolicy": "forbid"}
    job = Job(job_type="cron", spec=_stored(body, CronJobSpec))
    spec = jobs.spec_of(job)
    assert isinstance(spec, CronJobSpec)
    assert (spec.schedule, spec.concurrency_policy, spec.suspended) == (
        "30 8 * * *",
        "forbid",
        False,
    )


def test_a_stored_build_service_parses_without_its_secrets() -> None:
    found = Service(spec=_stored(full_service(), BuildServiceSpec))
    spec = services.spec_of(found)
    assert spec.build_arguments is None and spec.vcs_data is not None
    assert services.spec_of(found) is spec
    assert wire_body(spec) == found.spec
