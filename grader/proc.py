"""Starting, supervising, reaping and killing the programs of a check.

Every program starts through the launcher (``launcher.c``): its own session and process group,
resource limits, default signal dispositions, and death when the grader dies.  Its stdout and
stderr go to files in the check's log folder (``RLIMIT_FSIZE`` caps them: a program that floods
its output is killed by SIGXFSZ and the message says so); a program whose output must be read
while it runs gets a pseudo-terminal instead (pexpect), so that ``printf`` without ``fflush``
behaves as it does in the student's terminal.

The grader process is a child subreaper (``PR_SET_CHILD_SUBREAPER``): a process that leaves its
parent, even by double-forking and ``setsid()``, is re-parented to the grader, which can then see
it, kill it and reap it.  All reaping goes through ``reap()``, which records every status in one
table, so that a zombie re-parented to the grader is never lost and a ``Child`` learns its status
whoever reaped it.

Trap (documented here, where it bites): ``subprocess.Popen.wait`` polls with sleeps of up to
50 ms and reaps behind our back; a ``Child`` therefore waits on a pidfd and reaps itself.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import select
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterator, Optional, Sequence, Union

import pexpect

from grader import observe
from grader.errors import block, fail

PR_SET_CHILD_SUBREAPER = 36
EINTR_SIGNAL = signal.SIGRTMIN + 3  # what eintr_shim.c installs a no-SA_RESTART handler for


@dataclass(frozen=True)
class Limits:
    """Resource limits of one program (0 leaves a limit as it is)."""

    cpu_s: int = 10
    address_space: int = 1 << 30
    nproc: int = 0  # set per spawn for unprivileged users; as root RLIMIT_NPROC limits nothing
    file_size: int = 16 << 20
    open_files: int = 256


def become_subreaper() -> None:
    """Make this process the reaper of every orphan below it (Linux 3.4+)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


_statuses: dict[int, int] = {}
_pty_children: dict[int, Any] = {}  # pid -> ptyprocess.PtyProcess, told when we reap for it


def _record(pid: int, status: int) -> None:
    _statuses[pid] = status
    ptyproc = _pty_children.pop(pid, None)
    if ptyproc is not None:  # ptyprocess would otherwise waitpid() and fail with ECHILD
        ptyproc.terminated = True
        ptyproc.status = status
        ptyproc.exitstatus = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        ptyproc.signalstatus = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None


