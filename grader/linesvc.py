"""The line-reversing stream service the socket assignments share (``unix-socket``, ``tcp``): its
framing, the grader as its client and server, and judging answers.

The service: a client sends requests on a stream socket, each a line of at most 4096 bytes ended
by a newline; the server answers each with the line reversed, then a newline, in order.  The two
assignments differ in the address, which every helper takes as Python's socket module does
(``Address``): a socket file's path for AF_UNIX, ``(host, port)`` for TCP (IPv4 or IPv6); and in
what their specs call reading a request (``read_call``: ``read()``, ``recv()``), so that each
student reads the word of their own spec.  The ``check_*`` functions are the checks both make:
each test module keeps the check's name, points and docstring, and passes its own server and
address.

A test module takes the ``net`` fixture by naming it at its top level (pytest finds a fixture
under the name it has there)::

    net = linesvc.net

Trap: a check must list ``net`` after ``sandbox`` among its arguments.  pytest tears fixtures
down in the reverse order, so the grader's sockets are closed and its socket files removed
before the sandbox looks for leftovers; the other way round, a socket file of the grader's (or
of a server the grader killed, which could not remove it) is blamed on the student.
"""
from __future__ import annotations

import fcntl
import os
import random
import select
import signal
import socket
import stat
import struct
import termios
import time
from typing import Callable, Iterator, Literal, Optional, Sequence, TypeAlias, Union

import pytest

from grader import faults, observe, sockets
from grader.checks import expect_exit
from grader.errors import block, fail
from grader.faults import Received
from grader.observe import Blocked
from grader.proc import PIPE, Child
from grader.sandbox import Sandbox
from grader.sockets import TcpSocket

NL = b"\n"
HOST = "127.0.0.1"  # the loopback address every TCP program of a check uses
Address: TypeAlias = Union[str, tuple[str, int]]  # a socket file's path (AF_UNIX), or (host, port) (TCP)
ReadCall: TypeAlias = Literal["read()", "recv()"]  # what a spec calls reading a request
_OTHER_READ = {"read()": "recv()", "recv()": "read()"}


# -- framing ------------------------------------------------------------------------------------
def answer(line: bytes) -> bytes:
    """The answer to one request line (given without its newline): the line reversed."""
    return line[::-1] + NL


def answers(lines: Sequence[bytes]) -> bytes:
    """The answers to LINES, in order, as the server sends them."""
    return b"".join(answer(line) for line in lines)


def request(lines: Sequence[bytes]) -> bytes:
    """LINES as a client sends them: each followed by a newline."""
    return b"".join(line + NL for line in lines)


def lines_in(count: int) -> Callable[[bytes], bool]:
    """For ``faults.read_until``: true once COUNT newlines have arrived."""
    return lambda got: got.count(NL) >= count


def random_lines(count: int, seed: int) -> list[bytes]:
    """COUNT lines of 200 to 1999 letters, digits and spaces; the same ones for a SEED every run."""
    rng = random.Random(seed)
    return [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(rng.randrange(200, 2000)))
            for _ in range(count)]


# -- addresses ----------------------------------------------------------------------------------
def family(address: Address) -> socket.AddressFamily:
    """AF_UNIX for a path, AF_INET6 for an IPv6 host, AF_INET otherwise."""
    if isinstance(address, str):
        return socket.AF_UNIX
    return socket.AF_INET6 if ":" in address[0] else socket.AF_INET


def where(address: Address) -> str:
    """ADDRESS for a message: the path, or 'host:port'."""
    return address if isinstance(address, str) else f"{address[0]}:{address[1]}"


def arguments(address: Address) -> list[str]:
    """ADDRESS as a client program takes it on its command line: PATH, or HOST PORT."""
    return [address] if isinstance(address, str) else [address[0], str(address[1])]


def bound(sock: socket.socket) -> Address:
    """Where SOCK is bound (a TCP socket bound to port 0 got a free one)."""
    name = sock.getsockname()
    return name if isinstance(name, str) else (str(name[0]), int(name[1]))


def reachable(listener: TcpSocket) -> Address:
    """Where the grader connects to reach LISTENER (a wildcard address is reached on loopback)."""
    host, port = listener.local
    if ":" in host:
        return ("::1" if host == "::" else host), port
    return (HOST if host == "0.0.0.0" else host), port


# -- the programs -------------------------------------------------------------------------------
def kernel_view(child: Child) -> str:
    """What the kernel shows of CHILD and its descendants: state, and the call each thread sleeps in."""
    return observe.describe_tree(observe.descendants([child.pid]))


