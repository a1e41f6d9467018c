#!/usr/bin/env bash
# Real-world benchmark corpus: false positives per 100 MB of popular third-party code, and
# recall/precision on fake secrets planted in realistic places.
#
# Usage:
#   benches/realworld.sh                 fetch (cached) + plant + scan + report
#   benches/realworld.sh --fetch-only    only fetch/refresh the corpus
#   benches/realworld.sh --no-fetch      plant + scan + report on the corpus already fetched
#   benches/realworld.sh --report-only   redo only the report from the last findings file
#   benches/realworld.sh --help
#
# Environment:
#   LEAKHOUND_CORPUS         cache dir (default: $HOME/.cache/leakhound-corpus); must be
#                            outside the repository. Layout:
#                              downloads/   wheels, .debs, apt/npm logs (kept between runs)
#                              tree/        what is scanned:
#                                node-app/      package.json + node_modules/ (npm install)
#                                python/        site-packages/ + bin/ (wheels, unpacked)
#                                debian/        rootfs-like tree of extracted .debs
#                                crates/        cargo vendor output (opt-in, see below)
#                              stamps/      one per subtree; a changed package list refetches
#                              keys/        SSH/PEM keys generated once (ssh-keygen), reused
#                              planted.tsv  path, line, kind, value of every planted secret
#                              findings.jsonl, leakhound.stderr, run.json, report.txt,
#                              fp-sample.txt (sample non-planted findings with source lines)
#   LEAKHOUND                binary (default: target/release/leakhound of this repo)
#   LEAKHOUND_ARGS           extra arguments for `leakhound scan` (word-split)
#   LEAKHOUND_CORPUS_CRATES  1 = also `cargo vendor` the crates list. Off by default because
#                            it resolves and downloads through cargo: never run it while
#                            another cargo build is running (it is refused if one is).
#   LEAKHOUND_CORPUS_NPM_BEFORE  npm --before cutoff pinning transitive npm dependencies
#                            (default below); "" disables it.
#   LEAKHOUND_CORPUS_SEED    seed of the planted values (default 20261203); keep it fixed to
#                            compare runs.
#
# Needs: bash, python3 (standard library only), npm, pip, apt-get + dpkg-deb (Debian;
# root or sudo for `apt-get update`), ssh-keygen, and network access to the npm registry,
# PyPI, the Debian archive (and crates.io for the opt-in crates). A first fetch downloads
# roughly 1 GB and takes several minutes; later runs reuse the cache. A package that fails
# to download is skipped with a warning; the report lists what the corpus holds.
#
# Versions are pinned below (npm top-level packages exactly, their transitive dependencies
# through --before; PyPI and Debian exactly, installed without dependencies; crates with
# "=" requirements). Planted values come from a fixed seed, so runs are comparable. Labels of
# findings in third-party code that are real secrets go in benches/realworld-labels.tsv.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${LEAKHOUND_CORPUS:-$HOME/.cache/leakhound-corpus}
SEED=${LEAKHOUND_CORPUS_SEED:-20261203}
NPM_BEFORE=${LEAKHOUND_CORPUS_NPM_BEFORE-2026-12-03T00:00:00Z}
HELPER="$HERE/realworld.py"

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

MODE=all
case "${1:-}" in
"") ;;
--fetch-only) MODE=fetch ;;
--no-fetch) MODE=nofetch ;;
--report-only) MODE=report ;;
-h | --help) usage; exit 0 ;;
*) usage >&2; die "unknown argument: $1" ;;
esac

