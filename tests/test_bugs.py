"""Every known bug is caught by exactly the checks its manifest names; the reference of every
assignment, and every correct program written another way (tests/correct/NAME/VARIANT: threads
instead of fork, poll or select, O_RDWR, stdio, buffering servers...), gets full marks."""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest

from grader import bugs
from conftest import REPO, Graded

ASSIGNMENTS = sorted(p.name for p in (REPO / "assignments").iterdir() if (p / "assignment.toml").exists())


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_gets_full_marks(grade: Callable[..., Graded], assignment: str) -> None:
    graded = grade(assignment, REPO / "reference" / assignment)
    assert graded.failed() == set(), "\n\n".join(
        f"{t['name']}:\n{t['output']}" for t in graded.report["tests"] if t["status"] != "passed")
    assert graded.report["score"] == graded.report["max_score"] > 0
    assert graded.result.ret == 0


VARIANTS = sorted((REPO / "tests" / "correct").glob("*/*"))


def assemble(variant: Path, dest: Path) -> Path:
    """The submission of VARIANT: its own files over those of the variant its BASE file names
    (a variant keeps only what it does differently)."""
    base = variant / "BASE"
    if base.exists():
        assemble(variant.parent / base.read_text().strip(), dest)
    shutil.copytree(variant, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("BASE"))
    return dest


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_correct_variant_gets_full_marks(grade: Callable[..., Graded], tmp_path: Path, variant: Path) -> None:
    graded = grade(variant.parent.name, assemble(variant, tmp_path / "submission"))
    assert graded.failed() == set(), "\n\n".join(
        f"{t['name']}:\n{t['output']}" for t in graded.report["tests"] if t["status"] != "passed")
    assert graded.report["score"] == graded.report["max_score"] > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_assignment_has_eight_bugs(assignment: str) -> None:
    assert len(bugs.all_bugs(assignment)) >= 8


@pytest.mark.parametrize("bug", bugs.all_bugs(), ids=lambda b: b.id)
def test_bug_is_caught_by_its_checks(grade: Callable[..., Graded], tmp_path: Path, bug: bugs.Bug) -> None:
    submission = bugs.materialize(bug, tmp_path / "submission")
    graded = grade(bug.assignment, submission)
    known = set(graded.scores())
    assert set(bug.fails) <= known, f"the manifest names checks that do not exist: {set(bug.fails) - known}"
    assert graded.failed() == set(bug.fails), (
        f"{bug.id} ({bug.description}) failed {sorted(graded.failed())}, its manifest says {sorted(bug.fails)}\n"
        + "\n\n".join(f"{t['name']}:\n{t['output']}" for t in graded.report["tests"] if t["status"] != "passed"))
    for check in bug.fails:
        assert graded.output(check).strip(), f"{check} failed without a message"
