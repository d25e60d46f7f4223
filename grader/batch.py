"""Grading many submissions: one grading per subprocess, several at once.

Each grading is ``python -m pytest --assignment=NAME --submission=DIR --grade-report=FILE`` in a
fresh process, started in an empty folder (so nothing in the submission's folder is ever
imported), in its own session, with a deadline for the whole grading.  A grading that hangs,
crashes, or writes no valid report still yields a report: every check at 0, with the reason.
That is what ``grader verify`` (the reference and every known bug) and ``grader class`` (a folder
of students) are made of.
"""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from grader.report import write_json

GRADING_DEADLINE_S = 600.0


@dataclass
class Graded:
    """One finished grading."""

    submission: Path
    report: dict[str, Any]
    seconds: float
    log: str

    def scores(self) -> dict[str, float]:
        """Check name (function name) -> points earned."""
        return {short(t["name"]): float(t["score"]) for t in self.report.get("tests", [])}

    def failed(self) -> set[str]:
        return {short(t["name"]) for t in self.report.get("tests", []) if t.get("status") != "passed"}


def short(nodeid: str) -> str:
    """'test_fifo.py::test_x[1]' -> 'test_x[1]'."""
    return nodeid.split("::", 1)[-1]


def _failed_report(assignment: str, why: str, seconds: float) -> dict[str, Any]:
    return {"score": 0.0, "max_score": 0.0, "execution_time": round(seconds, 3), "output": why,
            "visibility": "visible", "stdout_visibility": "visible", "tests": [],
            "extra_data": {"assignment": assignment, "complete": False, "exit_status": None}}


def grade_one(assignment: str, submission: Path, report_path: Path, *, extra: Iterable[str] = (),
              deadline_s: float = GRADING_DEADLINE_S, env: Optional[dict[str, str]] = None) -> Graded:
    """Grade SUBMISSION in a subprocess; the report lands in REPORT_PATH (always, and valid)."""
    start = time.monotonic()
    report_path.parent.mkdir(parents=True, exist_ok=True)
    if report_path.exists():
        report_path.unlink()
    argv = [sys.executable, "-m", "pytest", f"--assignment={assignment}", f"--submission={submission}",
            f"--grade-report={report_path}", "-p", "no:cacheprovider", "-q", *extra]
    with tempfile.TemporaryDirectory(prefix="grader-cwd-") as cwd, \
            tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, **(env or {})})
        try:
            proc.wait(timeout=deadline_s)
            why = ""
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)  # the grader writes an incomplete report and cleans up
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            why = f"the grading did not finish within {deadline_s:.0f} s and was stopped"
        out.seek(0)
        log = out.read().decode("utf-8", "replace")
    seconds = time.monotonic() - start
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError):
        report = _failed_report(assignment, why or "the grader wrote no report:\n" + log[-3000:], seconds)
        write_json(report_path, report)
    if why and why not in report.get("output", ""):
        report["output"] = (why + "\n" + report.get("output", "")).strip()
        write_json(report_path, report)
    return Graded(submission, report, seconds, log)


def run_parallel(jobs: list[Callable[[], Any]], workers: int,
                 on_done: Callable[[int, Any], None] = lambda i, r: None) -> list[Any]:
    """Run JOBS on WORKERS threads (each job starts its own grading process); ON_DONE(index,
    result) as each finishes; results in the order of JOBS."""
    results: list[Any] = [None] * len(jobs)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(job): i for i, job in enumerate(jobs)}
        for fut in as_completed(futures):
            i = futures[fut]
            results[i] = fut.result()
            on_done(i, results[i])
    return results


def feedback_text(report: dict[str, Any], student: str = "") -> str:
    """A student-readable feedback file made from a report."""
    lines = [f"Feedback{(' for ' + student) if student else ''}: {report['extra_data'].get('assignment', '')}",
             f"Score: {report['score']:g}/{report['max_score']:g}", ""]
    if report.get("output"):
        lines += [report["output"], ""]
    for t in report.get("tests", []):
        mark = "ok  " if t["status"] == "passed" else "FAIL"
        lines.append(f"[{mark}] {t['score']:g}/{t['max_score']:g}  {short(t['name'])}")
        if t["status"] != "passed" and t.get("output"):
            lines += ["      " + line for line in str(t["output"]).splitlines()]
    return "\n".join(lines) + "\n"


def is_complete(report_path: Path) -> bool:
    """True when REPORT_PATH holds the report of a finished grading (for resuming)."""
    try:
        data = json.loads(report_path.read_text())
    except (OSError, ValueError):
        return False
    return bool(data.get("extra_data", {}).get("complete")) and bool(data.get("tests"))


def write_gradebook(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    """student, each check's points, total, max: one row per student, checks in a stable order."""
    checks: list[str] = []
    for report in rows.values():
        for t in report.get("tests", []):
            if short(t["name"]) not in checks:
                checks.append(short(t["name"]))
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *checks, "total", "max_score", "complete"])
        for student in sorted(rows):
            report = rows[student]
            got = {short(t["name"]): t["score"] for t in report.get("tests", [])}
            writer.writerow([student, *(f"{got[c]:g}" if c in got else "" for c in checks),
                             f"{report['score']:g}", f"{report['max_score']:g}",
                             "yes" if report.get("extra_data", {}).get("complete") else "no"])
    tmp.replace(path)
