"""Containment of the programs a grading process runs: an unprivileged user, cgroups, no network.

When the grader runs as root (a CI autograder, a container), each grading process claims a
user id of its own for the programs it starts (``GRADER_UID_BASE``, 61000 by default, plus a slot
held with a lock file for the life of the process, so that xdist workers and graders running at
once never share one).  Programs then:

* cannot signal the grader or anything else not theirs;
* count against ``RLIMIT_NPROC``, per user, so a fork bomb stops at the limit;
* own everything they create, so that every process, shared-memory object, semaphore and queue
  they leave behind is found by owner, wherever it is, and removed.

Where the cgroup v1 controllers ``pids``, ``memory`` and ``freezer`` can be written (root, here),
the programs also join a cgroup of the grading process: at most ``PIDS_MAX`` tasks and
``MEMORY_MAX`` bytes in all, and a freezer, so that killing a fork bomb is not a race (freeze,
kill every task, thaw).  Assignments that are not about networking run each program in a network
namespace of its own with no interface up.

As an unprivileged user none of this is possible: programs run as that user with
``RLIMIT_NPROC`` set above the user's current process count, and the README says so.
"""
from __future__ import annotations

import fcntl
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

UID_BASE = int(os.environ.get("GRADER_UID_BASE", "61000"))
UID_SLOTS = 64
PIDS_MAX = 128
MEMORY_MAX = 2 << 30
LOCK_DIR = Path("/tmp/.grader-uids")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _own_cgroup(controller: str) -> Optional[Path]:
    """The folder of this process's cgroup for CONTROLLER (v1), if mounted."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            folder = CGROUP_ROOT / controller / path.lstrip("/")
            return folder if folder.is_dir() else None
    return None


@dataclass
class Jail:
    """The containment of one grading process (see the module docstring)."""

    uid: Optional[int] = None
    lock_fd: Optional[int] = None
    cgroups: dict[str, Path] = field(default_factory=dict)
    nonet: bool = False

    @classmethod
    def open(cls, isolation: str, network: bool) -> Jail:
        """Claim a uid and make the cgroups, as far as ISOLATION ('auto', 'none') and the
        machine allow."""
        jail = cls(nonet=not network and isolation != "none" and os.geteuid() == 0)
        if isolation == "none" or os.geteuid() != 0:
            return jail
        jail._claim_uid()
        for controller in ("pids", "memory", "freezer"):
            parent = _own_cgroup(controller)
            if parent is None:
                continue
            folder = parent / f"grader-{os.getpid()}"
            try:
                folder.mkdir(exist_ok=True)
                if controller == "pids":
                    (folder / "pids.max").write_text(str(PIDS_MAX))
                if controller == "memory":
                    (folder / "memory.limit_in_bytes").write_text(str(MEMORY_MAX))
            except OSError:
                continue
            jail.cgroups[controller] = folder
        return jail

    def _claim_uid(self) -> None:
        LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
        for slot in range(UID_SLOTS):
            uid = UID_BASE + slot
            fd = os.open(LOCK_DIR / str(uid), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self.lock_fd = uid, fd
            return

    def check_reachable(self, path: Path) -> Optional[str]:
        """Give up the uid (and say why) when PATH, where the programs are built, cannot be
        reached by another user: a folder on the way without the x bit for others."""
        if self.uid is None:
            return None
        for folder in [path, *path.parents]:
            try:
                if not folder.stat().st_mode & 0o001:
                    self.uid = None
                    if self.lock_fd is not None:
                        os.close(self.lock_fd)
                        self.lock_fd = None
                    return (f"programs run as the grader's user: {folder} cannot be entered by other users "
                            f"(chmod o+x it, or set GRADER_TMP to a folder that can)")
            except OSError:
                return None
        return None

    def env(self) -> dict[str, str]:
        """What the launcher needs to put a program in the jail."""
        out = {}
        if self.uid is not None:
            out["GRADER_UID"] = out["GRADER_GID"] = str(self.uid)
        if self.cgroups:
            out["GRADER_CGROUPS"] = ":".join(str(f / "cgroup.procs") for f in self.cgroups.values())
        if self.nonet:
            out["GRADER_NONET"] = "1"
        return out

    def give(self, path: Path) -> None:
        """Hand PATH (a check's folder) to the programs' user."""
        if self.uid is not None:
            os.chown(path, self.uid, self.uid)

    def pids(self) -> list[int]:
        """Every process in the jail: in its cgroups, or owned by its uid."""
        found: set[int] = set()
        for folder in self.cgroups.values():
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except OSError:
                pass
        if self.uid is not None and self._by_uid():
            for name in os.listdir("/proc"):
                if name.isdigit():
                    try:
                        if os.stat(f"/proc/{name}").st_uid == self.uid:
                            found.add(int(name))
                    except OSError:
                        pass
        found.discard(os.getpid())
        return sorted(found)

    def _by_uid(self) -> bool:
        """Scan /proc by owner only without a pids cgroup: a process cannot leave its cgroup
        (the files to move it are root's), so the cgroup alone is exact and much cheaper."""
        return "pids" not in self.cgroups

    def kill_all(self) -> None:
        """Kill every process in the jail: frozen first where there is a freezer, so that a fork
        bomb cannot make new ones while they are being killed."""
        freezer = self.cgroups.get("freezer")
        for _ in range(20):
            pids = self.pids()
            if not pids:
                return
            if freezer is not None:
                _write(freezer / "freezer.state", "FROZEN")
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if freezer is not None:
                _write(freezer / "freezer.state", "THAWED")
            time.sleep(0.001)

    def close(self) -> None:
        """Kill what is left, remove the cgroups, free the uid."""
        self.kill_all()
        for folder in self.cgroups.values():
            for _ in range(200):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.005)  # tasks just killed leave the cgroup a moment later
        self.cgroups.clear()
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def describe(self) -> str:
        parts = []
        parts.append(f"programs run as uid {self.uid}" if self.uid is not None else "programs run as the grader's user")
        if self.cgroups:
            parts.append("in cgroups " + ", ".join(sorted(self.cgroups)))
        if self.nonet:
            parts.append("without network")
        return "; ".join(parts)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError:
        pass


def owned_by(uid: int, folder: Path) -> list[str]:
    """Names of the entries of FOLDER owned by UID."""
    out: list[str] = []
    try:
        names = os.listdir(folder)
    except OSError:
        return out
    for name in names:
        try:
            if os.lstat(folder / name).st_uid == uid:
                out.append(name)
        except OSError:
            pass
    return out
