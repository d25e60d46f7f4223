"""The plugin as a user meets it: options and usage errors, the summary, the report file, bad
submissions, -n 2, interruption; run in subprocesses through pytester."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from conftest import REPO, Graded

PIPE_REF = REPO / "reference" / "pipe"
PIPE_CHECKS = 10


@pytest.fixture
def private_tmp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A short private GRADER_TMP, so a test can tell that a run left nothing behind."""
    path = Path(tempfile.mkdtemp(prefix="gt", dir="/tmp"))
    path.chmod(0o755)  # programs may run as another user: they must reach their build folder
    # uids of their own for this test's gradings, apart from those of tests running beside it
    monkeypatch.setenv("GRADER_UID_BASE", str(62000 + (os.getpid() % 400) * 64))
    monkeypatch.setenv("GRADER_TMP", str(path))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def processes_under(folder: Path) -> list[str]:
    """Processes whose executable or working directory lies in FOLDER."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for link in ("exe", "cwd"):
            try:
                target = os.readlink(f"/proc/{pid}/{link}")
            except OSError:
                continue
            if target.startswith(str(folder)):
                found.append(f"{pid}: {target}")
    return found


def assert_nothing_left(folder: Path) -> None:
    assert processes_under(folder) == []
    assert list(folder.iterdir()) == []


def broken_copy(tmp_path: Path, edits: dict[str, tuple[str, str]]) -> Path:
    sub = tmp_path / "submission"
    shutil.copytree(PIPE_REF, sub)
    for name, (old, new) in edits.items():
        text = (sub / name).read_text()
        assert old in text
        (sub / name).write_text(text.replace(old, new, 1))
    return sub


def test_unknown_assignment_lists_the_known_ones(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--assignment=nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--assignment='nosuch' unknown; choose one of: *pipe*"])


def test_missing_submission_folder_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--assignment=pipe", "--submission=does/not/exist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*does/not/exist* is not a folder*"])


def test_a_test_path_with_assignment_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--assignment=pipe", f"--submission={PIPE_REF}", "tests")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*give no test path*"])


def test_without_assignment_pytest_is_plain_pytest(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_one():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)
    assert "Score:" not in result.stdout.str()


def test_summary_and_report_of_the_reference(grade: Callable[..., Graded]) -> None:
    graded = grade("pipe", PIPE_REF)
    graded.result.stdout.fnmatch_lines(["*grade: pipe*", "  2/2  test_pipe.py::test_message_arrives",
                                        "Score: 16/16"])
    report = graded.report
    assert report["score"] == report["max_score"] == 16
    assert isinstance(report["execution_time"], float)
    assert report["extra_data"]["complete"] is True
    assert len(report["tests"]) == PIPE_CHECKS
    for test in report["tests"]:
        assert set(test) == {"name", "score", "max_score", "status", "output", "visibility"}
        assert test["status"] == "passed" and test["visibility"] == "visible"


def test_same_results_with_two_workers(grade: Callable[..., Graded]) -> None:
    plain = grade("pipe", PIPE_REF)
    parallel = grade("pipe", PIPE_REF, "-n", "2")
    assert parallel.scores() == plain.scores()
    parallel.result.stdout.fnmatch_lines(["Score: 16/16"])


def test_compile_error_fails_only_the_checks_of_that_program(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path
) -> None:
    sub = broken_copy(tmp_path, {"pipe_info.c": ("int main(", "int main(int broken")})
    graded = grade("pipe", sub)
    assert graded.failed() == {"test_capacity_reported", "test_nonblocking_read_gets_eagain"}
    out = graded.output("test_capacity_reported")
    assert "pipe_info.c did not compile" in out and "error" in out
    assert "pipe_info: not built" in graded.report["output"]
    assert_nothing_left(private_tmp)


def test_empty_folder_fails_every_check_saying_what_was_expected(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path
) -> None:
    (tmp_path / "empty").mkdir()
    graded = grade("pipe", tmp_path / "empty")
    assert graded.report["score"] == 0 and len(graded.report["tests"]) == PIPE_CHECKS
    assert "expected pipe_relay.c (or an executable named pipe_relay)" in graded.output("test_message_arrives")
    assert_nothing_left(private_tmp)


def test_hanging_program_fails_with_what_it_was_doing(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path
) -> None:
    sub = broken_copy(tmp_path, {"pipe_info.c": ("int main(int argc, char *argv[])\n{",
                                                 "int main(int argc, char *argv[])\n{\n    for (;;) pause();")})
    graded = grade("pipe", sub, "-k", "capacity")
    out = graded.output("test_capacity_reported")
    assert "still running" in out and "blocked in pause()" in out
    assert_nothing_left(private_tmp)


def test_output_flood_is_cut_and_named(grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path) -> None:
    sub = broken_copy(tmp_path, {"pipe_info.c": ("int main(int argc, char *argv[])\n{",
                                                 "int main(int argc, char *argv[])\n{\n"
                                                 "    for (;;) fputs(\"flood \\xff\\x01\", stdout);")})
    graded = grade("pipe", sub, "-k", "capacity")
    out = graded.output("test_capacity_reported")
    assert "flood" in out and "cut" in out
    assert_nothing_left(private_tmp)


def test_missing_points_marker_is_an_error_naming_the_check(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "assignments" / "tiny").mkdir(parents=True)
    (root / "reference" / "tiny").mkdir(parents=True)
    (root / "assignments" / "tiny" / "assignment.toml").write_text('programs = []\n')
    (root / "assignments" / "tiny" / "test_tiny.py").write_text(
        "import pytest\n\n@pytest.mark.points(1)\ndef test_scored():\n    pass\n\n"
        "def test_unscored():\n    pass\n")
    monkeypatch.setenv("GRADER_ROOT", str(root))
    result = pytester.runpytest_subprocess("--assignment=tiny", f"--submission={tmp_path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*add @pytest.mark.points(N) to: test_tiny.py::test_unscored*"])


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["plain", "xdist"])
def test_interrupted_run_leaves_a_valid_incomplete_report_and_nothing_running(
    tmp_path: Path, private_tmp: Path, workers: list[str]
) -> None:
    sub = broken_copy(tmp_path, {"pipe_relay.c": ("int main(void)\n{", "int main(void)\n{\n    for (;;) pause();")})
    report = tmp_path / "results.json"
    grader = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--assignment=pipe", f"--submission={sub}", f"--grade-report={report}",
         "-p", "no:cacheprovider", *workers],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not any("pipe_relay" in p for p in processes_under(private_tmp)):
        assert time.monotonic() < deadline and grader.poll() is None, "the grader never started pipe_relay"
        time.sleep(0.01)
    grader.send_signal(signal.SIGTERM)
    out, _ = grader.communicate(timeout=60)
    data = json.loads(report.read_text())
    assert data["extra_data"]["complete"] is False, out.decode()
    assert data["output"].startswith("INCOMPLETE")
    assert len(data["tests"]) == PIPE_CHECKS
    assert any(t["output"].startswith("not run") for t in data["tests"])
    assert_nothing_left(private_tmp)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_shows_the_last_system_calls_of_a_failing_program(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path
) -> None:
    sub = broken_copy(tmp_path, {"pipe_relay.c": ("        close(fd[1]);\n        int rc = copy(fd[0]",
                                                  "        int rc = copy(fd[0]")})
    graded = grade("pipe", sub, "--grader-strace", "-k", "end_of_file or test_message_arrives")
    assert graded.scores() == {"test_message_arrives": 2, "test_child_sees_end_of_file": 0}
    out = graded.output("test_child_sees_end_of_file")
    assert "last system calls of your pipe_relay" in out and "read(3" in out, out
    assert "strace" not in graded.output("test_message_arrives")
    assert_nothing_left(private_tmp)


def test_two_graders_at_once_do_not_collide(tmp_path: Path) -> None:
    """Two gradings of the fifo reference side by side, one of them with two workers: unique
    paths, names and uids keep them apart, and both get full marks."""
    runs = []
    for i, extra in enumerate(([], ["-n", "2"])):
        report = tmp_path / f"r{i}.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "--assignment=fifo", f"--submission={REPO / 'reference' / 'fifo'}",
             f"--grade-report={report}", "-p", "no:cacheprovider", "-q", *extra],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        runs.append((proc, report))
    for proc, report in runs:
        out, _ = proc.communicate(timeout=120)
        data = json.loads(report.read_text())
        assert data["score"] == data["max_score"] > 0, out.decode()


def test_no_compiler_is_a_clear_error_with_a_report(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CC", "/nonexistent/gcc")
    monkeypatch.setenv("GRADER_CACHE", str(tmp_path / "cache"))  # nothing built before may be reused
    report = tmp_path / "results.json"
    result = pytester.runpytest_subprocess("--assignment=pipe", f"--submission={PIPE_REF}",
                                           f"--grade-report={report}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*/nonexistent/gcc is not installed on this machine: install it*"])
    data = json.loads(report.read_text())
    assert data["extra_data"]["complete"] is False and "not installed" in data["output"]
