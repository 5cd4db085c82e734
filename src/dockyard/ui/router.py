"""The dashboard at /ui: server-rendered pages over the same service functions as the API,
acting with exactly the permissions of the API token the visitor logged in with.

Pages answer HTML, errors included (a friendly page with the API's message and status);
a visitor without a live session is sent to the login page. Buttons are plain POST forms
(CSRF token, Origin checked) answered by a redirect to the page to show next."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response, WebSocket
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.api.deps import (
    DatabaseDep,
    LogHubDep,
    SecretBoxDep,
    SessionDep,
    WorkerWakeDep,
)
from dockyard.auth import service as tokens
from dockyard.auth.permissions import Permission
from dockyard.auth.schemas import IssuedToken, TokenCreate
from dockyard.auth.service import Principal, authenticate
from dockyard.builds import service as builds
from dockyard.builds import starts
from dockyard.builds.schemas import StartJobBuildRequest, StartServiceBuildRequest
from dockyard.builds.service import BuildSource, BuildTarget
from dockyard.errors import DockyardError, Invalid, NotFound, Unauthorized
from dockyard.jobs import service as jobs
from dockyard.logs import service as logs
from dockyard.logs.models import LogLine
from dockyard.registries import service as registries
from dockyard.registries.schemas import RegistryCreate, RegistryPatch
from dockyard.runs import service as runs
from dockyard.secrets.crypto import SecretBox
from dockyard.services import service as services
from dockyard.ui import csrf, live, views
from dockyard.ui.charts import format_seconds
from dockyard.ui.session import UiSession, forget, keep, new_session, session_of
from dockyard.vcs import service as selfhosted_vcs
from dockyard.vcs.schemas import SelfHostedVcsCreate
from dockyard.vcslinks import selfhosted
from dockyard.vcslinks import service as vcslinks
from dockyard.vcslinks.schemas import VcsHostKey, VcsLinkCreate, VcsLinkPatch
from dockyard.wire.links import build_url, project_url, run_url
from dockyard.wire.paths import error_path

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
HTMX = STATIC_DIR / "vendor" / "htmx.min.js"

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["duration"] = format_seconds
templates.env.filters["short_sha"] = lambda sha: sha[:7] if sha else ""
templates.env.filters["when"] = lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S UTC")
templates.env.globals["project_url"] = project_url
templates.env.globals["can_list_tokens"] = lambda principal: views.account_can(
    principal, Permission.TOKENS_READ
)


class LoginRequired(Exception):
    """No live session: the visitor is sent to the login page (`ended`: their token stopped
    working, so the session cookie goes too)."""

    def __init__(self, *, ended: bool = False) -> None:
        super().__init__("login required")
        self.ended = ended


def login_url(next_path: str) -> str:
    return f"/ui/login?next={quote(next_path)}"


def safe_next(next_path: str | None) -> str:
    """Where to go after logging in: a dashboard page, never another site."""
    if next_path and next_path.startswith("/ui/"):
        return next_path
    return "/ui/"


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    ui_session: UiSession | None = None,
) -> HTMLResponse:
    """A page: the template with the session (its CSRF token) and whether htmx is here."""
    shown = ui_session if ui_session is not None else session_of(request)
    page = templates.TemplateResponse(
        request,
        template,
        {"ui_session": shown, "htmx": HTMX.exists(), **context},
        status_code=status,
    )
    page.headers["Cache-Control"] = "no-store"
    return page


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", {"status": status, "message": message}, status=status)


def _validation_message(exc: RequestValidationError | ValidationError) -> str:
    error = exc.errors()[0]
    return f"{error_path(error)}: {error['msg']}"


class PageRoute(APIRoute):
    """A dashboard route: its errors are pages, a missing session a redirect to login."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                return await handle(request)
            except LoginRequired as exc:
                target = request.url.path if request.method == "GET" else "/ui/"
                response = see_other(login_url(target))
                if exc.ended:
                    forget(response, request)
                return response
            except DockyardError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError as exc:
                return error_page(request, 400, _validation_message(exc))

        return handle_page


router = APIRouter(prefix="/ui", route_class=PageRoute, include_in_schema=False)


# ---- who is visiting -----------------------------------------------------------------------


