"""Disturbing a program on purpose: interrupting a blocking call with a signal (EINTR).

Method (compared in TECHNIQUES.md): every program is started with ``eintr_shim.so`` preloaded,
which installs a no-op handler for ``SIGRTMIN+3`` without ``SA_RESTART``.  Once the grader has
seen a thread asleep in the call under test, it sends that signal to that very thread
(``tgkill``), so the call returns -1/EINTR deterministically, with a real handler run, as it
would for a signal the program caught itself.  strace's fault injection was not chosen: it
counts calls from the dynamic loader on, fakes the error without running a handler, and slows
every call.  A statically linked program does not load the shim; the README of each
assignment says so.

A correct program retries the call: the grader sees the same thread asleep in the same call
again, after its voluntary context-switch count has risen.  One that does not is caught, with
what it did instead.

Also here: data sent in small pieces, each read by the peer before the next is sent
(``send_in_pieces``, ``peer_unread``), a slow reader (``read_until(..., idle=...)``), and a
peer that writes without reading back (``flood``); see the section on stream sockets below.
"""
from __future__ import annotations

import errno
import fcntl
import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Callable, Optional

from grader import observe, sockets
from grader.errors import fail, quote
from grader.observe import Blocked
from grader.proc import EINTR_SIGNAL, tgkill


def _family(call: str) -> set[str]:
    for members in observe.FAMILIES.values():
        if call in members:
            return members
    return {call}


def interrupt(b: Blocked, *, timeout_s: float, gone: Callable[[], str], label: str) -> Blocked:
    """Interrupt the blocking call B and wait until the thread is back in the same kind of call.

    Fails the check, naming the call that returned EINTR, when the program ends instead
    (GONE() says how) or blocks somewhere else, or when nothing happens by the deadline."""
    __tracebackhide__ = True
    name = observe.pretty(b.call).removeprefix("a ")
    before = observe.ctxt_switches(b.pid, b.tid)
    tgkill(b.pid, b.tid, EINTR_SIGNAL)
    deadline = time.monotonic() + timeout_s
    same = _family(b.call)
    while True:
        if observe.state(b.pid) in (None, "Z"):
            fail(f"{label}: its {name} was interrupted by a signal (EINTR) and, instead of retrying the call, "
                 f"the process (pid {b.pid}) ended: {gone()}")
        if b.tid not in observe.threads(b.pid):
            fail(f"{label}: its {name} was interrupted by a signal (EINTR) and, instead of retrying the call, "
                 f"the thread that made it (tid {b.tid} of pid {b.pid}) ended")
        now = observe.blocked(b.pid, b.tid)
        if now is not None and observe.ctxt_switches(b.pid, b.tid) > before:
            if now.call in same:
                return now
            fail(f"{label}: its {name} was interrupted by a signal (EINTR) and it did not retry the call: "
                 f"pid {b.pid} is now {now.describe()}")
        if time.monotonic() >= deadline:
            fail(f"{label}: its {name} was interrupted by a signal (EINTR) and within {timeout_s:.1f} s it did "
                 f"not go back to waiting in that call; what the kernel shows:\n"
                 f"{observe.describe_tree(observe.descendants([b.pid]))}")
        time.sleep(observe.POLL_S)


# -- splitting, delaying and slow reading on stream sockets --------------------------------------
# A program that takes one read() for one whole message works by luck: a message written at
# once usually arrives at once.  To catch it every time, the grader sends a message in small
# pieces and, after each, waits until the peer has *read* that piece (not a sleep, the kernel's
# account), so every piece meets the peer's read() alone:
#
# * AF_UNIX stream: ioctl(SIOCOUTQ) on the grader's socket counts the memory of what it sent and
#   the peer has not read yet; the kernel frees it when the peer has read a buffer entirely (or
#   closed its end), so 0 means "all read".  (It counts memory, not bytes: only 0 is meaningful.)
# * TCP: the peer's socket, looked up by its address pair through sock_diag (NETLINK_SOCK_DIAG,
#   INET_DIAG_INFO: tcpi_bytes_received and the receive queue), against tcpi_bytes_sent minus
#   tcpi_bytes_retrans and tcpi_notsent_bytes of the grader's socket.  This does not depend on
#   when the peer ACKs (delayed ACKs would cost up to 40 ms a piece).  Where sock_diag or those
#   tcp_info fields are missing: the grader's SIOCOUTQ (sent and not yet ACKed) plus the
#   peer's rx_queue in /proc/PID/net/tcp, which is slower but still exact.
#   Both sides must be in one network namespace (assignment.toml: network = true).
#
# Trap: a TCP socket of the grader needs TCP_NODELAY for its pieces to leave one by one
# (send_in_pieces sets it); Nagle would hold a small piece while an earlier one is unacknowledged.

