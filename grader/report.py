"""The grade as people and autograders read it: the terminal summary and Gradescope's
``results.json``.

The report file is written at the start of the run (empty, marked incomplete), again at the end,
and whenever the run stops early (an interrupt, a usage error, a crash of a check), always
atomically (a temporary file renamed over it), so that it is valid JSON whatever happens.
Fields follow Gradescope's published format: ``score``, ``max_score``, ``execution_time``,
``output``, ``visibility``, ``stdout_visibility`` and ``tests`` (each with ``name``, ``score``,
``max_score``, ``status``, ``output``, ``visibility``); ``extra_data`` carries the assignment, the
pytest exit status and whether the run was complete.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Optional


from grader.scoring import Scoreboard, fmt


def results_json(board: Scoreboard, *, assignment: str, started: float, exit_status: Optional[int],
                 notes: list[str], complete: Optional[bool] = None) -> dict[str, Any]:
    """The Gradescope results document for the run so far."""
    results = board.ordered()
    score, max_score = board.totals()
    complete = board.complete and exit_status is not None if complete is None else complete
    tests = []
    for r in results:
        output = "\n".join(r.output)
        if r.status is None:
            output = "not run: the grading stopped before this check" + (f"\n{output}" if output else "")
        tests.append({
            "name": r.nodeid,
            "score": r.score,
            "max_score": r.max_score,
            "status": "passed" if r.status == "passed" else "failed",
            "output": output,
            "visibility": r.visibility,
        })
    head = list(notes)
    if not complete:
        head.insert(0, "INCOMPLETE: the grading did not finish; checks that did not run earn 0.")
    return {
        "score": score,
        "max_score": max_score,
        "execution_time": round(time.time() - started, 3),
        "output": "\n".join(head),
        "visibility": "visible",
        "stdout_visibility": "visible",
        "tests": tests,
        "extra_data": {"assignment": assignment, "complete": complete, "exit_status": exit_status},
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write DATA to PATH atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    tmp.replace(path)


def terminal_summary(tr: Any, board: Scoreboard, assignment: str) -> None:
    """One line per check with points earned and possible, then 'Score: X/Y'."""
    results = board.ordered()
    tr.section(f"grade: {assignment}", sep="=")
    width = max((len(f"{fmt(r.max_score)}") for r in results), default=1)
    for r in results:
        mark = {"passed": "", "failed": "  FAILED"}.get(r.status or "", "  NOT RUN")
        tr.write_line(f"  {fmt(r.score):>{width}}/{fmt(r.max_score):<{width}}  {r.nodeid}{mark}")
    score, max_score = board.totals()
    if not board.complete:
        tr.write_line("(incomplete: some checks did not run)")
    tr.write_line(f"Score: {fmt(score)}/{fmt(max_score)}", bold=True)


__all__ = ["results_json", "write_json", "terminal_summary"]
