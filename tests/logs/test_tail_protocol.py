"""The tail protocol in process: two clients of one run share one reader; a token of another
project gets an error frame over WebSocket and a 403 over REST."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.base import utcnow
from dockyard.db.session import run_in_session
from dockyard.logs import repository
from dockyard.logs.repository import NewLine
from tests.conftest import assert_error, token_with
from tests.helpers import minimal_job


def append_lines(settings: Settings, run_id: str, *lines: str) -> None:
    rows = [NewLine("run", run_id, "c1", False, utcnow(), line) for line in lines]

    async def write(session: Any) -> None:
        await repository.append_many(session, rows)
        await session.commit()

    asyncio.run(run_in_session(settings.resolved_database_url, write))


def init(token: str) -> dict[str, Any]:
    return {"type": "init", "data": {"auth": {"type": "apiToken", "apiToken": token}}}


def queued_run(client: TestClient, project: str) -> str:
    body = minimal_job("Tailed", deployment={"external": {"imagePath": "local/busybox:1"}})
    assert client.post(f"/v1/projects/{project}/jobs/manual", json=body).status_code == 200
    run_id: str = client.post(f"/v1/projects/{project}/jobs/tailed/runs", json={}).json()["data"][
        "id"
    ]
    return run_id


def test_two_clients_share_one_reader(
    client: TestClient, project: str, settings: Settings, admin_token: str
) -> None:
    run_id = queued_run(client, project)
    append_lines(settings, run_id, "before 1", "before 2")
    path = f"/v1/projects/{project}/jobs/tailed/logs?queryType=tail&lineLimit=1&runId={run_id}"

    with client.websocket_connect(path) as first, client.websocket_connect(path) as second:
        for socket in (first, second):
            socket.send_json(init(admin_token))
            assert socket.receive_json() == {"type": "init", "data": {"auth": "successful"}}
            history = socket.receive_json()
            assert [e["log"] for e in history["data"]] == ["before 2"]
        hub = client.app.state.log_hub  # type: ignore[attr-defined]
        [stream] = hub.streams.values()
        assert len(stream.subscribers) == 2

        append_lines(settings, run_id, "live line")
        for socket in (first, second):
            frame = socket.receive_json()
            assert frame["type"] == "log-lines"
            assert [e["log"] for e in frame["data"]] == ["live line"]
            assert set(frame["data"][0]) == {"containerId", "log", "ts"}


def test_tokens_of_another_project_are_refused(
    client: TestClient, project: str, settings: Settings
) -> None:
    queued_run(client, project)
    other = token_with(settings, Permission.JOBS_OBSERVE, projects=["elsewhere"])
    path = f"/v1/projects/{project}/jobs/tailed/logs"

    rest = client.get(path, headers={"Authorization": f"Bearer {other}"})
    assert_error(rest, 403)
    with client.websocket_connect(f"{path}?queryType=tail") as socket:
        socket.send_json(init(other))
        error = socket.receive_json()
        assert error["type"] == "error" and error["data"]["status"] == 403
        with pytest.raises(WebSocketDisconnect):
            socket.receive_json()


def test_bad_token_and_bad_query_get_error_frames(
    client: TestClient, project: str, admin_token: str
) -> None:
    queued_run(client, project)
    path = f"/v1/projects/{project}/jobs/tailed/logs"
    with client.websocket_connect(f"{path}?queryType=tail") as socket:
        socket.send_json(init("not-a-token"))
        assert socket.receive_json()["data"]["status"] == 401
    with client.websocket_connect(f"{path}?queryType=tail&lineLimit=0") as socket:
        socket.send_json(init(admin_token))
        error = socket.receive_json()
        assert error["data"]["status"] == 400 and "lineLimit" in str(error["data"]["details"])