_SIOCOUTQ = 0x5411  # TIOCOUTQ
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_INET_DIAG_INFO = 2
_NLMSG_ERROR = 2
_TCPI_BYTES_RECEIVED = 128
_TCPI_NOTSENT_BYTES = 144
_TCPI_BYTES_SENT = 200
_TCPI_BYTES_RETRANS = 208
_PEER_GONE_STATES = {4, 5, 6, 7, 9, 11}  # FIN_WAIT1/2, TIME_WAIT, CLOSE, LAST_ACK, CLOSING: it closed


def _outq(sock: socket.socket) -> int:
    return int(struct.unpack("i", fcntl.ioctl(sock.fileno(), _SIOCOUTQ, b"\0\0\0\0"))[0])


def _tcp_diag(sock: socket.socket) -> Optional[tuple[int, int, int]]:
    """(state, receive queue, bytes received) of the socket at the other end of the TCP
    connection SOCK, from sock_diag; None when it no longer exists.  OSError when sock_diag
    cannot be used here."""
    family = sock.family
    ours, peer = sock.getsockname(), sock.getpeername()

    def addr(host: str) -> bytes:
        raw = socket.inet_pton(family, host)
        return raw + b"\0" * (16 - len(raw))

    # struct inet_diag_req_v2 + inet_diag_sockid of the peer's socket: its port and address are
    # the source, ours the destination; no cookie (INET_DIAG_NOCOOKIE).
    sockid = (struct.pack("!HH", peer[1], ours[1]) + addr(peer[0]) + addr(ours[0])
              + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF))
    req = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 1 << (_INET_DIAG_INFO - 1), 0, 0xFFFFFFFF) + sockid
    msg = struct.pack("=IHHII", 16 + len(req), _SOCK_DIAG_BY_FAMILY, 1, 1, 0) + req  # NLM_F_REQUEST
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, _NETLINK_SOCK_DIAG) as nl:
        nl.settimeout(1.0)
        nl.sendto(msg, (0, 0))
        data = nl.recv(65536)
    length, kind = struct.unpack_from("=IH", data, 0)
    if kind == _NLMSG_ERROR:
        err = -struct.unpack_from("=i", data, 16)[0]
        if err == errno.ENOENT:
            return None
        raise OSError(err, os.strerror(err))
    body = data[16:length]
    state = body[1]
    rqueue = struct.unpack_from("=I", body, 56)[0]  # after family..retrans (4), the sockid (48), expires
    received = -1
    at = 72
    while at + 4 <= len(body):
        alen, atype = struct.unpack_from("=HH", body, at)
        if alen < 4:
            break
        if atype == _INET_DIAG_INFO and alen - 4 >= _TCPI_BYTES_RECEIVED + 8:
            received = struct.unpack_from("=Q", body, at + 4 + _TCPI_BYTES_RECEIVED)[0]
        at += (alen + 3) & ~3
    return state, rqueue, received


def _tcp_proc_peer(sock: socket.socket) -> Optional[tuple[int, int]]:
    """(state number, rx_queue) of the peer's socket from /proc/net/tcp{,6}; None if not there."""
    ours, peer = sock.getsockname()[:2], sock.getpeername()[:2]
    for s in sockets.tcp_sockets():
        if s.local == (peer[0], peer[1]) and s.remote == (ours[0], ours[1]):
            number = next((k for k, v in sockets.TCP_STATES.items() if v == s.state), 0)
            return number, s.rx_queue
    return None


