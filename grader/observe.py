"""What the kernel says a process is doing, read from /proc, and waiting for a state with a
deadline.

"Blocked in read() on a pipe" is decided from ``/proc/PID/task/TID/syscall`` (the system call
number and its arguments, present only while the thread sleeps in a call) and the target of the
fd it names (``/proc/PID/fd/N``), never from the state letter or ``wchan`` alone: ``wchan``
names differ between kernel versions and serve only to enrich messages.  Polling is every
millisecond against a deadline; there is no fixed sleep.

Reading another process's ``syscall`` file needs ptrace access: root, or the same uid without
Yama restrictions.  Where it is refused the state shows as "unknown" and checks that need it
fail with a message saying so.
"""
from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from grader.errors import fail

POLL_S = 0.001

_X86_64 = {
    0: "read", 1: "write", 2: "open", 7: "poll", 17: "pread64", 18: "pwrite64", 19: "readv", 20: "writev",
    23: "select", 34: "pause", 35: "nanosleep", 40: "sendfile", 42: "connect", 43: "accept", 44: "sendto",
    45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 61: "wait4", 65: "semop", 128: "rt_sigtimedwait",
    130: "rt_sigsuspend", 202: "futex", 220: "semtimedop", 230: "clock_nanosleep", 232: "epoll_wait",
    242: "mq_timedsend", 243: "mq_timedreceive", 247: "waitid", 257: "openat", 270: "pselect6", 271: "ppoll",
    275: "splice", 281: "epoll_pwait", 288: "accept4", 437: "openat2", 441: "epoll_pwait2", 449: "futex_waitv",
}
_AARCH64 = {
    22: "epoll_pwait", 56: "openat", 63: "read", 64: "write", 65: "readv", 66: "writev", 67: "pread64",
    68: "pwrite64", 71: "sendfile", 72: "pselect6", 73: "ppoll", 76: "splice", 95: "waitid", 98: "futex",
    101: "nanosleep", 115: "clock_nanosleep", 133: "rt_sigsuspend", 137: "rt_sigtimedwait",
    182: "mq_timedsend", 183: "mq_timedreceive", 192: "semtimedop", 193: "semop", 202: "accept",
    203: "connect", 206: "sendto", 207: "recvfrom", 211: "sendmsg", 212: "recvmsg", 242: "accept4",
    260: "wait4", 437: "openat2", 441: "epoll_pwait2", 449: "futex_waitv",
}
SYSCALLS = _AARCH64 if platform.machine() in ("aarch64", "arm64") else _X86_64

# Families: what a check asks for, and the calls that count as it.
FAMILIES = {
    "read": {"read", "readv", "pread64", "splice"},
    "write": {"write", "writev", "pwrite64", "sendfile", "splice"},
    "recv": {"recvfrom", "recvmsg", "read", "readv"},
    "send": {"sendto", "sendmsg", "write", "writev"},
    "open": {"open", "openat", "openat2"},
    "accept": {"accept", "accept4"},
    "connect": {"connect"},
    "poll": {"poll", "ppoll", "select", "pselect6", "epoll_wait", "epoll_pwait", "epoll_pwait2"},
    "futex": {"futex", "futex_waitv"},
    "mq_receive": {"mq_timedreceive"},
    "mq_send": {"mq_timedsend"},
    "wait": {"wait4", "waitid"},
    "sleep": {"nanosleep", "clock_nanosleep"},
    "pause": {"pause", "rt_sigsuspend", "rt_sigtimedwait"},
}
# Calls whose first argument is a file descriptor.
FD_CALLS = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "accept", "accept4", "recvfrom", "recvmsg",
    "sendto", "sendmsg", "connect", "mq_timedsend", "mq_timedreceive", "sendfile", "splice",
}
_PRETTY = {
    "mq_timedreceive": "mq_receive",
    "mq_timedsend": "mq_send",
    "recvfrom": "recv",  # glibc's recv() and send() are these calls
    "sendto": "send",
    "futex": "a futex wait (sem_wait, a mutex or pthread_join)",
}


def read_text(path: str) -> Optional[str]:
    """The text of a /proc file, or None when it cannot be read (the process is gone)."""
    return _read(path)


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def children(pid: int) -> list[int]:
    """Direct children of PID, over all its threads."""
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        text = _read(f"/proc/{pid}/task/{tid}/children")
        if text:
            out.extend(int(x) for x in text.split())
    return out


