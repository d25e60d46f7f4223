#!/usr/bin/env python3
"""Soak: grade every reference and every known bug R times, without and with ``-n 2``, and once
more with the other core kept busy; report every outcome that differs between runs.

    python benchmarks/soak.py [--rounds R] [ASSIGNMENT...]

An outcome is the set of checks a submission failed.  A reference must fail none and a bug
exactly the same set every time; anything else is printed as a flake, with the runs it came from.
Not part of the default test run: 50 rounds of everything take hours on 2 cores.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import batch, bugs  # noqa: E402
from grader.settings import known_assignments  # noqa: E402


def targets(names: list[str], work: Path) -> list[tuple[str, str, Path]]:
    """(assignment, label, submission folder) for every reference and bug."""
    out = []
    for name in names:
        out.append((name, "reference", REPO / "reference" / name))
        for bug in bugs.all_bugs(name):
            out.append((name, bug.name, bugs.materialize(bug, work / name / bug.name)))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    names = args.assignments or known_assignments()
    work = Path(tempfile.mkdtemp(prefix="grader-soak-"))
    try:
        return soak(names, args.rounds, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def soak(names: list[str], rounds: int, work: Path) -> int:
    """Grade everything ROUNDS times in each mode (see the module docstring); 1 if any flake."""
    subs = targets(names, work)
    outcomes: dict[tuple[str, str], dict[frozenset[str], list[str]]] = defaultdict(lambda: defaultdict(list))
    modes = [("-n0", []), ("-n2", ["-n", "2"])]
    runs = [(r, mode, extra, False) for r in range(rounds) for mode, extra in modes]
    runs += [(rounds, "-n0+busy", [], True)]
    started = time.monotonic()
    for i, (rnd, mode, extra, busy) in enumerate(runs):
        hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for name, label, sub in subs:
                graded = batch.grade_one(name, sub, work / "r.json", extra=extra)
                outcomes[(name, label)][frozenset(graded.failed())].append(f"round {rnd} {mode}")
        finally:
            if hog is not None:
                hog.kill()
                hog.wait()
        print(f"run {i + 1}/{len(runs)} done, {time.monotonic() - started:.0f} s", file=sys.stderr)
    flakes = 0
    for (name, label), seen in sorted(outcomes.items()):
        if len(seen) > 1:
            flakes += 1
            print(f"FLAKE {name}/{label}:")
            for failed, where in seen.items():
                print(f"    failed {sorted(failed) or 'nothing'} in {len(where)} run(s): {', '.join(where[:5])}")
    gradings = len(runs) * len(subs)
    print(f"{len(subs)} submissions x {len(runs)} runs = {gradings} gradings in {time.monotonic() - started:.0f} s; "
          f"{flakes} with differing outcomes")
    return 1 if flakes else 0


if __name__ == "__main__":
    sys.exit(main())