@dataclass(frozen=True)
class Visitor:
    principal: Principal
    session: UiSession


async def visitor(request: Request, session: SessionDep) -> Visitor:
    """The logged-in visitor, their token checked again (a revoked token ends the session)."""
    ui_session = session_of(request)
    if ui_session is None or ui_session.token is None:
        raise LoginRequired()
    try:
        principal = await authenticate(session, ui_session.token, request.app.state.tokens)
    except Unauthorized:
        raise LoginRequired(ended=True) from None
    return Visitor(principal, ui_session)


VisitorDep = Annotated[Visitor, Depends(visitor)]


async def poster(request: Request, visiting: VisitorDep) -> Visitor:
    """A logged-in visitor's POST, with this session's CSRF token and from this site."""
    await csrf.check_post(request, visiting.session)
    return visiting


PosterDep = Annotated[Visitor, Depends(poster)]


def page(
    request: Request, visiting: Visitor, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return render(
        request,
        template,
        {"principal": visiting.principal, **context},
        status=status,
        ui_session=visiting.session,
    )


def parsed(model: type[BaseModel], body: dict[str, Any]) -> Any:
    """A form's values validated as the API's request body (its errors as Invalid)."""
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise Invalid(error_path(error), error["msg"]) from None


# ---- login ---------------------------------------------------------------------------------


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    ui_session = session_of(request) or new_session()
    response = render(request, "login.html", {"next": safe_next(next)}, ui_session=ui_session)
    keep(response, request, ui_session)
    return response


@router.post("/login")
async def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/ui/",
) -> Response:
    """Check the pasted token as the API would; a session holding it replaces the visitor's."""
    anonymous = session_of(request)
    await csrf.check_post(request, anonymous)
    try:
        await authenticate(session, token.strip(), request.app.state.tokens)
    except Unauthorized as exc:
        context = {"next": safe_next(next), "error": exc.message}
        return render(request, "login.html", context, status=401)
    response = see_other(safe_next(next))
    keep(response, request, new_session(token.strip()))
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await csrf.check_post(request, session_of(request))
    response = see_other("/ui/login")
    forget(response, request)
    return response


# ---- pages ---------------------------------------------------------------------------------


@router.get("/")
async def projects_list(
    request: Request, session: SessionDep, visiting: VisitorDep, cursor: str | None = None
) -> Response:
    shown = await views.projects_page(session, visiting.principal, cursor)
    return page(request, visiting, "projects.html", page=shown)


@router.get("/projects/{projectId}")
async def project(
    request: Request, projectId: str, session: SessionDep, visiting: VisitorDep
) -> Response:
    shown = await views.project_page(session, visiting.principal, projectId)
    return page(request, visiting, "project.html", page=shown)


@router.get("/projects/{projectId}/jobs/{jobId}")
async def job(
    request: Request, projectId: str, jobId: str, session: SessionDep, visiting: VisitorDep
) -> Response:
    shown = await views.job_page(session, visiting.principal, projectId, jobId)
    return page(request, visiting, "target.html", page=shown)


@router.get("/projects/{projectId}/services/{serviceId}")
async def service(
    request: Request, projectId: str, serviceId: str, session: SessionDep, visiting: VisitorDep
) -> Response:
    shown = await views.service_page(session, visiting.principal, projectId, serviceId)
    return page(request, visiting, "target.html", page=shown)


@router.get("/projects/{projectId}/{kind}s/{targetId}/builds/{buildId}")
async def build(
    request: Request,
    projectId: str,
    kind: str,
    targetId: str,
    buildId: str,
    session: SessionDep,
    visiting: VisitorDep,
) -> Response:
    shown = await views.build_page(session, visiting.principal, projectId, kind, targetId, buildId)
    return page(request, visiting, "item.html", page=shown)


@router.get("/projects/{projectId}/{kind}s/{targetId}/builds/{buildId}/status")
async def build_status(
    request: Request,
    projectId: str,
    kind: str,
    targetId: str,
    buildId: str,
    session: SessionDep,
    visiting: VisitorDep,
) -> Response:
    """The status block of a build page (htmx polls it while the build goes on)."""
    shown = await views.build_page(session, visiting.principal, projectId, kind, targetId, buildId)
    return page(request, visiting, "_status.html", page=shown)