def server_state(server: Child, heading: str = "what the kernel shows") -> str:
    """How SERVER ended, or (still running) HEADING and what the kernel shows of it."""
    if server.poll() is not None:
        return f"{server.label} {server.describe_end()}"
    return f"{heading}:\n{kernel_view(server)}"


def client_state(client: Child) -> str:
    """How CLIENT ended (with what it printed), or what the kernel shows of it.  (A client that
    has just closed its socket may still be exiting: give it a moment to be reaped.)"""
    if client.try_wait(0.5) is not None:
        return f"{client.label} {client.describe_end()}\n{block('its output so far', client.stdout())}"
    return "what the kernel shows:\n" + kernel_view(client)


def _listening(server: Child, address: Address) -> Optional[Address]:
    tree = observe.descendants([server.pid])
    if isinstance(address, str):
        return address if sockets.unix_listener(address, tree) is not None else None
    host, port = address
    found = sorted(sockets.tcp_listeners(tree), key=lambda s: (s.local[1] != port, s.local[0] != host))
    return reachable(found[0]) if found else None


def wait_listening(sandbox: Sandbox, server: Child, address: Address, hint: str = "",
                   timeout_s: float = 3.0) -> Address:
    """Wait until SERVER listens, and return where the grader reaches it.  A path must be
    listened on; for (host, port) any listening TCP socket of SERVER will do (the one on that
    port first), so that a server on a wrong port or interface is still served and only the
    check of its address fails.  Fails with how SERVER ended (and HINT), or with what the kernel
    shows of it after TIMEOUT_S (scaled)."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        if server.poll() is not None:
            fail(f"{server.label} was expected to listen on {where(address)}, but it {server.describe_end()}"
                 + (f"\n{hint}" if hint else ""))
        found = _listening(server, address)
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            there = ""
            if isinstance(address, str):
                there = " there ({})".format("a socket file is there" if os.path.exists(address)
                                             else "there is no file at that path")
            fail(f"{server.label} was expected to listen on {where(address)} (socket(), bind(), listen()) within "
                 f"{sandbox.timeout(timeout_s):.1f} s, but no socket of it listens{there}; what the kernel "
                 f"shows:\n{kernel_view(server)}")
        time.sleep(observe.POLL_S)


def waiting_for_client(b: Blocked) -> bool:
    """Asleep in accept() (or poll/select/epoll_wait, for a server that multiplexes)."""
    return b.is_("accept") or b.is_("poll")


def reading_request(b: Blocked) -> bool:
    """Asleep in read()/recv() on a socket (or poll/select/epoll_wait)."""
    return b.is_("recv", on="socket") or b.is_("poll")


def wait_reading(sandbox: Sandbox, server: Child, read_call: ReadCall) -> Blocked:
    """Wait until SERVER sleeps waiting for the request of a client that has just connected."""
    __tracebackhide__ = True
    return sandbox.wait_blocked(reading_request, f"{server.label} to sleep in {read_call} (or "
                                f"{_OTHER_READ[read_call]}, poll()) waiting for the request of the client that has "
                                "just connected", among=[server])


def settle(sandbox: Sandbox, server: Child, grace_s: float = 1.0) -> None:
    """Give SERVER up to GRACE_S to fall asleep waiting for clients; never fails (a server that
    busy-waits is test_server_waits_in_accept's business)."""
    deadline = time.monotonic() + sandbox.timeout(grace_s)
    while server.poll() is None and time.monotonic() < deadline:
        if any(waiting_for_client(b) for b in observe.all_blocked(observe.descendants([server.pid]))):
            return
        time.sleep(observe.POLL_S)


def interrupt(sandbox: Sandbox, b: Blocked, server: Child) -> Blocked:
    """sandbox.interrupt, worded right when only the thread or child process that was
    interrupted ends: the server drops that client and carries on.  Returns the call it went
    back to."""
    __tracebackhide__ = True
    try:
        return sandbox.interrupt(b)
    except pytest.fail.Exception as exc:
        message = str(exc.msg)
    if server.poll() is None and (b.pid != server.pid or b.tid != b.pid):
        process_gone = observe.state(b.pid) in (None, "Z")
        if process_gone or b.tid not in observe.threads(b.pid):
            who = (f"child process that made it (pid {b.pid})" if process_gone and b.pid != server.pid
                   else f"thread that made it (tid {b.tid})")
            message = (f"{server.label}: its {observe.pretty(b.call)} was interrupted by a signal (EINTR) and, "
                       f"instead of retrying the call, the {who} ended: that client was dropped.")
            tail = b"\n".join(server.stderr().splitlines()[-6:])
            if tail:
                message += "\n" + block(f"stderr of {server.label} (last lines)", tail)
    fail(message)


def server_counts(server: Child, address: Address) -> tuple[list[int], list[int], int, str]:
    """Live processes and zombies of SERVER's tree, and how many sockets the live ones hold with
    those that matter described: TCP connections with their states (not the listening socket),
    AF_UNIX sockets by pid and fd."""
    tree = observe.descendants([server.pid])
    live = [p for p in tree if observe.state(p) not in (None, "Z")]
    zombies = [p for p in tree if observe.state(p) == "Z"]
    if isinstance(address, str):
        fds = sockets.socket_fds(live)
        return live, zombies, len(fds), ", ".join(f"pid {p} fd {fd}" for p, fd, _ in fds)
    held = sockets.tcp_held(live)
    return live, zombies, len(held), "; ".join(s.describe() for s in held if s.state != "LISTEN")


# -- the grader's sockets -----------------------------------------------------------------------
class Net:
    """The grader's own sockets in a check, and the socket files there; closed and removed at
    the end of the check, before the sandbox looks for leftovers (a server the grader kills
    cannot remove its socket file: that is no leak of the student's)."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []
        self.paths: list[str] = []

    def close(self) -> None:
        """Close every socket; remove every socket file still at one of the paths."""
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
    """The grader's sockets and socket files of one check (see the trap in the module's docstring)."""
    box = Net()
    yield box
    box.close()


def connect(net: Net, address: Address, server: Child, rcvbuf: int = 0) -> socket.socket:
    """A connection to SERVER at ADDRESS (with a receive buffer of RCVBUF bytes, if given)."""
    __tracebackhide__ = True
    s = socket.socket(family(address), socket.SOCK_STREAM)
    net.sockets.append(s)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: the window follows it
    s.settimeout(3.0)
    try:
        s.connect(address)
        failed = None
    except OSError as exc:
        failed = exc.strerror
    if failed:
        fail(f"the grader could not connect to {where(address)}: {failed}; {server.label} {server.describe_end()}")
    s.settimeout(None)
    return s


def listen(net: Net, address: Address) -> socket.socket:
    """The grader's own server socket at ADDRESS (port 0: a free one; see ``bound``)."""
    s = socket.socket(family(address), socket.SOCK_STREAM)
    net.sockets.append(s)
    if isinstance(address, str):
        net.paths.append(address)
    s.bind(address)
    s.listen(8)
    return s


