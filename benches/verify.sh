#!/usr/bin/env bash
# Live verification at org scale, against a local mock provider with realistic latency.
#
#   benches/verify.sh [SECRETS] [LATENCY_MS]      (defaults: 1000 secrets, 100 ms)
#
# Builds a git repository holding SECRETS distinct fake tokens of five providers (Hugging
# Face, DigitalOcean, Heroku, SendGrid, Stripe), serves every provider's API from one
# threaded Python server on 127.0.0.1 that answers each request after LATENCY_MS, points
# [verify.endpoints] at it, and times `leakhound org --verify` (scan + read-back + one request
# per secret) with the default limits: 32 requests in flight, 8 and 25/s per provider. A
# second run shows the store's cache (no request). Needs python3 and git; nothing leaves
# 127.0.0.1.
set -euo pipefail
N=${1:-1000}
LATENCY=${2:-100}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${LEAKHOUND:-$ROOT/target/release/leakhound}
[ -x "$BIN" ] || (cd "$ROOT" && cargo build --release -q)
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

python3 - "$N" "$WORK/repo" <<'PY'
import os, random, string, subprocess, sys
n, repo = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(7)
an = string.ascii_letters + string.digits
def s(chars, k): return "".join(rnd.choice(chars) for _ in range(k))
makers = [
    lambda: "hf_" + s(an, 34),
    lambda: "dop_v1_" + s("0123456789abcdef", 64),
    lambda: "HRKU-AA" + s(an + "_-", 58),
    lambda: "SG." + s(an, 22) + "." + s(an, 43),
    lambda: "sk_" + "live_" + s(an, 24),
]
os.makedirs(repo)
for i in range(n):
    with open(os.path.join(repo, f"svc{i:04}.env.sh"), "w") as f:
        f.write(f"export TOKEN={makers[i % len(makers)]()}\n")
run = lambda *a: subprocess.run(["git", "-C", repo, *a], check=True, capture_output=True)
run("init", "-q"); run("add", "."); run("-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "secrets")
PY

cat > "$WORK/mock.py" <<'PY'
import http.server, sys, time
latency = int(sys.argv[2]) / 1000
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        n = int(self.headers.get("content-length") or 0)
        if n: self.rfile.read(n)
        time.sleep(latency)
        body = b'{"login": "bench", "email": "bench@example.com", "id": "acct_1", "name": "bench"}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = answer
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 "$WORK/mock.py" "$PORT" "$LATENCY" & SERVER=$!
sleep 0.5
URL="http://127.0.0.1:$PORT"
printf '[verify.endpoints]\nhuggingface = "%s"\ndigitalocean = "%s"\nheroku = "%s"\nsendgrid = "%s"\nstripe = "%s"\n' \
  "$URL" "$URL" "$URL" "$URL" "$URL" > "$WORK/leakhound.toml"
echo "$WORK/repo" > "$WORK/repos.txt"

run() {
  /usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB peak" \
    "$BIN" org --repos "$WORK/repos.txt" --store "$WORK/s.db" --cache-dir "$WORK/m" \
      --config "$WORK/leakhound.toml" --verify --no-progress --format json -o "$WORK/report.json" 2>&1 \
    | grep -E "verified|wall|error" || true
}
echo "== $N secrets, $LATENCY ms latency: first run (every secret asked once)"
run
echo "== second run (results from the store's cache)"
run
