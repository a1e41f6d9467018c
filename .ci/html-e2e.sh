#!/usr/bin/env bash
# Checks `--format html` in a real browser: scans a tree of fake secrets into a page, loads it
# in headless Chromium (--dump-dom, after the page's script ran) with and without a
# `#filter=…&severity=…` fragment, and checks the counts, that filtering changes the number of
# visible secrets, that a hostile file name stays text, that the page loads nothing from the
# network, and that no secret value is in it. Builds nothing: the binary is $1
# (default target/debug/leakhound).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${1:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/leakhound}
fail() { echo "FAIL: html-e2e: $*"; exit 1; }
[ -x "$BIN" ] || fail "no leakhound binary at $BIN (build it first, or pass its path)"
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
command -v python3 >/dev/null || fail "python3 is needed"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Fake secrets, assembled from pieces so that this script holds none. A classic GitHub token
# ends in the base62 CRC32 of its 30-character body (checked offline), so compute it.
GITHUB=$(python3 - Xk3Tq9LmZ2wR7vBn4cYp8sHj1dFg6a <<'PY'
import sys, zlib
body = sys.argv[1]
digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
n, tail = zlib.crc32(body.encode()) & 0xFFFFFFFF, ""
for _ in range(6):
    n, r = divmod(n, 62)
    tail = digits[r] + tail
print("ghp" + "_" + body + tail)
PY
)
STRIPE="sk_live""_Zq81mXk20LpAq9Rt7Vb3Nc6W"
AWS="AKIA""S7QWNM6U3VYQ5RBZ"
RESTRICTED="rk_live""_Hq7Wm2Xp9Lk4Rt8Vb3Nc6Yd1"
WEBHOOK="whsec""_Qm4Xr8Tz2Lp6Wv9Kb3Nd7Hf1Yc5Gs0Ja"
HOSTILE='<img src=x onerror=alert(1)>.yml'

# 5 distinct secrets in 6 places: 3 critical (GitHub in two files, Stripe, AWS), 1 high, 1 medium.
cd "$WORK"
mkdir -p tree/app tree/deploy
printf 'GITHUB_TOKEN = "%s"\nSTRIPE_KEY = "%s"\n' "$GITHUB" "$STRIPE" > tree/app/settings.py
printf 'token: %s\naws_access_key_id = %s\nrestricted: %s\n' "$GITHUB" "$AWS" "$RESTRICTED" \
  > tree/deploy/settings.yml
printf 'webhook: %s\n' "$WEBHOOK" > "tree/deploy/$HOSTILE"

code=0
"$BIN" scan tree --format html -o page.html 2> scan.log || code=$?
[ "$code" -eq 1 ] || { cat scan.log; fail "scan exited $code (expected 1: findings)"; }
[ -s page.html ] || fail "no page written"

dump() {
  timeout 120 chromium --headless=new --no-sandbox --disable-gpu --no-first-run \
    --no-default-browser-check --user-data-dir="$WORK/profile" \
    --dump-dom "file://$WORK/page.html$1" 2>> chromium.log
}
dump "" > dom-all.html
dump "#severity=critical" > dom-critical.html
dump "#filter=stripe" > dom-stripe.html
dump "#filter=stripe&severity=critical" > dom-both.html
dump "#filter=Amazon%20Web" > dom-decoded.html
[ -s dom-all.html ] || { tail -20 chromium.log; fail "chromium dumped nothing"; }

python3 - "$GITHUB" "$STRIPE" "$AWS" "$RESTRICTED" "$WEBHOOK" <<'PY' || fail "the page checks above failed"
import re, sys
from html.parser import HTMLParser

secrets = sys.argv[1:]
problems = []

class Dom(HTMLParser):
    """Ids' text, secret rows and the elements of a serialized DOM."""
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.ids, self.rows, self.tags, self._open = {}, [], [], []
        self.feed(text)
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "tr" and "secret" in (a.get("class") or "").split():
            self.rows.append(a)
        if "id" in a:
            self._open.append(a["id"])
            self.ids.setdefault(a["id"], "")
    def handle_data(self, data):
        for i in self._open:
            self.ids[i] += data
        self._open = []

def load(name):
    with open(name, encoding="utf-8") as f:
        return f.read()

def check(name, visible):
    dom = Dom(load(name))
    shown = [r for r in dom.rows if "hidden" not in r]
    got = dom.ids.get("visible-count", "").strip()
    if got != str(visible):
        problems.append(f"{name}: visible-count is {got!r}, expected {visible}")
    if len(shown) != visible:
        problems.append(f"{name}: {len(shown)} secret rows visible, expected {visible}")
    if "img" in dom.tags:
        problems.append(f"{name}: the hostile file name became an <img> element")
    return dom

page = load("page.html")
dom = check("dom-all.html", 5)
if dom.ids.get("count-secrets", "").strip() != "5":
    problems.append(f"count-secrets is {dom.ids.get('count-secrets')!r}, expected 5")
if dom.ids.get("count-findings", "").strip() != "6":
    problems.append(f"count-findings is {dom.ids.get('count-findings')!r}, expected 6")
sev = sorted(r.get("data-severity") for r in dom.rows)
if sev != ["critical", "critical", "critical", "high", "medium"]:
    problems.append(f"severities of the secret rows: {sev}")
gh = [r for r in dom.rows if r.get("data-rule") == "github.pat-classic"]
if len(gh) != 1 or gh[0].get("data-locations") != "2":
    problems.append(f"the GitHub token should be one secret in 2 locations: {gh}")
for row in dom.rows:
    if not row.get("data-rule"):
        problems.append(f"secret row without data-rule: {row}")
check("dom-critical.html", 3)
check("dom-stripe.html", 3)
check("dom-both.html", 1)
check("dom-decoded.html", 1)

# Self-contained: no resource from anywhere but the page itself.
loads = re.findall(
    r"<(?:link|script|img|iframe|frame|embed|object|source|audio|video|track|image|use|input)\b"
    r"[^>]*?\b(?:src|href|srcset|data|poster|xlink:href)\s*=\s*[\"']?\s*(?:https?:)?//[^\s\"'>]*",
    page, re.I)
if loads:
    problems.append(f"external loads in the page: {loads}")
if re.search(r"url\(\s*[\"']?\s*(?:https?:)?//|@import", page, re.I):
    problems.append("the style sheet loads something")
if "default-src 'none'" not in page:
    problems.append("no Content-Security-Policy forbidding external loads")
if "&lt;img src=x onerror=alert(1)&gt;.yml" not in page:
    problems.append("the hostile file name is not shown escaped")

# Redacted, in the page and in what the browser made of it.
for name in ["page.html", "dom-all.html", "dom-critical.html"]:
    text = load(name)
    for s in secrets:
        if s in text:
            problems.append(f"{name} contains a secret value ({s[:4]}…)")

if problems:
    print("\n".join("  " + p for p in problems))
    sys.exit(1)
PY
echo "PASS: html-e2e: 5 secrets in 6 findings; #severity/#filter fragments show 3, 3, 1, 1; no external loads; secrets redacted"