def accept(sandbox: Sandbox, net: Net, listener: socket.socket, client: Child) -> socket.socket:
    """Wait for CLIENT to connect to LISTENER (fails if it ends or does not within 3 s)."""
    __tracebackhide__ = True
    address = bound(listener)
    given = f"(the {'path' if isinstance(address, str) else 'address'} it was given)"
    deadline = time.monotonic() + sandbox.timeout(3)
    while not select.select([listener], [], [], 0.01)[0]:
        if client.poll() is not None:
            fail(f"{client.label} was expected to connect to {where(address)} {given}, but it "
                 f"{client.describe_end()}")
        if time.monotonic() >= deadline:
            fail(f"{client.label} did not connect to {where(address)} within {sandbox.timeout(3):.1f} s "
                 f"{given}; what the kernel shows:\n{kernel_view(client)}")
    conn, _ = listener.accept()
    net.sockets.append(conn)
    return conn


# -- the grader as a client ---------------------------------------------------------------------
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
    """Send LINES one at a time, each in one send() once the previous one is answered, as the
    reference client does, and check the answers (splitting is test_server_answers_split_requests'
    business)."""
    __tracebackhide__ = True
    for i, line in enumerate(lines):
        sock.sendall(line + NL)
        got = faults.read_until(sock, lines_in(1), sandbox.timeout(3))
        expect_answers(what, lines[:i + 1], Received(answers(lines[:i]) + got.data, got.end), server)


