"""Checks of the `tcp` assignment (the spec, with points, is README.md beside this file).

How the grader plays each part:

* as a client of your server it connects with a socket of its own, sends request lines and reads
  the answers.  To catch a server that takes one recv() for one request, it sends a request in
  pieces of 1 to 3 bytes (TCP_NODELAY) and waits, after each piece, until the kernel shows that
  your server has read it (``faults.send_in_pieces``: the bytes your server's socket received
  and its receive queue, from sock_diag), so every piece meets a recv() of its own;
* as a server for your client it listens on a port of its own and sends each answer in pieces,
  the same way;
* a server is ready when the kernel shows a listening socket of it (``/proc/PID/net/tcp``); the
  checks then connect to the address it really listens on, so that a wrong port or address
  fails test_server_listens_on_given_port only;
* to make the server block in send(), the grader sends requests without reading any answer
  (``faults.flood``) on a socket with a small receive buffer, until a process or thread of your
  server is seen asleep in send()/write() on a socket.

The programs share the grader's network namespace (``network = true`` in assignment.toml): every
address is on the loopback interface, every port comes from ``sandbox.port()``.
"""
from __future__ import annotations

import os
import random
import select
import signal
import socket
import time
from typing import Callable, Iterator, Optional, Sequence

import pytest

from grader import faults, observe, proc, sockets
from grader.checks import expect_exit, first_difference
from grader.errors import block, fail
from grader.faults import Received
from grader.observe import Blocked
from grader.sockets import TcpSocket
from grader.proc import PIPE, Child
from grader.sandbox import Sandbox

HOST = "127.0.0.1"
NL = b"\n"
LINES = [b"hello, world", b"TCP keeps no message boundaries", b"", b"A man, a plan, a canal: Panama"]
FLOOD_LINE = b"x" * 2000 + b" read me if you can"
Address = tuple[int, str, int]  # family, host, port


# -- the service --------------------------------------------------------------------------------
def answer(line: bytes) -> bytes:
    """The answer to one request line (given without its newline): the line reversed."""
    return line[::-1] + NL


def answers(lines: Sequence[bytes]) -> bytes:
    return b"".join(answer(line) for line in lines)


def request(lines: Sequence[bytes]) -> bytes:
    return b"".join(line + NL for line in lines)


def lines_in(count: int) -> Callable[[bytes], bool]:
    return lambda got: got.count(NL) >= count


# -- the programs -------------------------------------------------------------------------------
def kernel_view(child: Child) -> str:
    return observe.describe_tree(observe.descendants([child.pid]))


def listeners_of(server: Child) -> list[TcpSocket]:
    return sockets.tcp_listeners(observe.descendants([server.pid]))


