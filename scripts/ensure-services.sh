#!/usr/bin/env bash
# Checks that PostgreSQL, RabbitMQ and Redis answer; starts a locally installed one that is stopped.
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
  for _ in $(seq 1 60); do "$2" && return 0; sleep 1; done
  return 1
}

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
echo "services: PostgreSQL, RabbitMQ and Redis are up"