def stall(sandbox: Sandbox, server: Child, sock: socket.socket, data: bytes,
          paced: Optional[list[bytes]] = None) -> tuple[int, Blocked]:
    """Send DATA (requests) on SOCK without reading any answer, until the server stops to wait for
    the grader: a thread asleep in send()/write() on a socket, or (a server that multiplexes)
    every thread asleep with requests unread.  Returns the bytes sent and that thread.  With
    PACED (the lines of DATA), send one line at a time, each once the server has read the one
    before; then the count returned is of lines."""
    __tracebackhide__ = True

    def stalled() -> Optional[Blocked]:
        tree = observe.descendants([server.pid])
        sleeping = observe.all_blocked(tree)
        for b in sleeping:
            if b.is_("send", on="socket"):
                return b
        if not sleeping or observe.busy_threads(tree):
            return None
        if faults.peer_unread(sock) > 0:
            return sleeping[0]  # every thread asleep with requests unread: it waits for the grader
        if unread_answers(sock) > 0:
            # It has read every request and queued its answers itself (a server that multiplexes
            # and buffers): asleep in poll()/select() until the grader reads.
            return next((b for b in sleeping if b.is_("poll")), None)
        return None

    if paced is not None:
        sent = faults.send_each_read(sock, [line + NL for line in paced], until=lambda: stalled() is not None,
                                     timeout_s=sandbox.timeout(3))
    else:
        sent = faults.flood(sock, data, until=lambda: stalled() is not None, timeout_s=sandbox.timeout(3))
    deadline = time.monotonic() + sandbox.timeout(3)
    writer = stalled()
    while writer is None and server.poll() is None and time.monotonic() < deadline:
        time.sleep(observe.POLL_S)  # what was sent last is still being worked through
        writer = stalled()
    if writer is None:
        if server.poll() is not None:
            fail(f"{server.label} {server.describe_end()} while a client sent requests without reading the answers")
        fail(f"a client sent {sent} bytes of requests without reading any answer, and {server.label} did not stop "
             f"to wait for it within {sandbox.timeout(3):.1f} s; what the kernel shows:\n{kernel_view(server)}")
    return sent, writer


def unread_answers(sock: socket.socket) -> int:
    """Bytes the server has sent on SOCK that the grader has not read yet (FIONREAD)."""
    buf = bytearray(4)
    fcntl.ioctl(sock.fileno(), termios.FIONREAD, buf)
    return int(struct.unpack("i", buf)[0])


def quiet(server: Child, sock: socket.socket) -> Callable[[], bool]:
    """For a slow reader (``faults.read_until(..., idle=...)``): the server waits for the grader
    to read (a thread asleep in write() on a socket), or has read every request sent on SOCK,
    or sleeps entirely."""

    def test() -> bool:
        tree = observe.descendants([server.pid])
        return (any(b.is_("send", on="socket") for b in observe.all_blocked(tree))
                or faults.peer_unread(sock) == 0 or not observe.busy_threads(tree))

    return test


# -- the student's client -----------------------------------------------------------------------
def run_client(sandbox: Sandbox, prog: str, address: Address, lines: Sequence[bytes]) -> Child:
    """Start the client PROG for ADDRESS with LINES (as requests) on its standard input."""
    client = sandbox.spawn([prog, *arguments(address)], stdin=PIPE)
    client.feed(request(lines), sandbox.timeout(3))
    client.close_stdin()
    return client


def expect_client_output(sandbox: Sandbox, client: Child, lines: Sequence[bytes], how: str) -> None:
    """Fail unless CLIENT, given LINES, printed their answers and exited with 0; HOW says how the
    server answered."""
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


# -- the checks both assignments make -----------------------------------------------------------
def check_answers_reference_client(sandbox: Sandbox, server: Child, prog: str, address: Address,
                                   lines: Sequence[bytes]) -> None:
    """The reference client PROG, given LINES, prints their answers from SERVER and exits with 0."""
    __tracebackhide__ = True
    client = run_client(sandbox, prog, address, lines)
    end = client.try_wait(sandbox.timeout(3))
    out = client.stdout()
    if out != answers(lines):
        fail(f"{client.label} sent {len(lines)} lines to your server, one at a time, and printed what "
             f"came back:\n{block('expected', answers(lines))}\n{block('got', out)}\n"
             f"{client.label} {client.describe_end()}\n" + server_state(server, "what the kernel shows of your server"))
    if end is None:
        fail(f"{client.label} got its answers but did not end after closing the connection; "
             f"what the kernel shows:\n{observe.describe_tree(sandbox.processes())}")
    expect_exit(client, end, 0)