def descendants(roots: Iterable[int]) -> list[int]:
    """ROOTS that still exist and every process below them, parents before children."""
    seen: list[int] = []
    todo = [p for p in roots if os.path.exists(f"/proc/{p}")]
    while todo:
        pid = todo.pop(0)
        if pid in seen:
            continue
        seen.append(pid)
        todo.extend(children(pid))
    return seen


def is_tracer(pid: int) -> bool:
    """True for the grader's own strace (--grader-strace), which is no program of the student's."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] == "strace"


def threads(pid: int) -> list[int]:
    """Thread ids of PID (the main thread first)."""
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return []
    return sorted(tids, key=lambda t: t != pid)


def stat_fields(pid: int, tid: Optional[int] = None) -> Optional[tuple[str, str, int]]:
    """(comm, state letter, parent pid) of a process or thread; None when gone."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    text = _read(path)
    if not text:
        return None
    lpar, rpar = text.find("("), text.rfind(")")
    rest = text[rpar + 2 :].split()
    return text[lpar + 1 : rpar], rest[0], int(rest[1])


def state(pid: int) -> Optional[str]:
    """The state letter of PID (S, R, D, Z, T...), None when it no longer exists."""
    fields = stat_fields(pid)
    return fields[1] if fields else None


def ctxt_switches(pid: int, tid: int) -> int:
    """voluntary_ctxt_switches of one thread: it rises each time the thread goes to sleep."""
    text = _read(f"/proc/{pid}/task/{tid}/status") or ""
    for line in text.splitlines():
        if line.startswith("voluntary_ctxt_switches:"):
            return int(line.split()[1])
    return -1


def fd_target(pid: int, fd: int) -> Optional[str]:
    """What fd N of PID is: 'pipe:[123]', 'socket:[45]', '/tmp/x/fifo', '/dev/mqueue/q'..."""
    try:
        return os.readlink(f"/proc/{pid}/fd/{fd}")
    except OSError:
        return None


def fd_mode(pid: int, fd: int) -> Optional[str]:
    """'r', 'w' or 'rw': how fd N of PID was opened (from fdinfo flags)."""
    text = _read(f"/proc/{pid}/fdinfo/{fd}")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("flags:"):
            return ("r", "w", "rw", "rw")[int(line.split()[1], 8) & 3]
    return None


def open_fds(pid: int) -> dict[int, str]:
    """Every open fd of PID and its target."""
    out: dict[int, str] = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for name in names:
        target = fd_target(pid, int(name))
        if target is not None:
            out[int(name)] = target
    return out


def holders(target: str, pids: Iterable[int]) -> list[tuple[int, int, str]]:
    """(pid, fd, mode) of every fd among PIDS that refers to TARGET (e.g. 'pipe:[123]')."""
    out = []
    for pid in pids:
        for fd, tgt in open_fds(pid).items():
            if tgt == target:
                out.append((pid, fd, fd_mode(pid, fd) or "?"))
    return out


def kind_of(target: Optional[str]) -> str:
    """'pipe', 'socket', 'mqueue', 'fifo', 'tty', 'file' or 'unknown' for an fd target."""
    if target is None:
        return "unknown"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("/dev/mqueue/") or target.startswith("mqueue:"):
        return "mqueue"
    if target.startswith("/dev/pts/") or target.startswith("/dev/tty"):
        return "tty"
    if target.startswith("/"):
        try:
            import stat as _stat

            if _stat.S_ISFIFO(os.stat(target).st_mode):
                return "fifo"
        except OSError:
            pass
        return "file"
    return "unknown"


def is_mqueue_fd(pid: int, fd: int) -> bool:
    """True when fd N of PID is a POSIX message queue.  /proc shows a queue fd as the bare queue
    name ('/NAME', '/NAME (deleted)'), so the test is the device of the mqueue filesystem."""
    try:
        dev = os.stat(f"/proc/{pid}/fd/{fd}").st_dev
    except OSError:
        return False
    for mount in ("/dev/mqueue",):
        try:
            if os.path.ismount(mount) and os.stat(mount).st_dev == dev:
                return True
        except OSError:
            pass
    return False


def read_string(pid: int, address: int, limit: int = 256) -> Optional[str]:
    """A NUL-terminated string from the memory of PID (root or same uid), e.g. an open() path."""
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    except OSError:
        return None
    try:
        data = os.pread(fd, limit, address)
    except OSError:
        return None
    finally:
        os.close(fd)
    return data.split(b"\0", 1)[0].decode("utf-8", "replace")


