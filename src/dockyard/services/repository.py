"""All SQL of services, and the typed view of a service's stored spec."""

from __future__ import annotations

from dockyard.services.models import Service
from dockyard.services.schemas import BuildServiceSpec
from dockyard.targets.repository import TargetTable

TABLE: TargetTable[Service, BuildServiceSpec] = TargetTable(Service, lambda _: BuildServiceSpec)
spec_of = TABLE.spec_of
"""The service's stored spec as a create body."""
get = TABLE.get
everywhere = TABLE.everywhere
sealed_values = TABLE.sealed_values