def check_split_requests(sandbox: Sandbox, server: Child, sock: socket.socket, read_call: ReadCall) -> None:
    """A request in pieces of 1 to 3 bytes, each read before the next is sent, then three
    requests in pieces across their newlines: each answer whole."""
    __tracebackhide__ = True
    evidence = lambda: "what the kernel shows:\n" + kernel_view(server)  # noqa: E731

    line = b"hello, split world"
    faults.send_in_pieces(sock, line + NL, timeout_s=sandbox.timeout(3), peer=server.label, evidence=evidence)
    got = faults.read_until(sock, lines_in(1), sandbox.timeout(3))
    expect_answers("one request sent in pieces of 1 to 3 bytes, each read by your server before the next was "
                   f"sent (a request may take several {read_call} calls: keep reading until the newline)",
                   [line], got, server)

    three = [b"one", b"two", b"three"]
    faults.send_in_pieces(sock, request(three), timeout_s=sandbox.timeout(3), peer=server.label,
                          evidence=evidence, sizes=(5, 6, 3))
    got = faults.read_until(sock, lines_in(3), sandbox.timeout(3))
    expect_answers(f"three requests sent as 'one\\nt', 'wo\\nthr', 'ee\\n' (one {read_call} may end in the middle "
                   "of a request, or hold the end of one and the start of the next)", three, got, server)


def check_serves_clients_at_once(sandbox: Sandbox, net: Net, server: Child, address: Address) -> None:
    """Three clients connect; the last asks first, and so on, twice: each is answered while the
    others stay connected."""
    __tracebackhide__ = True
    clients = [connect(net, address, server) for _ in range(3)]
    order = ["first", "second", "third"]
    for rnd in range(2):
        for i in (2, 1, 0):
            line = f"round {rnd + 1}, client {i + 1} of 3".encode()
            clients[i].sendall(line + NL)
            got = faults.read_until(clients[i], lines_in(1), sandbox.timeout(3))
            if got.data != answer(line):
                others = ", ".join(order[j] for j in range(3) if j != i)
                fail(f"three clients were connected at once; the {order[i]} one to connect sent {line!r} while the "
                     f"{others} stayed connected; expected the answer {answer(line)!r}, but {got.describe()}"
                     f"{': ' + repr(got.data) if got.data else ''}.\nA server that serves one client until it "
                     "leaves makes the others wait: serve each client in a process (fork) or a thread of its own, "
                     "or watch them all with poll().\n" + server_state(server))


def check_waits_in_accept(sandbox: Sandbox, net: Net, server: Child, address: Address,
                          lines: Sequence[bytes]) -> None:
    """SERVER sleeps waiting for clients, just started and after a client (asking LINES[0]) left."""
    __tracebackhide__ = True
    what = ("{} to sleep in accept() (or in poll()/select()/epoll_wait()) while no client has anything to say, "
            "not to spin in a loop")
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, just started,"), among=[server])
    sock = connect(net, address, server)
    ask(sandbox, server, sock, lines[:1], "a client's request")
    sock.close()
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, after its client left,"), among=[server])


def check_tidy_after_clients(sandbox: Sandbox, net: Net, server: Child, address: Address) -> None:
    """After three clients came and went, within 3 s: no zombie, and no more processes and open
    sockets in SERVER's tree than before they came."""
    __tracebackhide__ = True
    settle(sandbox, server)
    live0, _, socks0, _ = server_counts(server, address)
    for i in range(3):
        c = connect(net, address, server)
        ask(sandbox, server, c, [f"client {i + 1}".encode()], f"client {i + 1} of 3")
        c.close()
    kind, advice = (("sockets", "read() returned 0") if isinstance(address, str)
                    else ("TCP sockets", "and, after fork(), the parent closes its copy at once"))
    deadline = time.monotonic() + sandbox.timeout(3)
    while True:
        live, zombies, socks, kept = server_counts(server, address)
        problems = []
        if zombies:
            problems.append("zombies (children that ended and were never waited for): "
                            + ", ".join(observe.describe_process(z) for z in zombies))
        if len(live) > len(live0):
            problems.append(f"{len(live)} processes where there were {len(live0)} before the clients came "
                            "(does each child exit once its client has left?):\n" + observe.describe_tree(live))
        if socks > socks0:
            problems.append(f"{socks} open {kind} where there were {socks0} before the clients came "
                            f"({kept}): close each connection once its client has left ({advice})")
        if not problems:
            return
        if server.poll() is not None:
            fail(f"{server.label} {server.describe_end()} after its clients left")
        if time.monotonic() >= deadline:
            fail(f"{sandbox.timeout(3):.1f} s after its 3 clients had left, {server.label} still has:\n"
                 + "\n".join(f"  - {p}" for p in problems))
        time.sleep(observe.POLL_S)


