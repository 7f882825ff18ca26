#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL and Redis on loopback ports, for the
# PostgreSQL/Redis test suite and for trying several instances locally.
#
#   scripts/services.sh start   # prints the env to use: eval "$(scripts/services.sh start)"
#   scripts/services.sh stop
#   scripts/services.sh env     # prints the env again
#
# Needs Debian's postgresql and redis-server packages (sudo apt-get install
# postgresql redis-server). State lives in $SERVICES_DIR (default ./.services).
set -euo pipefail

SERVICES_DIR=${SERVICES_DIR:-"$(cd "$(dirname "$0")/.." && pwd)/.services"}
PG_PORT=${PG_PORT:-54329}
REDIS_PORT=${REDIS_PORT:-63799}
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

die() { echo "services.sh: $*" >&2; exit 1; }

# PostgreSQL refuses to run as root: use the postgres account the package creates.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

print_env() {
  echo "export TOKENGATE_TEST_DATABASE_URL=postgres://tokengate@127.0.0.1:${PG_PORT}/tokengate"
  echo "export TOKENGATE_TEST_REDIS_URL=redis://127.0.0.1:${REDIS_PORT}"
}

start() {
  [ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] || die "PostgreSQL is not installed: sudo apt-get install postgresql"
  command -v redis-server >/dev/null || die "Redis is not installed: sudo apt-get install redis-server"
  mkdir -p "$SERVICES_DIR"
  local pgdata="$SERVICES_DIR/pg"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    mkdir -p "$pgdata"
    [ "$(id -u)" = 0 ] && chown -R postgres:postgres "$pgdata"
    chmod 700 "$pgdata"
    as_pg "$PG_BIN/initdb" -D "$pgdata" -U tokengate --auth=trust -E UTF8 --no-locale >"$SERVICES_DIR/initdb.log" 2>&1 \
      || { cat "$SERVICES_DIR/initdb.log" >&2; die "initdb failed"; }
  fi
  if ! as_pg "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    # Tuned for tests, not durability: a crash loses nothing we need.
    as_pg "$PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 30 start \
      -o "-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" >/dev/null \
      || { tail -20 "$pgdata/server.log" >&2; die "PostgreSQL did not start"; }
  fi
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U tokengate -d postgres -tAc "select 1 from pg_database where datname='tokengate'" | grep -q 1 \
    || "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U tokengate tokengate
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    mkdir -p "$SERVICES_DIR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$SERVICES_DIR/redis" \
      --save '' --appendonly no --logfile "$SERVICES_DIR/redis/redis.log" --pidfile "$SERVICES_DIR/redis/redis.pid"
    for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$REDIS_PORT" ping >/dev/null || die "Redis did not start"
  fi
  print_env
}

stop() {
  if [ -n "$PG_BIN" ] && [ -f "$SERVICES_DIR/pg/PG_VERSION" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$SERVICES_DIR/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) print_env ;;
  *) die "usage: services.sh start|stop|env" ;;
esac
