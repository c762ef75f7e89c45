"""Start-up CPU of the admin CLI: `billing --help`, `--version` and `config`, against a bare
`python -c pass` measured in the same run (issue 14 item 15: help and simple commands under
0.3 s of CPU). Prints one JSON line: CPU seconds (user + system) per command, min/median/max
of ``--runs`` runs, and the ratio of each median to the bare interpreter's."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BILLING = Path(sys.executable).with_name("billing")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "billing --help": [str(BILLING), "--help"],
    "billing --version": [str(BILLING), "--version"],
    "billing config": [str(BILLING), "config"],
}


def cpu_of(argv: list[str], cwd: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True,
                   env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})  # fmt: skip
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as cwd:  # no .env or config file of the checkout
        for name, argv in COMMANDS.items():
            cpu_of(argv, cwd)  # warm the page cache: the first run reads files from disk
            seconds = sorted(cpu_of(argv, cwd) for _ in range(runs))
            figures[name] = {"min_s": round(seconds[0], 3),
                             "median_s": round(statistics.median(seconds), 3),
                             "max_s": round(seconds[-1], 3)}  # fmt: skip
    bare = figures["python -c pass"]["median_s"] or 0.001
    for row in figures.values():
        row["x_bare_python"] = round(row["median_s"] / bare, 1)
    print(json.dumps({"runs": runs, "cpu": figures}))


if __name__ == "__main__":
    main()
