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

The line service and the checks it shares with `unix-socket` are in ``grader/linesvc.py``; what
is here is TCP's own: ports, the listening address, TIME_WAIT, a reset connection, send().
"""
from __future__ import annotations

import os
import signal
import socket
import time

import pytest

from grader import faults, linesvc, observe, proc, sockets
from grader.checks import first_difference
from grader.errors import block, fail
from grader.linesvc import (HOST, Address, Net, answers, ask, connect, expect_answers, kernel_view, lines_in, request,
                            stall, wait_listening)
from grader.proc import Child
from grader.sandbox import Sandbox
from grader.sockets import TcpSocket

LINES = [b"hello, world", b"TCP keeps no message boundaries", b"", b"A man, a plan, a canal: Panama"]
FLOOD_LINE = b"x" * 2000 + b" read me if you can"
net = linesvc.net  # the fixture: the grader's sockets of a check, closed at its end


# -- the programs -------------------------------------------------------------------------------
def listeners_of(server: Child) -> list[TcpSocket]:
    return sockets.tcp_listeners(observe.descendants([server.pid]))


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
    return server, wait_listening(sandbox, server, (HOST, port))


# -- the server ---------------------------------------------------------------------------------
@pytest.mark.points(1)
def test_server_listens_on_given_port(sandbox: Sandbox, net: Net) -> None:
    """The server listens on 127.0.0.1, on the port given on its command line, and answers there."""
    port = free_port(sandbox)
    server = sandbox.spawn([sandbox.student("tcp_server"), str(port)])
    wait_listening(sandbox, server, (HOST, port))
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
    ask(sandbox, server, connect(net, (HOST, port), server), LINES[:2], f"a client on {HOST}:{port}")


@pytest.mark.points(2)
def test_server_answers_reference_client(sandbox: Sandbox) -> None:
    """Your server answers the reference client, line by line."""
    server, address = start_server(sandbox)
    linesvc.check_answers_reference_client(sandbox, server, sandbox.reference("tcp_client"), address, LINES)


@pytest.mark.points(3)
def test_server_answers_split_requests(sandbox: Sandbox, net: Net) -> None:
    """Requests in pieces (each read before the next is sent), pieces across newlines, many
    requests in one send(): each answer whole and in order."""
    server, address = start_server(sandbox)
    sock = connect(net, address, server)
    linesvc.check_split_requests(sandbox, server, sock, "recv()")
    batch = linesvc.random_lines(40, seed=11)
    got = faults.exchange(sock, request(batch), lines_in(len(batch)), sandbox.timeout(3))
    if got.data != answers(batch):
        expect_answers(f"{len(batch)} requests ({len(request(batch))} bytes) sent at once (one recv() may hold "
                       "many requests: answer each)", batch, got, server)


@pytest.mark.points(2)
def test_server_serves_clients_at_once(sandbox: Sandbox, net: Net) -> None:
    """Three clients connected at once are each answered while the others stay connected."""
    server, address = start_server(sandbox)
    linesvc.check_serves_clients_at_once(sandbox, net, server, address)


@pytest.mark.points(1)
def test_server_waits_in_accept(sandbox: Sandbox, net: Net) -> None:
    """Idle, the server sleeps in accept() (or poll/select/epoll_wait): no busy-waiting."""
    server, address = start_server(sandbox)
    linesvc.check_waits_in_accept(sandbox, net, server, address, LINES)


@pytest.mark.points(2)
def test_server_tidy_after_clients(sandbox: Sandbox, net: Net) -> None:
    """Once its clients have left, the server has closed their connections and keeps no zombie
    and no more processes than it had before they came."""
    server, address = start_server(sandbox)
    linesvc.check_tidy_after_clients(sandbox, net, server, address)


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
    _, used = address  # the port it really listened on
    deadline = time.monotonic() + sandbox.timeout(3)
    waiting: list[TcpSocket] = []
    while not waiting:
        waiting = [s for s in sockets.tcp_sockets() if s.local[1] == used and s.state == "TIME_WAIT"]
        if time.monotonic() >= deadline:
            fail(f"the grader could not bring a connection of port {used} to TIME_WAIT on the server's side; "
                 f"what the kernel shows of that port: "
                 f"{[s.describe() for s in sockets.tcp_sockets() if used in (s.local[1], s.remote[1])]}")
        time.sleep(observe.POLL_S)
    again = sandbox.spawn([sandbox.student("tcp_server"), str(port)])
    address = wait_listening(sandbox, again, (HOST, port), hint=(
        f"Port {port} had just served a client and the connection is in TIME_WAIT "
        f"({waiting[0].describe()}): bind() fails with EADDRINUSE unless the listening socket has SO_REUSEADDR "
        "set (setsockopt before bind())."))
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
    linesvc.check_serves_after_early_leave(sandbox, net, server, address, LINES, what, hints=(
        "ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)) or send with MSG_NOSIGNAL, and close the connection when send() "
        "fails", "a send() that fails ends that connection, not the server"))


@pytest.mark.points(1)
def test_server_accept_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """An accept() interrupted by a signal (EINTR) is retried: the server still serves."""
    server, address = start_server(sandbox)
    linesvc.check_accept_retried_after_eintr(sandbox, net, server, address, LINES)


@pytest.mark.points(1)
def test_server_recv_retried_after_eintr(sandbox: Sandbox, net: Net) -> None:
    """A recv() of a request interrupted by a signal (EINTR) is retried: the request is answered."""
    server, address = start_server(sandbox)
    linesvc.check_read_retried_after_eintr(sandbox, net, server, address, LINES, "recv()")


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
        writer = linesvc.interrupt(sandbox, writer, server)
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
             f"{block('got (from there)', got.data[at:at + 120])}\n" + linesvc.server_state(server))


# -- the client ---------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_client_with_reference_server(sandbox: Sandbox) -> None:
    """Your client, with the reference server, prints the answer to each line of its input."""
    _, address = start_server(sandbox, reference=True)
    client = linesvc.run_client(sandbox, sandbox.student("tcp_client"), address, LINES)
    linesvc.expect_client_output(sandbox, client, LINES, "the reference tcp_server answered each")


@pytest.mark.points(2)
def test_client_reads_whole_answers(sandbox: Sandbox, net: Net) -> None:
    """Your client prints whole answers when they arrive in pieces (each read before the next)."""
    linesvc.check_client_reads_whole_answers(sandbox, net, sandbox.student("tcp_client"), (HOST, 0), LINES, "recv()")


@pytest.mark.points(1)
def test_client_reports_connection_refused(sandbox: Sandbox) -> None:
    """With nobody listening on the port, the client says why on stderr and exits with 2."""
    linesvc.check_client_gives_up(sandbox, sandbox.student("tcp_client"), (HOST, sandbox.port()),
                                  "nobody listening on that port", "Connection refused")
