#!/usr/bin/env bash
# End-to-end throughput: `leakhound scan` with every built-in rule against `rg -uuu` with a
# 30-alternative secret regex (one alternative per line of a pattern file), over the same tree (page cache warm). Prints MB/s and peak RSS.
#
# usage: benches/e2e.sh [TREE]    (default: the local cargo registry sources)
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:-$(ls -d "$HOME"/.cargo/registry/src/*/ | head -n 1)}
if ! command -v rg >/dev/null || ! command -v hyperfine >/dev/null; then
  apt-get update -qq && apt-get install -y -qq ripgrep hyperfine
fi
cargo build --release --locked --quiet
BIN=$PWD/target/release/leakhound
PATTERNS=$(mktemp)
cat > "$PATTERNS" <<'RE'
AKIA[0-9A-Z]{16}
ASIA[0-9A-Z]{16}
ghp_[A-Za-z0-9]{36}
gho_[A-Za-z0-9]{36}
ghu_[A-Za-z0-9]{36}
ghs_[A-Za-z0-9]{36}
ghr_[A-Za-z0-9]{36}
github_pat_[A-Za-z0-9_]{82}
glpat-[A-Za-z0-9_-]{20}
xox[baprs]-[A-Za-z0-9-]{10,}
sk_live_[A-Za-z0-9]{24,}
rk_live_[A-Za-z0-9]{24,}
whsec_[A-Za-z0-9]{32,}
AIza[A-Za-z0-9_-]{35}
sk-proj-[A-Za-z0-9_-]{40,}
sk-ant-api03-[A-Za-z0-9_-]{90,}
npm_[A-Za-z0-9]{36}
pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}
SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}
shpat_[a-f0-9]{32}
dop_v1_[a-f0-9]{64}
hvs\.[A-Za-z0-9_-]{24,}
dp\.pt\.[A-Za-z0-9]{43}
dapi[a-f0-9]{32}
hf_[A-Za-z0-9]{34}
-----BEGIN [A-Z ]*PRIVATE KEY-----
AGE-SECRET-KEY-1[0-9A-Z]{58}
eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}
postgres(ql)?://[^:\s]+:[^@\s]+@
(password|secret|token|api_key)\s*[:=]\s*["'][^"'\s]{8,}
RE
BYTES=$(du -sb "$TREE" | cut -f1)
echo "tree: $TREE ($((BYTES / 1000000)) MB, $(find "$TREE" -type f | wc -l) files)"
hyperfine --warmup 1 --runs 5 -i --export-json /tmp/leakhound-e2e.json \
  -n "rg -uuu (30 alternatives)" "rg -uuu -c -f '$PATTERNS' '$TREE' > /dev/null" \
  -n "leakhound scan (all rules)" "'$BIN' scan --no-ignore -q --format json -o /dev/null '$TREE'"
python3 - "$BYTES" <<'PY'
import json, sys
size = int(sys.argv[1])
for r in json.load(open("/tmp/leakhound-e2e.json"))["results"]:
    print(f"{r['command']}: {r['mean']:.3f} s mean, {size / r['mean'] / 1e6:.0f} MB/s")
PY
/usr/bin/time -f "leakhound peak RSS: %M KiB" "$BIN" scan --no-ignore -q --format json -o /dev/null "$TREE" || true
hyperfine --warmup 3 --runs 20 -N -n "startup: leakhound scan (one small file)" "'$BIN' scan -q README.md"
