#!/usr/bin/env bash
# Organization scan: R generated repositories (C commits each, different content) served by
# `git daemon` on 127.0.0.1. Measures the first run (mirror + scan), a second run (incremental:
# fetch, nothing new), and the floor: `git clone --mirror` of every repository, 4 at a time.
# Peak RSS is printed for each leakhound run; run with two R values to see that memory does not
# grow with the number of repositories.
#
# usage: benches/org.sh [REPOS] [COMMITS]   (default: 40 repositories of 1,000 commits)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-40}
C=${2:-1000}
WORK=/tmp/leakhound-bench-org-$R-$C
if [ ! -d "$WORK/srv" ]; then
  mkdir -p "$WORK/srv"
  for i in $(seq 1 "$R"); do
    SEED=$i python3 benches/make_history.py "$WORK/work$i" "$C" >/dev/null
    git clone -q --bare "$WORK/work$i" "$WORK/srv/repo$i.git"
    rm -rf "$WORK/work$i"
  done
fi
cargo build --release --locked --quiet
BIN=$PWD/target/release/leakhound
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
git daemon --reuseaddr --export-all --listen=127.0.0.1 --port="$PORT" --base-path="$WORK/srv" "$WORK/srv" &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null || true' EXIT
sleep 0.5
for i in $(seq 1 "$R"); do echo "git://127.0.0.1:$PORT/repo$i.git"; done > "$WORK/repos.txt"
echo "$R repositories x $C commits; $(du -sh "$WORK/srv" | cut -f1) of packs"

rm -rf "$WORK/floor" && mkdir "$WORK/floor"
start=$(date +%s.%N)
sed 's/$//' "$WORK/repos.txt" | xargs -P4 -I{} sh -c 'git clone -q --mirror "$1" "$2/$(basename "$1")"' _ {} "$WORK/floor"
echo "floor: git clone --mirror (4 at a time): $(echo "$(date +%s.%N) - $start" | bc) s"

rm -rf "$WORK/store.db"* "$WORK/mirrors"
/usr/bin/time -f "leakhound org, first run: %e s, peak RSS %M KiB" \
  "$BIN" org --repos "$WORK/repos.txt" --store "$WORK/store.db" --cache-dir "$WORK/mirrors" \
  --no-progress --format json -o "$WORK/first.json" || true
jq -c '.stats | {repositories, commits, new_blobs, known_blobs, bytes}' "$WORK/first.json"
/usr/bin/time -f "leakhound org, incremental re-run: %e s, peak RSS %M KiB" \
  "$BIN" org --repos "$WORK/repos.txt" --store "$WORK/store.db" --cache-dir "$WORK/mirrors" \
  --no-progress --format json -o "$WORK/second.json" || true
jq -c '.stats | {repositories, commits, new_blobs, known_blobs}' "$WORK/second.json"
