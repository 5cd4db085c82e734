"""The baseline of bench/api_throughput.py: one FastAPI endpoint answering a job-sized JSON
envelope with no auth, validation or database, served by the same uvicorn as dockyard."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

app = FastAPI()
JOB = {
    "id": "bench-job",
    "name": "bench job",
    "jobType": "manual",
    "tags": [],
    "projectId": "bench",
}


@app.get("/bare/{item_id}")
async def bare(item_id: str) -> dict[str, Any]:
    return {"data": JOB | {"id": item_id}}


@app.post("/bare")
async def bare_post(body: dict[str, Any]) -> dict[str, Any]:
    return {"data": JOB | {"name": body.get("name")}}
