#!/usr/bin/env bash
# Image scan throughput and memory: packs a large real tree (default: the local cargo registry
# sources) into a 3-layer docker-archive (gzip layers), scans it, and prints MB/s of layer data
# and peak RSS; then the same for a small image, to show RSS does not grow with image size.
#
# usage: benches/image.sh [TREE]
set -euo pipefail
cd "$(dirname "$0")/.."
TREE=${1:-$(ls -d "$HOME"/.cargo/registry/src/*/ | head -n 1)}
cargo build --release --locked --quiet
BIN=$PWD/target/release/leakhound
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 - "$TREE" "$WORK" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
tree, work = sys.argv[1], sys.argv[2]
files = []
for root, _, names in os.walk(tree):
    for n in names:
        p = os.path.join(root, n)
        if os.path.isfile(p) and not os.path.islink(p):
            files.append(p)
files.sort()
def build(name, parts):
    layers = []
    raw_total = 0
    for i, part in enumerate(parts):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            for p in part:
                t.add(p, arcname=os.path.relpath(p, tree))
        raw_total += buf.tell()
        layers.append((f"layer{i}.tar.gz", gzip.compress(buf.getvalue(), 1)))
    cfg = json.dumps({"os": "linux", "architecture": "amd64", "config": {"Env": ["PATH=/usr/bin"]},
                      "history": [{"created_by": f"COPY part{i} /"} for i in range(len(parts))]}).encode()
    manifest = json.dumps([{"Config": "config.json", "Layers": [n for n, _ in layers]}]).encode()
    with tarfile.open(os.path.join(work, name), "w") as t:
        for n, data in layers + [("config.json", cfg), ("manifest.json", manifest)]:
            info = tarfile.TarInfo(n); info.size = len(data); t.addfile(info, io.BytesIO(data))
    print(f"{name}: {raw_total / 1e6:.0f} MB of layer data ({len(parts)} layers)")
third = len(files) // 3
build("big.tar", [files[:third], files[third:2 * third], files[2 * third:]])
build("small.tar", [files[:len(files) // 30]])
PY
for img in big small; do
  /usr/bin/time -f "$img: %e s, peak RSS %M KiB" "$BIN" image "$WORK/$img.tar" -q --format json -o "$WORK/$img.json" || true
  python3 -c "import json,sys; d=json.load(open('$WORK/$img.json')); s=d['stats']; print(f\"  scanned {s['files']} files, {s['bytes']/1e6:.0f} MB of text; {len(d['findings'])} findings\")"
done
