#!/usr/bin/env python3
"""The grader's numbers on this machine, as one table.

    python benchmarks/bench.py [--repeat N] [--batch 50] [ASSIGNMENT...]

* grading time of each reference, build included, in a fresh pytest process as a student runs
  it, without xdist and with ``-n 2`` (median of N);
* harness overhead: that time over the time to run the same programs directly, once each, from
  ``benchmarks/direct/NAME.sh`` (compiled the same way; "n/a" where there is no such script);
* batch throughput: ``grader class`` on 50 copies of the pipe reference, submissions a minute;
* detection delay: from a program entering read() on an empty pipe (its own CLOCK_MONOTONIC
  stamp, taken just before the call) to the grader seeing it blocked there (median and 95th
  percentile of 50).

A measurement, not a test: nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader import batch, observe  # noqa: E402
from grader.settings import Assignment, known_assignments  # noqa: E402

STAMP_C = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void)
{
    char c;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    dprintf(2, "%ld.%09ld\n", (long)t.tv_sec, t.tv_nsec);
    return (int)read(0, &c, 1);
}
"""


def grading_time(name: str, workers: int, repeat: int) -> tuple[float, str]:
    times, score = [], ""
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            extra = ["-n", str(workers)] if workers else []
            graded = batch.grade_one(name, REPO / "reference" / name, Path(tmp, "r.json"), extra=extra)
            times.append(graded.seconds)
            score = f"{graded.report['score']:g}/{graded.report['max_score']:g}"
    return statistics.median(times), score


def direct_time(name: str, repeat: int) -> float | None:
    script = REPO / "benchmarks" / "direct" / f"{name}.sh"
    if not script.exists():
        return None
    a = Assignment.load(name)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeat):
            start = time.perf_counter()
            bin_dir = Path(tmp, "bin")
            bin_dir.mkdir(exist_ok=True)
            for prog in a.programs:  # built as the grader builds them, included in the time
                subprocess.run(["gcc", *a.cflags, "-o", str(bin_dir / prog), str(a.reference_dir / f"{prog}.c"),
                                *a.ldflags], check=True)
            subprocess.run(["bash", str(script), str(bin_dir)], env={**os.environ, "TMPDIR": tmp}, check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def batch_rate(copies: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(copies):
            shutil.copytree(REPO / "reference" / "pipe", Path(tmp, "class", f"s{i:03d}"))
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "grader.cli", "class", "pipe", str(Path(tmp, "class")),
                        "-o", str(Path(tmp, "out")), "-j", "2"], check=True, capture_output=True)
        return copies / (time.perf_counter() - start) * 60


def detection_delays(samples: int) -> list[float]:
    delays = []
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp, "stamp")
        Path(tmp, "stamp.c").write_text(STAMP_C)
        subprocess.run(["gcc", "-O1", "-o", str(exe), str(Path(tmp, "stamp.c"))], check=True)
        for _ in range(samples):
            r, w = os.pipe()
            err = Path(tmp, "err")
            with open(err, "wb") as err_f:
                proc = subprocess.Popen([str(exe)], stdin=r, stderr=err_f)
            os.close(r)
            observe.wait_for(lambda pid=proc.pid: [pid], lambda b: b.is_("read", on="pipe"),  # type: ignore[misc]
                             timeout_s=5.0, what="read() on the pipe")
            seen = time.monotonic()
            os.close(w)
            proc.wait()
            delays.append((seen - float(err.read_text())) * 1000)
    return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("assignments", nargs="*")
    args = parser.parse_args()
    names = args.assignments or known_assignments()
    print(f"{'assignment':<13} {'-n 0 (s)':>9} {'-n 2 (s)':>9} {'direct (s)':>11} {'overhead':>9}  score")
    totals = [0.0, 0.0]
    for name in names:
        n0, score = grading_time(name, 0, args.repeat)
        n2, _ = grading_time(name, 2, args.repeat)
        direct = direct_time(name, args.repeat)
        totals[0] += n0
        totals[1] += n2
        ratio = f"{n0 / direct:.1f}x" if direct else "n/a"
        shown = f"{direct:.2f}" if direct else "n/a"
        print(f"{name:<13} {n0:>9.2f} {n2:>9.2f} {shown:>11} {ratio:>9}  {score}")
    print(f"{'all':<13} {totals[0]:>9.2f} {totals[1]:>9.2f}")
    if args.batch:
        rate = batch_rate(args.batch)
        print(f"batch: {args.batch} copies of the pipe reference, -j 2: {rate:.0f} submissions/minute")
    d = sorted(detection_delays(50))
    print(f"blocked-in-read() seen after: median {statistics.median(d):.2f} ms, 95th percentile "
          f"{d[int(len(d) * 0.95) - 1]:.2f} ms, max {d[-1]:.2f} ms (50 samples)")


if __name__ == "__main__":
    main()
