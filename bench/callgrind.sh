#!/usr/bin/env bash
# Instructions per request of the release gateway under valgrind's callgrind: the stable
# measure for hot-path work on a noisy machine (wall-clock figures move ±15 % between runs).
#
#   bench/callgrind.sh [passthrough|expressions] [requests]
#
# Needs nginx (the backend), valgrind and python3; build first with
# `cargo build --release -p portico`. Prints the total and per-request instruction counts of
# `requests` keep-alive requests after 200 unmeasured ones; the profile stays in the printed
# directory for `callgrind_annotate`.
set -euo pipefail
scenario=${1:-passthrough}
requests=${2:-2000}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$(mktemp -d)
chmod 755 "$dir" # nginx workers (www-data) read the backend files
backend=18080; gateway=18181; ops=18182
PATH="$PATH:/usr/sbin"

mkdir -p "$dir/www" && head -c 1024 /dev/urandom >"$dir/www/1k.bin"
cat >"$dir/nginx.conf" <<NGINX
worker_processes 1; daemon off; pid $dir/nginx.pid; error_log $dir/nginx-error.log;
events {}
http { access_log off; server { listen 127.0.0.1:$backend; root $dir/www; keepalive_requests 1000000; } }
NGINX
nginx -c "$dir/nginx.conf" & nginx_pid=$!

policy=""
if [ "$scenario" = expressions ]; then
  # The benchmark's expression-heavy policy, taken from its source so the two never differ.
  policy=$(python3 - "$root/crates/portico-bench/src/scenarios.rs" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
xml = re.search(r'pub const EXPRESSION_POLICY: &str = r#"(.*?)"#;', src, re.S).group(1)
print("    policy: |")
for line in xml.splitlines():
    print("      " + line)
PY
)
fi
cat >"$dir/portico.yaml" <<YAML
apis:
  - id: bench
    path: ""
    serviceUrl: http://127.0.0.1:$backend
    subscriptionRequired: false
    operations:
      - { id: all, method: "*", urlTemplate: "/*" }
$policy
YAML

cat >"$dir/drive.py" <<'PY'
import http.client, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
c = http.client.HTTPConnection("127.0.0.1", port)
h = {"x-tier": "Gold", "x-client-id": "bench-client-42", "User-Agent": "wrk/4"}
for _ in range(n):
    c.request("GET", "/1k.bin", headers=h)
    r = c.getresponse()
    r.read()
    assert r.status == 200, r.status
PY

valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.out" \
  "$root/target/release/portico" gateway --config "$dir/portico.yaml" \
  --listen "127.0.0.1:$gateway" --ops-listen "127.0.0.1:$ops" --tls-listen off \
  --workers 1 --access-log off >"$dir/portico.log" 2>&1 &
portico_pid=$!
trap 'kill $portico_pid $nginx_pid 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$gateway/1k.bin" && break; sleep 1; done
python3 "$dir/drive.py" "$gateway" 200
callgrind_control -z "$portico_pid" >/dev/null
python3 "$dir/drive.py" "$gateway" "$requests"
callgrind_control -d "$portico_pid" >/dev/null
total=$(callgrind_annotate "$dir/callgrind.out.1" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$scenario: $total instructions, $((total / requests)) per request (profile: $dir/callgrind.out.1)"
