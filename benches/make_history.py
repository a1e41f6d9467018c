#!/usr/bin/env python3
"""Generate a large git history for benchmarks, with `git fast-import`.

The content is real source text (the local cargo registry by default): each commit adds one
file from the pool or edits one already added (a line appended, a line changed), so the
history has tens of thousands of commits, blob versions that delta against each other, and
a realistic tree shape. A few fake secrets are planted and later deleted.

usage: make_history.py DEST [COMMITS] [SOURCE_DIR]
"""
import os, random, subprocess, sys

dest = sys.argv[1]
commits = int(sys.argv[2]) if len(sys.argv) > 2 else 30000
source = sys.argv[3] if len(sys.argv) > 3 else next(
    os.path.join(os.path.expanduser("~/.cargo/registry/src"), d)
    for d in os.listdir(os.path.expanduser("~/.cargo/registry/src")))
random.seed(int(os.environ.get("SEED", "1")))
pool = []
for root, _, files in os.walk(source):
    for f in files:
        if f.endswith((".rs", ".md", ".toml", ".txt", ".yml", ".json")):
            p = os.path.join(root, f)
            if os.path.getsize(p) < 200_000:
                pool.append(p)
random.shuffle(pool)
subprocess.run(["git", "init", "-q", "-b", "main", dest], check=True)
fi = subprocess.Popen(["git", "-C", dest, "fast-import", "--quiet"], stdin=subprocess.PIPE)
w = fi.stdin.write
current = {}  # repo path -> bytes
added = []
secret = b"STRIPE_KEY=sk_" + b"live_" + b"Zq81mXk20LpAq9Rt7Vb3Nc6W\n"
for i in range(commits):
    if added and (random.random() < 0.6 or len(added) >= len(pool)):
        path = random.choice(added)
        lines = current[path].split(b"\n")
        k = random.randrange(len(lines))
        lines[k] = lines[k] + b" // edit %d" % i
        if random.random() < 0.3:
            lines.append(b"// appended in commit %d" % i)
        data = b"\n".join(lines)
    else:
        src = pool[len(added)]
        path = os.path.relpath(src, source)
        data = open(src, "rb").read()
        added.append(path)
    if i % 5000 == 2500:
        data += b"\n" + secret
    current[path] = data
    msg = b"commit %d: update %s" % (i, path.encode())
    w(b"commit refs/heads/main\n")
    w(b"author Bench <bench@example.invalid> %d +0000\n" % (1_600_000_000 + i * 60))
    w(b"committer Bench <bench@example.invalid> %d +0000\n" % (1_600_000_000 + i * 60))
    w(b"data %d\n%s\n" % (len(msg), msg))
    w(b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(data), data))
fi.stdin.close()
if fi.wait() != 0:
    sys.exit("fast-import failed")
subprocess.run(["git", "-C", dest, "checkout", "-q", "main"], check=True)
subprocess.run(["git", "-C", dest, "repack", "-adq", "--window=50", "--depth=50"], check=True)
print(f"{dest}: {commits} commits, {len(added)} files")
