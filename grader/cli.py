"""The ``grader`` command: the front doors for instructors and autograders.

    grader verify [NAME ...] [-j 2]              the reference gets full marks, every known bug is caught
    grader class NAME FOLDER [-o OUT] [-j 2]     grade one sub-folder per student; gradebook.csv
    grader bundle NAME [-o autograder.zip]       a Gradescope autograder bundle for NAME
    grader workflow NAME                         a GitHub Classroom workflow for NAME (on stdout)
    grader classroom results.json                GitHub Classroom reporter payloads ($GITHUB_OUTPUT lines)

A student grades their own work with pytest itself: ``pytest --assignment=NAME``.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from grader import batch, bugs, bundle
from grader.settings import known_assignments


def _progress(done: int, total: int, text: str, started: float) -> None:
    width = 24
    filled = int(width * done / max(total, 1))
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total}  {time.monotonic() - started:5.1f} s  {text}"
    if sys.stderr.isatty():
        sys.stderr.write("\r\x1b[K" + line[:150])
        if done == total:
            sys.stderr.write("\n")
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


# -- verify ---------------------------------------------------------------------------------
def verify(names: list[str], workers: int, out: Optional[Path]) -> int:
    """Grade each assignment's reference and known bugs; print the matrix; 0 when all is as it
    must be."""
    problems: list[str] = []
    work = Path(tempfile.mkdtemp(prefix="grader-verify-"))
    jobs: list[Callable[[], batch.Graded]] = []
    labels: list[tuple[str, Optional[bugs.Bug]]] = []
    for name in names:
        def ref_job(name: str = name) -> batch.Graded:
            return batch.grade_one(name, bundle.reference_dir(name), work / name / "reference.json")
        jobs.append(ref_job)
        labels.append((name, None))
        for bug in bugs.all_bugs(name):
            def job(bug: bugs.Bug = bug) -> batch.Graded:
                sub = bugs.materialize(bug, work / bug.assignment / bug.name)
                return batch.grade_one(bug.assignment, sub, work / bug.assignment / f"{bug.name}.json")
            jobs.append(job)
            labels.append((name, bug))
    started = time.monotonic()
    lock = threading.Lock()
    count = [0]

    def done(i: int, graded: batch.Graded) -> None:
        with lock:
            count[0] += 1
            name, bug = labels[i]
            _progress(count[0], len(jobs), f"{name}/{bug.name if bug else 'reference'}", started)

    try:
        results = batch.run_parallel(jobs, workers, done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report: dict[str, Any] = {}
    for name in names:
        rows = [(bug, graded) for (n, bug), graded in zip(labels, results, strict=True) if n == name]
        ref = next(g for b, g in rows if b is None)
        checks = [batch.short(t["name"]) for t in ref.report.get("tests", [])]
        print(f"\n== {name}: reference {ref.report['score']:g}/{ref.report['max_score']:g} ({ref.seconds:.1f} s)")
        if not checks or ref.report["score"] != ref.report["max_score"]:
            problems.append(f"{name}: the reference lost points: {sorted(ref.failed()) or ref.report.get('output')}")
        for i, check in enumerate(checks):
            print(f"   c{i + 1:<2} {check}")
        print("   " + f"{'bug':<34}" + "".join(f"c{i + 1:<3}" for i in range(len(checks))) + " verdict")
        caught = 0
        bug_rows = [(b, g) for b, g in rows if b is not None]
        for bug, graded in bug_rows:
            failed = graded.failed()
            cells = []
            for check in checks:
                expected = check in bug.fails
                cells.append({(True, True): "X", (False, True): "!", (True, False): "-", (False, False): "."}
                             [(expected, check in failed)])
            unexpected = sorted(failed - set(bug.fails))
            missed = sorted(set(bug.fails) - failed)
            if failed:
                caught += 1
            verdict = "ok"
            if not failed:
                verdict = "UNCAUGHT"
                problems.append(f"{bug.id}: not caught by any check")
            elif unexpected or missed:
                verdict = "MISMATCH"
                problems.append(f"{bug.id}: failed {unexpected} beyond its manifest; did not fail {missed}")
            print(f"   {bug.name[:33]:<34}" + "".join(f"{c:<4}" for c in cells) + f" {verdict}")
            report[bug.id] = {"failed": sorted(failed), "expected": list(bug.fails), "verdict": verdict}
        rate = caught / len(bug_rows) if bug_rows else 0.0
        print(f"   kill rate: {caught}/{len(bug_rows)} ({rate:.0%})   X failed as expected, ! failed beyond "
              f"the manifest, - should have failed, . passed")
    print(f"\nverified {len(names)} assignment(s), {len(jobs)} gradings in {time.monotonic() - started:.1f} s")
    if out:
        out.write_text(json.dumps({"problems": problems, "bugs": report}, indent=2))
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


# -- class ----------------------------------------------------------------------------------
def grade_class(name: str, folder: Path, out: Path, workers: int, deadline_s: float) -> int:
    """Grade every sub-folder of FOLDER; results in OUT/STUDENT/, gradebook in OUT/gradebook.csv."""
    students = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    out.mkdir(parents=True, exist_ok=True)
    todo = [s for s in students if not batch.is_complete(out / s.name / "results.json")]
    skipped = len(students) - len(todo)
    if skipped:
        print(f"{skipped} of {len(students)} already graded in {out}; grading the {len(todo)} left", file=sys.stderr)
    started = time.monotonic()
    lock = threading.Lock()
    count = [0]

    def job(student: Path) -> batch.Graded:
        graded = batch.grade_one(name, student, out / student.name / "results.json", deadline_s=deadline_s)
        (out / student.name / "feedback.txt").write_text(batch.feedback_text(graded.report, student.name))
        return graded

    def done(i: int, graded: batch.Graded) -> None:
        with lock:
            count[0] += 1
            r = graded.report
            _progress(count[0], len(todo), f"{todo[i].name}: {r['score']:g}/{r['max_score']:g}", started)

    batch.run_parallel([functools.partial(job, s) for s in todo], workers, done)
    rows = {}
    for s in students:
        try:
            rows[s.name] = json.loads((out / s.name / "results.json").read_text())
        except (OSError, ValueError):
            continue
    batch.write_gradebook(out / "gradebook.csv", rows)
    elapsed = time.monotonic() - started
    rate = len(todo) / elapsed * 60 if elapsed > 0 and todo else 0.0
    print(f"graded {len(todo)} submission(s) in {elapsed:.1f} s ({rate:.0f}/min); gradebook: {out / 'gradebook.csv'}")
    return 0


# -- main -----------------------------------------------------------------------------------
def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="grader", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_verify = sub.add_parser("verify", help="grade the reference and every known bug of assignments")
    p_verify.add_argument("names", nargs="*", metavar="NAME", help="assignments (default: all)")
    p_verify.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    p_verify.add_argument("--json", type=Path, help="also write the verdicts to this file")
    p_class = sub.add_parser("class", help="grade a folder holding one sub-folder per student")
    p_class.add_argument("name", metavar="NAME")
    p_class.add_argument("folder", type=Path)
    p_class.add_argument("-o", "--out", type=Path, help="results folder (default: FOLDER-results)")
    p_class.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    p_class.add_argument("--deadline", type=float, default=batch.GRADING_DEADLINE_S,
                         help="seconds one student's grading may take in all")
    p_bundle = sub.add_parser("bundle", help="make a Gradescope autograder zip for an assignment")
    p_bundle.add_argument("name", metavar="NAME")
    p_bundle.add_argument("-o", "--out", type=Path, help="zip file (default: autograder-NAME.zip)")
    p_workflow = sub.add_parser("workflow", help="print a GitHub Classroom workflow for an assignment")
    p_workflow.add_argument("name", metavar="NAME")
    p_classroom = sub.add_parser("classroom", help="turn a results.json into GitHub Classroom reporter outputs")
    p_classroom.add_argument("report", type=Path)
    args = parser.parse_args(argv)

    if args.command == "classroom":
        report = json.loads(args.report.read_text())
        for runner, payload in bundle.classroom_outputs(report).items():
            print(f"{runner}={payload}")
        return 0

    known = known_assignments()
    names = [args.name] if hasattr(args, "name") else (args.names or known)
    unknown = [n for n in names if n not in known]
    if unknown:
        parser.error(f"unknown assignment {', '.join(unknown)}; choose one of: {', '.join(known)}")
    if args.command == "verify":
        return verify(names, args.jobs, args.json)
    if args.command == "class":
        if not args.folder.is_dir():
            parser.error(f"{args.folder} is not a folder")
        out = args.out or args.folder.with_name(args.folder.name + "-results")
        return grade_class(args.name, args.folder.resolve(), out.resolve(), args.jobs, args.deadline)
    if args.command == "workflow":
        sys.stdout.write(bundle.classroom_workflow(args.name, bundle.checks_of(args.name)))
        return 0
    path = bundle.make_bundle(args.name, args.out or Path(f"autograder-{args.name}.zip"))
    print(f"wrote {path}: upload it as the autograder of the Gradescope assignment")
    return 0


if __name__ == "__main__":
    sys.exit(main())
