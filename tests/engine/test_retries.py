"""The registry retry policy that pushes and pulls share: which failures are "the registry did
not answer" (messages as dockerd and the docker CLI print them), and how often it tries."""

from __future__ import annotations

import pytest

from dockyard.engine.retries import RegistryRetries, unreachable
from dockyard.errors import EngineUnavailable, RunFailed

pytestmark = pytest.mark.anyio
GET_V2 = 'Get "http://127.0.0.1:40529/v2/": '


@pytest.mark.parametrize(
    "message",
    [
        GET_V2 + "dial tcp 127.0.0.1:40529: connect: connection refused",
        GET_V2 + "read tcp 127.0.0.1:59894->127.0.0.1:40529: read: connection reset by peer",
        GET_V2 + "write tcp 127.0.0.1:36896->127.0.0.1:40529: write: broken pipe",
        GET_V2 + "net/http: request canceled (Client.Timeout exceeded while awaiting headers)",
        "received unexpected HTTP status: 503 Service Unavailable",
    ],
)
def test_a_registry_that_does_not_answer(message: str) -> None:
    assert unreachable(message)


@pytest.mark.parametrize(
    "message",
    [
        "received unexpected HTTP status: 500 Internal Server Error",
        "unauthorized: authentication required",
        "manifest for 127.0.0.1:5000/p/j:1 not found: manifest unknown",
    ],
)
def test_a_registry_that_answered_no(message: str) -> None:
    assert not unreachable(message)


async def test_tries_again_while_unreachable_then_names_the_tries() -> None:
    tried: list[str] = []
    said: list[str] = []

    async def attempt() -> str:
        tried.append("pull")
        raise RunFailed(f"Image x cannot be pulled: {GET_V2}connect: connection refused")

    with pytest.raises(RunFailed, match=r"^registry unavailable after 3 tries: Image x"):
        await RegistryRetries((0.01, 0.02)).call(attempt, RunFailed, "pulling", said.append)
    assert len(tried) == 3
    assert said == [
        "The registry did not answer; pulling again in 0.01 s",
        "The registry did not answer; pulling again in 0.02 s",
    ]


async def test_any_other_failure_is_final_at_once() -> None:
    tried: list[str] = []

    async def refused() -> str:
        tried.append("push")
        raise EngineUnavailable("Push failed: unauthorized: authentication required")

    with pytest.raises(EngineUnavailable, match="unauthorized"):
        await RegistryRetries((0.01,)).call(refused, EngineUnavailable, "pushing")
    # A failure of another kind (the Docker engine itself), however worded, is not retried.
    with pytest.raises(EngineUnavailable, match="connection refused"):
        await RegistryRetries((0.01,)).call(lambda: _engine_down(tried), RunFailed, "pulling")
    assert tried == ["push", "engine"]


async def test_a_success_after_a_retry_is_returned() -> None:
    answers = iter([EngineUnavailable("EOF"), None])

    async def flaky() -> str:
        if (failure := next(answers)) is not None:
            raise failure
        return "sha256:ok"

    assert await RegistryRetries((0.01,)).call(flaky, EngineUnavailable, "pushing") == "sha256:ok"


async def _engine_down(tried: list[str]) -> str:
    tried.append("engine")
    raise EngineUnavailable("Docker engine did not answer: connection refused")
