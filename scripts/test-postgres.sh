# Sourced by scripts/test.sh: a throwaway PostgreSQL cluster for the tests that need a real
# server (the audit store's, AuditStoreTests). `start_test_postgres` installs Debian's
# postgresql package when missing, creates a cluster in a temporary folder, starts it on a
# free loopback port (no Unix socket outside that folder, trust authentication: nothing
# listens beyond 127.0.0.1) and exports CANDOR_TEST_POSTGRES_URL; `stop_test_postgres` stops
# it and removes the folder. Run as root, the cluster belongs to the `postgres` user, as
# initdb refuses root.
start_test_postgres() {
    bash scripts/install-deps.sh postgresql
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    postgres_folder=$(mktemp -d)
    local as_owner=()
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres "$postgres_folder"
        as_owner=(runuser -u postgres --)
    fi
    local port
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    postgres_stop=("${as_owner[@]}" "$bin/pg_ctl" -D "$postgres_folder/data" -m immediate stop)
    "${as_owner[@]}" "$bin/initdb" -D "$postgres_folder/data" -A trust -U candor --no-sync >"$postgres_folder/initdb.log"
    "${as_owner[@]}" "$bin/pg_ctl" -D "$postgres_folder/data" -l "$postgres_folder/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $postgres_folder -c fsync=off" start >/dev/null
    "${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U candor candor_audit
    export CANDOR_TEST_POSTGRES_URL="postgres://candor@127.0.0.1:$port/candor_audit?sslmode=disable"
}

stop_test_postgres() {
    if [[ -n "${postgres_folder:-}" ]]; then
        "${postgres_stop[@]}" >/dev/null 2>&1 || true
        rm -rf "$postgres_folder"
    fi
}
