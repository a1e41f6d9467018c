#!/usr/bin/env bash
# History scan against the floor: decompressing every object once
# (`git cat-file --batch-all-objects --batch --unordered`). Prints times and peak RSS.
#
# usage: benches/git-history.sh [REPO]   (default: a generated 30,000-commit repository)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=${1:-/tmp/leakhound-bench-history}
if [ ! -d "$REPO/.git" ] && [ ! -f "$REPO/HEAD" ]; then
  python3 benches/make_history.py "$REPO" 30000
fi
command -v hyperfine >/dev/null || { apt-get update -qq && apt-get install -y -qq hyperfine; }
cargo build --release --locked --quiet
BIN=$PWD/target/release/leakhound
echo "repo: $REPO: $(git -C "$REPO" rev-list --all --count) commits, $(git -C "$REPO" count-objects -vH | grep size-pack)"
hyperfine --warmup 1 --runs 5 -i \
  -n "floor: git cat-file --batch-all-objects" "git -C '$REPO' cat-file --batch-all-objects --batch --unordered > /dev/null" \
  -n "leakhound git" "'$BIN' git '$REPO' -q --format json -o /dev/null"
/usr/bin/time -f "leakhound git peak RSS: %M KiB, %e s" "$BIN" git "$REPO" -q --format json -o /dev/null || true
/usr/bin/time -f "git cat-file peak RSS: %M KiB, %e s" git -C "$REPO" cat-file --batch-all-objects --batch --unordered > /dev/null