mkdir -p "$CACHE"
CACHE=$(cd "$CACHE" && pwd -P)
case "$CACHE/" in
"$(cd "$REPO" && pwd -P)"/*) die "LEAKHOUND_CORPUS ($CACHE) must be outside the repository" ;;
esac
TREE=$CACHE/tree
DL=$CACHE/downloads
STAMPS=$CACHE/stamps
BUILD=$CACHE/build
mkdir -p "$TREE" "$DL" "$STAMPS"

# ---------------------------------------------------------------------------------------------
# Pinned package lists ("name version"). Changing a list refetches that subtree.

NPM_PACKAGES='
aws-sdk 2.1693.0
@aws-sdk/client-s3 3.1178.0
@aws-sdk/client-iam 3.1178.0
@aws-sdk/client-sts 3.1178.0
googleapis 188.0.0
firebase 13.2.0
firebase-admin 14.5.1
@azure/identity 4.14.1
@azure/storage-blob 12.34.0
@google-cloud/storage 8.4.0
stripe 23.2.0
twilio 6.3.1
openai 7.60.0
@slack/web-api 8.2.0
@octokit/rest 22.0.1
jsonwebtoken 9.0.3
passport 0.7.0
express 5.3.0
mongoose 9.12.2
sequelize 6.37.8
pg 8.23.1
mysql2 3.24.6
redis 6.4.0
axios 1.21.1
webpack 5.113.0
typescript 5.9.3
aws-cdk-lib 2.276.0
'
# Left out: next (about 300 MB, a third of it native binaries, which would dominate the tree);
# typescript stays on 5.x (7.x is a native binary).

PYPI_PACKAGES='
boto3 1.44.8
botocore 1.44.8
awscli 1.46.3
s3transfer 0.19.3
google-cloud-storage 3.17.1
google-api-python-client 2.202.0
google-auth 2.63.0
azure-storage-blob 12.31.1
azure-identity 1.27.0
azure-core 1.41.0
azure-mgmt-compute 39.0.0
msal 1.39.0
django 5.2.19
djangorestframework 3.18.3
flask 3.1.3
requests 2.34.2
urllib3 2.8.0
sqlalchemy 2.1.9
paramiko 5.1.0
cryptography 50.0.2
pyjwt 2.15.1
oauthlib 4.0.1
requests-oauthlib 2.0.0
openai 3.60.0
stripe 16.1.0
twilio 9.13.0
kubernetes 37.0.2
slack_sdk 3.48.0
sentry-sdk 2.75.0
celery 5.7.0
redis 8.1.0
psycopg2-binary 2.9.13
ansible-core 2.19.14
jupyter_server 2.21.1
tornado 6.6.1
'
# Wheels are chosen for this interpreter/platform whatever runs the script.
PIP_PLATFORM_ARGS=(--python-version 3.11 --implementation cp --platform manylinux_2_28_x86_64
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --only-binary=:all:)

# Debian bookworm (+ updates/security) versions.
DEBIAN_PACKAGES='
openssh-client 1:9.2p1-2+deb12u10
git 1:2.39.5-0+deb12u3
git-man 1:2.39.5-0+deb12u3
nginx-common 1.22.1-9+deb12u11
postgresql-common 248+deb12u2
ca-certificates 20250419~deb12u2
python3-botocore 1.29.27+repack-1
python3-django 3:3.2.25-0+deb12u7
libpam-modules 1.5.2-6+deb12u3
sudo 1.9.13p3-1+deb12u4
curl 7.88.1-10+deb12u15
apache2-data 2.4.71-1~deb12u1
openssl 3.0.22-1~deb12u2
perl-modules-5.36 5.36.0-7+deb12u4
wordpress 6.1.9+dfsg1-0+deb12u1
'

CRATES='
aws-sdk-s3 1.68.0
reqwest 0.12.9
jsonwebtoken 9.3.0
oauth2 4.4.2
sqlx 0.8.2
rusoto_core 0.48.0
hyper 1.5.0
tokio 1.41.0
'

# The first file in DIR matching GLOB, or nothing (never fails).
first_file() { { find "$1" -maxdepth 1 -name "$2" -type f 2>/dev/null || true; } | sort | head -n 1; }

pkglist() { printf '%s\n' "$1" | awk 'NF == 2 { print $1, $2 }'; }

# A stamp holds the hash of the list (and of this fetch code's version) it was built from.
FETCH_VERSION=1
stamp_of() { printf 'v%s\n%s' "$FETCH_VERSION" "$2" | sha256sum | cut -c1-16; }
stamp_ok() { [[ -d "$TREE/$1" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$(stamp_of "$1" "$2")" ]]; }
# With a third argument > 0 (packages skipped), no stamp: the next run tries again.
stamp_write() {
  if [[ ${3:-0} -gt 0 ]]; then
    rm -f "$STAMPS/$1"
    warn "$1: $3 package(s) skipped; the subtree is incomplete and will be refetched next run"
  else
    stamp_of "$1" "$2" >"$STAMPS/$1"
  fi
}

# Replaces TREE/NAME with BUILD/NAME (built completely before the swap).
install_subtree() {
  rm -rf "${TREE:?}/$1"
  mv "$BUILD/$1" "$TREE/$1"
}

# ---------------------------------------------------------------------------------------------
# npm: one package.json listing the packages, `npm install --ignore-scripts` into node_modules/.

fetch_npm() {
  if stamp_ok node-app "$NPM_PACKAGES"; then log "node-app: cached"; return; fi
  command -v npm >/dev/null || { warn "npm not found: skipping node-app"; return; }
  log "node-app: npm install of $(pkglist "$NPM_PACKAGES" | wc -l) packages (this takes a while)"
  local work=$BUILD/node-app
  rm -rf "$work"
  mkdir -p "$work"
  write_package_json() { # $1 = "all" or "none"
    {
      printf '{\n  "name": "acme-node-app",\n  "version": "1.4.2",\n  "private": true,\n'
      printf '  "description": "Billing and notifications API",\n  "main": "src/server.js",\n'
      printf '  "dependencies": {'
      if [[ $1 == all ]]; then
        pkglist "$NPM_PACKAGES" | awk '{ printf "%s\n    \"%s\": \"%s\"", (NR > 1 ? "," : ""), $1, $2 }'
      fi
      printf '\n  }\n}\n'
    } >"$work/package.json"
  }
  local npm_args=(--ignore-scripts --no-audit --no-fund --loglevel=error) failed=0
  local before_args=()
  [[ -n "$NPM_BEFORE" ]] && before_args=(--before="$NPM_BEFORE")
  write_package_json all
  if (cd "$work" && npm install "${npm_args[@]}" "${before_args[@]}") >"$DL/npm-install.log" 2>&1; then
    :
  elif [[ ${#before_args[@]} -gt 0 ]] &&
    warn "npm install with --before=$NPM_BEFORE failed (see $DL/npm-install.log); retrying without it" &&
    (cd "$work" && rm -rf node_modules package-lock.json && npm install "${npm_args[@]}") >>"$DL/npm-install.log" 2>&1; then
    :
  else
    warn "npm install of the whole list failed (see $DL/npm-install.log); installing one package at a time"
    rm -rf "$work/node_modules" "$work/package-lock.json"
    write_package_json none
    local name ver
    while read -r name ver; do
      if ! (cd "$work" && npm install "${npm_args[@]}" "${before_args[@]}" --save-exact "$name@$ver") >>"$DL/npm-install.log" 2>&1 &&
        ! (cd "$work" && npm install "${npm_args[@]}" --save-exact "$name@$ver") >>"$DL/npm-install.log" 2>&1; then
        warn "npm: skipping $name@$ver (install failed; see $DL/npm-install.log)"
        failed=$((failed + 1))
      fi
    done < <(pkglist "$NPM_PACKAGES")
  fi
  [[ -d "$work/node_modules" ]] || { warn "npm: nothing installed; skipping node-app"; return; }
  install_subtree node-app
  stamp_write node-app "$NPM_PACKAGES" "$failed"
}

# ---------------------------------------------------------------------------------------------
# PyPI: `pip download --no-deps` of each pinned wheel (cached in downloads/pypi/NAME-VERSION/),
# unpacked into python/site-packages like an installer would (realworld.py install-wheel).

fetch_pypi() {
  if stamp_ok python "$PYPI_PACKAGES"; then log "python: cached"; return; fi
  command -v pip >/dev/null || command -v pip3 >/dev/null || { warn "pip not found: skipping python"; return; }
  local pip; pip=$(command -v pip || command -v pip3)
  log "python: $(pkglist "$PYPI_PACKAGES" | wc -l) wheels"
  local work=$BUILD/python
  rm -rf "$work"
  mkdir -p "$work/site-packages"
  local name ver dir whl n=0 failed=0
  while read -r name ver; do
    dir=$DL/pypi/$name-$ver
    whl=$(first_file "$dir" '*.whl')
    if [[ -z "$whl" ]]; then
      mkdir -p "$dir"
      if ! "$pip" download --no-deps --disable-pip-version-check -q "${PIP_PLATFORM_ARGS[@]}" \
        -d "$dir" "$name==$ver" >>"$DL/pip-download.log" 2>&1; then
        warn "pypi: skipping $name==$ver (download failed; see $DL/pip-download.log)"
        failed=$((failed + 1))
        continue
      fi
      whl=$(first_file "$dir" '*.whl')
      [[ -n "$whl" ]] || { warn "pypi: skipping $name==$ver (no wheel)"; failed=$((failed + 1)); continue; }
    fi
    if python3 "$HELPER" install-wheel "$whl" "$work"; then
      n=$((n + 1))
    else
      warn "pypi: skipping $name==$ver (could not unpack $whl)"
      failed=$((failed + 1))
    fi
  done < <(pkglist "$PYPI_PACKAGES")
  [[ $n -gt 0 ]] || { warn "pypi: nothing installed; skipping python"; return; }
  install_subtree python
  stamp_write python "$PYPI_PACKAGES" "$failed"
}

# ---------------------------------------------------------------------------------------------
# Debian: `apt-get download PKG=VERSION` (cached in downloads/debian/PKG/), `dpkg-deb -x` into
# debian/. A pinned version that the archive no longer has falls back to the candidate.

APT_UPDATED=0
apt_update_once() {
  [[ $APT_UPDATED == 1 ]] && return 0
  APT_UPDATED=1
  log "debian: apt-get update"
  local sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >>"$DL/apt.log" 2>&1 || warn "apt-get update failed (see $DL/apt.log)"
}

fetch_debian() {
  if stamp_ok debian "$DEBIAN_PACKAGES"; then log "debian: cached"; return; fi
  if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    warn "apt-get/dpkg-deb not found: skipping debian"
    return
  fi
  log "debian: $(pkglist "$DEBIAN_PACKAGES" | wc -l) packages"
  local work=$BUILD/debian
  rm -rf "$work"
  mkdir -p "$work"
  : >"$BUILD/debian.versions"
  # Why: an empty package list (fresh container) makes every download fail.
  apt-cache policy 2>/dev/null | grep -q 'http' || apt_update_once
  local name ver dir deb n=0 failed=0
  while read -r name ver; do
    dir=$DL/debian/$name=${ver//:/%3a}
    deb=$(first_file "$dir" '*.deb')
    if [[ -z "$deb" ]]; then
      mkdir -p "$dir"
      if ! (cd "$dir" && apt-get download -qq "$name=$ver") >>"$DL/apt.log" 2>&1; then
        apt_update_once
        if ! (cd "$dir" && apt-get download -qq "$name=$ver") >>"$DL/apt.log" 2>&1; then
          warn "debian: $name=$ver not available; taking the candidate version"
          if ! (cd "$dir" && apt-get download -qq "$name") >>"$DL/apt.log" 2>&1; then
            warn "debian: skipping $name (download failed; see $DL/apt.log)"
            failed=$((failed + 1))
            continue
          fi
        fi
      fi
      deb=$(first_file "$dir" '*.deb')
      [[ -n "$deb" ]] || { warn "debian: skipping $name (no .deb)"; failed=$((failed + 1)); continue; }
    fi
    if dpkg-deb -x "$deb" "$work"; then
      n=$((n + 1))
      printf '%s\t%s\t%s\n' "$name" "$(dpkg-deb -f "$deb" Version)" \
        "$(dpkg-deb -f "$deb" Installed-Size)" >>"$BUILD/debian.versions"
    else
      warn "debian: skipping $name (could not extract $deb)"
      failed=$((failed + 1))
    fi
  done < <(pkglist "$DEBIAN_PACKAGES")
  [[ $n -gt 0 ]] || { warn "debian: nothing extracted; skipping debian"; return; }
  install_subtree debian
  mv "$BUILD/debian.versions" "$STAMPS/debian.versions"
  stamp_write debian "$DEBIAN_PACKAGES" "$failed"
}

# ---------------------------------------------------------------------------------------------
# crates.io (opt-in): `cargo vendor` of a throwaway manifest listing the crates.

fetch_crates() {
  if [[ "${LEAKHOUND_CORPUS_CRATES:-0}" != 1 ]]; then
    if [[ -d "$TREE/crates" ]]; then
      log "crates: not refreshed (LEAKHOUND_CORPUS_CRATES unset); scanning the copy already fetched"
    else
      log "crates: skipped (set LEAKHOUND_CORPUS_CRATES=1 to vendor them)"
    fi
    return
  fi
  if stamp_ok crates "$CRATES"; then log "crates: cached"; return; fi
  command -v cargo >/dev/null || { warn "cargo not found: skipping crates"; return; }
  if pgrep -x cargo >/dev/null 2>&1; then
    warn "crates: another cargo is running; not vendoring now (rerun later)"
    return
  fi
  log "crates: cargo vendor of $(pkglist "$CRATES" | wc -l) crates"
  local ws=$DL/crates-ws work=$BUILD/crates
  rm -rf "$ws" "$work"
  mkdir -p "$ws/src" "$work"
  {
    printf '[package]\nname = "acme-corpus-crates"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n'
    printf '[dependencies]\n'
    pkglist "$CRATES" | awk '{ printf "%s = \"=%s\"\n", $1, $2 }'
    printf '\n[workspace]\n'
  } >"$ws/Cargo.toml"
  : >"$ws/src/lib.rs"
  if ! (cd "$ws" && cargo vendor --quiet --versioned-dirs "$work/vendor") >"$DL/cargo-vendor.log" 2>&1; then
    warn "crates: cargo vendor failed (see $DL/cargo-vendor.log); skipping crates"
    rm -rf "$work"
    return
  fi
  cp "$ws/Cargo.toml" "$ws/Cargo.lock" "$work/"
  install_subtree crates
  stamp_write crates "$CRATES"
}

# ---------------------------------------------------------------------------------------------
# Keys that must be real key files: generated once with ssh-keygen, then reused (the planted
# values of everything else derive from the seed).

make_keys() {
  mkdir -p "$CACHE/keys"
  local k=$CACHE/keys
  [[ -f $k/id_ed25519 ]] || ssh-keygen -q -t ed25519 -N '' -C 'deploy@build-07' -f "$k/id_ed25519"
  [[ -f $k/ec_p256.pem ]] || ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C '' -f "$k/ec_p256.pem"
  [[ -f $k/rsa_pkcs8.pem ]] || ssh-keygen -q -t rsa -b 2048 -m PKCS8 -N '' -C '' -f "$k/rsa_pkcs8.pem"
}

# ---------------------------------------------------------------------------------------------

run_leakhound() {
  local bin=${LEAKHOUND:-target/release/leakhound}
  if [[ $bin != /* && ! -x $bin && -x $REPO/$bin ]]; then bin=$REPO/$bin; fi
  [[ -x $bin ]] || command -v "$bin" >/dev/null || die "leakhound binary not found: $bin (build it or set LEAKHOUND)"
  local extra=()
  # shellcheck disable=SC2206 # word splitting of LEAKHOUND_ARGS is the point
  [[ -n "${LEAKHOUND_ARGS:-}" ]] && extra=(${LEAKHOUND_ARGS})
  local cmd=("$bin" scan "$TREE" --format jsonl --show-secrets -o "$CACHE/findings.jsonl"
    --max-file-size 0 --no-progress "${extra[@]}")
  log "scan: ${cmd[*]}"
  rm -f "$CACHE/findings.jsonl"
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  "${cmd[@]}" 2>"$CACHE/leakhound.stderr" || rc=$?
  t1=$(date +%s.%N)
  case $rc in
  0) log "scan: exit 0 (no findings)" ;;
  1) log "scan: exit 1 (findings)" ;;
  *) warn "scan: exit $rc (errors); going on with what was written" ;;
  esac
  if [[ -s "$CACHE/leakhound.stderr" ]]; then
    local lines; lines=$(wc -l <"$CACHE/leakhound.stderr")
    warn "leakhound stderr ($lines lines, full text in $CACHE/leakhound.stderr):"
    head -n 40 "$CACHE/leakhound.stderr" >&2
    [[ $lines -le 40 ]] || printf '  … %d more lines\n' $((lines - 40)) >&2
  fi
  [[ -f "$CACHE/findings.jsonl" ]] || : >"$CACHE/findings.jsonl"
  python3 - "$CACHE/run.json" "$t0" "$t1" "$rc" "$bin" "${cmd[*]}" <<'EOF'
import json, sys
out, t0, t1, rc, binary, cmd = sys.argv[1:]
wall = float(t1) - float(t0)
json.dump({"wall_seconds": wall, "exit_code": int(rc), "binary": binary, "command": cmd},
          open(out, "w"), indent=1)
print(f"==> scan: {wall:.1f} s wall (MB/s in the report)", file=sys.stderr)
EOF
}

report() {
  [[ -f "$CACHE/findings.jsonl" ]] || die "no findings file at $CACHE/findings.jsonl (run without --report-only first)"
  [[ -f "$CACHE/planted.tsv" ]] || die "no manifest at $CACHE/planted.tsv (run without --report-only first)"
  python3 "$HELPER" report --cache "$CACHE" --labels "$HERE/realworld-labels.tsv" | tee "$CACHE/report.txt"
  log "report written to $CACHE/report.txt; false-positive samples in $CACHE/fp-sample.txt"
}

plant() {
  make_keys
  python3 "$HELPER" plant --tree "$TREE" --cache "$CACHE" --seed "$SEED" \
    --templates "$HERE/realworld-planted.txt"
}

case $MODE in
report)
  report
  ;;
fetch | all | nofetch)
  if [[ $MODE != nofetch ]]; then
    mkdir -p "$BUILD"
    fetch_npm
    fetch_pypi
    fetch_debian
    fetch_crates
    rm -rf "$BUILD"
  fi
  [[ $MODE == fetch ]] && { log "corpus ready in $TREE"; exit 0; }
  [[ -n "$(ls -A "$TREE")" ]] || die "the corpus is empty ($TREE): run without --no-fetch"
  plant
  run_leakhound
  report
  ;;
esac