def check_serves_after_early_leave(sandbox: Sandbox, net: Net, server: Child, address: Address,
                                   lines: Sequence[bytes], what: str, hints: tuple[str, str]) -> None:
    """The end of a check in which a client left early (WHAT says how): SERVER still runs (if
    not, the first of HINTS when SIGPIPE killed it, else the second) and answers a new client."""
    __tracebackhide__ = True
    end = server.poll()
    if end is not None:
        hint = hints[0] if end.term_signal == signal.SIGPIPE else hints[1]
        fail(f"{what}, and {server.label} {server.describe_end()}: {hint}")
    ask(sandbox, server, connect(net, address, server), lines, "a new client, after one had left early")
    end = server.poll()
    if end is not None:
        fail(f"{server.label} {server.describe_end()} after a client had left early")


def check_accept_retried_after_eintr(sandbox: Sandbox, net: Net, server: Child, address: Address,
                                     lines: Sequence[bytes]) -> None:
    """SERVER's accept() (or poll()), interrupted while idle, is retried: a client is answered."""
    __tracebackhide__ = True
    b = sandbox.wait_blocked(waiting_for_client, f"{server.label} to sleep in accept() (or poll()) waiting for "
                             "a client", among=[server])
    interrupt(sandbox, b, server)
    ask(sandbox, server, connect(net, address, server), lines, "a client, after accept() was interrupted")


def check_read_retried_after_eintr(sandbox: Sandbox, net: Net, server: Child, address: Address,
                                   lines: Sequence[bytes], read_call: ReadCall) -> None:
    """SERVER's read of a new client's request, interrupted before it came, is retried."""
    __tracebackhide__ = True
    sock = connect(net, address, server)
    interrupt(sandbox, wait_reading(sandbox, server, read_call), server)
    ask(sandbox, server, sock, lines, f"a client whose server's {read_call} was interrupted by a signal before the "
        "request came")


def check_client_reads_whole_answers(sandbox: Sandbox, net: Net, prog: str, address: Address,
                                     lines: Sequence[bytes], read_call: ReadCall) -> None:
    """The grader, as the server at ADDRESS (a TCP port 0: a free one), checks each request of
    the client PROG, given LINES, and sends each answer in pieces of 1 to 3 bytes, each read by
    the client before the next; the client must print whole answers."""
    __tracebackhide__ = True
    listener = listen(net, address)
    client = run_client(sandbox, prog, bound(listener), lines)
    conn = accept(sandbox, net, listener, client)
    evidence = lambda: client_state(client)  # noqa: E731
    buffered = b""
    for line in lines:
        if NL in buffered:
            got = Received(b"", "done")
        else:
            got = faults.read_until(conn, lambda more: NL in more, sandbox.timeout(3))
        buffered += got.data
        if NL not in buffered:
            fail(f"{client.label} was expected to send the request {line + NL!r}, but {got.describe()}: "
                 f"{buffered!r}\n{client_state(client)}")
        req, buffered = buffered.split(NL, 1)
        if req != line:
            fail(f"{client.label} sent the request {req + NL!r}; the line of its input was {line + NL!r}")
        faults.send_in_pieces(conn, answer(line), timeout_s=sandbox.timeout(3), peer=client.label,
                              evidence=evidence)
    expect_client_output(sandbox, client, lines, "the grader, as the server, sent each answer in pieces of 1 to 3 "
                         "bytes, each read by your client before the next was sent (an answer may take several "
                         f"{read_call} calls: read until the newline)")


def check_client_gives_up(sandbox: Sandbox, prog: str, address: Address, situation: str, reason: str) -> None:
    """The client PROG for ADDRESS, where connect() fails with REASON (SITUATION says why), says
    so on stderr and exits with 2."""
    __tracebackhide__ = True
    r, w = os.pipe()
    os.write(w, b"hello\n")
    os.close(w)
    try:
        client = sandbox.spawn([prog, *arguments(address)], stdin=r)
    finally:
        os.close(r)
    end = client.wait(sandbox.timeout(3), f"to give up at once ({situation})")
    err = client.stderr().decode("utf-8", "replace")
    if end.exit_code != 2 or reason.lower() not in err.lower():
        fail(f"{client.label} {' '.join(arguments(address))} with {situation}: connect() fails with {reason!r}; "
             "the client should say so on stderr (with the reason, as perror() or strerror() gives it) and exit "
             f"with 2.\nIt {end}.\n{block('its stderr', err)}")
