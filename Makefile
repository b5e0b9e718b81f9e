SHELL := /bin/bash
export PATH := $(HOME)/.local/bin:$(PATH)
UV ?= uv

.PHONY: install services run test lint format bench browser nginx chaos sdk i18n app compose-check node

## install: uv (if missing) and the locked dependencies
install:
	@command -v $(UV) >/dev/null 2>&1 || bash scripts/ensure-uv.sh
	@# .pyc files written once here (incremental afterwards): the environment may set
	@# PYTHONDONTWRITEBYTECODE, and then each of the thirteen processes compiled every module it
	@# imports at every start (3.5x the CPU of a start from bytecode: bench/process_start.py).
	$(UV) sync --frozen --compile-bytecode
	$(UV) run --frozen --no-sync python -m compileall -q libs/common/src services/*/src gateway/src

## services: PostgreSQL, RabbitMQ and Redis answering (started if installed and stopped)
services:
	@bash scripts/ensure-services.sh

## browser: Debian's Chromium for the widget's browser tests
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

## app: the agent web app (app/, Vite + Preact), built into app/dist for the gateway's /app/
## (npm ci only when package-lock.json is newer than what node_modules holds)
app: install node
	cd app && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; } && npm run build

# The app's build when it is missing (`make app` rebuilds it on demand).
app/dist/index.html:
	$(MAKE) app

## nginx: Debian's nginx, in front of the services and the gateway on the public port (Procfile)
nginx:
	@command -v nginx >/dev/null 2>&1 || test -x /usr/sbin/nginx || (echo "installing nginx (Debian package, apt-get as root; it runs only as a Procfile process)" && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null)

## run: migrate, create the demo account, start every service, the gateway and nginx on :8000
run: install services nginx app/dist/index.html
	$(UV) run --frozen parley keys
	$(UV) run --frozen parley migrate
	$(UV) run --frozen parley seed-demo
	$(UV) run --frozen honcho start -f Procfile

## node: Node.js and npm (Debian's packages, if missing) for the generated clients' tests
node:
	@command -v npm >/dev/null 2>&1 || { echo "node: installing nodejs and npm (Debian packages)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }

## test: every test (libs, services, gateway, end-to-end) against the real servers
test: install services browser node app nginx
	$(UV) run --frozen pytest

lint: install
	$(UV) run --frozen ruff format --check .
	$(UV) run --frozen ruff check .
	$(UV) run --frozen mypy libs/common/src services/*/src gateway/src
	bash scripts/lint-deploy.sh

format: install
	$(UV) run --frozen ruff format .
	$(UV) run --frozen ruff check --fix .

## sdk: the Python and TypeScript clients in clients/generated (DOCUMENT= a file or URL; default: built from the code)
sdk: install
	bash clients/generate.sh $(DOCUMENT)

## i18n: compile the catalogues (libs/common/src/parley_common/locales/*/parley.po) to the
## committed .mo files; a test fails while one is stale
i18n: install
	$(UV) run --frozen pybabel compile -d libs/common/src/parley_common/locales -D parley

bench: install services nginx
	$(UV) run --frozen python -m bench

## chaos: 1,000 messages while every process is killed (-9) and restarted, the broker, Redis and
## PostgreSQL restarted — against servers of its own; prints what each fault cost, then checks
chaos: install nginx
	$(UV) run --frozen python tests/chaos/harness.py

## compose-check: the image built offline on a Debian base, the compose stack up, the smoke
## through the gateway, then bare Debian's `make run` + `make test` in a container (as root;
## starts dockerd if needed; leaves nothing running). COMPOSE_CHECK_BARE=0 skips bare Debian.
compose-check: install
	bash scripts/compose-check.sh
