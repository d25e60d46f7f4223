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
"""
from __future__ import annotations

import fcntl
import os
import random
import select
import signal
import socket
import stat
import time
from typing import Callable, Iterator, Sequence

import pytest

from grader import faults, observe, sockets
from grader.checks import expect_exit
from grader.errors import block, fail, quote
from grader.faults import Received
from grader.observe import Blocked
from grader.proc import PIPE, Child
from grader.sandbox import Sandbox

NL = b"\n"
LINES = [b"hello, world", b"stream sockets keep no message boundaries", b"", b"A man, a plan, a canal: Panama"]


# -- the service --------------------------------------------------------------------------------
def answer(line: bytes) -> bytes:
    """The answer to one request line (given without its newline): the line reversed."""
    return line[::-1] + b"\n"


def answers(lines: Sequence[bytes]) -> bytes:
    return b"".join(answer(line) for line in lines)


def request(lines: Sequence[bytes]) -> bytes:
    return b"".join(line + b"\n" for line in lines)


def lines_in(count: int) -> Callable[[bytes], bool]:
    return lambda got: got.count(b"\n") >= count


# -- the programs -------------------------------------------------------------------------------
def kernel_view(child: Child) -> str:
    return observe.describe_tree(observe.descendants([child.pid]))


def wait_listening(sandbox: Sandbox, server: Child, path: str, hint: str = "", timeout_s: float = 3.0) -> None:
    """Wait until SERVER has a socket listening at PATH (fails with how it ended, or its state)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        if server.poll() is not None:
            fail(f"{server.label} was expected to listen on {path}, but it {server.describe_end()}"
                 + (f"\n{hint}" if hint else ""))
        if sockets.unix_listener(path, observe.descendants([server.pid])) is not None:
            return
        if time.monotonic() >= deadline:
            there = "a socket file is there" if os.path.exists(path) else "there is no file at that path"
            fail(f"{server.label} was expected to listen on {path} (socket(), bind(), listen()) within "
                 f"{sandbox.timeout(timeout_s):.1f} s, but no socket of it listens there ({there}); what the "
                 f"kernel shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)


def start_server(sandbox: Sandbox, net: Net, path: str = "", reference: bool = False) -> tuple[Child, str]:
    path = path or sandbox.path("s")
    net.paths.append(path)
    prog = sandbox.reference("unix_server") if reference else sandbox.student("unix_server")
    server = sandbox.spawn([prog, path])
    wait_listening(sandbox, server, path)
    return server, path


def waiting_for_client(b: Blocked) -> bool:
    """Asleep in accept() (or poll/select/epoll_wait, for a server that multiplexes)."""
    return b.is_("accept") or b.is_("poll")


def reading_request(b: Blocked) -> bool:
    """Asleep in read()/recv() on a socket (or poll/select/epoll_wait)."""
    return b.is_("recv", on="socket") or b.is_("poll")


def settle(sandbox: Sandbox, server: Child, grace_s: float = 1.0) -> None:
    """Give SERVER up to GRACE_S to fall asleep waiting for clients; never fails (a server that
    busy-waits is test_server_waits_in_accept's business)."""
    deadline = time.monotonic() + sandbox.timeout(grace_s)
    while server.poll() is None and time.monotonic() < deadline:
        if any(waiting_for_client(b) for b in observe.all_blocked(observe.descendants([server.pid]))):
            return
        time.sleep(observe.POLL_S)


def interrupt(sandbox: Sandbox, b: Blocked, server: Child) -> None:
    """sandbox.interrupt, worded right when only the thread (not the process) that was
    interrupted ends: a threaded server drops that client and carries on."""
    __tracebackhide__ = True
    try:
        sandbox.interrupt(b)
        return
    except pytest.fail.Exception as exc:
        message = str(exc.msg)
    alive = server.poll() is None and observe.state(b.pid) not in (None, "Z")
    if alive and b.tid != b.pid and b.tid not in observe.threads(b.pid):
        message = (f"{server.label}: its {observe.pretty(b.call)} was interrupted by a signal (EINTR) and, instead "
                   f"of retrying the call, the thread that made it (tid {b.tid}) ended: that client was dropped.\n"
                   + block("its stderr (last lines)", b"\n".join(server.stderr().splitlines()[-6:])))
    fail(message)


def quiet(server: Child, sock: socket.socket) -> Callable[[], bool]:
    """For a slow reader: the server waits for the grader to read (a thread asleep in write() on
    a socket), or has read every request sent on SOCK, or sleeps entirely."""

    def test() -> bool:
        tree = observe.descendants([server.pid])
        return (any(b.is_("send", on="socket") for b in observe.all_blocked(tree))
                or faults.peer_unread(sock) == 0 or not observe.busy_threads(tree))

    return test


class Net:
    """The grader's own sockets in a check, and the socket files there; closed and removed at
    the end of the check, before the sandbox looks for leftovers (a server the grader kills
    cannot remove its socket file: that is no leak of the student's)."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.paths: list[str] = []

    def close(self) -> None:
        for s in self.sockets:
            s.close()
        for path in self.paths:
            try:
                if stat.S_ISSOCK(os.lstat(path).st_mode):
                    os.unlink(path)
            except OSError:
                pass


@pytest.fixture
def net() -> Iterator[Net]:
    box = Net()
    yield box
    box.close()


def connect(net: Net, path: str, server: Child) -> socket.socket:
    __tracebackhide__ = True
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    net.sockets.append(s)
    s.settimeout(3.0)
    try:
        s.connect(path)
        failed = None
    except OSError as exc:
        failed = exc.strerror
    if failed:
        fail(f"the grader could not connect to {path}: {failed}; {server.label} {server.describe_end()}")
    s.settimeout(None)
    return s


def listen(net: Net, path: str) -> socket.socket:
    """The grader's own server socket at PATH."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    net.sockets.append(s)
    net.paths.append(path)
    s.bind(path)
    s.listen(8)
    return s


def accept(sandbox: Sandbox, net: Net, listener: socket.socket, client: Child, what: str) -> socket.socket:
    """Wait for CLIENT to connect to LISTENER (fails if it ends or does not within 3 s)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(3)
    while not select.select([listener], [], [], 0.01)[0]:
        if client.poll() is not None:
            fail(f"{client.label} was expected to connect to {listener.getsockname()} {what}, but it "
                 f"{client.describe_end()}")
        if time.monotonic() >= deadline:
            fail(f"{client.label} did not connect to {listener.getsockname()} within {sandbox.timeout(3):.1f} s "
                 f"{what}; what the kernel shows:\n{kernel_view(client)}")
    conn, _ = listener.accept()
    net.sockets.append(conn)
    return conn


def client_state(client: Child) -> str:
    """How CLIENT ended (with what it printed), or what the kernel shows of it.  (A client that
    has just closed its socket may still be exiting: give it a moment to be reaped.)"""
    if client.try_wait(0.5) is not None:
        return f"{client.label} {client.describe_end()}\n{block('its output so far', client.stdout())}"
    return "what the kernel shows:\n" + kernel_view(client)


def stale_socket(path: str) -> None:
    """Leave a socket file at PATH that nobody listens on, as a server that crashed does."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def expect_answers(what: str, lines: Sequence[bytes], got: Received, server: Child) -> None:
    """Fail unless GOT holds exactly the answers to LINES."""
    __tracebackhide__ = True
    want = answers(lines)
    if got.data == want:
        return
    msg = [f"{what}: expected the answer to each request line (the line reversed, then a newline), "
           f"but {got.describe()}.",
           block("requests sent", request(lines), 400), block("answers expected", want, 400),
           block("answers received", got.data, 400)]
    if got.end == "timeout" and server.poll() is None:
        msg.append("what the kernel shows:\n" + kernel_view(server))
    else:
        msg.append(f"{server.label} {server.describe_end()}")
    fail("\n".join(msg))


def ask(sandbox: Sandbox, server: Child, sock: socket.socket, lines: Sequence[bytes], what: str) -> None:
    """Send LINES one at a time, each in one write once the previous one is answered, as the
    reference client does, and check the answers (splitting is test_server_answers_split_requests'
    business)."""
    __tracebackhide__ = True
    for i, line in enumerate(lines):
        sock.sendall(line + NL)
        got = faults.read_until(sock, lines_in(1), sandbox.timeout(3))
        expect_answers(what, lines[:i + 1], Received(answers(lines[:i]) + got.data, got.end), server)


# -- the server ---------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_server_answers_reference_client(sandbox: Sandbox, net: Net) -> None:
    """Your server answers the reference client, line by line."""
    server, path = start_server(sandbox, net)
    client = sandbox.spawn([sandbox.reference("unix_client"), path], stdin=PIPE)
    client.feed(request(LINES), sandbox.timeout(3))
    client.close_stdin()
    end = client.try_wait(sandbox.timeout(3))
    out = client.stdout()
    if out != answers(LINES):
        fail(f"the reference unix_client sent {len(LINES)} lines to your server, one at a time, and printed what "
             f"came back:\n{block('expected', answers(LINES))}\n{block('got', out)}\n"
             f"the reference unix_client {client.describe_end()}\n"
             + (f"{server.label} {server.describe_end()}" if server.poll() is not None
                else "what the kernel shows of your server:\n" + kernel_view(server)))
    if end is None:
        fail("the reference unix_client got its answers but did not end after closing the connection; "
             f"what the kernel shows:\n{observe.describe_tree(sandbox.processes())}")
    expect_exit(client, end, 0)


@pytest.mark.points(3)
def test_server_answers_split_requests(sandbox: Sandbox, net: Net) -> None:
    """Requests in pieces (each read before the next is sent), pieces across newlines, many
    requests in one write with the answers read slowly: each answer whole and in order."""
    server, path = start_server(sandbox, net)
    sock = connect(net, path, server)
    evidence = lambda: "what the kernel shows:\n" + kernel_view(server)  # noqa: E731

    line = b"hello, split world"
    faults.send_in_pieces(sock, line + b"\n", timeout_s=sandbox.timeout(3), peer=server.label, evidence=evidence)
    got = faults.read_until(sock, lines_in(1), sandbox.timeout(3))
    expect_answers("one request sent in pieces of 1 to 3 bytes, each read by your server before the next was "
                   "sent (a request may take several read() calls: keep reading until the newline)",
                   [line], got, server)

    three = [b"one", b"two", b"three"]
    faults.send_in_pieces(sock, request(three), timeout_s=sandbox.timeout(3), peer=server.label,
                          evidence=evidence, sizes=(5, 6, 3))
    got = faults.read_until(sock, lines_in(3), sandbox.timeout(3))
    expect_answers("three requests sent as 'one\\nt', 'wo\\nthr', 'ee\\n' (one read() may end in the middle of "
                   "a request, or hold the end of one and the start of the next)", three, got, server)

    rng = random.Random(11)
    batch = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(rng.randrange(200, 2000)))
             for _ in range(40)]
    sock.sendall(request(batch))
    got = faults.read_until(sock, lines_in(len(batch)), sandbox.timeout(3), chunk=512, idle=quiet(server, sock))
    if got.data != answers(batch):
        expect_answers(f"{len(batch)} requests ({len(request(batch))} bytes) in one write, the answers read 512 "
                       "bytes at a time (one read() may hold many requests: answer each)", batch, got, server)


