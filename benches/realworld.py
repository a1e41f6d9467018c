#!/usr/bin/env python3
"""Helper of benches/realworld.sh (standard library only).

  realworld.py install-wheel WHEEL PREFIX      unpack a wheel as an installer would
  realworld.py plant --tree T --cache C --seed N --templates FILE
  realworld.py report --cache C --labels FILE
"""

import argparse
import base64
import collections
import hashlib
import io
import json
import os
import re
import stat
import sys
import tarfile
import zipfile
import zlib

# ---------------------------------------------------------------------------------------------
# install-wheel


def install_wheel(wheel, prefix):
    """Unpacks WHEEL into PREFIX/site-packages; its .data/ dirs go where an installer puts them
    (purelib/platlib: site-packages, scripts: bin, headers: include, data: PREFIX)."""
    site = os.path.join(prefix, "site-packages")
    homes = {
        "purelib": site,
        "platlib": site,
        "scripts": os.path.join(prefix, "bin"),
        "headers": os.path.join(prefix, "include"),
        "data": prefix,
    }
    with zipfile.ZipFile(wheel) as z:
        for info in z.infolist():
            name = info.filename
            if name.endswith("/"):
                continue
            parts = name.split("/")
            if name.startswith("/") or ".." in parts:
                raise SystemExit(f"{wheel}: unsafe member {name!r}")
            dest = os.path.join(site, *parts)
            if parts[0].endswith(".data") and len(parts) > 2 and parts[1] in homes:
                dest = os.path.join(homes[parts[1]], *parts[2:])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(info) as src, open(dest, "wb") as out:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    out.write(chunk)
            mode = (info.external_attr >> 16) & 0o777
            if mode & 0o111:
                os.chmod(dest, 0o755)


# ---------------------------------------------------------------------------------------------
# plant: deterministic values in each secret's real format

DIGITS = "0123456789"
UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
LOWER = "abcdefghijklmnopqrstuvwxyz"
BASE62 = DIGITS + UPPER + LOWER  # also the digit order of GitHub's checksum encoding
B64URL = UPPER + LOWER + DIGITS + "-_"
HEX = "0123456789abcdef"
# Values containing these (any case) could be taken for placeholders by a scanner.
FORBIDDEN = ("example", "xxxx", "1234567", "test", "fake", "dummy", "sample", "placeholder",
             "changeme", "secret", "password", "redacted")


