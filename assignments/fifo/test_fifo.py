"""Checks of the `fifo` assignment (the spec, with points, is README.md beside this file).

How the grader plays a client or a server without a program of its own:

* as a client it opens the FIFO with ``O_WRONLY | O_NONBLOCK``, which fails with ENXIO until some
  process has it open for reading (a server asleep in ``open()`` counts), and retries against a
  deadline; then it writes with ``os.write``;
* as a server it opens the FIFO with ``O_RDONLY | O_NONBLOCK`` (at once, even with no writer) and
  waits with ``poll()``.  Trap: ``read()`` on such an fd returns 0 (end-of-file) while no writer has
  come yet, but ``poll()`` reports nothing until a writer has come and gone, so ``poll()`` first.

The server's output is read through a pseudo-terminal (``spawn(..., pty=True)``): there ``printf``
is line-buffered, as in the student's own terminal, so a server that never calls ``fflush`` is
graded correctly.  A pty mixes stderr into the output; only ``Received:`` lines are judged.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import stat
import struct
import termios
import time
from typing import Callable, Iterator, Optional, Sequence

import pytest

from grader import observe
from grader.checks import expect_bytes, expect_exit
from grader.errors import block, fail, quote
from grader.observe import Blocked
from grader.proc import Child, ExitInfo
from grader.sandbox import Sandbox

FIFO_MODE = 0o600
PIPE_BUF = select.PIPE_BUF
RECEIVED = r"(?m)^Received: [^\r\n]*\r?\n"  # one whole line: never a line the pty has only half delivered


# -- the programs -------------------------------------------------------------------------------
def start_server(sandbox: Sandbox, fifo: str, *args: str, pty: bool = True, reference: bool = False) -> Child:
    prog = sandbox.reference("fifo_server") if reference else sandbox.student("fifo_server")
    return sandbox.spawn([prog, fifo, *args], pty=pty)


def start_client(sandbox: Sandbox, fifo: str, message: str, reference: bool = False) -> Child:
    prog = sandbox.reference("fifo_client") if reference else sandbox.student("fifo_client")
    return sandbox.spawn([prog, fifo, message])


def ended(child: Child) -> str:
    """'your fifo_server exited with 1', with its output when it ran on a pty (stderr is there)."""
    text = f"{child.label} {child.describe_end()}"
    if child.pty is not None and child.stdout().strip():
        text += "\n" + block("its output", child.stdout())
    return text


def umask_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next((line.split()[1] for line in f if line.startswith("Umask:")), "unknown")
    except OSError:
        return "unknown"


def interrupt(sandbox: Sandbox, b: Blocked, child: Child) -> None:
    """sandbox.interrupt, with the program's output when it ran on a pty (its stderr is there)."""
    __tracebackhide__ = True
    try:
        sandbox.interrupt(b)
        return
    except pytest.fail.Exception as exc:
        message = str(exc.msg)
    if child.pty is not None and child.stdout().strip() and child.poll() is not None:
        message += "\n" + block("its output", child.stdout())
    fail(message)


def kernel_view(child: Child) -> str:
    return observe.describe_tree(observe.descendants([child.pid]))


# -- what a process is waiting for --------------------------------------------------------------
def _resolve(pid: int, path: Optional[str]) -> Optional[str]:
    """PATH as the process meant it (relative paths are relative to its working folder)."""
    if path is None:
        return None
    if not path.startswith("/"):
        try:
            path = os.path.join(os.readlink(f"/proc/{pid}/cwd"), path)
        except OSError:
            return None
    return os.path.normpath(path)


def opening(fifo: str) -> Callable[[Blocked], bool]:
    """Asleep in open() of FIFO."""
    names = {fifo, os.path.realpath(fifo)}
    return lambda b: b.is_("open") and _resolve(b.pid, b.path) in names


def reading(fifo: str) -> Callable[[Blocked], bool]:
    """Asleep in read() on an fd of FIFO, or in poll()/select()/epoll_wait() with FIFO open."""
    real = os.path.realpath(fifo)

    def match(b: Blocked) -> bool:
        if b.is_("read"):
            return b.target == real
        if b.is_("poll"):
            return real in observe.open_fds(b.pid).values()
        return False

    return match