@pytest.mark.points(2)
def test_server_serves_clients_at_once(sandbox: Sandbox, net: Net) -> None:
    """Three clients connected at once are each answered while the others stay connected."""
    server, path = start_server(sandbox, net)
    clients = [connect(net, path, server) for _ in range(3)]
    order = ["first", "second", "third"]
    for rnd in range(2):
        for i in (2, 1, 0):
            line = f"round {rnd + 1}, client {i + 1} of 3".encode()
            clients[i].sendall(line + b"\n")
            got = faults.read_until(clients[i], lines_in(1), sandbox.timeout(3))
            if got.data != answer(line):
                others = ", ".join(order[j] for j in range(3) if j != i)
                fail(f"three clients were connected at once; the {order[i]} one to connect sent {line!r} while the "
                     f"{others} stayed connected; expected the answer {answer(line)!r}, but {got.describe()}"
                     f"{': ' + repr(got.data) if got.data else ''}.\nA server that serves one client until it "
                     "leaves makes the others wait: serve each client in a process or a thread of its own, or "
                     "watch them all with poll().\n"
                     + (f"{server.label} {server.describe_end()}" if server.poll() is not None
                        else "what the kernel shows:\n" + kernel_view(server)))


@pytest.mark.points(1)
def test_server_waits_in_accept(sandbox: Sandbox, net: Net) -> None:
    """Idle, the server sleeps in accept() (or poll/select/epoll_wait): no busy-waiting."""
    server, path = start_server(sandbox, net)
    what = ("{} to sleep in accept() (or in poll()/select()/epoll_wait()) while no client has anything to say, "
            "not to spin in a loop")
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, just started,"), among=[server])
    sock = connect(net, path, server)
    ask(sandbox, server, sock, LINES[:1], "a client's request")
    sock.close()
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, after its client left,"), among=[server])


