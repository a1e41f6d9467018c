#!/usr/bin/env bash
# Runs leakhound's fuzz targets for a bounded time each (needs the nightly toolchain; installs
# cargo-fuzz if missing). Seeds come from this repository (fixtures, rules, reports written by
# the binary), never from the network.
#
# usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 600 s, every target)
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(analyze archive image rules gitleaks decode report)
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
seed() {
  local target=$1
  mkdir -p "corpus/$target"
  case $target in
    analyze|decode) find ../fixtures -type f -size -64k -exec cp -n {} "corpus/$target/" \; 2>/dev/null || true ;;
    rules) cp -n ../rules/*.yml "corpus/$target/" 2>/dev/null || true ;;
    gitleaks) printf '[[rules]]\nid = "a"\nregex = '"'''"'(?i)tok_([a-z0-9]{8})'"'''"'\nkeywords = ["tok_"]\n[[rules.allowlists]]\nregexes = ["^x"]\n' > "corpus/$target/seed.toml" ;;
    archive|image) find ../fixtures -type f \( -name '*.tar' -o -name '*.zip' -o -name '*.gz' -o -name '*.jar' \) -size -1M -exec cp -n {} "corpus/$target/" \; 2>/dev/null || true ;;
    report) printf '{"version":"1","findings":[],"stats":{}}\n' > "corpus/$target/seed.json" ;;
  esac
}
for t in "${TARGETS[@]}"; do
  seed "$t"
  echo "==> $t for ${SECONDS_EACH}s"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=20 2>&1 |
    grep -E '^(#[0-9]+.*DONE|Done|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)' || true
done
echo "==> crashes and hangs (fuzz/artifacts):"
ls -R artifacts 2>/dev/null || echo "none"