def peer_unread(sock: socket.socket) -> int:
    """How much of what was sent on the connected stream socket SOCK its peer has not read yet:
    0 exactly when the peer has read it all, or has closed its end (then nothing will ever read
    it; a later send or read tells).  For AF_UNIX the count is of memory, not bytes."""
    if sock.family == socket.AF_UNIX:
        return _outq(sock)
    try:
        sock.getpeername()
    except OSError:  # ENOTCONN: the connection was reset
        return 0
    raw = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    try:
        if len(raw) < _TCPI_BYTES_RETRANS + 8:
            raise OSError(errno.ENOSYS, "tcp_info without tcpi_bytes_sent")
        diag = _tcp_diag(sock)
    except OSError:
        proc_peer = _tcp_proc_peer(sock)
        if proc_peer is None or proc_peer[0] in _PEER_GONE_STATES:
            return 0
        return _outq(sock) + proc_peer[1]
    if diag is None or diag[0] in _PEER_GONE_STATES:
        return 0
    state, rqueue, received = diag
    notsent = struct.unpack_from("=I", raw, _TCPI_NOTSENT_BYTES)[0]
    sent = struct.unpack_from("=Q", raw, _TCPI_BYTES_SENT)[0] - struct.unpack_from("=Q", raw, _TCPI_BYTES_RETRANS)[0]
    return int(notsent + max(sent - received, 0) + rqueue)


def wait_peer_read(sock: socket.socket, timeout_s: float) -> bool:
    """Wait until the peer of SOCK has read all that was sent on it (see peer_unread); False
    when it has not within TIMEOUT_S."""
    deadline = time.monotonic() + timeout_s
    while peer_unread(sock) != 0:
        if time.monotonic() >= deadline:
            return False
        time.sleep(observe.POLL_S)
    return True


def pieces(data: bytes, sizes: tuple[int, ...] = (1, 3, 2)) -> list[bytes]:
    """DATA cut into pieces of SIZES bytes, in turn."""
    out, at, i = [], 0, 0
    while at < len(data):
        out.append(data[at:at + sizes[i % len(sizes)]])
        at += len(out[-1])
        i += 1
    return out


def send_in_pieces(sock: socket.socket, data: bytes, *, timeout_s: float, peer: str,
                   evidence: Callable[[], str], sizes: tuple[int, ...] = (1, 3, 2)) -> None:
    """Send DATA on SOCK in pieces of SIZES bytes and, after each, wait until PEER (a label:
    'your unix_server') has read it, so that each piece meets the peer's read() alone.

    Fails the check when the peer has not read a piece within TIMEOUT_S, or has closed the
    connection, with EVIDENCE() (the kernel's view of the peer's processes)."""
    __tracebackhide__ = True
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    parts = pieces(data, sizes)
    done = 0
    for i, part in enumerate(parts):
        try:
            sock.sendall(part)
            closed = False
        except (BrokenPipeError, ConnectionResetError):
            closed = True  # (fail outside the handler: no chained traceback in the message)
        if closed:
            fail(f"{peer} closed the connection while {quote(data, 120)!r} was being sent to it in pieces of "
                 f"{'/'.join(map(str, sizes))} bytes, each once it had read the one before (sending failed after "
                 f"{done} of {len(data)} bytes): it must read until the message is complete.\n{evidence()}")
        if not wait_peer_read(sock, timeout_s):
            fail(f"{peer} did not read piece {i + 1} of {len(parts)} ({quote(part)!r}, after "
                 f"{quote(data[:done], 120)!r}) within {timeout_s:.1f} s; the data waits unread in "
                 f"its socket.\n{evidence()}")
        done += len(part)


@dataclass
class Received:
    """What a reader got, and why it stopped: 'done' (the caller's test held), 'eof' (the peer
    closed its end), 'reset' (ECONNRESET), or 'timeout'."""

    data: bytes
    end: str

    def describe(self) -> str:
        """'the connection was closed after 12 bytes' and the like, for failure messages."""
        return {
            "done": f"{len(self.data)} bytes arrived",
            "eof": f"the peer closed the connection after {len(self.data)} bytes",
            "reset": f"the connection was reset (ECONNRESET) after {len(self.data)} bytes",
            "timeout": f"only {len(self.data)} bytes arrived before the deadline",
        }[self.end]