def reap() -> None:
    """Collect every child of the grader that has ended, recording its wait status."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        _record(pid, status)


def status_of(pid: int) -> Optional[int]:
    """The wait status of PID if it has ended (reaping it if need be), else None."""
    if pid in _statuses:
        return _statuses[pid]
    ptyproc = _pty_children.get(pid)
    if ptyproc is not None and ptyproc.terminated and ptyproc.status is not None:
        status = int(ptyproc.status)
        _statuses[pid] = status  # pexpect's isalive() reaped it
        _pty_children.pop(pid, None)
        return status
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _statuses.get(pid)
    if got == 0:
        return None
    _record(pid, status)
    return status


@dataclass(frozen=True)
class ExitInfo:
    """How a program ended: ``exit_code`` xor ``term_signal``, and the raw ``wait_status``."""

    wait_status: int

    @property
    def exit_code(self) -> Optional[int]:
        return os.WEXITSTATUS(self.wait_status) if os.WIFEXITED(self.wait_status) else None

    @property
    def term_signal(self) -> Optional[int]:
        return os.WTERMSIG(self.wait_status) if os.WIFSIGNALED(self.wait_status) else None

    def __str__(self) -> str:
        if self.exit_code is not None:
            if self.exit_code == 127:
                return "exited with 127 (could not be executed)"
            return f"exited with {self.exit_code}"
        sig = self.term_signal or 0
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        extra = {
            int(signal.SIGXFSZ): " (its output passed the size limit)",
            int(signal.SIGXCPU): " (it used up its CPU time limit)",
            int(signal.SIGKILL): " (by the grader, or out of memory)",
            int(signal.SIGPIPE): " (it wrote to a pipe or socket that nobody reads any more)",
        }.get(sig, "")
        return f"was killed by {name}{extra}"


@dataclass
class Child:
    """One running program of a check."""

    pid: int
    label: str  # "your fifo_server", "the reference fifo_client"
    out_path: Optional[Path]
    err_path: Optional[Path]
    popen: Optional[subprocess.Popen[bytes]] = None
    pty: Optional[Any] = None  # pexpect.spawn
    transcript: bytearray = field(default_factory=bytearray)
    output_cap: int = 16 << 20
    trace_path: Optional[Path] = None
    signaled: bool = False  # the grader sent it a signal: its orphans are not its fault
    _pidfd: Optional[int] = None
    _exit: Optional[ExitInfo] = None

    def __post_init__(self) -> None:
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except (OSError, AttributeError):
            self._pidfd = None

    # -- input ------------------------------------------------------------------------------
    @property
    def stdin(self) -> Optional[IO[bytes]]:
        return self.popen.stdin if self.popen else None

    def write(self, data: bytes) -> None:
        """Write DATA to the program's stdin (a pipe or the pty); a closed reader is a failure."""
        __tracebackhide__ = True
        try:
            if self.pty is not None:
                self.pty.send(data)
            elif self.popen is not None and self.popen.stdin is not None:
                self.popen.stdin.write(data)
                self.popen.stdin.flush()
        except BrokenPipeError:
            closed = True
        else:
            closed = False
        if closed:  # (outside the handler: no exception chain in the student's feedback)
            self.try_wait(0.5)
            fail(f"{self.label} stopped reading its standard input early; it {self.describe_end()}")

    def feed(self, data: bytes, timeout_s: float) -> None:
        """Write DATA to the program's stdin pipe, failing the check (with the kernel's view of
        the program) if it has not taken it all within TIMEOUT_S."""
        __tracebackhide__ = True
        if self.pty is not None:
            self.write(data)
            return
        assert self.popen is not None and self.popen.stdin is not None, "feed needs spawn(..., stdin=PIPE)"
        fd = self.popen.stdin.fileno()
        os.set_blocking(fd, False)
        view = memoryview(data)
        deadline = time.monotonic() + timeout_s
        while view:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"{self.label} took only {len(data) - len(view)} of the {len(data)} bytes written to its "
                     f"standard input within {timeout_s:.1f} s; what the kernel shows:\n"
                     f"{observe.describe_tree(my_processes())}")
            _, ready, _ = select.select([], [fd], [], min(left, 0.05))
            if not ready:
                continue
            try:
                n = os.write(fd, view[:65536])
            except BlockingIOError:
                continue
            except BrokenPipeError:
                n = -1
            if n < 0:  # (outside the handler: no exception chain in the student's feedback)
                self.try_wait(0.5)
                fail(f"{self.label} closed its standard input after {len(data) - len(view)} of {len(data)} bytes; "
                     f"it {self.describe_end()}")
            view = view[n:]

    def wait_stdout(self, size: int, timeout_s: float) -> bytes:
        """Wait until SIZE bytes of stdout have arrived, or every process of the check has ended,
        or TIMEOUT_S passes; return what there is (the check judges it)."""
        assert self.out_path is not None, "wait_stdout reads the capture file"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if self.out_path.stat().st_size >= size:
                    break
            except OSError:
                break
            # All the check's processes, not only this program's tree: a child whose parent
            # exited without waiting has been re-parented to the grader and may still be writing.
            alive = [p for p in my_processes()
                     if observe.state(p) not in (None, "Z") and (p == self.pid or not observe.is_tracer(p))]
            if not alive:
                break
            time.sleep(observe.POLL_S)
        return self.stdout()

    def close_stdin(self) -> None:
        """Close the grader's end of the program's stdin (the program then reads end-of-file)."""
        if self.popen is not None and self.popen.stdin is not None:
            try:
                self.popen.stdin.close()
            except BrokenPipeError:
                pass
        elif self.pty is not None:
            self.pty.sendeof()

    # -- output -----------------------------------------------------------------------------
    def stdout(self) -> bytes:
        """All the program's stdout so far (for a pty: all that was read)."""
        if self.pty is not None:
            return bytes(self.transcript)
        return _read_capped(self.out_path, self.output_cap)

    def stderr(self) -> bytes:
        """All the program's stderr so far (a pty mixes it into stdout)."""
        return _read_capped(self.err_path, self.output_cap)

    def expect_line(self, pattern: str, timeout_s: float, what: str) -> str:
        """Read from the pty until a line matching the regex PATTERN; return the line.

        Fails with WHAT, what was read, and the program's state when the deadline passes, the
        program ends, or it prints more than the output cap."""
        __tracebackhide__ = True
        assert self.pty is not None, "expect_line needs spawn(..., pty=True)"
        try:
            self.pty.expect(pattern.encode() if isinstance(pattern, str) else pattern, timeout=timeout_s)
        except pexpect.TIMEOUT:
            fail(f"expected {what} within {timeout_s:.1f} s; {self.label} printed nothing matching.\n"
                 f"{block('its output', self.stdout())}\nwhat the kernel shows:\n"
                 f"{observe.describe_tree(my_processes())}")
        except pexpect.EOF:
            fail(f"expected {what}, but {self.label} {self.describe_end()}\n{block('its output', self.stdout())}")
        except _Flood:
            fail(f"{self.label} printed more than {self.output_cap} bytes while the grader waited for {what}")
        match = self.pty.match
        assert match is not None and not isinstance(match, type)
        # The whole line the match falls in.
        before = (self.pty.before or b"").rsplit(b"\n", 1)[-1]
        rest = match.group(0)
        return str((before + rest).decode("utf-8", "replace").strip("\r\n"))

    # -- ending -----------------------------------------------------------------------------
    def poll(self) -> Optional[ExitInfo]:
        """The exit of the program if it has ended (and reaps it), else None."""
        if self._exit is None:
            status = status_of(self.pid)
            if status is not None:
                self._exit = ExitInfo(status)
                self._close_handles()
        return self._exit

    def wait(self, timeout_s: float, what: str = "to finish") -> ExitInfo:
        """Wait for the program to end; fail the check with its state (and its children's) when
        it has not ended within TIMEOUT_S."""
        __tracebackhide__ = True
        info = self.try_wait(timeout_s)
        if info is None:
            tree = my_processes()
            fail(f"{self.label} was expected {what} within {timeout_s:.1f} s but is still running; "
                 f"what the kernel shows:\n{observe.describe_tree(tree)}")
        return info

    def try_wait(self, timeout_s: float) -> Optional[ExitInfo]:
        """Wait up to TIMEOUT_S for the program to end; None if it has not."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.pty is not None:
                self._drain_pty()
            info = self.poll()
            if info is not None:
                return info
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._pidfd is not None and self.pty is None:
                select.select([self._pidfd], [], [], left)
            else:
                time.sleep(min(left, observe.POLL_S * 5))

    def describe_end(self) -> str:
        """'exited with 1' / 'killed by SIGPIPE' / 'is still running', with the stderr tail."""
        info = self.poll()
        if info is None:
            return "is still running"
        err = self.stderr().decode("utf-8", "replace").strip()
        tail = "\n".join(err.splitlines()[-8:])
        return str(info) + (f"\n{block('stderr (last lines)', tail)}" if tail else "")

    def signal(self, sig: int) -> None:
        """Send SIG to the program (not its group)."""
        self.signaled = True
        try:
            os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def _drain_pty(self) -> None:
        """Read what the pty holds, so a program that prints and exits is not stuck on a full pty."""
        assert self.pty is not None
        try:
            while True:
                self.pty.read_nonblocking(65536, timeout=0)
        except (pexpect.TIMEOUT, pexpect.EOF, _Flood, OSError):
            pass

    def _close_handles(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        if self.popen is not None:
            self.popen.returncode = self._exit.wait_status if self._exit else -1
            if self.popen.stdin is not None:
                try:
                    self.popen.stdin.close()
                except OSError:
                    pass
        if self.pty is not None:
            self._drain_pty()
            self.pty.ptyproc.terminated = True
            self.pty.terminated = True
            try:
                self.pty.close(force=False)
            except Exception:  # noqa: BLE001 - closing a pty of a dead program must never fail a check
                pass


class _Flood(Exception):
    pass


class _Transcript:
    """pexpect's logfile_read: keeps what the program printed, up to the cap."""

    def __init__(self, child_ref: list[Child]) -> None:
        self.child_ref = child_ref

    def write(self, data: bytes) -> None:
        child = self.child_ref[0]
        room = child.output_cap - len(child.transcript)
        child.transcript += data[: max(room, 0)]
        if len(data) > room:
            raise _Flood()

    def flush(self) -> None:
        pass


