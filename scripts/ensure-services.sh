#!/usr/bin/env bash
# Checks that PostgreSQL, RabbitMQ and Redis answer; starts a locally installed one that is
# stopped; on a Debian machine (as root) installs a missing one from Debian's packages first,
# as `make test` installs Chromium. PARLEY_NO_INSTALL=1: never install anything.
set -uo pipefail

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }
rabbit_up() { (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; }

start_pg() {
  command -v pg_ctlcluster >/dev/null || return 1
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
}
start_redis() {
  command -v redis-server >/dev/null || return 1
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
start_rabbit() { command -v rabbitmq-server >/dev/null || return 1; rabbitmq-server -detached; }

wait_for() {  # name check
  for _ in $(seq 1 120); do "$2" && return 0; sleep 1; done
  return 1
}

# The Debian package of each server whose command is missing, for a machine that has none.
install_missing() {
  local packages=()
  command -v pg_ctlcluster >/dev/null || packages+=(postgresql)
  command -v redis-server >/dev/null || packages+=(redis-server)
  command -v rabbitmq-server >/dev/null || packages+=(rabbitmq-server)
  [ ${#packages[@]} -gt 0 ] || return 0
  if [ -n "${PARLEY_NO_INSTALL:-}" ] || [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
    echo "services: not installed: ${packages[*]} (as root on Debian this installs them: apt-get install ${packages[*]})"
    return 0
  fi
  echo "services: installing ${packages[*]} from Debian's packages (apt-get, as root)"
  export DEBIAN_FRONTEND=noninteractive
  # The cluster the postgresql package creates takes its encoding from the locale: UTF-8.
  LANG=C.UTF-8 LC_ALL=C.UTF-8 apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 || {
    apt-get update -qq
    LANG=C.UTF-8 LC_ALL=C.UTF-8 apt-get install -y -qq "${packages[@]}" >/dev/null
  } || return 0
  if [[ " ${packages[*]} " == *" postgresql "* ]]; then
    # A development cluster, as PARLEY_DATABASE_URL's default expects: user postgres, no
    # password, from this machine's loopback only.
    local hba
    hba="/etc/postgresql/$(ls /etc/postgresql | head -1)/main/pg_hba.conf"
    sed -i -e '1i host all all 127.0.0.1/32 trust' -e '1i host all all ::1/128 trust' "$hba"
    echo "services: PostgreSQL: cluster 'main' (UTF-8); connections from 127.0.0.1 and ::1 trusted ($hba)"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main reload >/dev/null 2>&1 || true
  fi
}

pg_up && redis_up && rabbit_up || install_missing

missing=()
for svc in pg:PostgreSQL:5432 redis:Redis:6379 rabbit:RabbitMQ:5672; do
  IFS=: read -r key name port <<<"$svc"
  if ! "${key}_up"; then
    echo "services: $name is not answering on 127.0.0.1:$port; starting the local server"
    if ! "start_${key}" >/dev/null 2>&1 || ! wait_for "$name" "${key}_up"; then
      missing+=("$name (127.0.0.1:$port)")
    fi
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "services: not reachable: ${missing[*]}." >&2
  echo "Install and start them, point PARLEY_DATABASE_URL / PARLEY_RABBITMQ_URL / PARLEY_REDIS_URL" >&2
  echo "at running servers, or run everything in containers with: docker-compose up" >&2
  exit 1
fi
# Every Parley process keeps its pool open (no connection per request under load), so
# `make run` holds ~70 connections and `make test` up to ~75 more: together more than a stock
# cluster's 100. A local cluster we manage gets 300 (once: ALTER SYSTEM, then a restart).
ensure_pg_connections() {
  local have
  have=$(psql -h 127.0.0.1 -U postgres -Atc "SHOW max_connections" 2>/dev/null) || return 0
  [ -n "$have" ] && [ "$have" -lt 300 ] || return 0
  if [ -n "${PARLEY_NO_INSTALL:-}" ] || [ "$(id -u)" -ne 0 ] || ! command -v pg_ctlcluster >/dev/null; then
    echo "services: PostgreSQL allows $have connections; make run and make test at once need ~150 (ALTER SYSTEM SET max_connections = 300, then restart it)"
    return 0
  fi
  echo "services: PostgreSQL allows $have connections; make run and make test at once hold ~150: max_connections = 300 (ALTER SYSTEM, restart)"
  psql -h 127.0.0.1 -U postgres -qc "ALTER SYSTEM SET max_connections = 300" >/dev/null &&
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart &&
    wait_for PostgreSQL pg_up
}
case "${PARLEY_DATABASE_URL:-127.0.0.1:5432}" in *127.0.0.1:5432*|*localhost:5432*) ensure_pg_connections ;; esac

echo "services: PostgreSQL, RabbitMQ and Redis are up"
