.PHONY: up test lint install docker

## Install what is missing, start Docker, and bring dockyard up (API + worker + registry).
up: install docker
	.venv/bin/dockyard up

## The whole test suite, on the real Docker engine, registry, git and PostgreSQL.
test:
	bash scripts/test.sh

lint: install
	.venv/bin/ruff check src tests
	.venv/bin/ruff format --check src tests
	.venv/bin/mypy src
	.venv/bin/lint-imports --no-cache

install:
	bash scripts/install.sh

docker:
	bash scripts/docker-up.sh
