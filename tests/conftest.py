"""Fixtures of the harness's own tests: run the grader in a subprocess, as a user would."""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Graded:
    """One grading run: pytest's result and the report it wrote."""

    result: pytest.RunResult
    report: dict[str, Any]

    def scores(self) -> dict[str, float]:
        """Check name (the function name) -> points earned."""
        return {t["name"].split("::")[-1]: t["score"] for t in self.report["tests"]}

    def failed(self) -> set[str]:
        return {t["name"].split("::")[-1] for t in self.report["tests"] if t["status"] != "passed"}

    def output(self, check: str) -> str:
        for t in self.report["tests"]:
            if t["name"].endswith("::" + check):
                return str(t["output"])
        raise KeyError(check)


@pytest.fixture
def grade(pytester: pytest.Pytester) -> Callable[..., Graded]:
    """grade(assignment, submission_dir, *more_args) -> Graded, run in a subprocess."""

    def run(assignment: str, submission: Path, *args: str) -> Graded:
        report = pytester.path / "results.json"
        result = pytester.runpytest_subprocess(
            f"--assignment={assignment}", f"--submission={submission}", f"--grade-report={report}",
            "-p", "no:cacheprovider", *args,
        )
        return Graded(result, json.loads(report.read_text()))

    return run
