#!/usr/bin/env bash
# Runs the "Scan" step of action.yml, exactly as written, against a real repository with the
# environment files GitHub provides (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY): a push that adds a
# secret gives findings=1, exit-code=1, an ::error annotation and a summary row; a clean push
# gives findings=0.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v jq >/dev/null || { apt-get update -qq && apt-get install -y -qq jq; }
export RUNNER_TEMP="$WORK/runner"
mkdir -p "$RUNNER_TEMP/leakhound/bin"
cargo build --locked --quiet --manifest-path "$ROOT/Cargo.toml"
cp "${CARGO_TARGET_DIR:-$ROOT/target}/debug/leakhound" "$RUNNER_TEMP/leakhound/bin/"
python3 -c "import yaml" 2>/dev/null || python3 -m pip install --quiet pyyaml
python3 - "$ROOT/action.yml" > "$WORK/scan.sh" <<'PY'
import sys, yaml
action = yaml.safe_load(open(sys.argv[1]))
step = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
print(step["run"])
PY
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.invalid GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.invalid
cd "$WORK" && git init -q -b main repo && cd repo
echo "hello" > README.md && git add -A && git commit -qm base
BASE=$(git rev-parse HEAD)
printf 'STRIPE_KEY=%s%s\n' "sk_live_" "Zq81mXk20LpAq9Rt7Vb3Nc6W" > pay.env && git add -A && git commit -qm leak

run() {
  : > "$WORK/out" ; : > "$WORK/summary"
  LH_MODE=git LH_PATH=. LH_SINCE="$1" LH_SARIF=leakhound.sarif LH_ARGS="" \
    GITHUB_OUTPUT="$WORK/out" GITHUB_STEP_SUMMARY="$WORK/summary" bash -e "$WORK/scan.sh" > "$WORK/log"
}
run "$BASE"
grep -qx 'exit-code=1' "$WORK/out" || { echo "FAIL: exit-code"; cat "$WORK/out"; exit 1; }
grep -qx 'findings=1' "$WORK/out" || { echo "FAIL: findings"; cat "$WORK/out"; exit 1; }
grep -q '^::error file=pay.env,line=1,title=leakhound stripe.secret-key::' "$WORK/log" || { echo "FAIL: annotation"; cat "$WORK/log"; exit 1; }
grep -q '| stripe.secret-key | pay.env | 1 |' "$WORK/summary" || { echo "FAIL: summary"; cat "$WORK/summary"; exit 1; }
grep -q 'Zq81mXk20LpAq9Rt7Vb3Nc6W' "$WORK/log" "$WORK/summary" leakhound.sarif && { echo "FAIL: the secret leaked into the log"; exit 1; }
echo "clean" > notes.txt && git add notes.txt && git commit -qm clean
run "$(git rev-parse HEAD~1)"
grep -qx 'findings=0' "$WORK/out" && grep -qx 'exit-code=0' "$WORK/out" || { echo "FAIL: clean push"; cat "$WORK/out"; exit 1; }
echo "action e2e: secret push fails with annotation and summary, clean push passes"