@router.get("/projects/{projectId}/{kind}s/{targetId}/builds/{buildId}/log.txt")
async def build_log_text(
    projectId: str,
    kind: str,
    targetId: str,
    buildId: str,
    session: SessionDep,
    visiting: VisitorDep,
) -> Response:
    """The build's stored output as plain text (the log without JavaScript)."""
    shown = await views.build_page(session, visiting.principal, projectId, kind, targetId, buildId)
    visiting.principal.require(views.observe_permission(kind), projectId)
    return _plain_log(await logs.lines_of(session, "build", shown.item.id))


@router.get("/projects/{projectId}/jobs/{jobId}/runs/{runId}")
async def run(
    request: Request,
    projectId: str,
    jobId: str,
    runId: str,
    session: SessionDep,
    visiting: VisitorDep,
) -> Response:
    shown = await views.run_page(session, visiting.principal, projectId, jobId, runId)
    return page(request, visiting, "item.html", page=shown)


@router.get("/projects/{projectId}/jobs/{jobId}/runs/{runId}/status")
async def run_status(
    request: Request,
    projectId: str,
    jobId: str,
    runId: str,
    session: SessionDep,
    visiting: VisitorDep,
) -> Response:
    shown = await views.run_page(session, visiting.principal, projectId, jobId, runId)
    return page(request, visiting, "_status.html", page=shown)


@router.get("/projects/{projectId}/jobs/{jobId}/runs/{runId}/log.txt")
async def run_log_text(
    projectId: str, jobId: str, runId: str, session: SessionDep, visiting: VisitorDep
) -> Response:
    shown = await views.run_page(session, visiting.principal, projectId, jobId, runId)
    visiting.principal.require(Permission.JOBS_OBSERVE, projectId)
    return _plain_log(await logs.lines_of(session, "run", shown.item.id))


def _plain_log(lines: list[LogLine]) -> Response:
    text = "".join(f"{line.ts.isoformat()} {line.line}\n" for line in lines)
    return PlainTextResponse(text, headers={"X-Content-Type-Options": "nosniff"})


# ---- buttons -------------------------------------------------------------------------------


