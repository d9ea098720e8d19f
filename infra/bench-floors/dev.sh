#!/usr/bin/env bash
# `make dev` from a warm build (issue 9, "fast"): the first answer on the
# local HTTP API within 3 s of its port opening. Builds first (what `make dev`
# builds), then runs `make dev` and prints the seconds from launch to the
# port opening, and from the port opening to the first answer of GET /
# (the landing page) and of POST /inquiries (the intake function, through
# the gateway and the Runtime API, against the emulator). Prints figures;
# asserts nothing about time.
#
#   make bench-dev     (DEV_BENCH_PORT=3000, DEV_BENCH_EMULATOR_PORT=4599)
set -euo pipefail
cd "$(dirname "$0")/../.."
port="${DEV_BENCH_PORT:-3000}"
emulator_port="${DEV_BENCH_EMULATOR_PORT:-4599}"
url="http://127.0.0.1:$port"

if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is taken: set DEV_BENCH_PORT" >&2
    exit 1
fi
# A warm build: what `leadflow-local dev` builds, and the `leadflow` command.
cargo build -q --workspace --bins
cargo build -q -p leadflow-infra --bin leadflow

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
launched=$(now)
setsid make --no-print-directory dev \
    DEV_ARGS="--port $port --emulator-port $emulator_port --stack-name dev-bench-$$ --quiet" \
    >/tmp/dev-bench-$$.log 2>&1 &
dev=$!
stop() { kill -TERM -- "-$dev" 2>/dev/null || true; wait "$dev" 2>/dev/null || true; }
trap stop EXIT

until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    if ! kill -0 "$dev" 2>/dev/null; then
        cat /tmp/dev-bench-$$.log >&2
        exit 1
    fi
    sleep 0.01
done
opened=$(now)
# The first successful answer of each (retried until one comes).
first() {
    local code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@" || true)
        [[ "$code" =~ ^2 ]] && break
        sleep 0.01
    done
    now
}
landing=$(first "$url/")
inquiry=$(first -X POST -H 'content-type: application/json' \
    -d "{\"email\":\"dev-bench-$$@example.com\",\"first_name\":\"Dev\",\"last_name\":\"Bench\",\"company\":\"Bench\",\"country\":\"DE\",\"request_type\":\"demo\"}" \
    "$url/inquiries")

echo
echo "make dev from a warm build (port $port):"
echo "  launch -> port open:                 $(since "$launched" "$opened") s (cargo's up-to-date check, moto, provisioning, every function started)"
echo "  port open -> first GET / answered:   $(since "$opened" "$landing") s (target <= 3 s)"
echo "  port open -> first POST /inquiries:  $(since "$opened" "$inquiry") s (after the GET; through the intake function)"
rm -f /tmp/dev-bench-$$.log
