# Sourced by the scripts that start a server and then talk to it (fuzz-api.sh,
# test-page.sh, test-serving-clients.sh). `wait_for_url NAME URL PID LOG` waits up to 60 s for URL to answer with a
# 2xx status; it fails, printing LOG, as soon as process PID exits or when time runs out.
wait_for_url() {
    local name=$1 url=$2 pid=$3 log=$4
    for _ in $(seq 1 120); do
        if curl --silent --fail --max-time 2 "$url" >/dev/null; then return 0; fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "$name exited before it was ready; its log:" >&2
            cat "$log" >&2
            return 1
        fi
        sleep 0.5
    done
    echo "$name was not ready after 60 s; its log:" >&2
    cat "$log" >&2
    return 1
}
