"""Autograder front doors: the Gradescope bundle and the GitHub Classroom workflow.

Gradescope: ``make_bundle(NAME, ZIP)`` writes a zip with ``setup.sh`` (installs Python, gcc and
the grader's dependencies into /autograder/venv), ``run_autograder`` (grades
``/autograder/submission`` into ``/autograder/results/results.json``; ``AUTOGRADER_ROOT``
moves both roots) and ``source/`` (the grader package with every assignment and reference, and
``requirements.txt``).

GitHub Classroom: its grading reporter scores each "runner" as passed tests over all tests times
that runner's max score, so a check worth 3 points must be a runner of its own to be scored
exactly.  ``classroom_workflow(NAME)`` writes a workflow with one runner per check, and
``classroom_outputs(REPORT)`` turns a results.json into the runners' base64 payloads.
"""
from __future__ import annotations

import base64
import importlib.metadata
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from grader.settings import Assignment, data_dirs

HERE = Path(__file__).resolve().parent


def reference_dir(name: str) -> Path:
    """The reference programs of assignment NAME."""
    return Assignment.load(name).reference_dir


def requirements() -> list[str]:
    """The grader's runtime dependencies, from its installed metadata."""
    try:
        reqs = importlib.metadata.requires("ipc-grader") or []
    except importlib.metadata.PackageNotFoundError:
        reqs = []
    return [r for r in reqs if "extra ==" not in r] or ["pytest>=8", "pytest-timeout>=2.2", "pytest-xdist>=3.5",
                                                         "posix_ipc>=1.1", "pexpect>=4.8"]


def make_bundle(name: str, out: Path) -> Path:
    """Write the Gradescope autograder zip of assignment NAME to OUT."""
    Assignment.load(name)  # UsageError-style failure for an unknown name, before writing anything
    out = out.resolve()
    run = (HERE / "autograder" / "run_autograder").read_text().replace("@ASSIGNMENT@", name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(path: str, text: str, mode: int = 0o644) -> None:
            info = zipfile.ZipInfo(path)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, text)

        add("setup.sh", (HERE / "autograder" / "setup.sh").read_text(), 0o755)
        add("run_autograder", run, 0o755)
        add("source/requirements.txt", "\n".join(requirements()) + "\n")
        for path in sorted(HERE.rglob("*")):
            rel = path.relative_to(HERE)
            if path.is_file() and "__pycache__" not in rel.parts and rel.parts[0] not in ("assignments", "reference"):
                add(f"source/grader/{rel}", path.read_text())
        for kind in ("assignments", "reference"):
            for root in reversed(data_dirs(kind)):  # the first found wins, as when grading
                for path in sorted(root.rglob("*")):
                    rel = path.relative_to(root)
                    if path.is_file() and "__pycache__" not in rel.parts:
                        add(f"source/grader/{kind}/{rel}", path.read_text())
    return out


def _runner_id(index: int) -> str:
    return f"check-{index + 1}"


def classroom_outputs(report: dict[str, Any]) -> dict[str, str]:
    """Runner id -> base64 JSON payload for the GitHub Classroom grading reporter, one per check."""
    out = {}
    for i, t in enumerate(report.get("tests", [])):
        passed = t["status"] == "passed"
        payload = {
            "version": 1,
            "status": "pass" if passed else "fail",
            "max_score": t["max_score"],
            "tests": [{"name": t["name"].split("::")[-1], "status": "pass" if passed else "fail",
                       "message": str(t.get("output", ""))[:2000], "score": t["score"]}],
        }
        out[_runner_id(i)] = base64.b64encode(json.dumps(payload).encode()).decode()
    return out


def classroom_workflow(name: str, checks: list[str]) -> str:
    """The GitHub Actions workflow (.github/workflows/classroom.yml) grading assignment NAME."""
    env = "\n".join(f"          {_runner_id(i).upper()}_RESULTS: ${{{{ steps.grade.outputs.{_runner_id(i)} }}}}"
                    for i in range(len(checks)))
    runners = ",".join(_runner_id(i) for i in range(len(checks)))
    legend = "\n".join(f"#   {_runner_id(i)}: {c}" for i, c in enumerate(checks))
    return f"""# GitHub Classroom autograding for the `{name}` assignment, made by `grader workflow {name}`.
# One reporter runner per check, so that each check's points count exactly:
{legend}
name: Autograding
on: [push, workflow_dispatch, repository_dispatch]
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  grade:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    timeout-minutes: 15
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install the grader
        run: python -m pip install ipc-grader
      - name: Grade
        id: grade
        run: |
          python -m pytest --assignment={name} --submission=. --grade-report=results.json \\
            --junitxml=junit.xml -p no:cacheprovider -n 2 || true
          grader classroom results.json >> "$GITHUB_OUTPUT"
      - name: Report the points to GitHub Classroom
        uses: classroom-resources/autograding-grading-reporter@v1
        env:
{env}
        with:
          runners: {runners}
"""


def checks_of(name: str) -> list[str]:
    """The check names of assignment NAME, in order, from a grading of its reference."""
    from grader import batch

    with tempfile.TemporaryDirectory() as tmp:
        graded = batch.grade_one(name, reference_dir(name), Path(tmp, "r.json"))
    return [t["name"].split("::")[-1] for t in graded.report.get("tests", [])]


__all__ = ["make_bundle", "classroom_outputs", "classroom_workflow", "checks_of", "reference_dir"]
