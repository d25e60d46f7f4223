"""What a check leaves behind, and removing it.

Named objects are found as files: POSIX shared memory in ``/dev/shm/NAME``, named semaphores in
``/dev/shm/sem.NAME`` and message queues in ``/dev/mqueue/NAME`` (mounted by the grader when it
is root and the folder is missing; elsewhere only the queue names the grader handed out are
checked, by unlinking them).  An object counts as the check's when its name carries the check's
token, or, where programs run as a uid of their own (``grader.contain``), when that uid owns it:
exact, whatever name a program used.  Without that uid the grader guesses: an object that
appeared during the check, owned by the grader's user and named by no grader (a program that
ignored the name it was given); other users' objects and other graders' are never touched.

FIFOs and socket files are looked for in the check's own folder; processes and zombies are the
ones below the grader (see ``proc``).
"""
from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Iterable

from grader import observe

SHM_DIR = Path("/dev/shm")
MQ_DIR = Path("/dev/mqueue")
GRADER_PREFIX = "grader-"


def ensure_mqueue_fs() -> bool:
    """Mount the message-queue filesystem on /dev/mqueue if it is not there and we may; True
    when queues can be listed."""
    if os.path.ismount(MQ_DIR):
        return True
    if os.geteuid() != 0:
        return False
    try:
        MQ_DIR.mkdir(exist_ok=True)
        subprocess.run(["mount", "-t", "mqueue", "none", str(MQ_DIR)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return os.path.ismount(MQ_DIR)


def named_objects() -> set[str]:
    """Every POSIX named object on the machine: 'shm:NAME', 'sem:NAME', 'mq:NAME'."""
    out: set[str] = set()
    try:
        for name in os.listdir(SHM_DIR):
            out.add(f"sem:{name[4:]}" if name.startswith("sem.") else f"shm:{name}")
    except OSError:
        pass
    if os.path.ismount(MQ_DIR):
        try:
            out.update(f"mq:{name}" for name in os.listdir(MQ_DIR))
        except OSError:
            pass
    return out


def belongs(obj: str, token: str) -> bool:
    """Is the object OBJ ('shm:NAME'...) attributable to the check with TOKEN?"""
    name = obj.split(":", 1)[1]
    return token in name or not name.startswith(GRADER_PREFIX)


def object_path(obj: str) -> Path:
    """The file behind a named object ('shm:NAME' -> /dev/shm/NAME)."""
    kind, name = obj.split(":", 1)
    return {"shm": SHM_DIR / name, "sem": SHM_DIR / f"sem.{name}", "mq": MQ_DIR / name}[kind]


def owner(obj: str) -> int:
    """The uid that owns a named object (-1 when it is gone)."""
    try:
        return object_path(obj).lstat().st_uid
    except OSError:
        return -1


def describe_object(obj: str) -> str:
    kind, name = obj.split(":", 1)
    return {
        "shm": f"shared-memory object /{name} (/dev/shm/{name})",
        "sem": f"named semaphore /{name} (/dev/shm/sem.{name})",
        "mq": f"message queue /{name}",
    }[kind]


def remove_object(obj: str) -> None:
    """Unlink one named object, whatever it is."""
    kind, name = obj.split(":", 1)
    try:
        os.unlink(object_path(obj))
    except FileNotFoundError:
        pass
    except OSError:
        if kind == "mq":
            unlink_queue("/" + name)


def unlink_queue(name: str) -> bool:
    """Unlink the queue NAME through posix_ipc; True if there was one."""
    try:
        import posix_ipc

        posix_ipc.unlink_message_queue(name)
        return True
    except Exception:  # noqa: BLE001 - ExistentialError, or posix_ipc without queue support
        return False


def special_files(folder: Path) -> list[Path]:
    """FIFOs and socket files in FOLDER (two levels deep)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        depth = len(Path(dirpath).relative_to(folder).parts)
        if depth >= 2:
            dirnames[:] = []
        for name in filenames + dirnames:
            path = Path(dirpath, name)
            try:
                mode = path.lstat().st_mode
            except OSError:
                continue
            if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
                out.append(path)
    return sorted(out)


def describe_file(path: Path) -> str:
    try:
        mode = path.lstat().st_mode
    except OSError:
        return str(path)
    return f"{'FIFO' if stat.S_ISFIFO(mode) else 'socket file'} {path}"


def process_leaks(pids: Iterable[int], launched: set[int], orphans_excused: bool = False) -> list[str]:
    """Zombies and processes that are still there, described for the student.  ORPHANS_EXCUSED:
    the grader itself stopped a program, so zombies re-parented to the grader are no sign that a
    parent failed to wait."""
    out = []
    for pid in pids:
        fields = observe.stat_fields(pid)
        if fields is None:
            continue
        comm, letter, ppid = fields
        if comm == "strace" and pid not in launched:
            continue  # the grader's own tracer (--grader-strace)
        if letter == "Z":
            if pid in launched:
                continue  # a program the check started and has not waited for yet
            if ppid == os.getpid():
                if not orphans_excused:
                    out.append(f"zombie: pid {pid} ({comm}) ended but its parent never waited for it")
            else:
                out.append(f"zombie: pid {pid} ({comm}) ended and its parent (pid {ppid}) has not waited for it")
        else:
            out.append(f"still running: {observe.describe_process(pid)}")
    return out


SHM_LOW_BYTES = 64 << 20


def preflight() -> list[str]:
    """What on this machine will make checks fail through no fault of the student's: a nearly
    full /dev/shm, the message-queue limits already reached.  Said once, in the report."""
    notes = []
    try:
        st = os.statvfs(SHM_DIR)
        free = st.f_bavail * st.f_frsize
        if free < SHM_LOW_BYTES:
            notes.append(f"/dev/shm has only {free >> 20} MiB free: checks that use shared memory or "
                         f"semaphores may fail with ENOSPC or SIGBUS; free space there (ls -la /dev/shm)")
    except OSError:
        notes.append("/dev/shm is missing: POSIX shared memory and named semaphores cannot work here")
    if os.path.ismount(MQ_DIR):
        try:
            queues_max = int(Path("/proc/sys/fs/mqueue/queues_max").read_text())
            count = len(os.listdir(MQ_DIR))
            if count >= queues_max - 4:
                notes.append(f"{count} message queues exist and the system allows {queues_max} "
                             f"(/proc/sys/fs/mqueue/queues_max): queue checks may fail with ENOSPC; "
                             f"remove stale queues from /dev/mqueue")
        except (OSError, ValueError):
            pass
    return notes
