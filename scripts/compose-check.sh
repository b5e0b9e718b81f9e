#!/usr/bin/env bash
# make compose-check: the image built and the compose stack run for real, on a machine
# without a container registry. As root (it may start dockerd and apt-get install).
#
#   1. dockerd started if it is not running (stopped again at the end if this started it)
#   2. a Debian bookworm base image made offline from Debian's packages (mmdebstrap, then
#      docker import), kept as parley-check/debian:bookworm and reused while it exists
#   3. PostgreSQL, RabbitMQ, Redis and an SMTP sink built on it (deploy/check/*.Dockerfile)
#   4. the Parley image: deploy/Dockerfile with BASE_IMAGE=that base (classic builder)
#   5. docker-compose up with a generated .env (random passwords, free host ports) in a
#      temporary directory, until the gateway's /readyz (internal port) answers 200
#   6. the smoke through the gateway (scripts/compose_smoke.py): sign-up, a visitor's
#      message on the agent's stream, a push to an APNs double, an attachment round trip
#   7. bare Debian (COMPOSE_CHECK_BARE=0 skips it): a container of the base with a clone of
#      the repository runs `make run` until /readyz answers, then `make test`
#      (COMPOSE_CHECK_BARE_TEST=0 stops after `make run`; COMPOSE_CHECK_STACK=0 skips 3-6)
#   then docker-compose down -v and the check's containers removed, whatever happened.
#   The images stay as a cache; COMPOSE_CHECK_REBUILD=1 makes the base again.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
export PATH="$HOME/.local/bin:$PATH"
export DOCKER_BUILDKIT=0 # BuildKit is not installed here; the classic builder is

BASE=parley-check/debian:bookworm
PROJECT=parleycheck
BARE_NAME=parleycheck-bare
MIRROR="${COMPOSE_CHECK_MIRROR:-http://deb.debian.org}"

work="$(mktemp -d /tmp/compose-check.XXXXXX)"
started_dockerd=""
timings=()
check_started=$SECONDS

say() { echo "compose-check: $*"; }
timed() { # name command...: runs it, records how long it took
    local name="$1" start=$SECONDS
    shift
    say "== $name"
    "$@"
    timings+=("$(printf '%-34s %4ds' "$name" $((SECONDS - start)))")
}

compose() {
    docker-compose --project-name "$PROJECT" --project-directory "$ROOT" --env-file "$work/.env" \
        -f "$ROOT/docker-compose.yml" -f "$work/compose.images.yml" -f "$work/compose.check.yml" "$@"
}