@dataclass(frozen=True)
class Blocked:
    """One thread asleep in a system call."""

    pid: int
    tid: int
    comm: str
    call: str
    args: tuple[int, ...]
    fd: Optional[int]
    target: Optional[str]
    wchan: str
    path: Optional[str] = None

    @property
    def kind(self) -> str:
        if self.call in FAMILIES["open"] and self.path:
            return "fifo"
        if self.fd is not None and is_mqueue_fd(self.pid, self.fd):
            return "mqueue"
        return kind_of(self.target)

    def is_(self, family: str, on: Optional[str] = None) -> bool:
        """True when the call is of FAMILY (see FAMILIES) and, if ON is given, on an fd of that
        kind ('pipe', 'fifo', 'socket', 'mqueue') or on that path."""
        if self.call not in FAMILIES.get(family, {family}):
            return False
        if on is None:
            return True
        if on.startswith("/"):
            return on in (self.target, self.path)
        return self.kind == on

    def describe(self) -> str:
        """'blocked in read() on fd 3 (pipe:[123])'."""
        name = pretty(self.call)
        where = ""
        if self.fd is not None:
            where = f" on fd {self.fd} ({self.target or 'closed'})"
        elif self.path:
            where = f" on {self.path!r}"
        return f"blocked in {name}{where}"


def blocked(pid: int, tid: Optional[int] = None) -> Optional[Blocked]:
    """The system call a thread (default: the main thread) is asleep in, or None if it is
    running, gone, or not in a call."""
    tid = tid or pid
    text = _read(f"/proc/{pid}/task/{tid}/syscall")
    if not text or text.startswith("running"):
        return None
    parts = text.split()
    nr = int(parts[0])
    if nr < 0:
        return None
    args = tuple(int(x, 16) for x in parts[1:7])
    call = SYSCALLS.get(nr, f"syscall {nr}")
    fields = stat_fields(pid, tid)
    if fields is None or fields[1] not in ("S", "D"):
        return None
    fd = args[0] if call in FD_CALLS else None
    target = fd_target(pid, fd) if fd is not None else None
    path = None
    if call == "openat":
        path = read_string(pid, args[1])
    elif call == "open":
        path = read_string(pid, args[0])
    wchan = (_read(f"/proc/{pid}/task/{tid}/wchan") or "").strip()
    return Blocked(pid, tid, fields[0], call, args, fd, target, wchan, path)


def all_blocked(pids: Iterable[int]) -> list[Blocked]:
    """Every thread of PIDS that is asleep in a system call."""
    out = []
    for pid in pids:
        for tid in threads(pid):
            b = blocked(pid, tid)
            if b:
                out.append(b)
    return out


def pretty(call: str) -> str:
    """How a student knows a call: 'read()', 'mq_receive()', 'a futex wait (sem_wait...)'."""
    name = _PRETTY.get(call, call)
    return name if name.startswith("a ") else name + "()"


def describe_process(pid: int, pids: Iterable[int] = ()) -> str:
    """One line per thread of PID, saying what it is doing, with who else holds a pipe it waits
    on ('write end also held by pid 12 fd 4')."""
    fields = stat_fields(pid)
    if fields is None:
        return f"pid {pid}: gone"
    comm, letter, ppid = fields
    if letter == "Z":
        return f"pid {pid} ({comm}): exited, but its parent (pid {ppid}) has not waited for it (zombie)"
    lines = []
    for tid in threads(pid):
        who = f"pid {pid} ({comm})" if tid == pid else f"  thread {tid} of pid {pid}"
        b = blocked(pid, tid)
        if b is None:
            tf = stat_fields(pid, tid)
            tl = tf[1] if tf else "?"
            doing = {"R": "running (using the CPU: busy-waiting?)", "T": "stopped", "t": "stopped by a tracer"}.get(
                tl, f"in state {tl}"
            )
            lines.append(f"{who}: {doing}")
            continue
        text = f"{who}: {b.describe()}"
        if b.target and b.target.startswith("pipe:"):
            others = [h for h in holders(b.target, pids or [pid]) if h[2] in ("w", "rw")]
            if others and b.call in FAMILIES["read"]:
                text += "; write end held open by " + ", ".join(f"pid {p} fd {f}" for p, f, _ in others)
            elif b.call in FAMILIES["read"]:
                text += "; no process holds its write end"
        lines.append(text)
    return "\n".join(lines)


DESCRIBE_MAX = 12


