#!/usr/bin/env bash
# A throwaway PostgreSQL server for tests, on a temporary data directory and a loopback port:
#   pg_server.sh start DIR PORT   initdb (first time) and start; trust auth, user and db "rill"
#   pg_server.sh stop DIR PORT    fast shutdown
#   pg_server.sh run CMD ARGS...  start on a fresh DIR and free PORT, run CMD with RILL_PG_CONNINFO,
#                                 RILL_PG_DIR, RILL_PG_PORT and RILL_PG_SCRIPT set, stop, remove DIR
# Postgres refuses to run as root: as root the server runs as the system user rill-pg (created
# with useradd -r if absent). Missing binaries fail, naming ./dev setup.
set -euo pipefail

PG_USER=rill-pg

bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z $d || ! -x $d/initdb || ! -x $d/pg_ctl ]]; then
    echo "pg_server.sh: PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb, pg_ctl) are missing;" \
         "run ./dev setup (installs postgresql libpq-dev)" >&2
    exit 1
  fi
  echo "$d"
}

# as_server CMD...: runs CMD as the user that owns the server.
as_server() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

prepare_user() {
  [[ $(id -u) -eq 0 ]] || return 0
  id -u "$PG_USER" >/dev/null 2>&1 || useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$PG_USER"
}

start() {
  local dir=$1 port=$2 bin
  bin=$(bindir)
  prepare_user
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown "$PG_USER" "$dir"
  chmod 700 "$dir"
  if [[ ! -f $dir/data/PG_VERSION ]]; then
    # fsync off: a test server needs no durability across power loss, and initdb is 3x faster.
    as_server "$bin/initdb" -D "$dir/data" -U rill -A trust --no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  # The socket goes into DIR: the default /var/run/postgresql may not be writable by PG_USER.
  as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  # The test connects as "rill" to database "rill".
  as_server "$bin/psql" -h 127.0.0.1 -p "$port" -U rill -d postgres -qAt \
    -c "SELECT 1 FROM pg_database WHERE datname = 'rill'" | grep -q 1 ||
    as_server "$bin/createdb" -h 127.0.0.1 -p "$port" -U rill rill
}

stop() {
  local dir=$1 bin
  bin=$(bindir)
  [[ -f $dir/data/postmaster.pid ]] || return 0
  as_server "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run() {
  local rc=0
  bindir >/dev/null
  # Globals: the EXIT trap runs after run() returned, and also when the test crashes.
  RUN_DIR=$(mktemp -d /tmp/rill_pg_XXXXXX)
  RUN_PORT=$(free_port)
  trap 'stop "$RUN_DIR" "$RUN_PORT" || true; rm -rf "$RUN_DIR"' EXIT
  start "$RUN_DIR" "$RUN_PORT"
  RILL_PG_CONNINFO="host=127.0.0.1 port=$RUN_PORT dbname=rill user=rill" RILL_PG_DIR=$RUN_DIR \
    RILL_PG_PORT=$RUN_PORT RILL_PG_SCRIPT=$(readlink -f "$0") "$@" || rc=$?
  return $rc
}

case ${1:-} in
  start) start "$2" "$3" ;;
  stop) stop "$2" "$3" ;;
  run) shift; run "$@" ;;
  *) echo "usage: pg_server.sh start|stop DIR PORT | run CMD ARGS..." >&2; exit 2 ;;
esac
