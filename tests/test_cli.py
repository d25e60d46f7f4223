"""The `grader` command (verify, class, bundle, workflow, classroom) and JUnit XML, end to end."""
from __future__ import annotations

import base64
import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

import pytest

from conftest import REPO, Graded

PIPE_REF = REPO / "reference" / "pipe"


def grader(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, cwd=cwd, timeout=600)


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    """An instructor's own assignment 'tiny' (GRADER_ROOT): one program, two checks, two bugs."""
    root = tmp_path / "root"
    (root / "assignments" / "tiny").mkdir(parents=True)
    (root / "reference" / "tiny").mkdir(parents=True)
    (root / "buggy" / "tiny").mkdir(parents=True)
    (root / "assignments" / "tiny" / "assignment.toml").write_text('programs = ["hello"]\ncflags = ["-Wall"]\n')
    (root / "assignments" / "tiny" / "test_tiny.py").write_text(
        "import pytest\n"
        "from grader.checks import expect_bytes, expect_exit\n\n"
        "@pytest.mark.points(2)\n"
        "def test_greets(sandbox):\n"
        "    p = sandbox.spawn([sandbox.student('hello')])\n"
        "    p.wait(sandbox.timeout(3))\n"
        "    expect_bytes('the greeting', b'hello\\n', p.stdout(), p)\n\n"
        "@pytest.mark.points(1)\n"
        "def test_exit_code(sandbox):\n"
        "    p = sandbox.spawn([sandbox.student('hello')])\n"
        "    expect_exit(p, p.wait(sandbox.timeout(3)), 0)\n")
    (root / "reference" / "tiny" / "hello.c").write_text(
        '#include <stdio.h>\nint main(void)\n{\n    printf("hello\\n");\n    return 0;\n}\n')
    (root / "buggy" / "tiny" / "says_bye.toml").write_text(
        'description = "prints bye"\nfails = ["test_greets"]\n\n[[edit]]\nfile = "hello.c"\n'
        'old = "hello\\\\n"\nnew = "bye\\\\n"\n')
    (root / "buggy" / "tiny" / "wrong_manifest.toml").write_text(
        'description = "exits 1, but the manifest forgets test_exit_code"\nfails = []\n\n[[edit]]\n'
        'file = "hello.c"\nold = "return 0;"\nnew = "return 1;"\n')
    return root


def test_verify_prints_the_matrix_and_fails_on_a_wrong_manifest(tiny_root: Path) -> None:
    run = grader("verify", "tiny", "-j", "2", env={"GRADER_ROOT": str(tiny_root)})
    assert run.returncode == 1, run.stdout + run.stderr
    assert "reference 3/3" in run.stdout
    assert "says_bye" in run.stdout and "kill rate: 2/2 (100%)" in run.stdout
    assert "PROBLEM: tiny/wrong_manifest: failed ['test_exit_code'] beyond its manifest" in run.stdout
    (tiny_root / "buggy" / "tiny" / "wrong_manifest.toml").unlink()
    run = grader("verify", "tiny", env={"GRADER_ROOT": str(tiny_root)})
    assert run.returncode == 0, run.stdout + run.stderr


def test_verify_fails_when_the_reference_loses_points(tiny_root: Path) -> None:
    (tiny_root / "reference" / "tiny" / "hello.c").write_text("int main(void) { return 0; }\n")
    (tiny_root / "buggy" / "tiny" / "says_bye.toml").unlink()
    (tiny_root / "buggy" / "tiny" / "wrong_manifest.toml").unlink()
    run = grader("verify", "tiny", env={"GRADER_ROOT": str(tiny_root)})
    assert run.returncode == 1
    assert "PROBLEM: tiny: the reference lost points" in run.stdout


def test_class_grades_every_student_and_resumes(tmp_path: Path) -> None:
    klass = tmp_path / "class"
    shutil.copytree(PIPE_REF, klass / "alice")
    shutil.copytree(PIPE_REF, klass / "bob")
    text = (klass / "bob" / "pipe_writer.c").read_text()
    (klass / "bob" / "pipe_writer.c").write_text(text.replace("return 3;", "return 1;"))
    (klass / "carol").mkdir()
    shutil.copytree(PIPE_REF, klass / "dave")
    (klass / "dave" / "pipe_info.c").write_text("int main(void) { for (;;); }\n")  # spins until its CPU limit
    out = tmp_path / "out"
    run = grader("class", "pipe", str(klass), "-o", str(out), "-j", "2")
    assert run.returncode == 0, run.stderr
    assert "4/4" in run.stderr
    rows = {r["student"]: r for r in csv.DictReader(open(out / "gradebook.csv"))}
    assert set(rows) == {"alice", "bob", "carol", "dave"}
    assert rows["alice"]["total"] == "16" and rows["alice"]["max_score"] == "16"
    assert rows["bob"]["total"] == "14" and rows["bob"]["test_writer_reports_epipe"] == "0"
    assert rows["carol"]["total"] == "0"
    assert rows["dave"]["test_capacity_reported"] == "0" and rows["dave"]["test_message_arrives"] == "2"
    feedback = (out / "bob" / "feedback.txt").read_text()
    assert "Score: 14/16" in feedback and "[FAIL] 0/2  test_writer_reports_epipe" in feedback
    for student in rows:
        assert json.loads((out / student / "results.json").read_text())["extra_data"]["complete"] is True
    again = grader("class", "pipe", str(klass), "-o", str(out))
    assert "4 of 4 already graded" in again.stderr and "graded 0 submission(s)" in again.stdout


def test_gradescope_bundle_runs_end_to_end(tmp_path: Path) -> None:
    made = grader("bundle", "pipe", "-o", str(tmp_path / "ag.zip"))
    assert made.returncode == 0, made.stderr
    root = tmp_path / "autograder"
    with zipfile.ZipFile(tmp_path / "ag.zip") as zf:
        names = zf.namelist()
        zf.extractall(root)
    assert {"setup.sh", "run_autograder", "source/requirements.txt"} <= set(names)
    assert "source/grader/assignments/pipe/test_pipe.py" in names
    assert "source/grader/reference/pipe/pipe_relay.c" in names
    shutil.copytree(PIPE_REF, root / "submission")
    run = subprocess.run(["bash", str(root / "run_autograder")], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_PYTHON": sys.executable})
    assert run.returncode == 0, run.stdout + run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == results["max_score"] == 16
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "status", "output", "visibility"}


def test_classroom_workflow_and_payloads(grade: Callable[..., Graded], tmp_path: Path) -> None:
    workflow = grader("workflow", "pipe")
    assert workflow.returncode == 0, workflow.stderr
    assert "runners: " + ",".join(f"check-{i}" for i in range(1, 11)) in workflow.stdout
    assert "CHECK-10_RESULTS: ${{ steps.grade.outputs.check-10 }}" in workflow.stdout
    graded = grade("pipe", PIPE_REF)
    report = tmp_path / "results.json"
    report.write_text(json.dumps(graded.report))
    lines = grader("classroom", str(report)).stdout.splitlines()
    assert len(lines) == 10
    runner, payload = lines[0].split("=", 1)
    data = json.loads(base64.b64decode(payload))
    assert runner == "check-1" and data["status"] == "pass" and data["max_score"] == 2


def test_junit_xml_through_pytest_option(grade: Callable[..., Graded], tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    grade("pipe", PIPE_REF, f"--junitxml={junit}")
    suite = ElementTree.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("tests") == "10" and suite.get("failures") == "0" and suite.get("errors") == "0"
