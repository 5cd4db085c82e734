"""The dashboard over HTTP (the app in process, no worker): login and its cookie, CSRF and
Origin checks, logout, a revoked token, permissions, unknown ids, escaping, the buttons."""

from __future__ import annotations

import asyncio
import time
from http.cookies import SimpleCookie

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dockyard.auth import service as auth_service
from dockyard.auth.permissions import Permission
from dockyard.config import Settings
from dockyard.db.session import run_in_session
from dockyard.ui.session import COOKIE
from tests.conftest import issue_token, token_with
from tests.ui.conftest import csrf_of, log_in

EVIL = "https://evil.example"


def session_cookie(set_cookie: str) -> SimpleCookie:
    cookie: SimpleCookie = SimpleCookie()
    cookie.load(set_cookie)
    assert COOKIE in cookie, set_cookie
    return cookie


# ---- login, session cookie, logout ----------------------------------------------------------


def test_pages_send_a_visitor_without_session_to_login(app_client: TestClient) -> None:
    answer = app_client.get("/ui/projects/anything", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=/ui/projects/anything"
    form = app_client.get(answer.headers["location"])
    assert form.status_code == 200
    assert '<label for="token">' in form.text and 'value="/ui/projects/anything"' in form.text


def test_login_sets_a_sealed_httponly_cookie_limited_to_the_dashboard(
    app_client: TestClient, admin_token: str
) -> None:
    form = app_client.get("/ui/login")
    answer = app_client.post(
        "/ui/login",
        data={"token": admin_token, "csrf": csrf_of(form.text), "next": "/ui/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
    morsel = session_cookie(answer.headers["set-cookie"])[COOKIE]
    assert morsel["httponly"] and morsel["samesite"].lower() == "lax"
    assert morsel["path"] == "/ui" and int(morsel["max-age"]) > 3600
    assert not morsel["secure"]  # the server's URL is http here
    assert admin_token not in morsel.value and admin_token.removeprefix("dky_") not in morsel.value
    assert app_client.get("/ui/").status_code == 200


def test_login_with_a_bad_token_says_so_and_keeps_no_token(app_client: TestClient) -> None:
    form = app_client.get("/ui/login")
    answer = app_client.post(
        "/ui/login", data={"token": "dky_nope", "csrf": csrf_of(form.text)}, follow_redirects=False
    )
    assert answer.status_code == 401 and "Invalid API token" in answer.text
    assert app_client.get("/ui/", follow_redirects=False).status_code == 303


def test_login_goes_back_to_the_page_asked_for_but_never_off_site(
    app_client: TestClient, admin_token: str
) -> None:
    for asked, landed in [("/ui/projects/x", "/ui/projects/x"), ("//evil.example/", "/ui/")]:
        form = app_client.get("/ui/login")
        answer = app_client.post(
            "/ui/login",
            data={"token": admin_token, "csrf": csrf_of(form.text), "next": asked},
            follow_redirects=False,
        )
        assert answer.headers["location"] == landed


def test_logout_clears_the_session(app_client: TestClient, admin_token: str) -> None:
    csrf = log_in(app_client, admin_token)
    answer = app_client.post("/ui/logout", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/ui/login"
    cleared = session_cookie(answer.headers["set-cookie"])[COOKIE]
    assert cleared["max-age"] == "0" and cleared["path"] == "/ui"
    assert app_client.get("/ui/", follow_redirects=False).status_code == 303


def test_a_revoked_token_ends_the_session(app_client: TestClient, settings: Settings) -> None:
    token = issue_token(settings, name="short-lived", is_admin=True)
    log_in(app_client, token)
    asyncio.run(
        run_in_session(
            settings.resolved_database_url,
            lambda session: auth_service.revoke_tokens(session, "short-lived"),
        )
    )
    deadline = time.monotonic() + settings.token_cache_seconds + 5
    while (answer := app_client.get("/ui/", follow_redirects=False)).status_code == 200:
        assert time.monotonic() < deadline, "the revoked token still opens pages"
        time.sleep(0.2)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/ui/login")
    assert session_cookie(answer.headers["set-cookie"])[COOKIE]["max-age"] == "0"


def test_a_forged_or_foreign_cookie_is_no_session(app_client: TestClient) -> None:
    app_client.cookies.set(COOKIE, "v1.abc.def", path="/ui")
    assert app_client.get("/ui/", follow_redirects=False).status_code == 303


# ---- CSRF -----------------------------------------------------------------------------------


def test_posts_need_the_session_csrf_token_and_this_origin(
    client: TestClient, admin_token: str, project: str, job: str, build: str
) -> None:
    csrf = log_in(client, admin_token)
    abort = f"/ui/projects/{project}/jobs/{job}/builds/{build}/abort"
    refused = [
        ({}, {}),
        ({"csrf": "not-the-token"}, {}),
        ({"csrf": csrf}, {"Origin": EVIL}),
        ({"csrf": csrf}, {"Referer": f"{EVIL}/page"}),
        ({}, {"X-CSRF-Token": "wrong"}),
    ]
    for form, headers in refused:
        answer = client.post(abort, data=form, headers=headers, follow_redirects=False)
        assert answer.status_code == 403, (form, headers)
        assert "did not come from this dashboard" in answer.text or "not accepted" in answer.text
    assert "QUEUED" in client.get(f"/ui/projects/{project}/jobs/{job}/builds/{build}").text

    by_header = client.post(
        abort,
        headers={"X-CSRF-Token": csrf, "Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert by_header.status_code == 303, by_header.text


def test_login_and_logout_forms_are_csrf_checked(client: TestClient, admin_token: str) -> None:
    client.get("/ui/login")
    forged = client.post("/ui/login", data={"token": admin_token, "csrf": "x"})
    assert forged.status_code == 403
    csrf = log_in(client, admin_token)
    assert (
        client.post("/ui/logout", data={"csrf": csrf}, headers={"Origin": EVIL}).status_code == 403
    )
    assert client.get("/ui/", follow_redirects=False).status_code == 200


# ---- permissions and unknown ids ------------------------------------------------------------


def test_a_token_lacking_read_permission_gets_a_friendly_403(
    app_client: TestClient, settings: Settings, project: str, job: str
) -> None:
    log_in(app_client, token_with(settings, Permission.JOBS_READ))
    answer = app_client.get("/ui/")
    assert answer.status_code == 403
    assert (
        "Not allowed" in answer.text
        and "Project &gt; Projects &gt; Manage &gt; Read" in answer.text
    )
    assert app_client.get(f"/ui/projects/{project}/jobs/{job}").status_code == 200

    log_in(app_client, token_with(settings, Permission.JOBS_READ, projects=["elsewhere"]))
    assert app_client.get(f"/ui/projects/{project}/jobs/{job}").status_code == 403


def test_buttons_follow_the_token_permissions(
    app_client: TestClient, settings: Settings, project: str, job: str, build: str
) -> None:
    reader = token_with(settings, Permission.PROJECTS_READ, Permission.JOBS_READ)
    csrf = log_in(app_client, reader)
    page = app_client.get(f"/ui/projects/{project}/jobs/{job}/builds/{build}").text
    assert "Abort build" not in page and "may not read logs" in page
    assert "Start build" not in app_client.get(f"/ui/projects/{project}/jobs/{job}").text
    answer = app_client.post(
        f"/ui/projects/{project}/jobs/{job}/builds/{build}/abort", data={"csrf": csrf}
    )
    assert answer.status_code == 403 and "Deploy Build" in answer.text


def test_unknown_ids_are_404_pages(
    client: TestClient, admin_token: str, project: str, job: str
) -> None:
    log_in(client, admin_token)
    for path in [
        "/ui/projects/nope",
        f"/ui/projects/{project}/jobs/nope",
        f"/ui/projects/{project}/services/nope",
        f"/ui/projects/{project}/jobs/{job}/builds/nope",
        f"/ui/projects/{project}/jobs/{job}/runs/nope",
        f"/ui/projects/{project}/gadgets/{job}/builds/nope",
        "/ui/no/such/page",
    ]:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"].startswith("text/html") and "Not found" in answer.text


def test_what_users_typed_is_escaped(client: TestClient, admin_token: str, project: str) -> None:
    log_in(client, admin_token)
    answer = client.get("/ui/projects/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert answer.status_code == 404
    assert "<script>alert(1)" not in answer.text and "&lt;script&gt;alert(1)" in answer.text
    described = client.post(
        "/v1/projects", json={"name": "Quoted", "description": 'Tom & "Jerry" \'s'}
    )
    assert described.status_code == 200, described.text
    page = client.get("/ui/projects/quoted").text
    assert "Tom &amp; &#34;Jerry&#34; &#39;s" in page


# ---- pages and buttons ----------------------------------------------------------------------


def test_project_and_target_pages_list_what_the_api_lists(
    client: TestClient, admin_token: str, project: str, job: str, service: str, build: str
) -> None:
    log_in(client, admin_token)
    assert f'href="/ui/projects/{project}"' in client.get("/ui/").text
    listing = client.get(f"/ui/projects/{project}").text
    assert f'href="/ui/projects/{project}/jobs/{job}"' in listing
    assert f'href="/ui/projects/{project}/services/{service}"' in listing
    job_page = client.get(f"/ui/projects/{project}/jobs/{job}").text
    assert f'href="/ui/projects/{project}/jobs/{job}/builds/{build}"' in job_page
    assert "QUEUED" in job_page and ">API<" in job_page and "https://git.example.test" in job_page
    assert '<svg class="chart"' in job_page and "No runs yet." in job_page
    service_page = client.get(f"/ui/projects/{project}/services/{service}").text
    assert 'name="branch"' in service_page and "No builds yet." in service_page


def test_buttons_start_and_abort_builds_then_show_them(
    client: TestClient, admin_token: str, project: str, job: str, service: str
) -> None:
    csrf = log_in(client, admin_token)
    started = client.post(
        f"/ui/projects/{project}/jobs/{job}/builds", data={"csrf": csrf}, follow_redirects=False
    )
    assert started.status_code == 303
    build_page = started.headers["location"]
    assert build_page.startswith(f"/ui/projects/{project}/jobs/{job}/builds/")
    build_id = build_page.rsplit("/", 1)[1]
    api_build = client.get(f"/v1/projects/{project}/jobs/{job}/build/{build_id}").json()["data"]
    assert api_build["status"] == "QUEUED" and api_build["trigger"] == "api"

    shown = client.get(build_page).text
    assert "Abort build" in shown and f'data-log-ws="{build_page}/logs/ws"' in shown
    assert 'hx-trigger="every 2s"' in shown
    aborted = client.post(f"{build_page}/abort", data={"csrf": csrf}, follow_redirects=False)
    assert aborted.status_code == 303 and aborted.headers["location"] == build_page
    status = client.get(f"{build_page}/status").text
    assert "ABORTED" in status and "hx-trigger" not in status and "Abort build" not in status
    again = client.post(f"{build_page}/abort", data={"csrf": csrf})
    assert again.status_code == 409 and "already concluded" in again.text

    bad_sha = client.post(
        f"/ui/projects/{project}/jobs/{job}/builds", data={"csrf": csrf, "sha": "xyz"}
    )
    assert bad_sha.status_code == 400 and "sha" in bad_sha.text
    branch = client.post(
        f"/ui/projects/{project}/services/{service}/builds",
        data={"csrf": csrf, "branch": "feature"},
        follow_redirects=False,
    )
    assert branch.status_code == 303
    assert "feature" in client.get(branch.headers["location"]).text


def test_a_run_button_of_a_job_without_an_image_says_why(
    client: TestClient, admin_token: str, project: str, job: str
) -> None:
    csrf = log_in(client, admin_token)
    answer = client.post(f"/ui/projects/{project}/jobs/{job}/runs", data={"csrf": csrf})
    assert answer.status_code == 409 and "no successful build" in answer.text.lower()


def test_the_log_text_and_socket_need_the_session_and_this_origin(
    client: TestClient, admin_token: str, project: str, job: str, build: str
) -> None:
    page = f"/ui/projects/{project}/jobs/{job}/builds/{build}"
    text = client.get(f"{page}/log.txt", follow_redirects=False)
    assert text.status_code == 303
    log_in(client, admin_token)
    text = client.get(f"{page}/log.txt")
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    assert text.headers["x-content-type-options"] == "nosniff"

    with client.websocket_connect(f"{page}/logs/ws", headers={"Origin": "http://testserver"}) as ws:
        client.delete(f"/v1/projects/{project}/jobs/{job}/build/{build}")  # ends the tail
        message = ws.receive()
        while message["type"] == "websocket.send":  # the build's usage summary, then lines
            message = ws.receive()
        assert message == {"type": "websocket.close", "code": 1000, "reason": ""}
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"{page}/logs/ws", headers={"Origin": EVIL}),
    ):
        pass
    assert refused.value.code == 1008


def test_the_log_socket_of_a_visitor_without_session_says_so(
    app_client: TestClient, settings: Settings, project: str, job: str, build: str
) -> None:
    url = f"/ui/projects/{project}/jobs/{job}/builds/{build}/logs/ws"
    with app_client.websocket_connect(url, headers={"Origin": "http://testserver"}) as ws:
        frame = ws.receive_json()
    assert frame["type"] == "error" and frame["data"]["status"] == 401


def test_a_bundle_build_shows_its_url_redacted(
    client: TestClient, admin_token: str, project: str, service: str
) -> None:
    bundle = "https://93.184.216.34/source.tar.gz?X-Amz-Signature=c0ffee5ecret"
    started = client.post(
        f"/v1/projects/{project}/services/{service}/build", json={"bundleUrl": bundle}
    )
    assert started.status_code == 200, started.text
    log_in(client, admin_token)
    page = client.get(f"/ui/projects/{project}/services/{service}").text
    assert '<code class="bundle">https://93.184.216.34/source.tar.gz?*****</code>' in page
    assert "c0ffee5ecret" not in page
