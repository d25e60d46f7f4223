"""Hostile and broken programs (tests/hostile/*.c, written for these tests) put in place of one
program of the `pipe` assignment: each gets a valid report, the right check failed with a clear
message, nothing left running or lying on the machine, and the other checks unharmed."""
from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path
from typing import Callable

import pytest

from conftest import REPO, Graded
from test_plugin import assert_nothing_left, private_tmp  # noqa: F401 - a fixture

HOSTILE = Path(__file__).resolve().parent / "hostile"
PIPE_REF = REPO / "reference" / "pipe"

def _jail_works() -> bool:
    """Only with a uid and a pids cgroup of their own may hostile programs run here (a fork bomb
    as root without them would take the machine)."""
    if os.geteuid() != 0:
        return False
    from grader.contain import Jail

    jail = Jail.open("auto", network=False)
    try:
        return jail.uid is not None and "pids" in jail.cgroups
    finally:
        jail.close()


pytestmark = pytest.mark.skipif(not _jail_works(), reason="containment by uid and cgroups needs root")


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_ISOLATION", "auto")


def submission(tmp_path: Path, program: str, replace: str = "pipe_info.c", port: int = 0) -> Path:
    sub = tmp_path / "submission"
    shutil.copytree(PIPE_REF, sub)
    text = (HOSTILE / f"{program}.c").read_text().replace("@PORT@", str(port))
    (sub / replace).write_text(text)
    return sub


def jail_uids(graded: Graded) -> list[int]:
    uids = [j["uid"] for j in graded.report["extra_data"]["isolation"]]
    assert uids and all(isinstance(u, int) for u in uids), graded.report["extra_data"]
    return uids


def assert_machine_clean(graded: Graded, folder: Path) -> None:
    """No process, named object, cgroup or temporary file of the run's programs is left."""
    assert_nothing_left(folder)
    for uid in jail_uids(graded):
        procs = [p for p in filter(str.isdigit, os.listdir("/proc")) if _owner(f"/proc/{p}") == uid]
        assert procs == [], f"processes of uid {uid} left: {procs}"
        for where in ("/dev/shm", "/dev/mqueue", "/tmp", "/var/tmp"):
            if os.path.isdir(where):
                left = [n for n in os.listdir(where) if _owner(os.path.join(where, n)) == uid]
                assert left[:5] == [], f"{where}: left by uid {uid}"


def _owner(path: str) -> int:
    try:
        return os.lstat(path).st_uid
    except OSError:
        return -1


@pytest.mark.parametrize(("program", "words"), [
    ("fork_bomb", ["more processes", "forking without end"]),
    ("spin", ["still running", "running (using the CPU"]),
    ("memory_hog", ["still running"]),  # RLIMIT_AS: malloc fails, and it spins
    ("disk_filler", ["SIGXFSZ"]),
    ("flood", ["killed by SIGXFSZ", "cut"]),
    ("escape", ["still running after its program ended"]),
    ("killer", ["killed by SIGTERM"]),  # its kill(0, SIGTERM) reached its own group only
    ("fake_grade", ["Score: 16/16"]),
    ("object_spammer", ["left behind", "more"]),
])
def test_hostile_program_is_contained(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path, program: str, words: list[str]  # noqa: F811
) -> None:
    graded = grade("pipe", submission(tmp_path, program), "-k", "capacity or test_message_arrives")
    scores = graded.scores()
    assert scores["test_capacity_reported"] == 0
    assert scores["test_message_arrives"] == 2, "a check of another program was harmed"
    out = graded.output("test_capacity_reported")
    for word in words:
        assert word in out, out
    assert graded.report["score"] == 2 and graded.report["extra_data"]["complete"] is True
    graded.result.stdout.fnmatch_lines(["Score: 2/3"])
    assert_machine_clean(graded, private_tmp)


def test_no_network_for_an_assignment_without_sockets(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path  # noqa: F811
) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        graded = grade("pipe", submission(tmp_path, "network", port=listener.getsockname()[1]), "-k", "capacity")
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert "connect" in graded.output("test_capacity_reported")
    assert_machine_clean(graded, private_tmp)


def test_read_only_submission_folder_is_graded_and_untouched(
    grade: Callable[..., Graded], tmp_path: Path, private_tmp: Path  # noqa: F811
) -> None:
    sub = tmp_path / "ro"
    shutil.copytree(PIPE_REF, sub)
    before = sorted(os.listdir(sub))
    for path in [sub, *sub.iterdir()]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        graded = grade("pipe", sub)
    finally:
        sub.chmod(0o755)
    assert graded.report["score"] == graded.report["max_score"] == 16
    assert sorted(os.listdir(sub)) == before
    assert_machine_clean(graded, private_tmp)
