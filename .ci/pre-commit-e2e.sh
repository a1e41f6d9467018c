#!/usr/bin/env bash
# End-to-end check of .pre-commit-hooks.yaml with the real pre-commit tool (from PyPI): in a
# fresh repository, a commit that adds a secret is blocked and a clean commit passes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet pre-commit
export PATH="$WORK/venv/bin:$PATH" PRE_COMMIT_HOME="$WORK/cache"
# Reuse this checkout's compiled dependencies for pre-commit's `cargo install`.
export CARGO_TARGET_DIR="$ROOT/target"
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=ci GIT_AUTHOR_EMAIL=ci@example.invalid GIT_COMMITTER_NAME=ci GIT_COMMITTER_EMAIL=ci@example.invalid

REPO="$WORK/repo"
git init -q -b main "$REPO"
cd "$REPO"
cat > .pre-commit-config.yaml <<YAML
repos:
  - repo: $ROOT
    rev: $(git -C "$ROOT" rev-parse HEAD)
    hooks:
      - id: leakhound
YAML
pre-commit install >/dev/null
echo "hello" > README.md
git add -A
git commit -qm "clean commit" || { echo "FAIL: a clean commit was blocked"; exit 1; }

# Assembled at run time so that this script itself holds no secret.
printf 'STRIPE_KEY=%s%s\n' "sk_live_" "Zq81mXk20LpAq9Rt7Vb3Nc6W" > payments.env
git add payments.env
if out=$(git commit -qm "leak" 2>&1); then
  echo "FAIL: a commit that adds a secret was not blocked"; exit 1
fi
echo "$out" | grep -q "stripe.secret-key" || { echo "FAIL: the hook did not name the rule:"; echo "$out"; exit 1; }
[ "$(git rev-list --count HEAD)" = 1 ] || { echo "FAIL: the secret was committed"; exit 1; }
echo "pre-commit e2e: clean commit passed, secret blocked"
