"""Checks of the `pipe` assignment (the spec, with points, is README.md beside this file)."""
from __future__ import annotations

import fcntl
import os
import random
import select
import time

import pytest

from grader import observe
from grader.checks import expect_bytes, expect_exit, expect_lines
from grader.errors import block, fail
from grader.observe import Blocked
from grader.proc import PIPE, Child
from grader.sandbox import Sandbox

SMALL = b"hello through the pipe\n"


def start_relay(sandbox: Sandbox) -> Child:
    return sandbox.spawn([sandbox.student("pipe_relay")], stdin=PIPE)


def stdin_target(relay: Child) -> str:
    assert relay.stdin is not None
    return f"pipe:[{os.fstat(relay.stdin.fileno()).st_ino}]"


def wait_child_reading(sandbox: Sandbox, relay: Child) -> Blocked:
    """The child blocked in read() on the pipe from its parent (not on the relay's stdin)."""
    own = stdin_target(relay)
    return sandbox.wait_blocked(
        lambda b: b.is_("read", on="pipe") and b.target != own and b.pid != relay.pid,
        "the child of pipe_relay to be blocked in read() on the empty pipe from its parent "
        "(the parent has written nothing yet)",
        among=[relay],
    )


def relay_message(sandbox: Sandbox, relay: Child, data: bytes) -> bytes:
    relay.feed(data, sandbox.timeout(5))
    relay.close_stdin()
    return relay.wait_stdout(len(data), sandbox.timeout(5))


@pytest.mark.points(2)
def test_message_arrives(sandbox: Sandbox) -> None:
    """The child prints exactly the bytes the parent read and sent."""
    relay = start_relay(sandbox)
    got = relay_message(sandbox, relay, SMALL)
    expect_bytes("the child's output", SMALL, got, relay)


@pytest.mark.points(2)
def test_large_message_arrives_whole(sandbox: Sandbox) -> None:
    """1.5 MiB of binary data (zero bytes included), far beyond the 64 KiB a pipe holds."""
    data = random.Random(7).randbytes(3 << 19)
    relay = start_relay(sandbox)
    got = relay_message(sandbox, relay, data)
    expect_bytes("the child's output of a 1.5 MiB binary message", data, got, relay)


@pytest.mark.points(2)
def test_child_blocks_on_empty_pipe(sandbox: Sandbox) -> None:
    """Before the parent writes, the child sleeps in read() on the pipe: no busy-waiting."""
    relay = start_relay(sandbox)
    wait_child_reading(sandbox, relay)
    got = relay_message(sandbox, relay, SMALL)
    expect_bytes("the child's output after it had waited", SMALL, got, relay)


@pytest.mark.points(1)
def test_unused_ends_closed(sandbox: Sandbox) -> None:
    """While the child waits, only the parent holds the write end and only the child the read end."""
    relay = start_relay(sandbox)
    b = wait_child_reading(sandbox, relay)
    pids = observe.descendants([relay.pid])
    problems = []
    for pid, fd, mode in observe.holders(b.target or "", pids):
        if pid == b.pid and mode in ("w", "rw"):
            problems.append(f"the child (pid {pid}) still holds the write end of the pipe (fd {fd}): "
                            "it would never see end-of-file")
        if pid != b.pid and mode in ("r", "rw"):
            problems.append(f"pid {pid} (the parent) still holds the read end of the pipe (fd {fd}): "
                            "close the end a process does not use")
    if problems:
        fail("unused pipe ends are left open:\n" + "\n".join(f"  - {p}" for p in problems))


@pytest.mark.points(2)
def test_child_sees_end_of_file(sandbox: Sandbox) -> None:
    """Once the parent has closed its write end, the child reads end-of-file and both exit."""
    relay = start_relay(sandbox)
    relay_message(sandbox, relay, SMALL)
    relay.wait(sandbox.timeout(3), "to exit once its input ended (the child should read end-of-file)")


@pytest.mark.points(1)
def test_parent_waits_for_child(sandbox: Sandbox) -> None:
    """The parent waits for its child and exits with its code: no zombie, no orphan."""
    relay = start_relay(sandbox)
    relay_message(sandbox, relay, SMALL)
    end = relay.try_wait(sandbox.timeout(3))
    if end is None:
        fail("pipe_relay never exited, so whether the parent waits for its child cannot be told "
             "(test_child_sees_end_of_file shows why it did not exit)")
    expect_exit(relay, end, 0, "(the exit code of its child)")
    sandbox.assert_no_leaks(what="after pipe_relay exited (the parent must wait for its child)")