def read_until(sock: socket.socket, done: Callable[[bytes], bool], timeout_s: float,
               *, chunk: int = 65536, idle: Optional[Callable[[], bool]] = None) -> Received:
    """Read SOCK until DONE(all read so far) holds, the peer closes, or TIMEOUT_S passes.

    With IDLE (a slow reader), read only CHUNK bytes at a time, and before each read wait until
    IDLE() holds (e.g. every thread of the peer asleep: it has written what it could, or is
    blocked in write() because the grader reads slowly)."""
    got = bytearray()
    deadline = time.monotonic() + timeout_s
    while not done(bytes(got)):
        left = deadline - time.monotonic()
        if left <= 0:
            return Received(bytes(got), "timeout")
        if idle is not None and not idle():
            time.sleep(observe.POLL_S)
            continue
        ready, _, _ = select.select([sock], [], [], left if idle is None else min(left, 0.05))
        if not ready:
            continue
        try:
            data = sock.recv(chunk)
        except ConnectionResetError:
            return Received(bytes(got), "reset")
        except BlockingIOError:
            continue
        if not data:
            return Received(bytes(got), "eof")
        got += data
    return Received(bytes(got), "done")


def flood(sock: socket.socket, data: bytes, *, until: Callable[[], bool], timeout_s: float) -> int:
    """Send DATA on SOCK without reading anything back, as far as the kernel takes it, until
    UNTIL() holds (polled all along: e.g. the peer is seen blocked in write() because its
    answers fill the buffers) or all is sent or TIMEOUT_S passes.  Returns the bytes sent;
    the socket is left as blocking as it was."""
    was_blocking = sock.getblocking()
    sock.setblocking(False)
    sent = 0
    deadline = time.monotonic() + timeout_s
    try:
        while sent < len(data) and not until() and time.monotonic() < deadline:
            try:
                sent += sock.send(data[sent:sent + 65536])
            except BlockingIOError:
                select.select([], [sock], [], observe.POLL_S * 5)
            except (BrokenPipeError, ConnectionResetError):
                break
    finally:
        sock.setblocking(was_blocking)
    return sent


def send_each_read(sock: socket.socket, messages: list[bytes], *, until: Callable[[], bool],
                   timeout_s: float) -> int:
    """Send MESSAGES on SOCK one by one, each in one send() once the peer has read the one before
    (see peer_unread), so that each meets a read() of its own, without reading anything back;
    stop when UNTIL() holds (e.g. the peer is asleep in write() because its answers fill the
    buffers) or all are sent or TIMEOUT_S passes.  Returns how many messages were sent whole.

    Like ``flood``, but a peer that takes one read() for one message still sees whole messages:
    a check that floods for another purpose does not also catch that bug."""
    deadline = time.monotonic() + timeout_s
    count = 0
    while count < len(messages) and time.monotonic() < deadline:
        if until():
            break
        if peer_unread(sock) != 0:
            time.sleep(observe.POLL_S / 10)
            continue
        try:
            sock.sendall(messages[count])
        except (BrokenPipeError, ConnectionResetError):
            break
        count += 1
    return count


def exchange(sock: socket.socket, data: bytes, done: Callable[[bytes], bool], timeout_s: float) -> Received:
    """Send DATA on SOCK while reading what comes back (so that neither side stalls on a full
    buffer), until DONE(all read) holds, the peer closes, or TIMEOUT_S passes."""
    got = bytearray()
    view = memoryview(data)
    deadline = time.monotonic() + timeout_s
    was_blocking = sock.getblocking()
    sock.setblocking(False)
    try:
        while not done(bytes(got)):
            left = deadline - time.monotonic()
            if left <= 0:
                return Received(bytes(got), "timeout")
            readable, writable, _ = select.select([sock], [sock] if view else [], [], left)
            if writable and view:
                try:
                    view = view[sock.send(view[:65536]):]
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    view = view[len(view):]  # the peer is gone; read what it left
            if readable:
                try:
                    chunk = sock.recv(65536)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    return Received(bytes(got), "reset")
                if not chunk:
                    return Received(bytes(got), "eof")
                got += chunk
    finally:
        sock.setblocking(was_blocking)
    return Received(bytes(got), "done")
