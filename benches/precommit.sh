#!/usr/bin/env bash
# Pre-commit latency: `leakhound git --staged` on a large repository (100,000 files in 2,000
# directories, default) with a typical staged change (one modified file, one new file).
#
# usage: benches/precommit.sh [FILES]
set -euo pipefail
cd "$(dirname "$0")/.."
FILES=${1:-100000}
REPO=/tmp/leakhound-bench-precommit-$FILES
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --locked --quiet
BIN=$PWD/target/release/leakhound
if [ ! -d "$REPO/.git" ]; then
  python3 - "$REPO" "$FILES" <<'PY'
import os, sys
repo, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(repo, f"svc{i % 40}", f"pkg{i % 2000 // 40}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"file{i}.py"), "w") as f:
        f.write(f"# module {i}\nTIMEOUT = {i}\n\ndef handler_{i}(event):\n    return event\n")
PY
  git -C "$REPO" init -q -b main
  git -C "$REPO" add -A
  git -C "$REPO" -c user.name=b -c user.email=b@b commit -qm init
fi
git -C "$REPO" reset -q --hard
printf 'RETRIES = 3\n' >> "$REPO/svc7/pkg12/file487.py"
printf 'API_URL = "https://api.internal"\n' > "$REPO/svc3/pkg9/new_module.py"
git -C "$REPO" add -A
echo "repo: $REPO ($(git -C "$REPO" ls-files | wc -l) files), staged: $(git -C "$REPO" diff --cached --name-only | tr '\n' ' ')"
hyperfine --warmup 3 --runs 30 -N -i \
  -n "leakhound git --staged" "$BIN git $REPO --staged -q" \
  -n "git diff --cached --name-only (reference)" "git -C $REPO diff --cached --name-only"