def read_lines(fd: int, count: int, timeout_s: float) -> bytes:
    got = b""
    deadline = time.monotonic() + timeout_s
    while got.count(b"\n") < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        got += chunk
    return got


@pytest.mark.points(2)
def test_writer_reports_epipe(sandbox: Sandbox) -> None:
    """When its reader goes away, pipe_writer reports EPIPE and exits with 3 (not killed by SIGPIPE)."""
    r, w = os.pipe()
    try:
        writer = sandbox.spawn([sandbox.student("pipe_writer"), "1000000"], stdout=w)
        os.close(w)
        w = -1
        first = read_lines(r, 3, sandbox.timeout(3))
        if not first.startswith(b"line 1\nline 2\nline 3\n"):
            fail("pipe_writer should start with 'line 1', 'line 2', 'line 3'\n" + block("got", first[:200]))
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    end = writer.wait(sandbox.timeout(3), "to stop once its reader closed the pipe")
    if end.term_signal is not None and end.term_signal == 13:
        fail("pipe_writer was killed by SIGPIPE when its reader closed the pipe; it must ignore SIGPIPE, "
             "see write() fail with EPIPE, print 'pipe_writer: reader closed the pipe' on stderr and exit with 3")
    expect_exit(writer, end, 3, "after its reader closed the pipe (EPIPE)")
    expect_lines("pipe_writer's stderr", ["pipe_writer: reader closed the pipe"], writer.stderr(), writer)


def kernel_capacity(size: int) -> int:
    """What the kernel makes of F_SETPIPE_SZ(SIZE) (0: the default capacity)."""
    r, w = os.pipe()
    try:
        if size:
            fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, size)
        return fcntl.fcntl(w, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.points(1)
def test_capacity_reported(sandbox: Sandbox) -> None:
    """pipe_info prints the capacity F_GETPIPE_SZ gives, by default and after F_SETPIPE_SZ."""
    for args, size in (([], 0), (["100000"], 100000)):
        info = sandbox.spawn([sandbox.student("pipe_info"), *args])
        info.wait(sandbox.timeout(3), "to exit (its standard input is /dev/null)")
        lines = info.stdout().decode("utf-8", "replace").splitlines()
        want = f"capacity: {kernel_capacity(size)}"
        if not lines or lines[0] != want:
            fail(f"pipe_info {' '.join(args)}: the first line should be {want!r} (what F_GETPIPE_SZ reports"
                 f"{' after F_SETPIPE_SZ 100000' if size else ''})\n{block('got', info.stdout())}\n"
                 f"pipe_info {info.describe_end()}")


@pytest.mark.points(1)
def test_nonblocking_read_gets_eagain(sandbox: Sandbox) -> None:
    """A non-blocking read of an empty pipe that still has a writer fails with EAGAIN."""
    r, w = os.pipe()
    try:
        info = sandbox.spawn([sandbox.student("pipe_info")], stdin=r)
        os.close(r)
        r = -1
        end = info.wait(sandbox.timeout(3), "to exit: a non-blocking read must not wait for data")
    finally:
        if r >= 0:
            os.close(r)
        os.close(w)
    expect_exit(info, end, 0)
    lines = info.stdout().decode("utf-8", "replace").splitlines()
    if lines[1:2] != ["empty read: EAGAIN"]:
        fail("the second line of pipe_info should be 'empty read: EAGAIN'\n" + block("got", info.stdout()))


@pytest.mark.points(2)
def test_blocking_reads_retried_after_eintr(sandbox: Sandbox) -> None:
    """A signal that interrupts the child's read() (and the parent's) is no error: read() again."""
    relay = start_relay(sandbox)
    child_read = wait_child_reading(sandbox, relay)
    sandbox.interrupt(child_read)
    parent_read = sandbox.wait_blocked(
        lambda b: b.pid == relay.pid and b.is_("read"), "the parent to be blocked in read() on its standard input",
        among=[relay])
    sandbox.interrupt(parent_read)
    got = relay_message(sandbox, relay, SMALL)
    expect_bytes("the child's output after both reads were interrupted", SMALL, got, relay)
