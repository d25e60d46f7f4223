"""Which sockets a program holds, and in what state, read from /proc/PID/net/{unix,tcp,tcp6} and
matched to the program through the inode of each fd ('socket:[INODE]').  The tables are read
through a pid because they are per network namespace: a program started without network has
a namespace of its own, and /proc/net shows only the grader's.  (Path-bound AF_UNIX sockets
still connect across namespaces; abstract ones do not.)  Readiness of a server is "a socket
of it is listening": the kernel queues connections from listen() on, so a client may connect
at once, whatever the design (fork, threads, poll).
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Iterable, Optional

from grader.observe import open_fds, read_text as _read

UNIX_ACCEPTCON = 0x10000  # /proc/net/unix Flags of a listening socket (__SO_ACCEPTCON)
TCP_STATES = {
    1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2", 6: "TIME_WAIT",
    7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN", 11: "CLOSING", 12: "NEW_SYN_RECV",
}


@dataclass(frozen=True)
class UnixSocket:
    """One line of /proc/net/unix."""

    inode: int
    listening: bool
    stream: bool
    path: Optional[str]


@dataclass(frozen=True)
class TcpSocket:
    """One line of /proc/net/tcp or /proc/net/tcp6 (addresses as text, e.g. '127.0.0.1', '::1')."""

    local: tuple[str, int]
    remote: tuple[str, int]
    state: str
    tx_queue: int
    rx_queue: int
    inode: int

    def describe(self) -> str:
        """'127.0.0.1:4242 -> 127.0.0.1:50000 ESTABLISHED', or 'listening on 127.0.0.1:4242'."""
        if self.state == "LISTEN":
            return f"listening on {self.local[0]}:{self.local[1]}"
        return f"{self.local[0]}:{self.local[1]} -> {self.remote[0]}:{self.remote[1]} {self.state}"


def _net(pid: Optional[int], table: str) -> str:
    return f"/proc/{pid}/net/{table}" if pid else f"/proc/net/{table}"


def _namespaces(pids: Iterable[int]) -> list[int]:
    """One pid per network namespace among PIDS (the tables of a namespace are read once)."""
    seen: dict[str, int] = {}
    for pid in pids:
        try:
            seen.setdefault(os.readlink(f"/proc/{pid}/ns/net"), pid)
        except OSError:
            pass
    return list(seen.values())


def unix_sockets(pid: Optional[int] = None) -> list[UnixSocket]:
    """Every AF_UNIX socket of the network namespace of PID (default: the grader's)."""
    out = []
    for line in (_read(_net(pid, "unix")) or "").splitlines()[1:]:
        f = line.split()
        if len(f) < 7:
            continue
        out.append(UnixSocket(int(f[6]), bool(int(f[3], 16) & UNIX_ACCEPTCON), f[4] == "0001",
                              f[7] if len(f) > 7 else None))
    return out


def _tcp_address(text: str) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))  # four host-order u32
    addr = socket.inet_ntop(socket.AF_INET6, words)
    if addr.startswith("::ffff:") and "." in addr:
        addr = addr[7:]  # an IPv4 peer of a dual-stack socket
    return addr, int(port, 16)


def tcp_sockets(pid: Optional[int] = None) -> list[TcpSocket]:
    """Every TCP socket (IPv4 and IPv6, TIME_WAIT included) of the network namespace of PID
    (default: the grader's)."""
    out = []
    for table in ("tcp", "tcp6"):
        for line in (_read(_net(pid, table)) or "").splitlines()[1:]:
            f = line.split()
            if len(f) < 10:
                continue
            tx, rx = f[4].split(":")
            out.append(TcpSocket(_tcp_address(f[1]), _tcp_address(f[2]), TCP_STATES.get(int(f[3], 16), f[3]),
                                 int(tx, 16), int(rx, 16), int(f[9])))
    return out


def socket_fds(pids: Iterable[int]) -> list[tuple[int, int, int]]:
    """(pid, fd, inode) of every socket fd held by PIDS."""
    out = []
    for pid in pids:
        for fd, target in open_fds(pid).items():
            if target.startswith("socket:["):
                out.append((pid, fd, int(target[8:-1])))
    return out


def unix_listener(path: str, pids: Iterable[int]) -> Optional[int]:
    """The inode of a listening AF_UNIX stream socket bound to PATH and held by one of PIDS."""
    pids = list(pids)
    held = {inode for _, _, inode in socket_fds(pids)}
    for pid in _namespaces(pids):
        for s in unix_sockets(pid):
            if s.listening and s.path == path and s.inode in held:
                return s.inode
    return None


def tcp_held(pids: Iterable[int]) -> list[TcpSocket]:
    """The TCP sockets held by PIDS (listening and connected), each once."""
    pids = list(pids)
    held = {inode for _, _, inode in socket_fds(pids)}
    found: dict[int, TcpSocket] = {}
    for pid in _namespaces(pids):
        for s in tcp_sockets(pid):
            if s.inode in held:
                found.setdefault(s.inode, s)
    return list(found.values())


def tcp_listeners(pids: Iterable[int]) -> list[TcpSocket]:
    """The listening TCP sockets held by PIDS."""
    return [s for s in tcp_held(pids) if s.state == "LISTEN"]