@router.post("/projects/{projectId}/jobs/{jobId}/builds")
async def start_job_build(
    projectId: str,
    jobId: str,
    session: SessionDep,
    box: SecretBoxDep,
    wake: WorkerWakeDep,
    visiting: PosterDep,
    sha: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    visiting.principal.require(Permission.JOBS_DEPLOY_BUILD, projectId)
    body = parsed(StartJobBuildRequest, {"sha": sha.strip()} if sha.strip() else {})
    found = await jobs.get_job(session, projectId, jobId)
    started = await starts.start_job_build(session, box, found, body.sha, body.overrides)
    wake.set()
    return see_other(build_url(projectId, "job", found.id, started.id))


@router.post("/projects/{projectId}/services/{serviceId}/builds")
async def start_service_build(
    projectId: str,
    serviceId: str,
    session: SessionDep,
    box: SecretBoxDep,
    wake: WorkerWakeDep,
    visiting: PosterDep,
    branch: Annotated[str, Form(max_length=256)] = "",
    sha: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    visiting.principal.require(Permission.SERVICES_DEPLOY_BUILD, projectId)
    fields = {"branch": branch.strip() or None, "sha": sha.strip() or None}
    body = parsed(StartServiceBuildRequest, {k: v for k, v in fields.items() if v})
    found = await services.get_service(session, projectId, serviceId)
    source = BuildSource(branch=body.branch, sha=body.sha)
    started = await starts.start_service_build(session, box, found, source, body.overrides)
    wake.set()
    return see_other(build_url(projectId, "service", found.id, started.id))


@router.post("/projects/{projectId}/jobs/{jobId}/runs")
async def start_run(
    projectId: str,
    jobId: str,
    session: SessionDep,
    box: SecretBoxDep,
    wake: WorkerWakeDep,
    visiting: PosterDep,
) -> Response:
    visiting.principal.require(Permission.JOBS_RUN, projectId)
    found = await jobs.get_job(session, projectId, jobId)
    recipe, run_secrets = await runs.prepare_run(session, found, jobs.opened_spec(box, found))
    started = await runs.start_run(session, box, found, recipe, run_secrets)
    wake.set()
    return see_other(run_url(projectId, found.id, started.id))


@router.post("/projects/{projectId}/{kind}s/{targetId}/builds/{buildId}/abort")
async def abort_build(
    projectId: str,
    kind: str,
    targetId: str,
    buildId: str,
    session: SessionDep,
    wake: WorkerWakeDep,
    visiting: PosterDep,
) -> Response:
    visiting.principal.require(views.deploy_permission(kind), projectId)
    found = await views.target_of(session, projectId, kind, targetId)
    await builds.abort_build(session, BuildTarget(projectId, kind, found.id), buildId)
    wake.set()
    return see_other(build_url(projectId, kind, found.id, buildId))


@router.post("/projects/{projectId}/jobs/{jobId}/runs/{runId}/abort")
async def abort_run(
    projectId: str,
    jobId: str,
    runId: str,
    session: SessionDep,
    wake: WorkerWakeDep,
    visiting: PosterDep,
) -> Response:
    visiting.principal.require(Permission.JOBS_UPDATE, projectId)
    found = await jobs.get_job(session, projectId, jobId)
    await runs.abort_run(session, projectId, found.id, runId)
    wake.set()
    return see_other(run_url(projectId, found.id, runId))


# ---- integrations: VCS links and registry credentials --------------------------------------

INTEGRATIONS_URL = "/ui/integrations"
ShortField = Annotated[str, Form(max_length=500)]
SecretField = Annotated[str, Form(max_length=4096)]
HostKeyField = Annotated[str, Form(max_length=4000)]


@router.get("/integrations")
async def integrations(request: Request, session: SessionDep, visiting: VisitorDep) -> Response:
    shown = await views.integrations_page(session, visiting.principal)
    return page(request, visiting, "integrations.html", page=shown)


def filled(fields: dict[str, str]) -> dict[str, Any]:
    """A form's fields as a request body: values stripped, empty ones left out."""
    return {key: value.strip() for key, value in fields.items() if value.strip()}


Change = Callable[[AsyncSession, SecretBox], Awaitable[object]]


@dataclass(frozen=True)
class IntegrationChange:
    """A form's change to a VCS link or registry credentials, posted by a logged-in visitor."""

    request: Request
    session: AsyncSession
    box: SecretBox
    visiting: Visitor

    async def make(self, permission: Permission, change: Change) -> Response:
        """Make `change` (the token holding `permission` for the whole account), then show
        the page again; a refusal (in use, invalid, a name taken) is a message on it, with
        its status."""
        principal = self.visiting.principal
        await views.require_account(principal, permission)
        try:
            await change(self.session, self.box)
        except DockyardError as exc:
            shown = await views.integrations_page(self.session, principal, exc.message)
            return page(
                self.request, self.visiting, "integrations.html", status=exc.status, page=shown
            )
        return see_other(INTEGRATIONS_URL)


async def integration_change(
    request: Request, session: SessionDep, box: SecretBoxDep, visiting: PosterDep
) -> IntegrationChange:
    return IntegrationChange(request, session, box, visiting)


ChangeDep = Annotated[IntegrationChange, Depends(integration_change)]


async def _rotate_vcs_link(
    session: AsyncSession, box: SecretBox, link_id: str, token: str, login: str
) -> None:
    body = parsed(VcsLinkPatch, filled({"token": token, "login": login}))
    await vcslinks.rotate_token(session, box, link_id, body)


async def _rotate_registry_password(
    session: AsyncSession, box: SecretBox, credentials_id: str, password: str, username: str
) -> None:
    if not password.strip():
        raise Invalid("credentials.password", "Field required")
    body = {"credentials": filled({"password": password, "username": username})}
    await registries.update_credentials(session, box, credentials_id, parsed(RegistryPatch, body))


@dataclass(frozen=True)
class IntegrationKind:
    """What the rotate and delete buttons of a VCS link or registry credentials do."""

    update: Permission
    delete: Permission
    rotate_secret: Callable[[AsyncSession, SecretBox, str, str, str], Awaitable[None]] | None
    remove: Callable[[AsyncSession, SecretBox, str], Awaitable[None]]


INTEGRATION_KINDS = {
    "vcs": IntegrationKind(
        Permission.VCS_UPDATE,
        Permission.VCS_DELETE,
        _rotate_vcs_link,
        lambda session, _, link_id: vcslinks.delete_link(session, link_id),
    ),
    "servers": IntegrationKind(
        Permission.VCS_UPDATE,
        Permission.VCS_DELETE,
        None,  # a self-hosted VCS record has no secret
        lambda session, _, record_id: selfhosted.delete_record(session, record_id),
    ),
    "registries": IntegrationKind(
        Permission.REGISTRIES_UPDATE,
        Permission.REGISTRIES_DELETE,
        _rotate_registry_password,
        registries.delete_credentials,
    ),
}


def integration_kind(kind: str) -> IntegrationKind:
    if kind not in INTEGRATION_KINDS:
        raise NotFound(f"There are no integrations of kind {kind!r}", {"kind": kind})
    return INTEGRATION_KINDS[kind]


@router.post("/integrations/vcs")
async def create_vcs_link(
    change: ChangeDep,
    name: ShortField = "",
    vcs_service: ShortField = "self-hosted",
    vcs_type: ShortField = "",
    vcs_url: ShortField = "",
    login: ShortField = "",
    token: SecretField = "",
    kind: ShortField = "token",
    host_key: HostKeyField = "",
    self_hosted_vcs_id: ShortField = "",
) -> Response:
    """A token link, or an ssh link (`kind` ssh: no token, dockyard makes its deploy key, the
    page then shows its public key)."""
    fields = {"name": name, "vcsService": vcs_service, "vcsType": vcs_type, "vcsUrl": vcs_url}
    fields |= {"login": login, "token": token, "kind": kind, "hostKey": host_key}
    fields |= {"selfHostedVcsId": self_hosted_vcs_id}
    return await change.make(
        Permission.VCS_CREATE,
        lambda session, box: vcslinks.create_link(
            session, box, parsed(VcsLinkCreate, filled(fields))
        ),
    )


@router.post("/integrations/vcs/{itemId}/rotate-key")
async def rotate_vcs_link_key(change: ChangeDep, itemId: str) -> Response:
    """A new deploy key for the ssh link (the page then shows its public key)."""
    return await change.make(
        Permission.VCS_UPDATE, lambda session, box: vcslinks.rotate_key(session, box, itemId)
    )


@router.post("/integrations/vcs/{itemId}/host-key")
async def pin_vcs_link_host_key(
    change: ChangeDep, itemId: str, host_key: HostKeyField = ""
) -> Response:
    """Pin the ssh server's host key anew; none given: cleared, the next fetch records the
    server's."""
    body = parsed(VcsHostKey, {"hostKey": host_key.strip() or None})
    return await change.make(
        Permission.VCS_UPDATE, lambda session, _: vcslinks.pin_host_key(session, itemId, body)
    )


@router.post("/integrations/servers")
async def add_self_hosted_vcs(
    change: ChangeDep,
    name: ShortField = "",
    vcs_url: ShortField = "",
    vcs_type: ShortField = "",
) -> Response:
    """A self-hosted VCS record, that token links may name."""
    body = filled({"name": name, "vcsUrl": vcs_url, "vcsType": vcs_type})
    return await change.make(
        Permission.VCS_CREATE,
        lambda session, _: selfhosted_vcs.create_record(session, parsed(SelfHostedVcsCreate, body)),
    )


@router.post("/integrations/registries")
async def add_registry_credentials(
    change: ChangeDep,
    name: ShortField = "",
    provider: ShortField = "custom",
    registry_url: ShortField = "",
    username: ShortField = "",
    password: SecretField = "",
    push: ShortField = "",
) -> Response:
    login = filled({"username": username, "password": password})
    login["scope"] = {"pull": True, "push": bool(push)}
    body = filled({"name": name, "provider": provider, "registryUrl": registry_url})
    body["credentials"] = login
    return await change.make(
        Permission.REGISTRIES_CREATE,
        lambda session, box: registries.create_credentials(
            session, box, parsed(RegistryCreate, body)
        ),
    )


@router.post("/integrations/{kind}/{itemId}/rotate")
async def rotate_integration(
    change: ChangeDep,
    kind: str,
    itemId: str,
    secret: SecretField = "",
    login: ShortField = "",
) -> Response:
    """A VCS link's new token or registry credentials' new password (and login, if given)."""
    chosen = integration_kind(kind)
    rotate = chosen.rotate_secret
    if rotate is None:
        raise NotFound(f"The {kind} have no secret to rotate", {"kind": kind})
    return await change.make(
        chosen.update, lambda session, box: rotate(session, box, itemId, secret, login)
    )


@router.post("/integrations/{kind}/{itemId}/delete")
async def delete_integration(change: ChangeDep, kind: str, itemId: str) -> Response:
    chosen = integration_kind(kind)
    return await change.make(
        chosen.delete, lambda session, box: chosen.remove(session, box, itemId)
    )


# ---- API tokens ----------------------------------------------------------------------------

TOKENS_URL = "/ui/tokens"


@router.get("/tokens")
async def tokens_list(
    request: Request, session: SessionDep, visiting: VisitorDep, cursor: str | None = None
) -> Response:
    shown = await views.tokens_page(session, visiting.principal, cursor)
    return page(request, visiting, "tokens.html", page=shown)


def token_body(
    name: str, description: str, permissions: list[str], projects: str, expires: str, admin: str
) -> dict[str, Any]:
    """The create form as `POST /v1/tokens`'s body: projects split on commas and spaces, the
    expiry (a browser's datetime-local, without a zone) read as UTC."""
    body: dict[str, Any] = filled({"name": name, "description": description})
    body["permissions"] = permissions
    if project_ids := projects.replace(",", " ").split():
        body["projects"] = project_ids
    if expires.strip():
        body["expiresAt"] = f"{expires.strip()}Z"
    body["admin"] = bool(admin)
    return body


@router.post("/tokens")
async def create_token(
    request: Request,
    session: SessionDep,
    visiting: PosterDep,
    name: ShortField = "",
    description: ShortField = "",
    permissions: Annotated[list[str] | None, Form(max_length=100)] = None,
    projects: ShortField = "",
    expires: ShortField = "",
    admin: ShortField = "",
) -> Response:
    """A token as `POST /v1/tokens` makes it; the page shows its secret this once (a page,
    not a redirect, so the secret is in no URL and no later page)."""
    principal = visiting.principal
    await views.require_account(principal, Permission.TOKENS_CREATE)
    try:
        fields = token_body(name, description, permissions or [], projects, expires, admin)
        body = parsed(TokenCreate, fields)
        token, secret = await tokens.create_token(session, principal, body)
    except DockyardError as exc:
        shown = await views.tokens_page(session, principal, message=exc.message)
        return page(request, visiting, "tokens.html", status=exc.status, page=shown)
    issued = IssuedToken(**tokens.entry(token).model_dump(), token=secret)
    shown = await views.tokens_page(session, principal, issued=issued)
    return page(request, visiting, "tokens.html", page=shown)


@router.post("/tokens/{tokenId}/revoke")
async def revoke_token(tokenId: str, session: SessionDep, visiting: PosterDep) -> Response:
    """As `DELETE /v1/tokens/{tokenId}`."""
    await views.require_account(visiting.principal, Permission.TOKENS_UPDATE)
    await tokens.revoke_token(session, tokenId)
    return see_other(TOKENS_URL)


# ---- live logs -----------------------------------------------------------------------------


@router.websocket("/projects/{projectId}/{kind}s/{targetId}/builds/{buildId}/logs/ws")
async def tail_build(
    websocket: WebSocket,
    projectId: str,
    kind: str,
    targetId: str,
    buildId: str,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    await live.tail_build(websocket, database, hub, projectId, kind, targetId, buildId)


@router.websocket("/projects/{projectId}/jobs/{jobId}/runs/{runId}/logs/ws")
async def tail_run(
    websocket: WebSocket,
    projectId: str,
    jobId: str,
    runId: str,
    database: DatabaseDep,
    hub: LogHubDep,
) -> None:
    await live.tail_run(websocket, database, hub, projectId, jobId, runId)


@router.get("/{path:path}")
async def not_found(request: Request, path: str) -> Response:
    return error_page(request, 404, f"There is no page at /ui/{path}")
