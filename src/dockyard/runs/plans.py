"""Deployment plans: the CPU, memory and pids limits a job container gets, by plan id.

The pids limit is 256 tasks (processes and threads) per CPU of the plan, at least 256: room
for any ordinary program, while a fork bomb stops there instead of exhausting the host's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from dockyard.errors import Conflict

MIB = 1024 * 1024
PIDS_PER_CPU = 256
MIN_PIDS = 256


@dataclass(frozen=True)
class Plan:
    cpus: float
    memory_mb: int

    @property
    def nano_cpus(self) -> int:
        """The CPU limit, never above what this machine has (the engine refuses more)."""
        return int(min(self.cpus, os.cpu_count() or 1) * 1e9)

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * MIB

    @property
    def pids_limit(self) -> int:
        return max(MIN_PIDS, int(self.cpus * PIDS_PER_CPU))


PLANS = {
    "nf-compute-10": Plan(0.1, 256),
    "nf-compute-20": Plan(0.2, 512),
    "nf-compute-50": Plan(0.5, 1024),
    "nf-compute-100-1": Plan(1, 1024),
    "nf-compute-100-2": Plan(1, 2048),
    "nf-compute-100-4": Plan(1, 4096),
    "nf-compute-200": Plan(2, 4096),
    "nf-compute-200-8": Plan(2, 8192),
    "nf-compute-200-16": Plan(2, 16384),
    "nf-compute-400": Plan(4, 8192),
    "nf-compute-400-16": Plan(4, 16384),
}


def plan_of(plan_id: str) -> Plan:
    try:
        return PLANS[plan_id]
    except KeyError:
        raise Conflict(
            f"Unknown deployment plan {plan_id!r}; this dockyard has: {', '.join(PLANS)}",
            {"billing.deploymentPlan": plan_id},
        ) from None
