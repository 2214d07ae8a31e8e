#!/usr/bin/env python3
"""section.py NAME FILE < TEXT: puts TEXT into docs/benchmarks.md between
<!-- NAME:start --> and <!-- NAME:end -->, replacing an earlier run of the
same benchmark and keeping the others (each `make bench-*` owns a section)."""
import re
import sys

name, path = sys.argv[1], sys.argv[2]
text = sys.stdin.read().strip("\n")
head = ("# Benchmarks\n\nWritten by `make bench` (one section per `make bench-*`, each\n"
        "from one run on one machine, ceilings and peers measured side by side in that\n"
        "run). This machine is shared and noisy: compare the ratios, not the absolute\n"
        "numbers.\n")
try:
    doc = open(path).read()
except FileNotFoundError:
    doc = head
if not doc.startswith("# Benchmarks"):
    doc = head
block = f"<!-- {name}:start -->\n{text}\n<!-- {name}:end -->"
pat = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.S)
doc = pat.sub(lambda m: block, doc) if pat.search(doc) else doc.rstrip("\n") + "\n\n" + block + "\n"
open(path, "w").write(doc)