def describe_tree(pids: Iterable[int]) -> str:
    """describe_process for every pid given (callers pass a whole check's processes); past
    DESCRIBE_MAX processes, a count of the rest by what they are doing (a fork bomb stays short)."""
    pids = [p for p in pids if not is_tracer(p)]
    if not pids:
        return "(no process left)"
    lines = [describe_process(p, pids) for p in pids[:DESCRIBE_MAX]]
    if len(pids) > DESCRIBE_MAX:
        doing: dict[str, int] = {}
        for p in pids[DESCRIBE_MAX:]:
            text = describe_process(p, pids).split(": ", 1)[-1]
            text = text.split("; ")[0]
            doing[text] = doing.get(text, 0) + 1
        rest = ", ".join(f"{n} {what}" for what, n in sorted(doing.items(), key=lambda kv: -kv[1])[:4])
        lines.append(f"... and {len(pids) - DESCRIBE_MAX} more processes ({rest}): "
                     f"{len(pids)} in all: is the program forking without end?")
    return "\n".join(lines)


def wait_for(
    scope: Callable[[], list[int]],
    match: Callable[[Blocked], bool],
    *,
    timeout_s: float,
    what: str,
    gone: Optional[Callable[[], str]] = None,
) -> Blocked:
    """Poll until some thread of the processes SCOPE() returns is blocked as MATCH wants.

    Fails the check when the deadline passes, with WHAT (what was expected) and the state of
    every process; or at once when SCOPE() is empty, with GONE() (how the programs ended).
    """
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_s
    while True:
        pids = scope()
        if not pids:
            fail(f"expected {what}, but the program ended first: {gone() if gone else 'no process left'}")
        for b in all_blocked(pids):
            if match(b):
                return b
        if time.monotonic() >= deadline:
            fail(f"expected {what} within {timeout_s:.1f} s; what the kernel shows:\n{describe_tree(pids)}")
        time.sleep(POLL_S)


# -- what a futex waiter waits on -------------------------------------------------------------
FUTEX_PRIVATE_FLAG = 128


@dataclass(frozen=True)
class Mapping:
    """One line of ``/proc/PID/maps``."""

    start: int
    end: int
    perms: str
    offset: int
    inode: int
    path: str  # '' for anonymous memory; the kernel appends ' (deleted)' once the file is unlinked


def mappings(pid: int) -> list[Mapping]:
    """The memory mappings of PID (readable by root or the same uid), in address order."""
    out = []
    for line in (_read(f"/proc/{pid}/maps") or "").splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) < 5:
            continue
        lo, hi = parts[0].split("-")
        out.append(Mapping(int(lo, 16), int(hi, 16), parts[1], int(parts[2], 16), int(parts[4]),
                           parts[5] if len(parts) > 5 else ""))
    return out


@dataclass(frozen=True)
class FutexWait:
    """Where the futex word of a thread asleep in futex() is: ``sem_wait`` on a named semaphore
    sleeps on a word of the file ``/dev/shm/sem.NAME`` mapped in the process, on a semaphore in
    shared memory on a word of ``/dev/shm/NAME``."""

    address: int
    private: bool  # FUTEX_PRIVATE_FLAG: only a wake from the same process can reach it
    path: str  # the file mapped at the address ('' for anonymous memory)
    offset: int  # of the futex word in that file

    @property
    def file(self) -> str:
        """The path without the ' (deleted)' the kernel adds once the file is unlinked."""
        return self.path.removesuffix(" (deleted)")


def futex_wait(b: Blocked) -> Optional[FutexWait]:
    """The futex word a thread blocked in futex() sleeps on (None for any other call, or when the
    maps of the process cannot be read).  Match ``file`` against ``/dev/shm/sem.NAME`` to tell
    which named semaphore a ``sem_wait`` waits on."""
    if b.call != "futex" or not b.args:
        return None
    address, op = b.args[0], b.args[1] if len(b.args) > 1 else 0
    for m in mappings(b.pid):
        if m.start <= address < m.end:
            return FutexWait(address, bool(op & FUTEX_PRIVATE_FLAG), m.path, m.offset + address - m.start)
    return None


def busy_threads(pids: Iterable[int]) -> list[str]:
    """Threads of PIDS that are not asleep in a system call (running, or between calls),
    described; empty when every thread sleeps (zombies count as asleep)."""
    out = []
    for pid in pids:
        fields = stat_fields(pid)
        if fields is None or fields[1] == "Z":
            continue
        for tid in threads(pid):
            if blocked(pid, tid) is None:
                tf = stat_fields(pid, tid)
                if tf is not None and tf[1] != "Z":
                    who = f"pid {pid} ({fields[0]})" if tid == pid else f"thread {tid} of pid {pid}"
                    out.append(f"{who}: {'running' if tf[1] == 'R' else 'in state ' + tf[1]}")
    return out
