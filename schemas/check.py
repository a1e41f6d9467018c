#!/usr/bin/env python3
"""Validates leakhound JSON and JSONL reports against schemas/report-v1.json.

Usage: python3 schemas/check.py FILE...

Each FILE is either one JSON document (`--format json`, with or without --group) or JSONL
(`--format jsonl`: one FINDING, or with --group one SECRET, per line). A `*.json` file must
hold one JSON value; a `*.jsonl` file is read line by line (empty: no findings); any other
file is one JSON value if it parses as one, else JSONL. Every error is printed with its
file, line (JSONL) and JSON path. Exit status: 0 if every file is valid, 1 if any is
invalid, unreadable or not JSON, 2 on bad usage.

Needs the `jsonschema` package (pip install jsonschema).
"""

import json
import sys
from pathlib import Path

try:
    import jsonschema
except ImportError:  # pragma: no cover
    sys.exit("check.py needs the jsonschema package: pip install jsonschema")

SCHEMA_PATH = Path(__file__).resolve().parent / "report-v1.json"


def load_validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    # Why: `format` is an annotation in draft 2020-12, as in the Rust test suite's validator.
    return cls(schema)


def json_path(error):
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def records(name, text):
    """(line number or None, value) of each record: one document, or JSONL lines."""
    if name.endswith(".json"):
        return [(None, json.loads(text))]
    if not name.endswith(".jsonl"):
        try:
            return [(None, json.loads(text))]
        except json.JSONDecodeError:
            pass
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append((n, json.loads(line)))
            except json.JSONDecodeError as e:
                raise ValueError(f"line {n}: {e}") from None
    return out


def check(validator, name):
    try:
        text = Path(name).read_text(encoding="utf-8")
        items = records(name, text)
    except (OSError, ValueError) as e:  # JSONDecodeError and UnicodeDecodeError too
        print(f"{name}: not a JSON or JSONL report: {e}")
        return False
    bad = 0
    for line, value in items:
        where = name if line is None else f"{name}:{line}"
        errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
        for e in errors:
            schema_path = "/".join(map(str, e.absolute_schema_path))
            print(f"{where}: {json_path(e)}: {e.message}  (schema: {schema_path})")
        bad += bool(errors)
    if items and items[0][0] is None:
        kind = "document" if isinstance(items[0][1], dict) and "findings" in items[0][1] else "record"
    else:
        kind = f"{len(items)} JSONL records"
    print(f"{name}: {'INVALID' if bad else 'ok'} ({kind})", file=sys.stderr)
    return bad == 0


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    validator = load_validator()
    results = [check(validator, name) for name in argv[1:]]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
