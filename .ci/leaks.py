"""Reads LeakSanitizer logs (arguments): fails on any leak whose allocation stack passes
through gensample; counts the interpreter's own (CPython and NumPy free some memory only at
exit, by design)."""

import re
import sys
from pathlib import Path

reports = [
    r
    for path in sys.argv[1:]
    for r in re.split(r"\n(?=(?:Direct|Indirect) leak)", Path(path).read_text())
    if "leak of" in r
]
ours = [r for r in reports if "gensample" in r]
print(f"LeakSanitizer: {len(reports)} leak reports, {len(ours)} through gensample")
for r in ours:
    print(r)
sys.exit(1 if ours or not sys.argv[1:] else 0)