def wait_listening(sandbox: Sandbox, server: Child, port: int, hint: str = "", timeout_s: float = 3.0) -> TcpSocket:
    """Wait until SERVER has a listening TCP socket (anywhere); return it, the one on PORT first."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        if server.poll() is not None:
            fail(f"{server.label} {port} was expected to listen on port {port}, but it {server.describe_end()}"
                 + (f"\n{hint}" if hint else ""))
        found = listeners_of(server)
        if found:
            return sorted(found, key=lambda s: (s.local[1] != port, s.local[0] != HOST))[0]
        if time.monotonic() >= deadline:
            fail(f"{server.label} {port} was expected to listen on {HOST}:{port} (socket(), bind(), listen()) within "
                 f"{sandbox.timeout(timeout_s):.1f} s, but no socket of it listens; what the kernel shows:\n"
                 f"{kernel_view(server)}")
        time.sleep(observe.POLL_S)


def reachable(listener: TcpSocket) -> Address:
    """Where the grader connects to reach LISTENER (a wildcard address is reached on loopback)."""
    host, port = listener.local
    if ":" in host:
        return socket.AF_INET6, ("::1" if host == "::" else host), port
    return socket.AF_INET, (HOST if host == "0.0.0.0" else host), port


def byteswapped(port: int) -> int:
    return ((port & 0xFF) << 8) | (port >> 8)


def free_port(sandbox: Sandbox) -> int:
    """A free port whose two bytes swapped also make a free port of 1024 or more: a server that
    forgets htons() then starts (on the wrong port) and fails test_server_listens_on_given_port
    alone, instead of failing to bind a privileged port and every check with it."""
    for _ in range(100):
        port = sandbox.port()
        swapped = byteswapped(port)
        if swapped >= 1024 and swapped != port:
            with socket.socket() as s:
                try:
                    s.bind((HOST, swapped))
                except OSError:
                    continue
            return port
    return sandbox.port()


def start_server(sandbox: Sandbox, port: int = 0, reference: bool = False) -> tuple[Child, Address]:
    """Start the server on PORT (a free one by default); return it and where it really listens."""
    port = port or free_port(sandbox)
    prog = sandbox.reference("tcp_server") if reference else sandbox.student("tcp_server")
    server = sandbox.spawn([prog, str(port)])
    return server, reachable(wait_listening(sandbox, server, port))


def waiting_for_client(b: Blocked) -> bool:
    """Asleep in accept() (or poll/select/epoll_wait, for a server that multiplexes)."""
    return b.is_("accept") or b.is_("poll")


def reading_request(b: Blocked) -> bool:
    """Asleep in recv()/read() on a socket (or poll/select/epoll_wait)."""
    return b.is_("recv", on="socket") or b.is_("poll")


def settle(sandbox: Sandbox, server: Child, grace_s: float = 1.0) -> None:
    """Give SERVER up to GRACE_S to fall asleep waiting for clients; never fails (a server that
    busy-waits is test_server_waits_in_accept's business)."""
    deadline = time.monotonic() + sandbox.timeout(grace_s)
    while server.poll() is None and time.monotonic() < deadline:
        if any(waiting_for_client(b) for b in observe.all_blocked(observe.descendants([server.pid]))):
            return
        time.sleep(observe.POLL_S)


def interrupt(sandbox: Sandbox, b: Blocked, server: Child) -> Blocked:
    """sandbox.interrupt, worded right when only the thread or child that was interrupted ends:
    the server drops that client and carries on.  Returns the call it went back to."""
    __tracebackhide__ = True
    try:
        return sandbox.interrupt(b)
    except pytest.fail.Exception as exc:
        message = str(exc.msg)
    if server.poll() is None and b.pid != server.pid:
        gone = observe.state(b.pid) in (None, "Z") or b.tid not in observe.threads(b.pid)
        if gone:
            message = (f"{server.label}: its {observe.pretty(b.call)} was interrupted by a signal (EINTR) and, "
                       f"instead of retrying the call, the {'thread' if b.tid != b.pid else 'child process'} that "
                       f"made it (pid {b.pid}) ended: that client was dropped.")
            tail = b"\n".join(server.stderr().splitlines()[-6:])
            if tail:
                message += "\n" + block("stderr of your tcp_server (last lines)", tail)
    fail(message)


class Net:
    """The grader's own sockets in a check; closed at its end."""

    def __init__(self) -> None:
        self.sockets: list[socket.socket] = []

    def close(self) -> None:
        for s in self.sockets:
            s.close()


@pytest.fixture
def net() -> Iterator[Net]:
    box = Net()
    yield box
    box.close()


def connect(net: Net, address: Address, server: Child, rcvbuf: int = 0) -> socket.socket:
    """A connection to the server at ADDRESS (with a receive buffer of RCVBUF bytes, if given)."""
    __tracebackhide__ = True
    family, host, port = address
    s = socket.socket(family, socket.SOCK_STREAM)
    net.sockets.append(s)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connect: the window follows it
    s.settimeout(3.0)
    try:
        s.connect((host, port))
        failed = None
    except OSError as exc:
        failed = exc.strerror
    if failed:
        fail(f"the grader could not connect to {host}:{port}: {failed}; {server.label} {server.describe_end()}")
    s.settimeout(None)
    return s


def listen(net: Net) -> socket.socket:
    """The grader's own server socket on a free loopback port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    net.sockets.append(s)
    s.bind((HOST, 0))
    s.listen(8)
    return s


def accept(sandbox: Sandbox, net: Net, listener: socket.socket, client: Child) -> socket.socket:
    """Wait for CLIENT to connect to LISTENER (fails if it ends or does not within 3 s)."""
    __tracebackhide__ = True
    where = "{}:{}".format(*listener.getsockname())
    deadline = time.monotonic() + sandbox.timeout(3)
    while not select.select([listener], [], [], 0.01)[0]:
        if client.poll() is not None:
            fail(f"{client.label} was expected to connect to {where}, but it {client.describe_end()}")
        if time.monotonic() >= deadline:
            fail(f"{client.label} did not connect to {where} within {sandbox.timeout(3):.1f} s; what the kernel "
                 f"shows:\n{kernel_view(client)}")
    conn, _ = listener.accept()
    net.sockets.append(conn)
    return conn


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
        if sleeping and not observe.busy_threads(tree) and faults.peer_unread(sock) > 0:
            return sleeping[0]
        return None

    if paced is not None:
        sent = faults.send_each_read(sock, [line + NL for line in paced], until=lambda: stalled() is not None,
                                     timeout_s=sandbox.timeout(3))
    else:
        sent = faults.flood(sock, data, until=lambda: stalled() is not None, timeout_s=sandbox.timeout(3))
    writer = stalled()
    if writer is None:
        if server.poll() is not None:
            fail(f"{server.label} {server.describe_end()} while a client sent requests without reading the answers")
        fail(f"a client sent {sent} bytes of requests without reading any answer, and {server.label} did not stop "
             f"to wait for it within {sandbox.timeout(3):.1f} s; what the kernel shows:\n{kernel_view(server)}")
    return sent, writer


# -- the server ---------------------------------------------------------------------------------
@pytest.mark.points(1)
def test_server_listens_on_given_port(sandbox: Sandbox, net: Net) -> None:
    """The server listens on 127.0.0.1, on the port given on its command line, and answers there."""
    port = free_port(sandbox)
    server = sandbox.spawn([sandbox.student("tcp_server"), str(port)])
    wait_listening(sandbox, server, port)
    found = listeners_of(server)
    if not any(s.local == (HOST, port) for s in found):
        where = ", ".join(s.describe() for s in found)
        hints = []
        if any(s.local[1] == byteswapped(port) for s in found) and byteswapped(port) != port:
            hints.append(f"port {byteswapped(port)} is {port} with its two bytes swapped: the port in sockaddr_in is "
                         "in network byte order (sin_port = htons(port))")
        if any(s.local[1] == port and s.local[0] in ("0.0.0.0", "::") for s in found):
            hints.append("it listens on every interface (INADDR_ANY); the spec says the loopback address only: "
                         "sin_addr.s_addr = htonl(INADDR_LOOPBACK), or inet_pton(AF_INET, \"127.0.0.1\", ...)")
        if not hints:
            hints.append(f"bind() the listening socket to {HOST} and the port given as the first argument")
        fail(f"{server.label} {port} should listen on {HOST}:{port}; the kernel shows it {where}.\n"
             + "\n".join(f"  - {h}" for h in hints))
    ask(sandbox, server, connect(net, (socket.AF_INET, HOST, port), server), LINES[:2], f"a client on {HOST}:{port}")


@pytest.mark.points(2)
def test_server_answers_reference_client(sandbox: Sandbox) -> None:
    """Your server answers the reference client, line by line."""
    server, (family, host, port) = start_server(sandbox)
    client = sandbox.spawn([sandbox.reference("tcp_client"), host, str(port)], stdin=PIPE)
    client.feed(request(LINES), sandbox.timeout(3))
    client.close_stdin()
    end = client.try_wait(sandbox.timeout(3))
    out = client.stdout()
    if out != answers(LINES):
        fail(f"the reference tcp_client sent {len(LINES)} lines to your server, one at a time, and printed what "
             f"came back:\n{block('expected', answers(LINES))}\n{block('got', out)}\n"
             f"the reference tcp_client {client.describe_end()}\n"
             + (f"{server.label} {server.describe_end()}" if server.poll() is not None
                else "what the kernel shows of your server:\n" + kernel_view(server)))
    if end is None:
        fail("the reference tcp_client got its answers but did not end after closing the connection; "
             f"what the kernel shows:\n{observe.describe_tree(sandbox.processes())}")
    expect_exit(client, end, 0)


@pytest.mark.points(3)
def test_server_answers_split_requests(sandbox: Sandbox, net: Net) -> None:
    """Requests in pieces (each read before the next is sent), pieces across newlines, many
    requests in one send(): each answer whole and in order."""
    server, address = start_server(sandbox)
    sock = connect(net, address, server)
    evidence = lambda: "what the kernel shows:\n" + kernel_view(server)  # noqa: E731

    line = b"hello, split world"
    faults.send_in_pieces(sock, line + NL, timeout_s=sandbox.timeout(3), peer=server.label, evidence=evidence)
    got = faults.read_until(sock, lines_in(1), sandbox.timeout(3))
    expect_answers("one request sent in pieces of 1 to 3 bytes, each read by your server before the next was "
                   "sent (a request may take several recv() calls: keep reading until the newline)",
                   [line], got, server)

    three = [b"one", b"two", b"three"]
    faults.send_in_pieces(sock, request(three), timeout_s=sandbox.timeout(3), peer=server.label,
                          evidence=evidence, sizes=(5, 6, 3))
    got = faults.read_until(sock, lines_in(3), sandbox.timeout(3))
    expect_answers("three requests sent as 'one\\nt', 'wo\\nthr', 'ee\\n' (one recv() may end in the middle of "
                   "a request, or hold the end of one and the start of the next)", three, got, server)

    rng = random.Random(11)
    batch = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(rng.randrange(200, 2000)))
             for _ in range(40)]
    got = faults.exchange(sock, request(batch), lines_in(len(batch)), sandbox.timeout(3))
    if got.data != answers(batch):
        expect_answers(f"{len(batch)} requests ({len(request(batch))} bytes) sent at once (one recv() may hold "
                       "many requests: answer each)", batch, got, server)


@pytest.mark.points(2)
def test_server_serves_clients_at_once(sandbox: Sandbox, net: Net) -> None:
    """Three clients connected at once are each answered while the others stay connected."""
    server, address = start_server(sandbox)
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
                     "or watch them all with poll().\n"
                     + (f"{server.label} {server.describe_end()}" if server.poll() is not None
                        else "what the kernel shows:\n" + kernel_view(server)))


@pytest.mark.points(1)
def test_server_waits_in_accept(sandbox: Sandbox, net: Net) -> None:
    """Idle, the server sleeps in accept() (or poll/select/epoll_wait): no busy-waiting."""
    server, address = start_server(sandbox)
    what = ("{} to sleep in accept() (or in poll()/select()/epoll_wait()) while no client has anything to say, "
            "not to spin in a loop")
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, just started,"), among=[server])
    sock = connect(net, address, server)
    ask(sandbox, server, sock, LINES[:1], "a client's request")
    sock.close()
    sandbox.wait_blocked(waiting_for_client, what.format(f"{server.label}, after its client left,"), among=[server])


def server_counts(server: Child) -> tuple[list[int], list[int], list[TcpSocket]]:
    """(live processes, zombies, TCP sockets held) of SERVER's tree."""
    tree = observe.descendants([server.pid])
    live = [p for p in tree if observe.state(p) not in (None, "Z")]
    zombies = [p for p in tree if observe.state(p) == "Z"]
    return live, zombies, sockets.tcp_held(live)


@pytest.mark.points(2)
def test_server_tidy_after_clients(sandbox: Sandbox, net: Net) -> None:
    """Once its clients have left, the server has closed their connections and keeps no zombie
    and no more processes than it had before they came."""
    server, address = start_server(sandbox)
    settle(sandbox, server)
    live0, _, socks0 = server_counts(server)
    for i in range(3):
        c = connect(net, address, server)
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
            problems.append(f"{len(live)} processes where there were {len(live0)} before the clients came "
                            "(does each child exit once its client has left?):\n" + observe.describe_tree(live))
        if len(socks) > len(socks0):
            kept = "; ".join(s.describe() for s in socks if s.state != "LISTEN")
            problems.append(f"{len(socks)} open TCP sockets where there were {len(socks0)} before the clients came "
                            f"({kept}): close each connection once its client has left (and, after fork(), "
                            "the parent closes its copy at once)")
        if not problems:
            return
        if server.poll() is not None:
            fail(f"{server.label} {server.describe_end()} after its clients left")
        if time.monotonic() >= deadline:
            fail(f"{sandbox.timeout(3):.1f} s after its 3 clients had left, {server.label} still has:\n"
                 + "\n".join(f"  - {p}" for p in problems))
        time.sleep(observe.POLL_S)


@pytest.mark.points(2)
def test_server_rebinds_after_restart(sandbox: Sandbox, net: Net) -> None:
    """Stopped while a client was connected, the server can be started again on the same port at
    once, though the port has a connection in TIME_WAIT (SO_REUSEADDR)."""
    port = free_port(sandbox)
    server, address = start_server(sandbox, port)
    sock = connect(net, address, server)
    ask(sandbox, server, sock, LINES[:1], "a client")
    # Stop it as Ctrl-C in a terminal does: the signal reaches every process of its group, so the
    # server's end of the connection is closed first (and goes to TIME_WAIT once the client closes).
    group = observe.descendants([server.pid])
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    server.wait(sandbox.timeout(3), "to end on SIGTERM (sent to its whole process group)")
    # Its children, orphaned, are now the grader's to reap: not zombies of the student's making.
    deadline = time.monotonic() + sandbox.timeout(3)
    while any(observe.state(p) not in (None, "Z") for p in group) and time.monotonic() < deadline:
        time.sleep(observe.POLL_S)
    proc.reap()
    got = faults.read_until(sock, lambda data: False, sandbox.timeout(3))
    if got.end == "timeout":
        fail(f"{server.label} was stopped with SIGTERM (to its process group), but {sandbox.timeout(3):.1f} s later "
             f"the connection of its client was still open; what the kernel shows:\n"
             f"{observe.describe_tree(sandbox.processes())}")
    sock.close()
    deadline = time.monotonic() + sandbox.timeout(3)
    waiting: list[TcpSocket] = []
    while not waiting:
        waiting = [s for s in sockets.tcp_sockets() if s.local[1] == address[2] and s.state == "TIME_WAIT"]
        if time.monotonic() >= deadline:
            fail(f"the grader could not bring a connection of port {address[2]} to TIME_WAIT on the server's side; "
                 f"what the kernel shows of that port: "
                 f"{[s.describe() for s in sockets.tcp_sockets() if address[2] in (s.local[1], s.remote[1])]}")
        time.sleep(observe.POLL_S)
    again = sandbox.spawn([sandbox.student("tcp_server"), str(port)])
    wait_listening(sandbox, again, port, hint=(
        f"Port {port} had just served a client and the connection is in TIME_WAIT "
        f"({waiting[0].describe()}): bind() fails with EADDRINUSE unless the listening socket has SO_REUSEADDR "
        "set (setsockopt before bind())."))
    address = reachable(sorted(listeners_of(again), key=lambda s: s.local[1] != port)[0])
    ask(sandbox, again, connect(net, address, again), LINES[:2], "a client of the restarted server")


@pytest.mark.points(2)
def test_server_survives_early_disconnect(sandbox: Sandbox, net: Net) -> None:
    """A client that leaves with its answers unread (the server's send() fails with ECONNRESET,
    then EPIPE) does not kill the server nor keep it busy: it goes on serving others."""
    server, address = start_server(sandbox)
    sock = connect(net, address, server, rcvbuf=4096)
    _, stalled = stall(sandbox, server, sock, request([FLOOD_LINE] * 4000))
    writer = stalled if stalled.is_("send") else None  # None: a server that multiplexes, asleep in poll()
    sock.close()  # with answers unread: the kernel resets the connection
    what = "a client left with its answers unread (its connection was reset)"
    deadline = time.monotonic() + sandbox.timeout(3)
    while server.poll() is None:  # the thread or child that was writing stops: it ends or sleeps elsewhere
        if writer is not None:
            gone = observe.state(writer.pid) in (None, "Z") or writer.tid not in observe.threads(writer.pid)
            now = observe.blocked(writer.pid, writer.tid)
            if gone or (now is not None and now.target != writer.target):
                break
        elif not observe.busy_threads(observe.descendants([server.pid])):
            break
        if time.monotonic() >= deadline:
            fail(f"{what}; {sandbox.timeout(3):.1f} s later {server.label} was still trying to send to it (a loop "
                 "that retries a send() that failed with EPIPE or ECONNRESET?); what the kernel shows:\n"
                 f"{kernel_view(server)}")
        time.sleep(observe.POLL_S)
    end = server.poll()
    if end is not None:
        hint = ("ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, and close the connection "
                "when send() fails" if end.term_signal == signal.SIGPIPE else
                "a send() that fails ends that connection, not the server")
        fail(f"{what}, and {server.label} {server.describe_end()}: {hint}")
    ask(sandbox, server, connect(net, address, server), LINES, "a new client, after one had left early")
    end = server.poll()
    if end is not None:
        fail(f"{server.label} {server.describe_end()} after a client had left early")


@pytest.mark.points(1)
def test_server_accept_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """An accept() interrupted by a signal (EINTR) is retried: the server still serves."""
    server, address = start_server(sandbox)
    b = sandbox.wait_blocked(waiting_for_client, f"{server.label} to sleep in accept() (or poll()) waiting for "
                             "a client", among=[server])
    interrupt(sandbox, b, server)
    ask(sandbox, server, connect(net, address, server), LINES, "a client, after accept() was interrupted")


@pytest.mark.points(1)
def test_server_recv_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """A recv() of a request interrupted by a signal (EINTR) is retried: the request is answered."""
    server, address = start_server(sandbox)
    sock = connect(net, address, server)
    b = sandbox.wait_blocked(reading_request, f"{server.label} to sleep in recv() (or read(), poll()) waiting for "
                             "the request of the client that has just connected", among=[server])
    interrupt(sandbox, b, server)
    ask(sandbox, server, sock, LINES, "a client whose server's recv() was interrupted by a signal before the "
        "request came")


@pytest.mark.points(1)
def test_server_send_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """A send() of answers interrupted by a signal (EINTR, or a short count) is retried: every
    answer arrives whole."""
    server, address = start_server(sandbox)
    sock = connect(net, address, server, rcvbuf=4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lines = [b"y" * 4000 + f" {i}".encode() for i in range(4000)]
    # One request per recv() (each sent once the server has read the one before), so that only
    # the EINTR handling of send() is judged here.
    count, writer = stall(sandbox, server, sock, b"", paced=lines)
    lines = lines[:count]
    # Three times: the first interrupted send() may return a short count (some bytes were sent);
    # retried, it finds the buffer still full, sleeps, and the next interruption makes it fail
    # with EINTR.
    for _ in range(3):
        writer = interrupt(sandbox, writer, server)
    # Then read every answer, at full speed.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    got = faults.read_until(sock, lines_in(len(lines)), sandbox.timeout(5))
    if got.data != answers(lines):
        want = answers(lines)
        at = first_difference(want, got.data) or 0
        fail(f"{server.label} was interrupted by a signal three times while it sent answers (its send() returned "
             f"-1 with EINTR, or a short count); expected {len(want)} bytes of answers to {len(lines)} requests, but "
             f"{got.describe()}, and they differ from byte {at} on.\n"
             f"{block('expected (from there)', want[at:at + 120])}\n"
             f"{block('got (from there)', got.data[at:at + 120])}\n"
             + (f"{server.label} {server.describe_end()}" if server.poll() is not None
                else "what the kernel shows:\n" + kernel_view(server)))


# -- the client ---------------------------------------------------------------------------------
def run_client(sandbox: Sandbox, port: int, lines: Sequence[bytes]) -> Child:
    client = sandbox.spawn([sandbox.student("tcp_client"), HOST, str(port)], stdin=PIPE)
    client.feed(request(lines), sandbox.timeout(3))
    client.close_stdin()
    return client


def client_state(client: Child) -> str:
    """How CLIENT ended (with what it printed), or what the kernel shows of it.  (A client that
    has just closed its socket may still be exiting: give it a moment to be reaped.)"""
    if client.try_wait(0.5) is not None:
        return f"{client.label} {client.describe_end()}\n{block('its output so far', client.stdout())}"
    return "what the kernel shows:\n" + kernel_view(client)


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
def test_client_with_reference_server(sandbox: Sandbox) -> None:
    """Your client, with the reference server, prints the answer to each line of its input."""
    _, (_, _, port) = start_server(sandbox, reference=True)
    client = run_client(sandbox, port, LINES)
    expect_client_output(sandbox, client, LINES, "the reference tcp_server answered each")


@pytest.mark.points(2)
def test_client_reads_whole_answers(sandbox: Sandbox, net: Net) -> None:
    """Your client prints whole answers when they arrive in pieces (each read before the next)."""
    listener = listen(net)
    client = run_client(sandbox, listener.getsockname()[1], LINES)
    conn = accept(sandbox, net, listener, client)
    evidence = lambda: client_state(client)  # noqa: E731
    buffered = b""
    for line in LINES:
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
    expect_client_output(sandbox, client, LINES, "the grader, as the server, sent each answer in pieces of 1 to 3 "
                         "bytes, each read by your client before the next was sent (an answer may take several "
                         "recv() calls: read until the newline)")


@pytest.mark.points(1)
def test_client_reports_connection_refused(sandbox: Sandbox) -> None:
    """With nobody listening on the port, the client says why on stderr and exits with 2."""
    port = sandbox.port()
    r, w = os.pipe()
    os.write(w, b"hello\n")
    os.close(w)
    client = sandbox.spawn([sandbox.student("tcp_client"), HOST, str(port)], stdin=r)
    os.close(r)
    end = client.wait(sandbox.timeout(3), "to give up at once (nobody listens on the port)")
    err = client.stderr().decode("utf-8", "replace")
    if end.exit_code != 2 or "connection refused" not in err.lower():
        fail(f"{client.label} {HOST} {port} with nobody listening on that port: connect() fails with "
             f"'Connection refused'; the client should say so on stderr (with the reason, as perror() or strerror() "
             f"gives it) and exit with 2.\nIt {end}.\n{block('its stderr', err)}")