class Stream:
    """A deterministic byte stream: SHA-256 of key/counter (stable across Python versions)."""

    def __init__(self, key):
        self.key = key.encode()
        self.counter = 0
        self.buf = b""

    def take(self, n):
        while len(self.buf) < n:
            self.buf += hashlib.sha256(self.key + b"/%d" % self.counter).digest()
            self.counter += 1
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def below(self, n):
        limit = (1 << 32) - ((1 << 32) % n)
        while True:
            v = int.from_bytes(self.take(4), "big")
            if v < limit:
                return v % n

    def chars(self, alphabet, n):
        return "".join(alphabet[self.below(len(alphabet))] for _ in range(n))

    def uuid4(self):
        h = self.chars(HEX, 32)
        h = h[:12] + "4" + h[13:16] + "89ab"[self.below(4)] + h[17:]
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def base62_fixed(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = BASE62[r] + out
    return out.rjust(width, "0")


def crc_token(s, prefix):
    """GitHub-style token: prefix + 30 base62 + base62(CRC32 of those 30), 6 digits."""
    body = s.chars(BASE62, 30)
    return prefix + body + base62_fixed(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)


def password(s, n=20):
    # Why: no quote, backslash, '#', ';', '=', '@', '/' or ':' so that the value fits unquoted in
    # every config syntax used by the templates.
    while True:
        v = s.chars(BASE62 + "!%*+-_.?^~", n)
        if (any(c in DIGITS for c in v) and any(c in UPPER for c in v)
                and any(c in LOWER for c in v) and any(c in "!%*+-_.?^~" for c in v)):
            return v


def jwt(header, claims, sig):
    enc = lambda o: b64url(json.dumps(o, separators=(",", ":")).encode())  # noqa: E731
    return f"{enc(header)}.{enc(claims)}.{b64url(sig)}"


def pypi_token(s):
    ident = s.uuid4().encode()
    caveat = json.dumps({"version": 1, "permissions": {"projects": ["acme-orders"]}},
                        separators=(",", ":")).encode()
    mac = (b"\x02\x01\x08pypi.org\x02" + bytes([len(ident)]) + ident + b"\x00\x02"
           + bytes([len(caveat)]) + caveat + b"\x00\x00\x06\x20" + s.take(32))
    return "pypi-" + b64url(mac)


def read_key(keys, name):
    with open(os.path.join(keys, name), encoding="ascii") as f:
        return f.read()


def generate(kind, arg, s, keys):
    """One value of KIND (ARG: its argument) drawn from stream S."""
    if kind == "aws-access-key-id":
        return "AKIA" + s.chars(UPPER + "234567", 16)
    if kind == "aws-secret-access-key":
        return s.chars(UPPER + LOWER + DIGITS + "+/", 40)
    if kind == "stripe-secret-key":
        return "sk_live_51" + s.chars(BASE62, 97)
    if kind == "npm-token":
        return crc_token(s, "npm_")
    if kind == "github-pat":
        return crc_token(s, "ghp_")
    if kind == "github-oauth":
        return crc_token(s, "gho_")
    if kind == "gitlab-pat":
        return "glpat-" + s.chars(BASE62 + "-_", 20)
    if kind == "slack-webhook-url":
        return ("https://hooks.slack.com/services/T" + s.chars(UPPER + DIGITS, 8) + "/B"
                + s.chars(UPPER + DIGITS, 10) + "/" + s.chars(BASE62, 24))
    if kind == "slack-bot-token":
        return ("xoxb-" + s.chars("123456789", 1) + s.chars(DIGITS, 11) + "-"
                + s.chars("123456789", 1) + s.chars(DIGITS, 12) + "-" + s.chars(BASE62, 24))
    if kind == "sendgrid-api-key":
        return "SG." + s.chars(BASE62 + "-_", 22) + "." + s.chars(BASE62 + "-_", 43)
    if kind == "twilio-account-sid":
        return "AC" + s.chars(HEX, 32)
    if kind in ("twilio-auth-token", "hex32"):
        return s.chars(HEX, 32)
    if kind == "hex40":
        return s.chars(HEX, 40)
    if kind == "digits21":
        return s.chars("123456789", 1) + s.chars(DIGITS, 20)
    if kind == "uuid":
        return s.uuid4()
    if kind == "openai-project-key":
        return "sk-proj-" + s.chars(B64URL, 74) + "T3BlbkFJ" + s.chars(B64URL, 74)
    if kind == "google-api-key":
        return "AIza" + s.chars(BASE62 + "-_", 35)
    if kind == "pypi-token":
        return pypi_token(s)
    if kind == "django-secret-key":
        return s.chars(LOWER + DIGITS + "!@#$%^&*(-_=+)", 50)
    if kind == "password":
        return password(s)
    if kind == "url-password":
        return s.chars(BASE62, 24)
    if kind == "generic-token":
        return s.chars(BASE62, 40)
    if kind == "azure-storage-key":
        return base64.b64encode(s.take(64)).decode()
    if kind == "docker-auth":
        return base64.b64encode(f"{arg or 'deploy'}:{password(s)}".encode()).decode()
    if kind == "jwt-hs256":
        iat = 1767225600 + s.below(200 * 86400)
        claims = {"sub": "svc-reporting", "iss": "https://auth.acme.io", "aud": "internal-api",
                  "scope": "reports:read reports:write", "iat": iat,
                  "exp": iat + 5 * 365 * 86400, "jti": s.uuid4()}
        return jwt({"alg": "HS256", "typ": "JWT"}, claims, s.take(32))
    if kind == "k8s-sa-token":
        iat = 1767225600 + s.below(200 * 86400)
        iss = "https://kubernetes.default.svc.cluster.local"
        claims = {"aud": [iss], "exp": iat + 10 * 365 * 86400, "iat": iat, "iss": iss,
                  "kubernetes.io": {"namespace": "ci", "serviceaccount": {
                      "name": "deployer", "uid": s.uuid4()}},
                  "nbf": iat, "sub": "system:serviceaccount:ci:deployer"}
        return jwt({"alg": "RS256", "kid": s.chars(B64URL, 43)}, claims, s.take(256))
    if kind == "pem-base64":
        return base64.b64encode(read_key(keys, arg).encode()).decode()
    if kind == "pem-json":
        return json.dumps(read_key(keys, arg))[1:-1]
    raise SystemExit(f"realworld-planted.txt: unknown generator {kind!r}")


def value_of(kind, arg, key, keys):
    s = Stream(key)
    for _ in range(1000):
        v = generate(kind, arg, s, keys)
        if kind.startswith("pem-") or not any(f in v.lower() for f in FORBIDDEN):
            return v
    raise SystemExit(f"no acceptable value for {kind} after 1000 draws")


def parse_templates(path):
    blocks, cur = [], None
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("@@@ "):
                words = line.split()
                opts = dict(w.split("=", 1) for w in words[2:])
                cur = {"path": words[1], "opts": opts, "lines": []}
                blocks.append(cur)
            elif cur is not None:
                cur["lines"].append(line.rstrip("\n"))
    for b in blocks:
        while b["lines"] and not b["lines"][-1].strip():
            b["lines"].pop()
    return blocks


# Manifest names of generators whose name says how rather than what.
KIND_NAMES = {"pem-json": "private-key-pem-in-json", "pem-base64": "private-key-pem-base64",
              "url-password": "url-password", "hex32": "api-key-hex32"}

PLACEHOLDER = re.compile(r"\{\{(!?)([a-z0-9-]+)(?::([^}]+))?\}\}")


def plant(args):
    tree, cache = args.tree, args.cache
    keys = os.path.join(cache, "keys")
    state = os.path.join(cache, "planted-files.txt")
    if os.path.exists(state):
        with open(state, encoding="utf-8") as f:
            for rel in f.read().split("\n"):
                if rel:
                    try:
                        os.remove(os.path.join(tree, rel))
                    except FileNotFoundError:
                        pass
    rows, written, skipped = [], [], 0
    for b in parse_templates(args.templates):
        rel = b["path"]
        dest = os.path.join(tree, *rel.split("/"))
        if not os.path.isdir(os.path.join(tree, rel.split("/")[0])):
            print(f"warning: plant {rel}: subtree {rel.split('/')[0]} not fetched; skipped",
                  file=sys.stderr)
            skipped += 1
            continue
        if os.path.lexists(dest):
            print(f"warning: plant {rel}: a package already has this file; not overwritten",
                  file=sys.stderr)
            skipped += 1
            continue
        opts = b["opts"]
        if "key" in opts:
            text = read_key(keys, opts["key"])
            rows.append((rel, 1, opts.get("kind", "private-key"), text.strip().replace("\n", "\\n")))
        else:
            out, n = [], 0
            for lineno, line in enumerate(b["lines"], 1):
                def sub(m):
                    nonlocal n
                    n += 1
                    context, kind, arg = m.group(1), m.group(2), m.group(3)
                    v = value_of(kind, arg, f"{args.seed}/{rel}/{n}", keys)
                    if not context:
                        rows.append((rel, lineno, KIND_NAMES.get(kind, kind), v))
                    return v
                out.append(PLACEHOLDER.sub(sub, line))
            text = "\n".join(out) + "\n" if out else ""
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(dest, int(opts.get("mode", "0644"), 8))
        written.append(rel)
    with open(state, "w", encoding="utf-8") as f:
        f.write("".join(r + "\n" for r in written))
    with open(os.path.join(cache, "planted.tsv"), "w", encoding="utf-8") as f:
        f.write("# path\tline\tkind\tvalue\n")
        for r in rows:
            f.write("\t".join(map(str, r)) + "\n")
    print(f"==> plant: {len(rows)} secrets in {len(written)} files (seed {args.seed})"
          + (f", {skipped} files skipped" if skipped else ""), file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# report

SUBTREES = ("node-app", "python", "debian", "crates")
MB = 1e6  # "MB" in the report is 10^6 bytes
SAMPLES_PER_RULE = 40


def walk_tree(tree):
    """Per subtree: regular files, bytes, and bytes of files with no NUL in the first 8 KiB
    (what leakhound reads as text). Symbolic links are not followed, `.git` is not entered."""
    stats = collections.OrderedDict()
    for root, dirs, files in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".git"]
        rel = os.path.relpath(root, tree)
        top = "." if rel == "." else rel.split(os.sep)[0]
        st_ = stats.setdefault(top, [0, 0, 0])
        for name in files:
            p = os.path.join(root, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            st_[0] += 1
            st_[1] += st.st_size
            try:
                with open(p, "rb") as f:
                    if b"\0" not in f.read(8192):
                        st_[2] += st.st_size
            except OSError:
                pass
    return stats


def dir_bytes(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def composition(tree, stamps):
    """(subtree, name, version, bytes) of every pinned package that is in the tree."""
    rows = []
    app = os.path.join(tree, "node-app")
    try:
        with open(os.path.join(app, "package.json"), encoding="utf-8") as f:
            deps = json.load(f).get("dependencies", {})
    except (OSError, ValueError):
        deps = {}
    for name in deps:
        d = os.path.join(app, "node_modules", *name.split("/"))
        try:
            with open(os.path.join(d, "package.json"), encoding="utf-8") as f:
                ver = json.load(f).get("version", "?")
        except (OSError, ValueError):
            continue
        rows.append(("node-app", name, ver, dir_bytes(d)))
    nm = os.path.join(app, "node_modules")
    if os.path.isdir(nm):
        n = sum(1 for e in os.listdir(nm) if not e.startswith((".", "@")))
        n += sum(len(os.listdir(os.path.join(nm, e))) for e in os.listdir(nm) if e.startswith("@"))
        rows.append(("node-app", f"(all of node_modules: {n} packages)", "", dir_bytes(nm)))
    site = os.path.join(tree, "python", "site-packages")
    if os.path.isdir(site):
        for e in sorted(os.listdir(site)):
            if not e.endswith(".dist-info"):
                continue
            name = ver = "?"
            size = 0
            try:
                with open(os.path.join(site, e, "METADATA"), encoding="utf-8") as f:
                    for line in f:
                        if line.startswith("Name:"):
                            name = line.split(":", 1)[1].strip()
                        elif line.startswith("Version:"):
                            ver = line.split(":", 1)[1].strip()
                        elif not line.strip():
                            break
                with open(os.path.join(site, e, "RECORD"), encoding="utf-8") as f:
                    for line in f:
                        parts = line.rstrip("\n").rsplit(",", 2)
                        if len(parts) == 3 and parts[2].isdigit():
                            size += int(parts[2])
            except OSError:
                pass
            rows.append(("python", name, ver, size))
    try:
        with open(os.path.join(stamps, "debian.versions"), encoding="utf-8") as f:
            for line in f:
                name, ver, kib = (line.rstrip("\n").split("\t") + ["", ""])[:3]
                rows.append(("debian", name, ver, int(kib) * 1024 if kib.isdigit() else 0))
    except OSError:
        pass
    vendor = os.path.join(tree, "crates", "vendor")
    if os.path.isdir(vendor):
        for e in sorted(os.listdir(vendor)):
            m = re.match(r"(.+)-(\d+\.\d+\.\d+.*)$", e)
            name, ver = (m.group(1), m.group(2)) if m else (e, "?")
            rows.append(("crates", name, ver, dir_bytes(os.path.join(vendor, e))))
    return rows


def load_findings(path, tree):
    """Findings as dicts with a tree-relative `path` (grouped records are expanded)."""
    prefix = tree.rstrip("/") + "/"
    out, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                bad += 1
                continue
            places = rec.get("locations") or [rec]
            for p in places:
                rel = p.get("path", "")
                if rel.startswith(prefix):
                    rel = rel[len(prefix):]
                elif os.path.isabs(rel):
                    rel = os.path.relpath(rel, tree)
                elif rel.startswith("./"):
                    rel = rel[2:]
                out.append({
                    "path": rel,
                    "line": int(p.get("line") or 0),
                    "column": int(p.get("column") or 1),
                    "rule": rec.get("rule_id", "?"),
                    "secret": rec.get("secret", ""),
                    "secret_id": rec.get("secret_id", ""),
                    "confidence": rec.get("confidence", "?"),
                })
    return out, bad


def load_tsv(path, ncols):
    rows = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                parts = line.split("\t")
                if len(parts) < ncols:
                    continue
                rows.append(parts[:ncols])
    except FileNotFoundError:
        pass
    return rows


def read_member(tree, rel):
    """The bytes of a file, or of an archive entry shown as `outer.zip!/inner/path` (nested
    archives too), or None."""
    parts = rel.split("!/")
    try:
        with open(os.path.join(tree, parts[0]), "rb") as f:
            data = f.read()
        for inner in parts[1:]:
            buf = io.BytesIO(data)
            if zipfile.is_zipfile(buf):
                with zipfile.ZipFile(buf) as z:
                    data = z.read(inner)
            else:
                buf.seek(0)
                with tarfile.open(fileobj=buf) as t:
                    member = t.extractfile(inner)
                    if member is None:
                        return None
                    data = member.read()
        return data
    except (OSError, KeyError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None


def source_line(tree, rel, lineno, column, cache={}):
    """Line LINENO of the file, stripped; a longer line than 300 characters is cut to the 300
    around COLUMN (1-based, in code points). Files are read once each."""
    if rel not in cache:
        cache.clear()  # Why: samples come sorted by path, so one file at a time is enough.
        data = read_member(tree, rel)
        cache[rel] = None if data is None else data.split(b"\n")
    lines = cache[rel]
    if lines is None:
        return "(file not readable)"
    if not 1 <= lineno <= len(lines):
        return "(line not found)"
    line = lines[lineno - 1].decode("utf-8", "replace").rstrip("\r")
    if len(line.strip()) <= 300:
        return line.strip()
    start = max(0, min(column - 1 - 100, len(line) - 300))
    return ("…" if start else "") + line[start:start + 300] + ("…" if start + 300 < len(line) else "")


def leakhound_summary(path):
    """leakhound's closing line on stderr ("N findings … scanned …"), if any."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = [l.strip() for l in f if " scanned " in l]
    except OSError:
        return ""
    return lines[-1].removeprefix("leakhound: ") if lines else ""


def per100(n, total_bytes):
    return n / (total_bytes / (100 * MB)) if total_bytes else 0.0


NUMERIC = re.compile(r"[\d,.]*( MB)?")


def table(rows, header, out):
    """A text table: numeric columns right-aligned, the others left-aligned."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    right = [i > 0 and all(NUMERIC.fullmatch(str(r[i])) for r in rows) for i in range(len(header))]

    def fmt(r):
        return "  ".join((str(c).rjust(w) if right[i] else str(c).ljust(w)).rstrip()
                         if i == len(r) - 1 else
                         (str(c).rjust(w) if right[i] else str(c).ljust(w))
                         for i, (c, w) in enumerate(zip(r, widths)))
    out.append("  " + fmt(header))
    out.append("  " + "  ".join("-" * w for w in widths))
    out.extend("  " + fmt(r) for r in rows)


def human(n):
    return f"{n / MB:,.1f} MB" if n >= MB else f"{n / MB:.2f} MB"


def report(args):
    cache = args.cache
    tree = os.path.join(cache, "tree")
    findings, bad = load_findings(os.path.join(cache, "findings.jsonl"), tree)
    planted = [(p, int(l), k, v) for p, l, k, v in load_tsv(os.path.join(cache, "planted.tsv"), 4)]
    planted_files = set()
    try:
        with open(os.path.join(cache, "planted-files.txt"), encoding="utf-8") as f:
            planted_files = {l for l in f.read().split("\n") if l}
    except OSError:
        planted_files = {p for p, *_ in planted}
    labels = {(p, r) for p, r, lab in load_tsv(args.labels, 3) if lab.strip() == "real"}
    try:
        with open(os.path.join(cache, "run.json"), encoding="utf-8") as f:
            run = json.load(f)
    except (OSError, ValueError):
        run = {}

    stats = walk_tree(tree)
    if not stats.get(".", [0])[0]:
        stats.pop(".", None)
    order = {name: i for i, name in enumerate(SUBTREES)}
    stats = collections.OrderedDict(sorted(stats.items(), key=lambda kv: (order.get(kv[0], 99), kv[0])))
    total_files = sum(s[0] for s in stats.values())
    total_bytes = sum(s[1] for s in stats.values())
    text_bytes = sum(s[2] for s in stats.values())

    plant_at = collections.defaultdict(list)  # (path, line) -> planted rows
    for row in planted:
        plant_at[(row[0], row[1])].append(row)
    hits = collections.defaultdict(set)  # (path, line) -> rules that fired there
    in_corpus, in_planted_files = [], []  # findings not on a planted line
    for f in findings:
        key = (f["path"], f["line"])
        if key in plant_at:
            hits[key].add(f["rule"])
        elif f["path"] in planted_files:
            in_planted_files.append(f)
        else:
            in_corpus.append(f)
    labelled_real = [f for f in in_corpus + in_planted_files if (f["path"], f["rule"]) in labels]
    false_pos = [f for f in in_corpus + in_planted_files if (f["path"], f["rule"]) not in labels]

    out = []
    w = out.append
    w("leakhound real-world benchmark")
    w("=" * 30)
    w(f"corpus: {tree}")
    w(f"  {total_files:,} regular files, {human(total_bytes)} ({human(text_bytes)} in text files; "
      "binary files are skipped by leakhound)")
    rows = []
    for top, (n, b, t) in stats.items():
        rows.append((top, f"{n:,}", human(b), human(t)))
    table(rows, ("subtree", "files", "bytes", "text bytes"), out)
    w("")
    w("Packages (pinned; bytes as installed):")
    comp = composition(tree, os.path.join(cache, "stamps"))
    by_sub = collections.defaultdict(list)
    for sub, name, ver, size in comp:
        by_sub[sub].append((name, ver, human(size)))
    for sub in SUBTREES:
        if by_sub.get(sub):
            w(f" {sub}:")
            table(by_sub[sub], ("package", "version", "bytes"), out)
    w("")

    if run:
        wall = run.get("wall_seconds", 0.0)
        w("Scan:")
        w(f"  command: {run.get('command', '?')}")
        summary = leakhound_summary(os.path.join(cache, "leakhound.stderr"))
        if summary:
            w(f"  leakhound: {summary}")
        w(f"  exit code {run.get('exit_code', '?')}, wall {wall:.1f} s, "
          f"{total_bytes / MB / wall if wall else 0:.1f} MB/s "
          f"({text_bytes / MB / wall if wall else 0:.1f} MB/s of text)")
        w("")
    if bad:
        w(f"warning: {bad} lines of findings.jsonl were not JSON")

    w(f"(MB = 10^6 bytes; rates per 100 MB are over all {human(total_bytes)} of the corpus)")
    w(f"Findings: {len(findings):,} in all; {len(findings) - len(in_corpus) - len(in_planted_files):,} "
      f"on planted lines; {len(in_planted_files)} elsewhere in planted files; "
      f"{len(in_corpus):,} in third-party files")
    w(f"Findings in third-party files (false positives unless labelled real): {len(in_corpus):,}, "
      f"{per100(len(in_corpus), total_bytes):.2f} per 100 MB; "
      f"{len({f['secret_id'] for f in in_corpus}):,} distinct secrets")
    w("")
    w("By rule (third-party files):")
    by_rule = collections.defaultdict(list)
    for f in in_corpus:
        by_rule[f["rule"]].append(f)
    rows = []
    for rule, fs in sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        conf = collections.Counter(f["confidence"] for f in fs)
        rows.append((rule, len(fs), f"{per100(len(fs), total_bytes):.2f}",
                     len({f["secret_id"] for f in fs}), len({f["path"] for f in fs}),
                     conf.get("high", 0), conf.get("medium", 0), conf.get("low", 0)))
    if rows:
        table(rows, ("rule", "count", "/100MB", "secrets", "files", "high", "medium", "low"), out)
    else:
        w("  (none)")
    w("")
    w("By subtree (third-party files):")
    rows = []
    for top, (n, b, t) in stats.items():
        c = sum(1 for f in in_corpus if f["path"].split("/")[0] == top)
        rows.append((top, human(b), c, f"{per100(c, b):.2f}"))
    table(rows, ("subtree", "bytes", "findings", "/100MB"), out)
    w("")
    w("By confidence (third-party files):")
    conf = collections.Counter(f["confidence"] for f in in_corpus)
    table([(c, conf[c], f"{per100(conf[c], total_bytes):.2f}") for c in ("high", "medium", "low")
           if c in conf] + [(c, n, f"{per100(n, total_bytes):.2f}") for c, n in conf.items()
                            if c not in ("high", "medium", "low")],
          ("confidence", "count", "/100MB"), out)
    w("")
    w("Noisiest files (third-party):")
    per_file = collections.Counter(f["path"] for f in in_corpus)
    table([(p if len(p) <= 100 else "…" + p[-99:], n) for p, n in per_file.most_common(15)]
          or [("(none)", "")], ("path", "findings"), out)
    w("")

    found = [r for r in planted if (r[0], r[1]) in hits]
    missed = [r for r in planted if (r[0], r[1]) not in hits]
    w(f"Planted recall: {len(found)}/{len(planted)}"
      + (f" ({100 * len(found) / len(planted):.1f}%)" if planted else ""))
    by_kind = collections.defaultdict(lambda: [0, 0])
    for r in planted:
        by_kind[r[2]][1] += 1
        if (r[0], r[1]) in hits:
            by_kind[r[2]][0] += 1
    rows = []
    for r in planted:
        rules = ",".join(sorted(hits.get((r[0], r[1]), ()))) or "MISSED"
        rows.append((f"{r[0]}:{r[1]}", r[2], rules))
    table(rows, ("plant", "kind", "rules that fired on its line"), out)
    if missed:
        w("")
        w("Missed plants:")
        for p, l, k, v in missed:
            w(f"  {p}:{l}: {k}: {v if len(v) <= 100 else v[:97] + '...'}")
    if in_planted_files:
        w("")
        w("Findings in planted files off the planted lines (counted as false positives unless labelled):")
        for f in in_planted_files:
            w(f"  {f['path']}:{f['line']}: {f['rule']}: {f['secret'][:80]!r}")
    w("")
    tp = len(found) + len(labelled_real)
    fp = len(false_pos)
    w(f"Precision: {tp}/{tp + fp} = {100 * tp / (tp + fp) if tp + fp else 0:.2f}% "
      f"(true positives: {len(found)} plants found + {len(labelled_real)} findings labelled real "
      f"in {os.path.basename(args.labels)}; false positives: {fp})")
    w(f"Recall: {len(found)}/{len(planted)}; false positives per 100 MB: "
      f"{per100(fp, total_bytes):.2f}")

    with open(os.path.join(cache, "fp-sample.txt"), "w", encoding="utf-8") as f:
        f.write("# Non-planted findings, up to %d per rule, spread evenly over the sorted list.\n"
                "# path:line: rule: value, then the source line (trimmed to 300 characters).\n"
                "# Paths are relative to %s\n\n" % (SAMPLES_PER_RULE, tree))
        groups = collections.defaultdict(list)
        for x in false_pos:
            groups[x["rule"]].append(x)
        for rule, fs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            fs.sort(key=lambda x: (x["path"], x["line"]))
            if len(fs) > SAMPLES_PER_RULE:
                step = len(fs) / SAMPLES_PER_RULE
                fs_s = [fs[int(i * step)] for i in range(SAMPLES_PER_RULE)]
            else:
                fs_s = fs
            f.write(f"## {rule}: {len(fs)} findings, {len({x['path'] for x in fs})} files\n")
            for x in fs_s:
                val = x["secret"].replace("\r", "\\r").replace("\n", "\\n")
                val = val if len(val) <= 200 else val[:197] + "..."
                f.write(f"{x['path']}:{x['line']}: {rule}: {val}\n")
                f.write(f"    {source_line(tree, x['path'], x['line'], x['column'])}\n")
            f.write("\n")
    print("\n".join(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("install-wheel")
    p.add_argument("wheel")
    p.add_argument("prefix")
    p = sub.add_parser("plant")
    p.add_argument("--tree", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--templates", required=True)
    p = sub.add_parser("report")
    p.add_argument("--cache", required=True)
    p.add_argument("--labels", required=True)
    args = ap.parse_args()
    if args.cmd == "install-wheel":
        install_wheel(args.wheel, args.prefix)
    elif args.cmd == "plant":
        plant(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
