"""The dashboard's page addresses. They are stable: notifications link to them, so they sit
below every domain and import nothing of the dashboard."""

from __future__ import annotations


def project_url(project_id: str) -> str:
    return f"/ui/projects/{project_id}"


def target_url(project_id: str, kind: str, target_id: str) -> str:
    return f"{project_url(project_id)}/{kind}s/{target_id}"


def build_url(project_id: str, kind: str, target_id: str, build_id: str) -> str:
    return f"{target_url(project_id, kind, target_id)}/builds/{build_id}"


def run_url(project_id: str, job_id: str, run_id: str) -> str:
    return f"{target_url(project_id, 'job', job_id)}/runs/{run_id}"
