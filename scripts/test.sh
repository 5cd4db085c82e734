#!/usr/bin/env bash
# The whole test suite on the real engine: Docker (started if needed), a PostgreSQL server
# for the Postgres cases, then pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install.sh test
bash scripts/docker-up.sh
DOCKYARD_TEST_POSTGRES_URL=$(bash scripts/postgres-up.sh | tail -n 1)
export DOCKYARD_TEST_POSTGRES_URL

.venv/bin/ruff check src tests
.venv/bin/mypy src
.venv/bin/lint-imports --no-cache
exec .venv/bin/pytest -p no:cacheprovider "$@"