def waiting_for_client(fifo: str) -> Callable[[Blocked], bool]:
    """A server waiting for a client: asleep in open() of the FIFO (the classic way), or in read()
    or poll() on it (a server that opened it O_RDWR never blocks in open())."""
    in_open, in_read = opening(fifo), reading(fifo)
    return lambda b: in_open(b) or in_read(b)


WAITING = ("to fall asleep waiting for a client: in open() of {fifo} (or in read() or poll() on the FIFO, if "
           "it keeps a write end of its own or opened it with O_RDWR)")
AT_EOF = ("When a client closes the FIFO the server must go on: open the FIFO again for the next client, or "
          "keep a write end of its own open (then read() never returns 0).")


def settle(sandbox: Sandbox, server: Child, match: Callable[[Blocked], bool], grace_s: float = 1.0) -> bool:
    """Give SERVER up to GRACE_S to fall asleep as MATCH wants; never fails (a server that busy-waits
    is another check's business).  True when it did."""
    deadline = time.monotonic() + sandbox.timeout(grace_s)
    while server.poll() is None:
        if any(match(b) for b in observe.all_blocked(observe.descendants([server.pid]))):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(observe.POLL_S)
    return False


class Between:
    """Between two clients, wait until the server waits for the next one.

    A server that closes and reopens the FIFO at each end-of-file loses the message of a client
    that opens, writes and closes in the instant before it has closed its old read end (the pipe
    and its data go away with the last descriptor); a real client has no way to avoid that, so
    the grader does not start the next client before the server is back in open() (or, keeping a
    write end of its own, in read()).  A server that never sleeps (busy-waiting, another check's
    business) is waited for once only."""

    def __init__(self, sandbox: Sandbox, server: Child, fifo: str) -> None:
        self.sandbox, self.server, self.match = sandbox, server, waiting_for_client(fifo)
        self.spins = False

    def __call__(self) -> None:
        if not self.spins:
            self.spins = not settle(self.sandbox, self.server, self.match)


def file_state(path: str) -> tuple[Optional[os.stat_result], Optional[bytes]]:
    """What is at PATH, and what it holds when it is a regular file.  (Never open() whatever is
    there: opening a FIFO blocks until it has a writer.)"""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None, None
    if not stat.S_ISREG(st.st_mode):
        return st, None
    with open(path, "rb") as f:
        return st, f.read(4096)


def wait_fifo(sandbox: Sandbox, server: Child, fifo: str, timeout_s: float = 3.0) -> None:
    """Wait until the server has made the FIFO; fail if it makes something else or ends first."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        try:
            st: Optional[os.stat_result] = os.lstat(fifo)
        except FileNotFoundError:
            st = None
        if st is not None:
            if stat.S_ISFIFO(st.st_mode):
                return
            fail(f"{server.label} should create a FIFO at {fifo}, but what is there is not a FIFO: "
                 f"{stat.filemode(st.st_mode)} (use mkfifo(), and never open() the path with O_CREAT)")
        if server.poll() is not None:
            fail(f"{server.label} should create the FIFO {fifo} and wait for clients, but it ended first: "
                 f"{ended(server)}")
        if time.monotonic() >= deadline:
            fail(f"{server.label} did not create the FIFO {fifo} within {sandbox.timeout(timeout_s):.1f} s; "
                 f"what the kernel shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)


# -- the grader as a client ---------------------------------------------------------------------
def open_writer(sandbox: Sandbox, server: Child, fifo: str, why: str = "", timeout_s: float = 3.0) -> int:
    """Open FIFO for writing as a client would, once the server has it open for reading."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # (writes stay non-blocking: see Writer)
        except OSError as exc:
            if exc.errno not in (errno.ENXIO, errno.ENOENT):
                fail(f"the grader could not open the FIFO {fifo} for writing: {exc.strerror}{why}")
            gone = exc.errno == errno.ENOENT and "the FIFO is not there" or "no process has it open for reading"
        if server.poll() is not None:
            fail(f"the grader, as a client, could not open the FIFO {fifo} ({gone}): the server ended{why}: "
                 f"{ended(server)}")
        if time.monotonic() >= deadline:
            fail(f"the grader, as a client, could not open the FIFO {fifo} for writing within "
                 f"{sandbox.timeout(timeout_s):.1f} s: {gone}{why}; what the kernel shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)


class Writer:
    """The grader as a client: a write end of the FIFO, open until the block ends.

    A server that closes the FIFO at each end-of-file and opens it again has an instant in which
    it still holds the old read end: a client that opens then finds a reader, and its write fails
    with EPIPE if the server closes before it writes.  That is the server's reopening, not an
    error of it; the grader then opens the FIFO again and writes again (a whole message, at most
    PIPE_BUF bytes, is written all or nothing)."""

    def __init__(self, sandbox: Sandbox, server: Child, fifo: str, why: str = "") -> None:
        self.sandbox, self.server, self.fifo, self.why = sandbox, server, fifo, why
        self.fd = open_writer(sandbox, server, fifo, why)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def send(self, data: bytes, timeout_s: float = 3.0) -> None:
        """Write DATA into the FIFO in one write() (it is at most PIPE_BUF bytes)."""
        __tracebackhide__ = True
        assert len(data) <= PIPE_BUF
        deadline = time.monotonic() + self.sandbox.timeout(timeout_s)
        while True:
            try:
                os.write(self.fd, data)  # all or nothing: at most PIPE_BUF bytes
                return
            except BlockingIOError:
                pass
            except BrokenPipeError:
                os.close(self.fd)
                self.fd = open_writer(self.sandbox, self.server, self.fifo, self.why,
                                      max(deadline - time.monotonic(), 0.1))
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"the FIFO stayed full for {self.sandbox.timeout(timeout_s):.1f} s: the server does not read it; "
                     f"what the kernel shows:\n{kernel_view(self.server)}")
            select.select([], [self.fd], [], left)


