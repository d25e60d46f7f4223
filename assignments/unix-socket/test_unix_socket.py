"""Checks of the `unix-socket` assignment (the spec, with points, is README.md beside this file).

How the grader plays each part:

* as a client of your server it connects with a socket of its own, sends request lines and reads
  the answers.  To catch a server that takes one read() for one request, it sends a request in
  pieces of 1 to 3 bytes and waits, after each piece, until the kernel shows that your server
  has read it (``faults.send_in_pieces``: SIOCOUTQ of the grader's socket falls to 0), so every
  piece meets a read() of its own: the outcome never depends on timing;
* as a server for your client it listens on a path of its own and sends each answer in pieces,
  the same way;
* a server is ready when the kernel shows a listening socket bound to its path
  (``/proc/PID/net/unix``): connections queue from listen() on, whatever the design;
* idle, blocked, busy: read from ``/proc/PID/task/TID/syscall`` (see ``grader.observe``).

The line service and the checks it shares with `tcp` are in ``grader/linesvc.py``; what is here
is AF_UNIX's own: the socket file, signals, SIGPIPE on write(), passing descriptors.
"""
from __future__ import annotations

import fcntl
import os
import select
import signal
import socket
import stat
import time

import pytest

from grader import faults, linesvc, observe
from grader.checks import expect_exit
from grader.errors import block, fail, quote
from grader.linesvc import (Net, accept, answers, ask, connect, expect_answers, kernel_view, lines_in, listen, quiet,
                            request, settle, wait_listening)
from grader.proc import Child
from grader.sandbox import Sandbox

LINES = [b"hello, world", b"stream sockets keep no message boundaries", b"", b"A man, a plan, a canal: Panama"]
net = linesvc.net  # the fixture: the grader's sockets and socket files of a check, removed at its end


# -- the programs -------------------------------------------------------------------------------
def start_server(sandbox: Sandbox, net: Net, path: str = "", reference: bool = False) -> tuple[Child, str]:
    """Start the server at PATH (a fresh one by default) and wait until it listens there."""
    path = path or sandbox.path("s")
    net.paths.append(path)
    prog = sandbox.reference("unix_server") if reference else sandbox.student("unix_server")
    server = sandbox.spawn([prog, path])
    wait_listening(sandbox, server, path)
    return server, path


def stale_socket(path: str) -> None:
    """Leave a socket file at PATH that nobody listens on, as a server that crashed does."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


# -- the server ---------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_server_answers_reference_client(sandbox: Sandbox, net: Net) -> None:
    """Your server answers the reference client, line by line."""
    server, path = start_server(sandbox, net)
    linesvc.check_answers_reference_client(sandbox, server, sandbox.reference("unix_client"), path, LINES)


@pytest.mark.points(3)
def test_server_answers_split_requests(sandbox: Sandbox, net: Net) -> None:
    """Requests in pieces (each read before the next is sent), pieces across newlines, many
    requests in one write with the answers read slowly: each answer whole and in order."""
    server, path = start_server(sandbox, net)
    sock = connect(net, path, server)
    linesvc.check_split_requests(sandbox, server, sock, "read()")
    batch = linesvc.random_lines(40, seed=11)
    sock.sendall(request(batch))
    got = faults.read_until(sock, lines_in(len(batch)), sandbox.timeout(3), chunk=512, idle=quiet(server, sock))
    if got.data != answers(batch):
        expect_answers(f"{len(batch)} requests ({len(request(batch))} bytes) in one write, the answers read 512 "
                       "bytes at a time (one read() may hold many requests: answer each)", batch, got, server)


@pytest.mark.points(2)
def test_server_serves_clients_at_once(sandbox: Sandbox, net: Net) -> None:
    """Three clients connected at once are each answered while the others stay connected."""
    server, path = start_server(sandbox, net)
    linesvc.check_serves_clients_at_once(sandbox, net, server, path)


@pytest.mark.points(1)
def test_server_waits_in_accept(sandbox: Sandbox, net: Net) -> None:
    """Idle, the server sleeps in accept() (or poll/select/epoll_wait): no busy-waiting."""
    server, path = start_server(sandbox, net)
    linesvc.check_waits_in_accept(sandbox, net, server, path, LINES)


@pytest.mark.points(1)
def test_server_tidy_after_clients(sandbox: Sandbox, net: Net) -> None:
    """Once its clients have left, the server has closed their connections and keeps no zombie
    and no more processes than it had before they came."""
    server, path = start_server(sandbox, net)
    linesvc.check_tidy_after_clients(sandbox, net, server, path)


@pytest.mark.points(1)
def test_server_replaces_stale_socket(sandbox: Sandbox, net: Net) -> None:
    """A socket file left at the path by a server that crashed does not stop the server."""
    path = sandbox.path("s")
    stale_socket(path)
    net.paths.append(path)
    server = sandbox.spawn([sandbox.student("unix_server"), path])
    wait_listening(sandbox, server, path, hint=(
        f"A socket file was left at {path} by an earlier server that crashed (nobody listens on it); "
        "bind() fails with EADDRINUSE on an existing file: remove it (unlink) before bind()."))
    ask(sandbox, server, connect(net, path, server), LINES[:2], "a client, after the stale socket was replaced")


@pytest.mark.points(2)
def test_server_removes_socket_on_signal(sandbox: Sandbox, net: Net) -> None:
    """On SIGINT and on SIGTERM the server removes its socket file and exits with 0."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        server, path = start_server(sandbox, net, sandbox.path(f"s{int(sig)}"))
        sock = connect(net, path, server)
        ask(sandbox, server, sock, LINES[:1], "a client")
        sock.close()
        settle(sandbox, server)
        server.signal(sig)
        end = server.wait(sandbox.timeout(3), f"to exit on {sig.name}")
        left = os.path.lexists(path)
        if end.term_signal is not None:
            fail(f"{server.label} {end} and its socket file {path} is "
                 f"{'still there' if left else 'gone'}: catch SIGINT and SIGTERM (sigaction), remove the socket "
                 "file (unlink) and exit with 0")
        expect_exit(server, end, 0, f"on {sig.name}")
        if left:
            fail(f"{server.label} exited with 0 on {sig.name} but left its socket file {path}: unlink it first")


