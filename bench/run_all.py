"""Run every benchmark script in this folder, one after another, with its default arguments.

Each script prints its own table; copy the figures into docs/benchmarks.md together with the
command that produced them. The scale-out scripts (several processes on PostgreSQL, minutes each)
run only with ``--all``; docs/benchmarks.md gives their commands.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCALE_OUT = frozenset({"chaos.py", "workers.py"})


def main() -> int:
    here = Path(__file__).parent
    me = Path(__file__).name
    everything = "--all" in sys.argv[1:]
    scripts = sorted(p for p in here.glob("*.py") if p.name != me and not p.name.startswith("_")
                     and (everything or p.name not in SCALE_OUT))
    if not scripts:
        print("no benchmarks yet")
        return 0
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        if subprocess.run([sys.executable, str(script)], check=False).returncode != 0:
            failed.append(script.name)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
