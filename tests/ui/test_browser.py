"""The dashboard in Debian's headless Chromium (driven by Playwright) against a live
`dockyard up`: log in through the form, open a running build (made through the API), see its
log lines arrive live, filter them, abort the build with its button and see the status change;
then a job page with its charts and a run page. Screenshots of every step go to
test-artifacts/ui/."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.builds.conftest import LiveDockyard
from tests.runs.conftest import busybox_job, serving

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
# Flags for a closed network: no background calls home (they fail, many at a time).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Prints a line every 0.3 s for about 45 s, one of them markup that must stay text.
SLOW_DOCKERFILE = (
    "FROM local/busybox:1\n"
    "RUN echo '<script>window.pwned = 1</script><b>not bold</b>'; "
    "for i in $(seq 1 150); do echo tick-$i; sleep 0.3; done\n"
)
TIMEOUT_MS = 60_000

if not CHROMIUM.exists() and not os.environ.get("DOCKYARD_REQUIRE_BROWSER"):
    pytest.skip(
        "no /usr/bin/chromium (scripts/install.sh test installs it)", allow_module_level=True
    )

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDockyard]:
    with serving(tmp_path_factory.mktemp("ui")) as live:
        yield live


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live: LiveDockyard) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live.process.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


def snap(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page: Page, live: LiveDockyard, next_path: str) -> None:
    page.goto(next_path)
    expect(page).to_have_url(re.compile(r"/ui/login\?next="))
    snap(page, "01-login")
    page.get_by_label("API token").fill(live.http.headers["Authorization"].removeprefix("Bearer "))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


def slow_build(live: LiveDockyard) -> tuple[str, str]:
    """A job whose build prints slowly, and that build, started through the API."""
    live.sample.repo.commit({"Dockerfile": SLOW_DOCKERFILE}, "slow", branch="ui-slow")
    body = {
        "name": "Slow Builder",
        "billing": {"deploymentPlan": "nf-compute-20"},
        "backoffLimit": 0,
        "deployment": {
            "vcs": {
                "projectUrl": live.sample.repo.url,
                "projectType": "github",
                "projectBranch": "ui-slow",
            }
        },
        "buildSettings": {
            "dockerfile": {
                "buildEngine": "buildkit",
                "dockerFilePath": "/Dockerfile",
                "dockerWorkDir": "/",
            }
        },
    }
    job_id: str = live.post("/jobs/manual", body)["id"]
    build_id: str = live.post(f"/jobs/{job_id}/build", {})["id"]
    return job_id, build_id


def test_follow_a_running_build_live_and_abort_it(page: Page, live: LiveDockyard) -> None:
    job_id, build_id = slow_build(live)
    build_path = f"/ui/projects/{live.project}/jobs/{job_id}/builds/{build_id}"
    log_in(page, live, build_path)

    log = page.get_by_role("log")
    lines = log.locator(".line")
    expect(log).to_contain_text("tick-3")
    snap(page, "02-build-log-live")
    seen = lines.count()
    page.wait_for_function(  # more lines come, without a reload
        "seen => document.querySelectorAll('.log .line').length > seen + 2", arg=seen
    )
    expect(log).to_contain_text("<script>window.pwned = 1</script><b>not bold</b>")
    assert page.evaluate("window.pwned") is None
    assert log.locator("b, script").count() == 0

    search = page.get_by_label("Search the log")
    search.fill("tick-1")
    visible = log.locator(".line:visible")
    expect(visible.first).to_contain_text("tick-1")
    assert all("tick-1" in text for text in visible.all_inner_texts())
    expect(page.locator("[data-log-count]")).to_contain_text("lines match")
    snap(page, "03-build-log-search")
    search.fill("")

    expect(page.locator("[data-status]")).not_to_have_attribute("data-status", "ABORTED")
    page.get_by_role("button", name="Abort build").click()
    expect(page).to_have_url(re.compile(re.escape(build_path) + "$"))
    expect(page.locator("[data-status]")).to_have_attribute(
        "data-status", "ABORTED", timeout=TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Abort build")).to_have_count(0)
    snap(page, "04-build-aborted")
    assert live.get(f"/jobs/{job_id}/build/{build_id}")["status"] == "ABORTED"

    page.get_by_role("link", name="Slow Builder").click()
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.get_by_role("table").first).to_contain_text(build_id)
    expect(page.get_by_role("table").first).to_contain_text("ABORTED")
    snap(page, "05-job-page")
    page.set_viewport_size({"width": 390, "height": 844})
    snap(page, "06-job-page-narrow")


def test_a_run_page_shows_its_log_and_outcome(page: Page, live: LiveDockyard) -> None:
    job_id = busybox_job(live, "Greeter", "for i in 1 2 3; do echo hello-$i; sleep 0.2; done")
    run_id = live.post(f"/jobs/{job_id}/runs", {})["id"]
    run_path = f"/ui/projects/{live.project}/jobs/{job_id}/runs/{run_id}"
    log_in(page, live, run_path)
    expect(page.get_by_role("log")).to_contain_text("hello-3")
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "SUCCESS")
    expect(page.locator('[data-usage-chart="memory"] svg')).to_be_visible()
    expect(page.locator("[data-usage-summary]")).to_contain_text("of its 512 MiB limit")
    snap(page, "07-run-page")

    page.get_by_role("link", name="Greeter").click()
    expect(page.locator("[data-memory-peaks] svg")).to_be_visible()
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job_id}/runs/[a-z0-9-]+$"))
    expect(page.get_by_role("log")).to_contain_text("hello-1")
    snap(page, "08-run-started-by-button")