@pytest.mark.points(2)
def test_server_survives_early_disconnect(sandbox: Sandbox, net: Net) -> None:
    """A client that is gone before its answers are written (the server's write() fails with
    EPIPE, and raises SIGPIPE) does not kill the server, which goes on serving others."""
    server, path = start_server(sandbox, net)
    sock = connect(net, path, server)
    reader = linesvc.wait_reading(sandbox, server, "read()")
    switches = observe.ctxt_switches(reader.pid, reader.tid)
    # The client stops reading first: from then on every write() to it fails with EPIPE (and
    # SIGPIPE), however fast the server is.  (A write() already asleep when a client closes fails
    # without SIGPIPE, so closing with answers pending would test nothing.)
    sock.shutdown(socket.SHUT_RD)
    sock.sendall(request(LINES))
    if not faults.wait_peer_read(sock, sandbox.timeout(3)):
        fail(f"{server.label} did not read a client's requests within {sandbox.timeout(3):.1f} s; what the kernel "
             f"shows:\n{kernel_view(server)}")
    sock.close()
    what = "a client sent its requests and went away without reading the answers"
    deadline = time.monotonic() + sandbox.timeout(3)
    while server.poll() is None:  # the thread that read them answers, then sleeps again or ends
        gone = observe.state(reader.pid) in (None, "Z") or reader.tid not in observe.threads(reader.pid)
        if gone or (observe.blocked(reader.pid, reader.tid) is not None
                    and observe.ctxt_switches(reader.pid, reader.tid) > switches):
            break
        if time.monotonic() >= deadline:
            fail(f"{what}; {sandbox.timeout(3):.1f} s later, {server.label} had not gone back to waiting (a loop that "
                 f"retries a failed write()?); what the kernel shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)
    linesvc.check_serves_after_early_leave(sandbox, net, server, path, LINES, what, hints=(
        "ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or write with send(..., MSG_NOSIGNAL), and close the connection "
        "when write() fails with EPIPE", "a write() that fails with EPIPE ends that connection, not the server"))


@pytest.mark.points(1)
def test_server_accept_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """An accept() interrupted by a signal (EINTR) is retried: the server still serves."""
    server, path = start_server(sandbox, net)
    linesvc.check_accept_retried_after_eintr(sandbox, net, server, path, LINES)


@pytest.mark.points(1)
def test_server_read_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """A read() of a request interrupted by a signal (EINTR) is retried: the request is answered."""
    server, path = start_server(sandbox, net)
    linesvc.check_read_retried_after_eintr(sandbox, net, server, path, LINES, "read()")


# -- the client ---------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_client_with_reference_server(sandbox: Sandbox, net: Net) -> None:
    """Your client, with the reference server, prints the answer to each line of its input."""
    _, path = start_server(sandbox, net, reference=True)
    client = linesvc.run_client(sandbox, sandbox.student("unix_client"), path, LINES)
    linesvc.expect_client_output(sandbox, client, LINES, "the reference unix_server answered each")


@pytest.mark.points(2)
def test_client_reads_whole_answers(sandbox: Sandbox, net: Net) -> None:
    """Your client prints whole answers when they arrive in pieces (each read before the next)."""
    linesvc.check_client_reads_whole_answers(sandbox, net, sandbox.student("unix_client"), sandbox.path("s"), LINES,
                                             "read()")


@pytest.mark.points(1)
def test_client_reports_missing_server(sandbox: Sandbox, net: Net) -> None:
    """With no server at the path, the client says why on stderr and exits with 2."""
    stale = sandbox.path("stale")
    stale_socket(stale)
    net.paths.append(stale)
    cases = [(sandbox.path("nobody"), "no file at the path", "No such file or directory"),
             (stale, "a socket file nobody listens on", "Connection refused")]
    for path, situation, reason in cases:
        linesvc.check_client_gives_up(sandbox, sandbox.student("unix_client"), path, situation, reason)


# -- passing descriptors ------------------------------------------------------------------------
@pytest.mark.points(2)
def test_fdpass_receives_descriptor(sandbox: Sandbox, net: Net) -> None:
    """unix_fdpass recv writes the line it received through the descriptor that came with it."""
    path = sandbox.path("f")
    listener = listen(net, path)
    prog = sandbox.spawn([sandbox.student("unix_fdpass"), "recv", path])
    conn = accept(sandbox, net, listener, prog)
    text = b"written through a descriptor that came over a socket\n"
    r, w = os.pipe()
    try:
        socket.send_fds(conn, [text], [w])
        os.close(w)
        w = -1
        end = prog.wait(sandbox.timeout(3), "to exit after writing through the descriptor it received")
        os.set_blocking(r, False)
        try:
            got = os.read(r, 65536)
        except BlockingIOError:
            got = b""
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    if got != text:
        fail(f"the grader sent {text!r} with, as SCM_RIGHTS ancillary data, the write end of a pipe; "
             f"{prog.label} should have written that line through it.\n{block('the pipe got', got)}\n"
             f"{prog.label} {prog.describe_end()}")
    expect_exit(prog, end, 0)


@pytest.mark.points(2)
def test_fdpass_sends_descriptor(sandbox: Sandbox, net: Net) -> None:
    """unix_fdpass send passes a read-only descriptor of the file, with the file's name."""
    path = sandbox.path("f")
    file_path = sandbox.path("passed.txt")
    content = b"the content of the file whose descriptor was passed\n"
    with open(file_path, "wb") as f:
        f.write(content)
    os.chmod(file_path, 0o644)
    listener = listen(net, path)
    prog = sandbox.spawn([sandbox.student("unix_fdpass"), "send", path, file_path])
    conn = accept(sandbox, net, listener, prog)
    data, fds = b"", []
    deadline = time.monotonic() + sandbox.timeout(3)
    try:
        while b"\n" not in data and time.monotonic() < deadline:
            if not select.select([conn], [], [], 0.05)[0]:
                continue
            more, new_fds, _, _ = socket.recv_fds(conn, 4096, 4)
            fds += new_fds
            if not more:
                break
            data += more
        want = file_path.encode() + b"\n"
        if not fds:
            prog.try_wait(sandbox.timeout(1))  # to say how it ended
            fail(f"{prog.label} was expected to send {want!r} with, as SCM_RIGHTS ancillary data, a descriptor of "
                 f"{file_path}; the grader received {data!r} and no descriptor (a stream socket carries ancillary "
                 f"data only along with at least one byte of data).\n{prog.label} {prog.describe_end()}")
        st, mine = os.fstat(fds[0]), os.stat(file_path)
        if (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino):
            fail(f"the descriptor {prog.label} sent is not one of {file_path} (a different file: inode {st.st_ino}, "
                 f"not {mine.st_ino})")
        mode = fcntl.fcntl(fds[0], fcntl.F_GETFL) & os.O_ACCMODE
        if mode != os.O_RDONLY:
            fail(f"the descriptor of {file_path} that {prog.label} sent is open for writing; open it read-only")
        through = os.pread(fds[0], 4096, 0)
        if through != content:
            fail(f"reading through the descriptor {prog.label} sent gave {quote(through)!r}, not the file's content")
        if data != want:
            fail(f"{prog.label} sent the text {data!r} with the descriptor; expected the file name and a newline: "
                 f"{want!r}")
    finally:
        for fd in fds:
            os.close(fd)
    end = prog.wait(sandbox.timeout(3), "to exit after sending the descriptor")
    expect_exit(prog, end, 0)
