# Sourced by scripts/test.sh: throwaway PostgreSQL clusters for the tests that need a real
# server (the audit store's: AuditStoreTests, AuditRouteTests). `start_test_postgres`
# installs Debian's postgresql package when missing and starts two clusters, each in a
# temporary folder on a free loopback port (no Unix socket outside that folder, trust
# authentication: nothing listens beyond 127.0.0.1):
#   CANDOR_TEST_POSTGRES_URL         the one the tests share;
#   CANDOR_TEST_POSTGRES_DOOMED_URL  one a test kills (CANDOR_TEST_POSTGRES_DOOMED_STOP, a shell
#                                    command: pg_ctl stop -m immediate) to see what is lost.
# `stop_test_postgres` stops both and removes their folders. Run as root, the clusters belong
# to the `postgres` user, as initdb refuses root.
postgres_folders=()
postgres_stops=()

start_test_postgres() {
    bash scripts/install-deps.sh postgresql
    start_postgres_cluster
    export CANDOR_TEST_POSTGRES_URL=$postgres_url
    start_postgres_cluster
    export CANDOR_TEST_POSTGRES_DOOMED_URL=$postgres_url
    export CANDOR_TEST_POSTGRES_DOOMED_STOP=$postgres_stop
}

# Starts one cluster; sets postgres_url and postgres_stop.
start_postgres_cluster() {
    local bin folder port as_owner=()
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    folder=$(mktemp -d)
    if [[ "$(id -u)" -eq 0 ]]; then
        chown postgres "$folder"
        as_owner=(runuser -u postgres --)
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${as_owner[@]}" "$bin/initdb" -D "$folder/data" -A trust -U candor --no-sync >"$folder/initdb.log"
    "${as_owner[@]}" "$bin/pg_ctl" -D "$folder/data" -l "$folder/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $folder -c fsync=off" start >/dev/null
    "${as_owner[@]}" "$bin/createdb" -h 127.0.0.1 -p "$port" -U candor candor_audit
    postgres_url="postgres://candor@127.0.0.1:$port/candor_audit?sslmode=disable"
    postgres_stop="${as_owner[*]} $bin/pg_ctl -D $folder/data -m immediate stop"
    postgres_folders+=("$folder")
    postgres_stops+=("$postgres_stop")
}

stop_test_postgres() {
    local stop folder
    for stop in "${postgres_stops[@]}"; do
        $stop >/dev/null 2>&1 || true
    done
    for folder in "${postgres_folders[@]}"; do
        rm -rf "$folder"
    done
}