def wait_drained(sandbox: Sandbox, server: Child, fd: int, what: str, timeout_s: float = 3.0) -> None:
    """Wait until the server has read every byte in the FIFO (FIONREAD works on either end)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    buf = bytearray(4)
    while True:
        fcntl.ioctl(fd, termios.FIONREAD, buf)
        pending = struct.unpack("i", buf)[0]
        if pending == 0:
            return
        if server.poll() is not None:
            fail(f"{server.label} ended before it read {what}: {ended(server)}")
        if time.monotonic() >= deadline:
            fail(f"{server.label} did not read {what} within {sandbox.timeout(timeout_s):.1f} s ({pending} bytes "
                 f"still in the FIFO); what the kernel shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)


def expect_received(sandbox: Sandbox, server: Child, message: str, why: str = "",
                    others: Sequence[Child] = ()) -> None:
    """The next 'Received: ...' line of the server is exactly 'Received: MESSAGE'."""
    __tracebackhide__ = True
    want = f"Received: {message}"
    try:
        line: Optional[str] = server.expect_line(RECEIVED, sandbox.timeout(3), f"the line {want!r}{why}")
        missing = ""
    except pytest.fail.Exception as exc:  # add the clients' side to the message, without a traceback
        line, missing = None, str(exc.msg)
    context = "".join(f"\n{ended(c)}" for c in others)
    if line is None:
        fail(missing + context)
    if line != want:
        fail(f"{server.label} should print {want!r}{why}, but the next 'Received:' line is {line!r}\n"
             f"{block('its output', server.stdout())}{context}")


# -- the grader as a server ---------------------------------------------------------------------
def give(sandbox: Sandbox, path: str) -> str:
    """Make PATH, which the grader created, the programs' own (they may run as another user)."""
    sandbox.share(path)
    return path


def make_fifo(sandbox: Sandbox) -> str:
    """A FIFO at the check's path, as a server (or a killed one) would have left it."""
    fifo = sandbox.path("fifo")
    os.mkfifo(fifo, FIFO_MODE)
    return give(sandbox, fifo)


def make_file(sandbox: Sandbox, name: str, content: bytes) -> str:
    path = sandbox.path(name)
    with open(path, "wb") as f:
        f.write(content)
    os.chmod(path, 0o644)
    return give(sandbox, path)


@contextlib.contextmanager
def reader(fifo: str) -> Iterator[int]:
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        yield fd
    finally:
        os.close(fd)


def read_fifo(fd: int, timeout_s: float, size: Optional[int] = None) -> bytes:
    """Read the FIFO until SIZE bytes, or end-of-file (every writer that came has closed it), or
    TIMEOUT_S; return what came."""
    got = bytearray()
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout_s
    while size is None or len(got) < size:
        left = deadline - time.monotonic()
        if left <= 0 or not poller.poll(max(1, int(left * 1000))):
            break
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            break
        got += chunk
    return bytes(got)


