#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, from Debian's `postgresql`
# package: initdb in DIR, listening on a free loopback port, with password
# authentication. As root it runs as the `postgres` user (initdb refuses
# root).
#
#   .ci/postgres.sh start DIR           init (first time) and start; prints the URL
#   .ci/postgres.sh stop DIR            fast shutdown
#   .ci/postgres.sh stop-immediate DIR  like a crash: no checkpoint, no goodbye to clients
set -euo pipefail

cmd="${1:?usage: postgres.sh start|stop|stop-immediate DIR}"
dir="${2:?usage: postgres.sh start|stop|stop-immediate DIR}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [[ -z "$bin" ]]; then
    echo "PostgreSQL is not installed: apt-get install postgresql" >&2
    exit 1
fi
password=slipstream-test

as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    mkdir -p "$dir"
    if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir"; fi
    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        echo "$port" >"$dir/port"
        printf '%s\n' "$password" >"$dir/pwfile"
        if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir/port" "$dir/pwfile"; fi
        as_owner "$bin/initdb" -D "$dir/data" -U slipstream --pwfile="$dir/pwfile" \
            --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    fi
    port="$(cat "$dir/port")"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200" \
        start >/dev/null
    echo "postgres://slipstream:$password@127.0.0.1:$port/postgres"
    ;;
stop)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
stop-immediate)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
*)
    echo "unknown command $cmd" >&2
    exit 2
    ;;
esac
