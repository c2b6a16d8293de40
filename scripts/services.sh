#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on localhost; start them when they are local and stopped.
set -euo pipefail
pg_up() { (echo > /dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { (echo > /dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if [ -z "${DATABASE_URL:-}" ] && ! pg_up; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  else
    echo "PostgreSQL is not reachable on 127.0.0.1:5432; start it or set DATABASE_URL." >&2; exit 1
  fi
fi
if [ -z "${REDIS_URL:-}" ] && ! redis_up; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  else
    echo "Redis is not reachable on 127.0.0.1:6379; start it or set REDIS_URL." >&2; exit 1
  fi
fi
for _ in $(seq 1 30); do
  if { [ -n "${DATABASE_URL:-}" ] || pg_up; } && { [ -n "${REDIS_URL:-}" ] || redis_up; }; then exit 0; fi
  sleep 1
done
echo "PostgreSQL or Redis did not come up." >&2
exit 1