def server_counts(server: Child) -> tuple[list[int], list[int], list[tuple[int, int, int]]]:
    """(live processes, zombies, socket fds) of SERVER's tree."""
    tree = observe.descendants([server.pid])
    live = [p for p in tree if observe.state(p) not in (None, "Z")]
    zombies = [p for p in tree if observe.state(p) == "Z"]
    return live, zombies, sockets.socket_fds(live)


@pytest.mark.points(1)
def test_server_tidy_after_clients(sandbox: Sandbox, net: Net) -> None:
    """Once its clients have left, the server has closed their connections and keeps no zombie
    and no more processes than it had before they came."""
    server, path = start_server(sandbox, net)
    settle(sandbox, server)
    live0, _, socks0 = server_counts(server)
    for i in range(3):
        c = connect(net, path, server)
        ask(sandbox, server, c, [f"client {i + 1}".encode()], f"client {i + 1} of 3")
        c.close()
    deadline = time.monotonic() + sandbox.timeout(3)
    while True:
        live, zombies, socks = server_counts(server)
        problems = []
        if zombies:
            problems.append("zombies (children that ended and were never waited for): "
                            + ", ".join(observe.describe_process(z) for z in zombies))
        if len(live) > len(live0):
            problems.append(f"{len(live)} processes where there were {len(live0)} before the clients came:\n"
                            + observe.describe_tree(live))
        if len(socks) > len(socks0):
            kept = ", ".join(f"pid {p} fd {fd}" for p, fd, _ in socks)
            problems.append(f"{len(socks)} open sockets where there were {len(socks0)} before the clients came "
                            f"({kept}): close each connection once its client has left (read() returned 0)")
        if not problems:
            return
        if server.poll() is not None:
            fail(f"{server.label} {server.describe_end()} after its clients left")
        if time.monotonic() >= deadline:
            fail(f"{sandbox.timeout(3):.1f} s after its 3 clients had left, {server.label} still has:\n"
                 + "\n".join(f"  - {p}" for p in problems))
        time.sleep(observe.POLL_S)


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
            fail(f"{server.label} was {end} and its socket file {path} is "
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
    reader = sandbox.wait_blocked(reading_request, f"{server.label} to sleep in read() (or recv(), poll()) waiting "
                                  "for the request of the client that has just connected", among=[server])
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
    end = server.poll()
    if end is not None:
        hint = ("ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or write with send(..., MSG_NOSIGNAL), and close the "
                "connection when write() fails with EPIPE" if end.term_signal == signal.SIGPIPE else
                "a write() that fails with EPIPE ends that connection, not the server")
        fail(f"{what}, and {server.label} {server.describe_end()}: {hint}")
    ask(sandbox, server, connect(net, path, server), LINES, "a new client, after one had left early")
    end = server.poll()
    if end is not None:
        fail(f"{server.label} {server.describe_end()} after a client had left early")


@pytest.mark.points(1)
def test_server_accept_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """An accept() interrupted by a signal (EINTR) is retried: the server still serves."""
    server, path = start_server(sandbox, net)
    b = sandbox.wait_blocked(waiting_for_client, f"{server.label} to sleep in accept() (or poll()) waiting for "
                             "a client", among=[server])
    interrupt(sandbox, b, server)
    ask(sandbox, server, connect(net, path, server), LINES, "a client, after accept() was interrupted")


@pytest.mark.points(1)
def test_server_read_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """A read() of a request interrupted by a signal (EINTR) is retried: the request is answered."""
    server, path = start_server(sandbox, net)
    sock = connect(net, path, server)
    b = sandbox.wait_blocked(reading_request, f"{server.label} to sleep in read() (or recv(), poll()) waiting for "
                             "the request of the client that has just connected", among=[server])
    interrupt(sandbox, b, server)
    ask(sandbox, server, sock, LINES, "a client whose server's read() was interrupted by a signal before the "
        "request came")


# -- the client ---------------------------------------------------------------------------------
def run_client(sandbox: Sandbox, path: str, lines: Sequence[bytes]) -> Child:
    client = sandbox.spawn([sandbox.student("unix_client"), path], stdin=PIPE)
    client.feed(request(lines), sandbox.timeout(3))
    client.close_stdin()
    return client


def expect_client_output(sandbox: Sandbox, client: Child, lines: Sequence[bytes], how: str) -> None:
    __tracebackhide__ = True
    end = client.try_wait(sandbox.timeout(3))
    out = client.stdout()
    if out != answers(lines):
        fail(f"{client.label} was given {len(lines)} lines on its standard input; {how}. It should print each "
             f"answer line as it came:\n{block('expected', answers(lines))}\n{block('got', out)}\n"
             f"{client.label} {client.describe_end()}")
    if end is None:
        fail(f"{client.label} printed the answers but did not exit at the end of its input; what the kernel "
             f"shows:\n{kernel_view(client)}")
    expect_exit(client, end, 0, "once it has printed every answer")


@pytest.mark.points(2)
def test_client_with_reference_server(sandbox: Sandbox, net: Net) -> None:
    """Your client, with the reference server, prints the answer to each line of its input."""
    _, path = start_server(sandbox, net, reference=True)
    client = run_client(sandbox, path, LINES)
    expect_client_output(sandbox, client, LINES, "the reference unix_server answered each")


@pytest.mark.points(2)
def test_client_reads_whole_answers(sandbox: Sandbox, net: Net) -> None:
    """Your client prints whole answers when they arrive in pieces (each read before the next)."""
    path = sandbox.path("s")
    listener = listen(net, path)
    client = run_client(sandbox, path, LINES)
    conn = accept(sandbox, net, listener, client, "(the path it was given)")
    evidence = lambda: client_state(client)  # noqa: E731
    buffered = b""
    for line in LINES:
        if NL in buffered:
            got = Received(b"", "done")
        else:
            got = faults.read_until(conn, lambda more: NL in more, sandbox.timeout(3))
        buffered += got.data
        if b"\n" not in buffered:
            fail(f"{client.label} was expected to send the request {line + NL!r}, but {got.describe()}: "
                 f"{buffered!r}\n{client.label} {client.describe_end()}")
        req, buffered = buffered.split(b"\n", 1)
        if req != line:
            fail(f"{client.label} sent the request {req + NL!r}; the line of its input was {line + NL!r}")
        faults.send_in_pieces(conn, answer(line), timeout_s=sandbox.timeout(3), peer=client.label,
                              evidence=evidence)
    expect_client_output(sandbox, client, LINES, "the grader, as the server, sent each answer in pieces of 1 to 3 "
                         "bytes, each read by your client before the next was sent (an answer may take several "
                         "read() calls: read until the newline)")


@pytest.mark.points(1)
def test_client_reports_missing_server(sandbox: Sandbox, net: Net) -> None:
    """With no server at the path, the client says why on stderr and exits with 2."""
    stale = sandbox.path("stale")
    stale_socket(stale)
    net.paths.append(stale)
    cases = [(sandbox.path("nobody"), "no file at the path", "No such file or directory"),
             (stale, "a socket file nobody listens on", "Connection refused")]
    for path, situation, reason in cases:
        r, w = os.pipe()
        os.write(w, b"hello\n")
        os.close(w)
        client = sandbox.spawn([sandbox.student("unix_client"), path], stdin=r)
        os.close(r)
        end = client.wait(sandbox.timeout(3), f"to give up at once ({situation})")
        err = client.stderr().decode("utf-8", "replace")
        if end.exit_code != 2 or reason.lower() not in err.lower():
            fail(f"{client.label} {path} with {situation}: connect() fails with {reason!r}; the client should say "
                 f"so on stderr (with the reason, as perror() or strerror() gives it) and exit with 2.\n"
                 f"It {end}.\n{block('its stderr', err)}")


# -- passing descriptors ------------------------------------------------------------------------
@pytest.mark.points(2)
def test_fdpass_receives_descriptor(sandbox: Sandbox, net: Net) -> None:
    """unix_fdpass recv writes the line it received through the descriptor that came with it."""
    path = sandbox.path("f")
    listener = listen(net, path)
    prog = sandbox.spawn([sandbox.student("unix_fdpass"), "recv", path])
    conn = accept(sandbox, net, listener, prog, "(the path it was given)")
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
    conn = accept(sandbox, net, listener, prog, "(the path it was given)")
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