cleanup() {
    local status=$?
    set +e
    if [ -f "$work/.env" ] && docker info >/dev/null 2>&1; then
        if [ "$status" -ne 0 ]; then
            say "failed; last lines of the stack's logs:"
            compose logs --no-color --tail=25 2>/dev/null | tail -n 150
        fi
        say "docker-compose down -v"
        compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1
    fi
    docker rm -f "$BARE_NAME" >/dev/null 2>&1
    rm -rf "$work"
    if [ -n "$started_dockerd" ]; then
        say "stopping the dockerd this check started"
        kill "$started_dockerd" 2>/dev/null && while kill -0 "$started_dockerd" 2>/dev/null; do sleep 0.5; done
    fi
    printf 'compose-check: %s\n' "${timings[@]}"
    say "total $((SECONDS - check_started))s: $([ "$status" -eq 0 ] && echo OK || echo "FAILED ($status)")"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need_packages() { # the Debian packages of the tools this check uses, when one is missing
    local missing=()
    command -v dockerd >/dev/null || missing+=(docker.io)
    command -v docker-compose >/dev/null || missing+=(docker-compose)
    command -v mmdebstrap >/dev/null || missing+=(mmdebstrap)
    [ ${#missing[@]} -eq 0 ] && return
    [ "$(id -u)" -eq 0 ] || {
        say "needs root to install ${missing[*]}"
        exit 1
    }
    say "installing ${missing[*]} (Debian packages)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

start_dockerd() {
    docker info >/dev/null 2>&1 && return
    say "dockerd is not running: starting it (log: $work/dockerd.log)"
    dockerd --storage-driver=overlay2 >"$work/dockerd.log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && return
        sleep 1
    done
    tail -n 20 "$work/dockerd.log"
    exit 1
}

build_base() {
    if [ -z "${COMPOSE_CHECK_REBUILD:-}" ] && docker image inspect "$BASE" >/dev/null 2>&1; then
        say "$BASE exists: reused (COMPOSE_CHECK_REBUILD=1 makes it again)"
        return
    fi
    # minbase + Python (with venv, and `python`) + CA certificates, plus this machine's
    # local CAs (/usr/local/share/ca-certificates: a TLS-inspecting proxy's, if any).
    mmdebstrap --variant=minbase --quiet \
        --include=python3,python3-venv,python-is-python3,ca-certificates \
        --customize-hook='for f in /usr/local/share/ca-certificates/*.crt; do [ -e "$f" ] && cp "$f" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null 2>&1' \
        bookworm - \
        "deb $MIRROR/debian bookworm main" \
        "deb $MIRROR/debian bookworm-updates main" \
        "deb $MIRROR/debian-security bookworm-security main" |
        docker import --change 'CMD ["/bin/bash"]' - "$BASE" >/dev/null
}

build() { # tag dockerfile context (the classic builder's output only if it fails)
    docker build --build-arg BASE_IMAGE="$BASE" -t "$1" -f "$2" "$3" >"$work/build.log" 2>&1 || {
        tail -n 40 "$work/build.log"
        return 1
    }
}

build_stores() {
    for store in postgres rabbitmq redis smtp; do
        build "parley-check/$store:bookworm" "deploy/check/$store.Dockerfile" deploy/check
    done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

configure() {
    local secret
    secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(18))'; }
    gateway_port="$(free_port)"
    internal_port="$(free_port)"
    cat >"$work/.env" <<EOF
POSTGRES_PASSWORD=$(secret)
RABBITMQ_USER=parley
RABBITMQ_PASSWORD=$(secret)
REDIS_PASSWORD=$(secret)
PARLEY_SECRETS_KEY=$(uv run --frozen parley secrets-key)
PARLEY_GATEWAY_PORT=127.0.0.1:$gateway_port
PARLEY_INBOUND_SMTP_PORT=127.0.0.1:$(free_port)
RABBITMQ_UI_PORT=$(free_port)
MAILPIT_UI_PORT=$(free_port)
EOF
    cat >"$work/compose.images.yml" <<EOF
services:
  postgres: {image: "parley-check/postgres:bookworm"}
  rabbitmq: {image: "parley-check/rabbitmq:bookworm"}
  redis: {image: "parley-check/redis:bookworm"}
  mailpit: {image: "parley-check/smtp:bookworm"}
  gateway:
    ports: ["127.0.0.1:$internal_port:8001"] # /readyz for the check, on the host only
EOF
    # The address containers reach this machine by: the default bridge's own address.
    local host_address
    host_address="$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)"
    uv run --frozen python scripts/compose_smoke.py prepare "$work" "$host_address"
}

wait_ready() {
    for _ in $(seq 1 300); do
        python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$internal_port/readyz', timeout=3)" 2>/dev/null && return
        sleep 1
    done
    compose ps
    say "the gateway's /readyz did not answer 200 within 300s"
    exit 1
}

smoke() {
    uv run --frozen python scripts/compose_smoke.py run "$work" \
        "http://127.0.0.1:$gateway_port" "http://127.0.0.1:$internal_port"
}

bare_debian() {
    # A clone of the committed tree (what a fresh machine gets), in a container of the
    # bare base with only `make` added; the container's own loopback holds the stores.
    git clone -q --no-hardlinks "$ROOT" "$work/clone"
    local run_tests="${COMPOSE_CHECK_BARE_TEST:-1}"
    docker run --name "$BARE_NAME" --rm --init --shm-size=1g -v "$work/clone:/src/parley" -w /src/parley \
        -e SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt -e CI=true \
        -e RUN_TESTS="$run_tests" \
        "$BASE" bash -euo pipefail -c '
            step() { echo "bare-debian: $1 ($((SECONDS))s)"; }
            step "apt-get install make (the one thing a fresh machine adds by hand)"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq make >/dev/null
            step "make run (in the background, a process group of its own), until /readyz answers"
            # /readyz is served on the internal port only (for make run; not for make test, whose
            # tests start gateways of their own).
            PARLEY_GATEWAY_INTERNAL_PORT=8001 setsid make run >/tmp/make-run.log 2>&1 &
            run=$!
            until python -c "import urllib.request as u; u.urlopen(\"http://127.0.0.1:8001/readyz\", timeout=3)" 2>/dev/null; do
                kill -0 $run 2>/dev/null || { tail -n 60 /tmp/make-run.log; exit 1; }
                [ $SECONDS -lt 1500 ] || { tail -n 60 /tmp/make-run.log; exit 1; }
                sleep 2
            done
            grep -E "^(services|install|keys):" /tmp/make-run.log || true
            # SIGTERM to the child of make (uv run) only, which passes it on to honcho once: sent
            # to the whole group, honcho got two at once, crashed in its handler and hung.
            step "/readyz: 200; stopping make run (SIGTERM to uv run)"
            kill -TERM $(cat /proc/$run/task/$run/children)
            (sleep 60 && echo "bare-debian: make run still running after 60s: SIGKILL" && kill -KILL -- -$run) &
            wait $run || true
            kill $! 2>/dev/null || true
            [ "$RUN_TESTS" = 1 ] || exit 0
            step "make test"
            start=$SECONDS
            make test 2>&1 | tail -n 40
            step "make test passed in $((SECONDS - start))s"
        '
}

need_packages
timed "dockerd" start_dockerd
timed "base image (mmdebstrap + import)" build_base
if [ "${COMPOSE_CHECK_STACK:-1}" != 0 ]; then
    timed "store images" build_stores
    timed "Parley image" build parley:local deploy/Dockerfile .
    timed "configure (.env, keys, APNs PKI)" configure
    timed "docker-compose up -d" compose up -d --no-build --quiet-pull
    timed "gateway /readyz" wait_ready
    timed "smoke through the gateway" smoke
    say "docker-compose down -v (the stack is done with)"
    compose down -v --remove-orphans --timeout 10 >/dev/null 2>&1
fi
if [ "${COMPOSE_CHECK_BARE:-1}" != 0 ]; then
    timed "bare Debian: make run, make test" bare_debian
fi