def _read_capped(path: Optional[Path], cap: int) -> bytes:
    if path is None or not path.exists():
        return b""
    with open(path, "rb") as f:
        return f.read(cap)


StdinSpec = Union[None, int, bytes]
PIPE = subprocess.PIPE


def spawn(
    argv: Sequence[str],
    *,
    label: str,
    launcher: str,
    shim: str,
    cwd: Path,
    log_dir: Path,
    limits: Limits,
    output_cap: int,
    stdin: StdinSpec = None,
    stdout: Optional[int] = None,
    pty: bool = False,
    env: Optional[dict[str, str]] = None,
) -> Child:
    """Start ARGV through the launcher, in its own session, with LIMITS; see the module docstring.

    STDIN: None for /dev/null, PIPE for a pipe the grader writes, or an fd to hand over.
    STDOUT: None for a capture file, or an fd to hand over (the pipe of a SIGPIPE check)."""
    prog = argv[0]
    nproc = limits.nproc
    if nproc == 0 and os.geteuid() != 0:
        nproc = _processes_of_uid(os.getuid()) + 128
    command = [launcher, str(limits.cpu_s), str(limits.address_space), str(nproc), str(limits.file_size),
               str(limits.open_files), prog, *argv[1:]]
    full_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": str(cwd), "TMPDIR": str(cwd)}
    full_env.update(env or {})
    full_env["LD_PRELOAD"] = shim
    log_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{len(list(log_dir.iterdir())) // 2:02d}-{Path(prog).name}"
    if pty:
        ref: list[Child] = []
        sp: Any = pexpect.spawn(command[0], command[1:], cwd=str(cwd), env=full_env, echo=False,
                           maxread=65536, searchwindowsize=None, logfile=None, timeout=None)
        sp.delayafterclose = 0
        sp.delayafterterminate = 0
        sp.ptyproc.delayafterclose = 0
        sp.ptyproc.delayafterterminate = 0
        sp.delaybeforesend = None
        sp.logfile_read = _Transcript(ref)
        child = Child(sp.pid, label, None, None, pty=sp, output_cap=output_cap)
        ref.append(child)
        _pty_children[sp.pid] = sp.ptyproc
        return child
    out_path = log_dir / f"{stem}.out"
    err_path = log_dir / f"{stem}.err"
    stdin_arg: Any = subprocess.DEVNULL if stdin is None else stdin
    with open(out_path, "wb") as out_f, open(err_path, "wb") as err_f:
        popen = subprocess.Popen(
            command, stdin=stdin_arg, stdout=out_f if stdout is None else stdout, stderr=err_f,
            cwd=str(cwd), env=full_env, start_new_session=True, close_fds=True,
        )
    return Child(popen.pid, label, out_path if stdout is None else None, err_path, popen=popen,
                 output_cap=output_cap)


def _processes_of_uid(uid: int) -> int:
    count = 0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.stat(f"/proc/{name}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def my_processes() -> list[int]:
    """Every process below the grader (its programs, and orphans re-parented to it)."""
    return [p for p in observe.descendants([os.getpid()]) if p != os.getpid()]


def kill_all(rounds: int = 50) -> list[int]:
    """SIGKILL every process below the grader, again and again until none is left (a fork bomb
    keeps making new ones), then reap them all.  Returns the pids that were found alive."""
    found: list[int] = []
    for _ in range(rounds):
        pids = [p for p in my_processes() if observe.state(p) not in (None, "Z")]
        if not pids:
            break
        for pid in pids:
            if pid not in found:
                found.append(pid)
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        _wait_some_exit(0.05)
        reap()
    reap()
    return found


def _wait_some_exit(timeout_s: float) -> None:
    """Sleep until a child changes state or TIMEOUT_S passes (waitid with WNOWAIT would block;
    a short poll on /proc is enough after SIGKILL)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if all(observe.state(p) in (None, "Z") for p in my_processes()):
            return
        time.sleep(observe.POLL_S)


def terminate(child: Child, grace_s: float = 0.5) -> Optional[ExitInfo]:
    """SIGTERM to the program's group, then SIGKILL after GRACE_S; returns how it ended."""
    for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 2.0)):
        if child.poll() is not None:
            break
        child.signaled = True
        try:
            os.killpg(child.pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(child.pid, sig)
            except ProcessLookupError:
                pass
        child.try_wait(wait_s)
    return child.poll()


def tgkill(pid: int, tid: int, sig: int) -> None:
    """Send SIG to one thread TID of process PID (os.kill reaches only some thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.tgkill(pid, tid, sig) != 0:
        err = ctypes.get_errno()
        if err != errno.ESRCH:
            raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def one_cpu() -> Iterator[None]:
    """Programs started inside the block run on one CPU (they inherit the affinity of the grader
    thread that starts them).  For checks that judge a result, not a timing: a synchronization
    bug then shows the same way every time instead of by the luck of two cores."""
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {max(old)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, old)
