#!/usr/bin/env python3
"""Wall time to grade the reference of each assignment, build included, and the score it got.

    python benchmarks/grade_references.py [--repeat N] [ASSIGNMENT...]

Each grading runs in a fresh pytest process, as a student's would, once without xdist and once
with ``-n 2``; the table shows the median over N runs.  A measurement, not a test: nothing here
asserts a time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def grade_once(assignment: str, workers: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "results.json")
        argv = [sys.executable, "-m", "pytest", f"--assignment={assignment}",
                f"--submission={REPO / 'reference' / assignment}", f"--grade-report={report}",
                "-p", "no:cacheprovider", "-q"]
        if workers:
            argv += ["-n", str(workers)]
        start = time.perf_counter()
        subprocess.run(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        elapsed = time.perf_counter() - start
        try:
            data = json.loads(report.read_text())
            score = f"{data['score']:g}/{data['max_score']:g}"
        except (OSError, ValueError):
            score = "no report"
    return elapsed, score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    names = args.assignments or sorted(
        p.name for p in (REPO / "assignments").iterdir() if (p / "assignment.toml").exists())
    print(f"{'assignment':<14} {'-n 0 (s)':>9} {'-n 2 (s)':>9}  score")
    totals = [0.0, 0.0]
    for name in names:
        row = []
        score = ""
        for i, workers in enumerate((0, 2)):
            times = []
            for _ in range(args.repeat):
                elapsed, score = grade_once(name, workers)
                times.append(elapsed)
            med = statistics.median(times)
            totals[i] += med
            row.append(med)
        print(f"{name:<14} {row[0]:>9.2f} {row[1]:>9.2f}  {score}")
    print(f"{'all':<14} {totals[0]:>9.2f} {totals[1]:>9.2f}")


if __name__ == "__main__":
    main()