def fill(fifo: str) -> int:
    """Fill the FIFO (the grader holds it open for reading) through a write end of the grader's
    own, closed again at once; return the bytes written.  Whole 4096-byte pages, so that no later
    write can be merged into a half-full page: every client's write() then sleeps until the grader
    reads.  The grader reads only once the clients are seen asleep in write(), so that the end of
    its own write end is not taken for the end of the clients'."""
    fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    total = 0
    try:
        for data in (b"#" * (PIPE_BUF - 1) + b"\n", b"\n"):
            while True:
                try:
                    total += os.write(fd, data)
                except BlockingIOError:
                    break
    finally:
        os.close(fd)
    return total


def _memory(pid: int, address: int, size: int) -> bytes:
    try:
        fd = os.open(f"/proc/{pid}/mem", os.O_RDONLY)
    except OSError:
        return b""
    try:
        return os.pread(fd, size, address)
    except OSError:
        return b""
    finally:
        os.close(fd)


def pending_write(b: Blocked, limit: int = 2 * PIPE_BUF) -> Optional[tuple[int, bytes]]:
    """(size, bytes) of the write() or writev() a thread is asleep in; None for other calls."""
    if b.call == "write":
        return b.args[2], _memory(b.pid, b.args[1], min(b.args[2], limit))
    if b.call == "writev":
        iov = _memory(b.pid, b.args[1], 16 * min(b.args[2], 64))
        parts = list(struct.iter_unpack("QQ", iov[: len(iov) // 16 * 16]))
        data = b"".join(_memory(b.pid, base, min(length, limit)) for base, length in parts)
        return sum(length for _, length in parts), data[:limit]
    return None


# ============================================================================== the server ====
@pytest.mark.points(1)
def test_server_creates_fifo_with_mode(sandbox: Sandbox) -> None:
    """The server makes a FIFO (not a regular file) at PATH with mode 0600."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo, pty=False)
    wait_fifo(sandbox, server, fifo)
    settle(sandbox, server, waiting_for_client(fifo))  # a chmod() after mkfifo() is fine: let it finish
    try:
        st = os.lstat(fifo)
    except FileNotFoundError:
        fail(f"the FIFO {fifo} was removed again before any client came; {ended(server)}")
    mode = stat.S_IMODE(st.st_mode)
    if not stat.S_ISFIFO(st.st_mode) or mode != FIFO_MODE:
        umask = umask_of(server.pid)
        fail(f"the FIFO {fifo} should be prw------- (mode 0600: only its owner reads and writes it), but it is "
             f"{stat.filemode(st.st_mode)} (mode {mode:04o}). Create it with mkfifo(path, 0600); the umask "
             f"(here {umask}) can only take bits away.")


@pytest.mark.points(2)
def test_server_waits_for_client(sandbox: Sandbox) -> None:
    """With no client, the server sleeps in open() (or read()/poll() with O_RDWR): no busy-waiting."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo, pty=False)
    wait_fifo(sandbox, server, fifo)
    sandbox.wait_blocked(waiting_for_client(fifo), f"{server.label} " + WAITING.format(fifo=fifo), among=[server])


@pytest.mark.points(2)
def test_server_prints_message(sandbox: Sandbox) -> None:
    """A message the grader writes into the FIFO comes out as 'Received: MESSAGE'."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    with Writer(sandbox, server, fifo) as w:
        w.send(b"hello through the FIFO\n")
        expect_received(sandbox, server, "hello through the FIFO", " (the grader wrote it into the FIFO)")


@pytest.mark.points(2)
def test_server_splits_lines(sandbox: Sandbox) -> None:
    """A message ends at its newline, not at the end of a read(): one message written in two
    parts, then three messages in one write()."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    with Writer(sandbox, server, fifo) as w:
        w.send(b"hel")
        wait_drained(sandbox, server, w.fd, "the first part of a message, 'hel'")
        w.send(b"lo\n")
        expect_received(sandbox, server, "hello", " ('hel' and 'lo\\n' came in two writes, and your server had "
                        "read the first part before the second came: keep the bytes until the newline)")
        w.send(b"one\ntwo\nthree\n")
        for word in ("one", "two", "three"):
            expect_received(sandbox, server, word, " ('one\\ntwo\\nthree\\n' came in one write(): one read() "
                            "can return several messages)")


@pytest.mark.points(1)
def test_server_with_reference_client(sandbox: Sandbox) -> None:
    """The reference fifo_client's message reaches the student's server."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    client = start_client(sandbox, fifo, "hello from the reference client", reference=True)
    expect_received(sandbox, server, "hello from the reference client", others=[client])


@pytest.mark.points(2)
def test_server_serves_clients_in_sequence(sandbox: Sandbox) -> None:
    """Five clients, one after the other: each is served (the server opens the FIFO again after
    each end-of-file, or keeps it open with O_RDWR)."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    between = Between(sandbox, server, fifo)
    for i in range(1, 6):
        between()
        if server.poll() is not None:
            fail(f"after client {i - 1} of 5 had sent its message and closed the FIFO, the server ended: "
                 f"{ended(server)}\n{AT_EOF}")
        message = f"message of client {i} of 5"
        client = start_client(sandbox, fifo, message, reference=True)
        expect_received(sandbox, server, message, f" (client {i} of 5, started after client {i - 1} was served "
                        "and had closed the FIFO)" if i > 1 else " (client 1 of 5)", others=[client])
        client.wait(sandbox.timeout(3), "to exit once its message was sent")


def check_stopped(server: Child, end: Optional[ExitInfo], fifo: str, name: str, when: str) -> None:
    __tracebackhide__ = True
    left = os.path.lexists(fifo)
    still = f"; the FIFO {fifo} is still there" if left else ""
    if end is None:
        fail(f"after {name} {when}, {server.label} should remove the FIFO and exit with 0 within 3 s, but it is "
             f"still running{still}; what the kernel shows:\n{kernel_view(server)}\nA handler installed with "
             "SA_RESTART (signal() does that) makes the kernel restart the blocked call, so the program never "
             "sees its flag: use sigaction() without SA_RESTART, and check the flag when a call fails with EINTR.")
    info = end
    if info.term_signal is not None:
        fail(f"{server.label} got {name} {when} and {info}: it must catch {name} (sigaction), "
             f"remove the FIFO and exit with 0{still}")
    if left:
        fail(f"{server.label} {info} after {name} {when}, but it left the FIFO {fifo} behind: unlink() it before "
             "exiting")
    expect_exit(server, info, 0, f"after {name}")


@pytest.mark.points(2)
def test_server_removes_fifo_on_sigterm(sandbox: Sandbox) -> None:
    """SIGTERM while it waits for a client: the server removes the FIFO and exits with 0."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo, pty=False)
    wait_fifo(sandbox, server, fifo)
    settle(sandbox, server, waiting_for_client(fifo))
    server.signal(signal.SIGTERM)
    end = server.try_wait(sandbox.timeout(3))
    check_stopped(server, end, fifo, "SIGTERM", "while it waited for a client")


@pytest.mark.points(1)
def test_server_removes_fifo_on_sigint(sandbox: Sandbox) -> None:
    """SIGINT while a client is connected: the server removes the FIFO and exits with 0."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    with Writer(sandbox, server, fifo) as w:
        w.send(b"before the signal\n")
        expect_received(sandbox, server, "before the signal")
        settle(sandbox, server, reading(fifo))
        server.signal(signal.SIGINT)
        end = server.try_wait(sandbox.timeout(3))
    check_stopped(server, end, fifo, "SIGINT", "while a client had the FIFO open")


@pytest.mark.points(1)
def test_server_reuses_stale_fifo(sandbox: Sandbox) -> None:
    """A FIFO left behind at PATH by an earlier server is used (mkfifo fails with EEXIST)."""
    fifo = make_fifo(sandbox)
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    why = (" (a FIFO was already at the path, left behind by an earlier server: mkfifo() fails with EEXIST, "
           "and the server must check that what is there is a FIFO and use it)")
    with Writer(sandbox, server, fifo, why) as w:
        w.send(b"served through an old FIFO\n")
        expect_received(sandbox, server, "served through an old FIFO", why)


@pytest.mark.points(1)
def test_server_refuses_non_fifo(sandbox: Sandbox) -> None:
    """A regular file at PATH is not the server's to delete: message on stderr, exit 1, file intact."""
    content = b"a regular file: no server may delete or change it\n"
    path = make_file(sandbox, "fifo", content)
    server = start_server(sandbox, path, pty=False)
    deadline = time.monotonic() + sandbox.timeout(3)
    while True:  # until it ends, or touches the file, or the deadline
        end = server.poll()
        st, now = file_state(path)
        if end is not None or now != content or time.monotonic() >= deadline:
            break
        time.sleep(observe.POLL_S)
    if st is None or now != content:
        what = "removed it" if st is None else f"replaced it by a {stat.filemode(st.st_mode)} file" if now is None \
            else "changed what it holds"
        fail(f"{path} was a regular file when {server.label} started, and the server {what}: a server may "
             f"only use a FIFO that is already there; anything else is an error (message on stderr, exit 1).\n"
             f"{server.label} {server.describe_end()}")
    if end is None:
        fail(f"{path} is a regular file, not a FIFO: {server.label} should say so on stderr and exit with 1, but it "
             f"is still running after {sandbox.timeout(3):.1f} s; what the kernel shows:\n{kernel_view(server)}")
    expect_exit(server, end, 1, f"when {path} is a regular file and not a FIFO")
    if not server.stderr().strip():
        fail(f"{server.label} exited with 1 but printed no message on stderr saying that {path} is not a FIFO")


@pytest.mark.points(1)
def test_server_open_retried_after_eintr(sandbox: Sandbox) -> None:
    """A signal that interrupts the server's wait for a client (EINTR) is no error: it waits again."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    b = sandbox.wait_blocked(waiting_for_client(fifo), f"{server.label} " + WAITING.format(fifo=fifo), among=[server])
    interrupt(sandbox, b, server)
    with Writer(sandbox, server, fifo) as w:
        w.send(b"after the interrupted wait\n")
        expect_received(sandbox, server, "after the interrupted wait")


@pytest.mark.points(1)
def test_server_read_retried_after_eintr(sandbox: Sandbox) -> None:
    """A signal that interrupts the server's read() of a connected client (EINTR) is no error."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo)
    wait_fifo(sandbox, server, fifo)
    with Writer(sandbox, server, fifo) as w:
        w.send(b"first message\n")
        expect_received(sandbox, server, "first message")
        b = sandbox.wait_blocked(reading(fifo), f"{server.label} to wait in read() for more from the client that "
                                 "still has the FIFO open", among=[server])
        interrupt(sandbox, b, server)
        w.send(b"after the interrupted read\n")
        expect_received(sandbox, server, "after the interrupted read")


@pytest.mark.points(2)
def test_server_cleans_up(sandbox: Sandbox) -> None:
    """`fifo_server PATH 5`: five clients in turn; its open files do not grow from client to client;
    after the fifth message it removes the FIFO and exits with 0, leaving nothing behind."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo, "5")
    wait_fifo(sandbox, server, fifo)
    baseline: dict[int, str] = {}
    between = Between(sandbox, server, fifo)
    for i in range(1, 6):
        between()
        if server.poll() is not None:
            fail(f"fifo_server PATH 5 ended after {i - 1} message(s), each from a client of its own: "
                 f"{ended(server)}\n{AT_EOF}")
        with Writer(sandbox, server, fifo) as w:
            w.send(f"cleanup message {i}\n".encode())
            expect_received(sandbox, server, f"cleanup message {i}", f" (client {i} of 5)")
        if i == 1:
            between()
            baseline = observe.open_fds(server.pid)
        if i == 4:  # three more clients came and went: a leak of one fd each is three fds
            between()
            deadline = time.monotonic() + sandbox.timeout(3)
            while len(now := observe.open_fds(server.pid)) > len(baseline) and time.monotonic() < deadline:
                time.sleep(observe.POLL_S)
            if len(now) > len(baseline):
                extra = "\n".join(f"    fd {fd} -> {t}" for fd, t in sorted(now.items()))
                fail(f"{server.label} leaks file descriptors: after the first client it had {len(baseline)} open, "
                     f"after the fourth {len(now)}:\n{extra}\nClose the FIFO when a client is done (read() "
                     "returned 0) before opening it again.")
    end = server.wait(sandbox.timeout(3), "to exit after its COUNT of 5 messages")
    if end.exit_code == 0 and os.path.lexists(fifo):
        fail(f"{server.label} exited with 0 after its 5 messages but left the FIFO {fifo} behind: unlink() it")
    expect_exit(server, end, 0, "after its COUNT of 5 messages")
    sandbox.assert_no_leaks(what="after fifo_server PATH 5 had served its 5 messages and exited")


# ============================================================================== the client ====
MESSAGE = "hello from a client"


def expect_sent(sandbox: Sandbox, client: Child, got: bytes, message: str, why: str = "",
                newline_judged_elsewhere: bool = False) -> None:
    """GOT is MESSAGE and its newline (without the newline too, when another check judges it)."""
    __tracebackhide__ = True
    if got == message.encode():
        if newline_judged_elsewhere:
            return  # the missing newline costs test_client_sends_message, not this check
        fail(f"{client.label} wrote {quote(message)!r} into the FIFO{why} without the newline that ends a message: "
             f"the server cannot tell where it ends. Write the message and '\\n' together, in one write().\n"
             f"{client.label} {client.describe_end()}")
    expect_bytes(f"what {client.label} wrote into the FIFO{why} (the message and a newline)",
                 message.encode() + b"\n", got, client)


@pytest.mark.points(2)
def test_client_sends_message(sandbox: Sandbox) -> None:
    """The client writes MESSAGE and a newline into the FIFO, closes it and exits with 0."""
    fifo = make_fifo(sandbox)
    with reader(fifo) as fd:
        client = start_client(sandbox, fifo, MESSAGE)
        got = read_fifo(fd, sandbox.timeout(3))
    client.try_wait(sandbox.timeout(1))  # it has closed the FIFO: let it end, so that messages tell how
    expect_sent(sandbox, client, got, MESSAGE)
    end = client.wait(sandbox.timeout(3), "to exit after sending its message")
    expect_exit(client, end, 0, "after sending its message")


@pytest.mark.points(1)
def test_client_with_reference_server(sandbox: Sandbox) -> None:
    """The student's client's message reaches the reference fifo_server."""
    fifo = sandbox.path("fifo")
    server = start_server(sandbox, fifo, reference=True)
    wait_fifo(sandbox, server, fifo)
    client = start_client(sandbox, fifo, MESSAGE)
    expect_received(sandbox, server, MESSAGE, f" (from {client.label}; the reference server prints a message "
                    "once its newline has come)", others=[client])
    end = client.wait(sandbox.timeout(3), "to exit after sending its message")
    expect_exit(client, end, 0, "after sending its message")


CONCURRENT = ["a", "the second client's message", "c" * 3000, "fourth: " + "d" * 300]


@pytest.mark.points(2)
def test_concurrent_clients_do_not_interleave(sandbox: Sandbox) -> None:
    """Four clients write at the same moment into a full FIFO: each writes its whole message and
    newline in one write() (atomic up to PIPE_BUF), so every line that comes out is one message."""
    fifo = make_fifo(sandbox)
    real = os.path.realpath(fifo)
    with reader(fifo) as rfd:
        filled = fill(fifo)
        clients = [start_client(sandbox, fifo, m) for m in CONCURRENT]
        for client, message in zip(clients, CONCURRENT, strict=True):
            b = sandbox.wait_blocked(
                lambda b: b.is_("write") and b.target == real,
                f"{client.label} {quote(message, 40)!r} to be asleep in write() on the FIFO (the grader had "
                "filled it, so that all four clients write at the same moment)",
                among=[client])
            pending = pending_write(b)
            want = message.encode() + b"\n"
            size, data = pending if pending is not None else (len(want), b"")
            if size != len(want) or (data and data != want):  # (data is b"" where memory cannot be read)
                plural = "s" if size != 1 else ""
                fail(f"{client.label} with a {len(message)}-byte message writes {size} byte{plural} in one "
                     f"{b.call}(): {quote(data, 120)!r}. It must write the whole message and its newline "
                     f"({len(want)} bytes) in ONE write(): a write of at most PIPE_BUF ({PIPE_BUF}) bytes "
                     "to a FIFO is atomic, several smaller ones are not, and the messages of clients "
                     "writing at the same time get mixed.")
        got = read_fifo(rfd, sandbox.timeout(3))  # until every client has closed the FIFO
    lines = got[filled:].split(b"\n")
    complete, rest = lines[:-1], lines[-1]
    wanted = sorted(m.encode() for m in CONCURRENT)
    if sorted(complete) != wanted or rest:
        fail("four clients wrote at the same moment; the FIFO should hold their four messages, each a whole "
             "line, in any order.\n"
             + block("expected lines (any order)", "\n".join(quote(m, 60) for m in CONCURRENT))
             + "\n" + block("got", b"\n".join(complete + [rest])[:800])
             + "".join(f"\n{ended(c)}" for c in clients))


def client_waiting(sandbox: Sandbox) -> tuple[str, Child, Blocked]:
    """A FIFO with no server yet, and the client seen asleep in open() of it."""
    fifo = make_fifo(sandbox)
    client = start_client(sandbox, fifo, MESSAGE)
    b = sandbox.wait_blocked(opening(fifo), f"{client.label} to wait in open() of {fifo} until a server opens it "
                             "for reading (none has yet)", among=[client])
    return fifo, client, b


@pytest.mark.points(1)
def test_client_waits_for_server(sandbox: Sandbox) -> None:
    """With no server yet, the client sleeps in open() until one opens the FIFO for reading."""
    fifo, client, _ = client_waiting(sandbox)
    with reader(fifo) as fd:
        got = read_fifo(fd, sandbox.timeout(3))
    expect_sent(sandbox, client, got, MESSAGE, " once a server had come",
                newline_judged_elsewhere=True)


@pytest.mark.points(1)
def test_client_open_retried_after_eintr(sandbox: Sandbox) -> None:
    """A signal that interrupts the client's wait in open() (EINTR) is no error: it opens again."""
    fifo, client, b = client_waiting(sandbox)
    sandbox.interrupt(b)
    with reader(fifo) as fd:
        got = read_fifo(fd, sandbox.timeout(3))
    expect_sent(sandbox, client, got, MESSAGE, " after its open() was interrupted",
                newline_judged_elsewhere=True)


@pytest.mark.points(1)
def test_client_write_retried_after_eintr(sandbox: Sandbox) -> None:
    """A signal that interrupts the client's write() into a full FIFO (EINTR) is no error."""
    fifo = make_fifo(sandbox)
    real = os.path.realpath(fifo)
    with reader(fifo) as rfd:
        filled = fill(fifo)
        client = start_client(sandbox, fifo, MESSAGE)
        b = sandbox.wait_blocked(lambda b: b.is_("write") and b.target == real,
                                 f"{client.label} to be asleep in write() on the FIFO, which the grader had "
                                 "filled", among=[client])
        sandbox.interrupt(b)
        got = read_fifo(rfd, sandbox.timeout(3))  # until the client has closed the FIFO
    expect_sent(sandbox, client, got[filled:], MESSAGE, " after its write() was interrupted",
                newline_judged_elsewhere=True)


@pytest.mark.points(1)
def test_client_without_fifo_fails(sandbox: Sandbox) -> None:
    """No FIFO at PATH (nothing there, or a regular file): message on stderr, exit 1, nothing
    created or changed."""
    content = b"a regular file: no client may write into it\n"
    for name, setup in (("nothing", None), ("file", content)):
        path = sandbox.path(name) if setup is None else make_file(sandbox, name, setup)
        there = "nothing is at that path" if setup is None else "it is a regular file"
        client = start_client(sandbox, path, MESSAGE)
        end = client.try_wait(sandbox.timeout(3))
        st, now = file_state(path)
        if setup is None and st is not None:
            fail(f"{client.label} was given {path}, where there was nothing, and it created a "
                 f"{stat.filemode(st.st_mode)} file there{'' if now is None else ' holding ' + repr(quote(now, 80))}. "
                 "The client must never create the FIFO (no O_CREAT, no mkfifo): no FIFO means no server.")
        if setup is not None and now != setup:
            fail(f"{client.label} was given {path}, a regular file, and it changed it; it must check that the path "
                 "is a FIFO (stat() or fstat()) and write nothing otherwise.\n"
                 + block("the file now", now if now is not None else b"(removed or replaced)"))
        if end is None:
            fail(f"{client.label} was given {path} ({there}): it should print an error and exit with 1, but it is "
                 f"still running after {sandbox.timeout(3):.1f} s; what the kernel shows:\n{kernel_view(client)}")
        expect_exit(client, end, 1, f"when there is no FIFO at the path ({there})")
        if not client.stderr().strip():
            fail(f"{client.label} exited with 1 ({there}) but printed no message on stderr")
