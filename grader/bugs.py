"""Known-buggy submissions: each is the reference of an assignment with one classic bug put in.

A bug lives in ``tests/buggy/ASSIGNMENT/BUG.toml`` of a checkout (or ``$GRADER_ROOT/buggy``):

    description = "what the bug is, in a student's terms"
    fails = ["test_check_a", "test_check_b"]   # exactly the checks it must fail

    [[edit]]                  # one or more: replace OLD (found exactly once) by NEW
    file = "fifo_server.c"
    old = '''...'''
    new = '''...'''

    [[file]]                  # or a whole file of its own (written independently)
    name = "fifo_client.c"
    text = '''...'''

``materialize`` writes the buggy submission into a folder: a copy of the reference with the
edits applied.  An OLD text that is not found exactly once is an error, so that a change to the
reference can never silently turn a bug into a correct program.
"""
from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.settings import Assignment


def buggy_dirs() -> list[Path]:
    """Where known bugs are kept: $GRADER_ROOT/buggy, and tests/buggy of a checkout."""
    here = Path(__file__).resolve().parent
    candidates = [Path(os.environ["GRADER_ROOT"]) / "buggy"] if os.environ.get("GRADER_ROOT") else []
    candidates.append(here.parent / "tests" / "buggy")
    return [c for c in candidates if c.is_dir()]


@dataclass(frozen=True)
class Bug:
    assignment: str
    name: str
    description: str
    fails: tuple[str, ...]
    spec: dict[str, Any] = field(repr=False)

    @property
    def id(self) -> str:
        return f"{self.assignment}/{self.name}"


def load(path: Path) -> Bug:
    with open(path, "rb") as f:
        spec = tomllib.load(f)
    return Bug(path.parent.name, path.stem, spec["description"], tuple(spec["fails"]), spec)


def all_bugs(assignment: str | None = None) -> list[Bug]:
    """Every known bug (of ASSIGNMENT, if given), in a stable order."""
    pattern = f"{assignment}/*.toml" if assignment else "*/*.toml"
    return [load(p) for root in buggy_dirs() for p in sorted(root.glob(pattern))]


def materialize(bug: Bug, dest: Path) -> Path:
    """Write the buggy submission of BUG into DEST (created) and return DEST."""
    shutil.copytree(Assignment.load(bug.assignment).reference_dir, dest, dirs_exist_ok=True)
    for edit in bug.spec.get("edit", []):
        path = dest / edit["file"]
        text = path.read_text()
        count = text.count(edit["old"])
        if count != 1:
            raise ValueError(f"{bug.id}: the text to replace occurs {count} times in {edit['file']}, not once")
        path.write_text(text.replace(edit["old"], edit["new"]))
    for extra in bug.spec.get("file", []):
        (dest / extra["name"]).write_text(extra["text"])
    for gone in bug.spec.get("remove", []):
        (dest / gone).unlink()
    return dest
