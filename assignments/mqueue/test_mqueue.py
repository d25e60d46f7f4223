"""Checks of the `mqueue` assignment (the spec, with points, is README.md beside this file).

The grader makes, fills and drains queues itself with posix_ipc, so that each check judges one
program: the student's mq_sender against a queue the grader reads, the student's mq_receiver
against messages the grader sent.  Queues are small (at most 10 messages of at most 1000 bytes):
RLIMIT_MSGQUEUE is a budget per user, shared by every check running at once.

Trap: a queue descriptor shows in /proc/PID/fd as the bare queue name ('/grader-...-q'), not as
/dev/mqueue/NAME, even with /dev/mqueue mounted (the kernel resolves it in its own internal
mount), and as '/grader-...-q (deleted)' once the queue was unlinked; so blocked calls are
matched on the call and the name (``on_queue``), not on ``Blocked.kind``, which says 'file'.
"""
from __future__ import annotations

import contextlib
import os
import resource
import shlex
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence

import posix_ipc
import pytest

from grader import observe
from grader.checks import expect_exit, expect_lines, first_difference
from grader.errors import block, fail, quote
from grader.observe import Blocked
from grader.proc import Child
from grader.sandbox import Sandbox

LECTURE_MAXMSG = 10
LECTURE_MSGSIZE = 256
LIMITS_DIR = Path("/proc/sys/fs/mqueue")
# What perror/strerror print when mq_open asks for more than the system allows.
LIMIT_ERRORS = ("Invalid argument", "EINVAL", "Too many open files", "EMFILE", "Cannot allocate memory", "ENOMEM")

Message = tuple[bytes, int]  # (bytes, priority), as posix_ipc receives them


# -- the grader's own queues -----------------------------------------------------------------
class Queues:
    """The queues a check makes or opens with posix_ipc.  At the end of the check every
    descriptor is closed, and the queues the grader made (or that a correct program leaves
    behind) are removed, so that they never show as the student's leftovers."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.opened: list[posix_ipc.MessageQueue] = []
        self.owned: list[str] = []

    def create(
        self, stem: str, max_messages: int = LECTURE_MAXMSG, max_message_size: int = LECTURE_MSGSIZE,
        messages: Sequence[tuple[int, bytes]] = (),
    ) -> tuple[str, posix_ipc.MessageQueue]:
        """A new queue with a name unique to the check, holding MESSAGES ((priority, bytes)...)."""
        name = self.sandbox.name(stem)
        queue = posix_ipc.MessageQueue(name, posix_ipc.O_CREX, mode=0o666, max_messages=max_messages,
                                       max_message_size=max_message_size, read=True, write=True)
        self.opened.append(queue)
        self.owned.append(name)
        uid = self.sandbox.jail.uid
        if uid is not None:
            # The programs run as a user of their own (grader.contain) and the queue folder is
            # sticky: only the queue's owner may mq_unlink it, as mq_receiver must.
            os.fchown(queue.mqd, uid, uid)
        for prio, data in messages:
            queue.send(data, timeout=0, priority=prio)
        return name, queue

    def open(self, name: str) -> Optional[posix_ipc.MessageQueue]:
        """The existing queue NAME, or None when there is none."""
        try:
            queue = posix_ipc.MessageQueue(name, read=True, write=True)
        except posix_ipc.ExistentialError:
            return None
        self.opened.append(queue)
        return queue

    def exists(self, name: str) -> bool:
        try:
            posix_ipc.MessageQueue(name, read=False, write=True).close()
        except posix_ipc.ExistentialError:
            return False
        return True

    def remove_later(self, name: str) -> None:
        """Remove the queue NAME at the end of the check, if it is still there."""
        self.owned.append(name)

    def close(self) -> None:
        for queue in self.opened:
            with contextlib.suppress(posix_ipc.Error):
                queue.close()
        for name in self.owned:
            with contextlib.suppress(posix_ipc.Error):
                posix_ipc.unlink_message_queue(name)


@pytest.fixture
def queues(sandbox: Sandbox) -> Iterator[Queues]:
    """The check's own queues (closed and removed before the sandbox looks for leftovers)."""
    made = Queues(sandbox)
    try:
        yield made
    finally:
        made.close()


def receive_all(queue: posix_ipc.MessageQueue, count: int, timeout_s: float) -> list[Message]:
    """Up to COUNT messages, waiting for each until the deadline."""
    got: list[Message] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            got.append(queue.receive(timeout=left))
        except posix_ipc.BusyError:
            break
    return got


def receive_waiting(queue: posix_ipc.MessageQueue) -> list[Message]:
    """Every message in the queue right now, without waiting."""
    got: list[Message] = []
    while True:
        try:
            got.append(queue.receive(timeout=0))
        except posix_ipc.BusyError:
            return got


def without_nul(data: bytes) -> bytes:
    """DATA without one terminating NUL: checks other than the exact-bytes one do not judge it."""
    return data[:-1] if data.endswith(b"\0") else data


# -- messages for the student ----------------------------------------------------------------
def shown(data: bytes) -> str:
    """A message as the student reads it: quoted, escaped, with its length."""
    return '"' + quote(data, 120).replace("\n", "\\n") + f'" ({len(data)} byte{"" if len(data) == 1 else "s"})'


def system_limits() -> str:
    """The machine's queue limits, read from /proc, and what mq_open does beyond them."""
    def read(name: str) -> str:
        try:
            return (LIMITS_DIR / name).read_text().strip()
        except OSError:
            return "?"

    soft, _ = resource.getrlimit(resource.RLIMIT_MSGQUEUE)
    budget = "no limit" if soft == resource.RLIM_INFINITY else f"{soft} bytes"
    return (f"on this machine a queue may hold at most {read('msg_max')} messages "
            f"(/proc/sys/fs/mqueue/msg_max) of at most {read('msgsize_max')} bytes "
            f"(/proc/sys/fs/mqueue/msgsize_max); mq_open fails with EINVAL ('Invalid argument') when "
            f"mq_maxmsg or mq_msgsize is above these limits or not positive (root cannot pass them either), "
            f"and with EMFILE ('Too many open files') when the queues of one user would take more than "
            f"{budget} in all (RLIMIT_MSGQUEUE, shared by all the programs of that user running at once). "
            f"The lecture's queue, {LECTURE_MAXMSG} messages of {LECTURE_MSGSIZE} bytes, fits.")


def limits_hint(child: Child, always: bool = False) -> str:
    """The limits explained, when CHILD failed with an error that looks like them (or ALWAYS
    when it failed at all); else ''."""
    info = child.poll()
    if info is None or info.exit_code == 0:
        return ""
    err = child.stderr().decode("utf-8", "replace")
    if always or any(e in err for e in LIMIT_ERRORS):
        return f"\nIf that is mq_open failing: {system_limits()}"
    return ""


def eagain_hint(child: Child) -> str:
    """Why a program that should have waited got EAGAIN, when its stderr says so; else ''."""
    info = child.poll()
    err = child.stderr().decode("utf-8", "replace")
    if info is not None and info.exit_code != 0 and ("Resource temporarily unavailable" in err or "EAGAIN" in err):
        return ("\nEAGAIN means the queue descriptor is non-blocking (O_NONBLOCK): only mq_receiver --nonblock opens "
                "it so; otherwise mq_send waits for room and mq_receive for a message.")
    return ""


def ended(child: Child, always: bool = False) -> str:
    """How CHILD ended, with the queue limits explained when its error looks like them."""
    return f"{child.label} {child.describe_end()}{limits_hint(child, always)}"


@contextlib.contextmanager
def errors_explained(*children: Child) -> Iterator[None]:
    """Add to a failure what an error of one of CHILDREN means, when its stderr names one this
    assignment explains: the queue limits (mq_open asking for more than the system allows), or
    EAGAIN from a queue opened non-blocking."""
    __tracebackhide__ = True
    try:
        yield
    except pytest.fail.Exception as exc:
        hints = [h for c in children for h in (limits_hint(c), eagain_hint(c)) if h]
        if not hints:
            raise
        # The same failure, explained; `from None`: not shown as a second error "during handling".
        raise pytest.fail.Exception(f"{exc.msg}{hints[0]}", pytrace=False) from None


def on_queue(b: Blocked, family: str, name: str) -> bool:
    """Is B a call of FAMILY ('mq_receive', 'mq_send') on the queue NAME?  The fd shows as
    '/NAME', or '/NAME (deleted)' once the queue was unlinked: still the same queue."""
    target = (b.target or "").removesuffix(" (deleted)")
    return b.is_(family) and target.endswith(name)


def wait_in(sandbox: Sandbox, family: str, name: str, child: Child, what: str) -> Blocked:
    """Wait until a process of CHILD's tree sleeps in a call of FAMILY ('mq_receive', 'mq_send')
    on the queue NAME."""
    __tracebackhide__ = True
    with errors_explained(child):
        return sandbox.wait_blocked(lambda b: on_queue(b, family, name), what, among=[child])


def expect_messages(what: str, want: Sequence[bytes], got: Sequence[bytes], child: Child) -> None:
    """Fail unless GOT are exactly the messages WANT, in that order, listing every difference."""
    __tracebackhide__ = True
    problems = []
    for i, (w, g) in enumerate(zip(want, got, strict=False), 1):
        if w == g:
            continue
        why = ""
        if g == w + b"\0":
            why = ("\n    (the same bytes plus a terminating NUL: the NUL is not part of a message, "
                   "send strlen(MSG) bytes)")
        elif g.startswith(w) or w.startswith(g):
            why = "\n    (one is the start of the other: the message boundaries or lengths are wrong)"
        problems.append(f"message {i}: expected {shown(w)}\n    got {shown(g)}{why}")
    if len(got) < len(want):
        missing = "\n".join(f"    {shown(w)}" for w in want[len(got):])
        problems.append(f"only {len(got)} of the {len(want)} messages arrived; missing:\n{missing}")
    if len(got) > len(want):
        extra = "\n".join(f"    {shown(g)}" for g in got[len(want):])
        problems.append(f"{len(got) - len(want)} message(s) more than were given:\n{extra}")
    if problems:
        fail(f"{what}:\n" + "\n".join(f"  - {p}" for p in problems) + f"\n{ended(child)}")


def expect_output(what: str, expected: bytes, got: bytes, child: Child, hint: str = "") -> None:
    """Fail unless GOT is EXPECTED byte for byte, showing where they part, with HINT."""
    __tracebackhide__ = True
    at = first_difference(expected, got)
    if at is None:
        return
    lo = max(0, at - 30)
    fail(f"{what}: expected {len(expected)} bytes, got {len(got)}; they differ from byte {at} on.{hint}\n"
         f"{block('expected (from byte %d)' % lo, expected[lo:lo + 100])}\n"
         f"{block('got (from byte %d)' % lo, got[lo:lo + 100])}\n{ended(child)}")


def printed(sandbox: Sandbox, receiver: Child, size: int) -> bytes:
    """RECEIVER's whole output once it has printed SIZE bytes (or ended, or 3 s passed), and has
    had a moment to exit, so that anything it prints beyond SIZE is seen too.  Its exit is not
    required: that is the business of other checks."""
    receiver.wait_stdout(size, sandbox.timeout(3))
    receiver.try_wait(sandbox.timeout(1))
    return receiver.stdout()


def received_lines(messages: Sequence[tuple[int, bytes]]) -> bytes:
    """What mq_receiver prints for MESSAGES ((priority, bytes)...), in the order given."""
    return b"".join(b"Received (priority %d): " % prio + data + b"\n" for prio, data in messages)


def by_priority(messages: Sequence[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """The order a queue hands MESSAGES out: highest priority first, FIFO among equal ones."""
    return sorted(messages, key=lambda m: -m[0])


def sender_args(messages: Sequence[tuple[int, bytes]]) -> list[str]:
    return [f"{prio}:{data.decode()}" for prio, data in messages]


def command(prog: str, name: str, messages: Sequence[tuple[int, bytes]]) -> str:
    """The command line as a shell would show it: `mq_sender NAME '1:a b' ...`."""
    return shlex.join([prog, name, *sender_args(messages)])


def spawn_sender(sandbox: Sandbox, name: str, messages: Sequence[tuple[int, bytes]], reference: bool = False) -> Child:
    prog = sandbox.reference("mq_sender") if reference else sandbox.student("mq_sender")
    return sandbox.spawn([prog, name, *sender_args(messages)])


def spawn_receiver(sandbox: Sandbox, name: str, count: int, *more: str, reference: bool = False) -> Child:
    prog = sandbox.reference("mq_receiver") if reference else sandbox.student("mq_receiver")
    return sandbox.spawn([prog, name, str(count), *more])


def attributes_problem(queue: posix_ipc.MessageQueue, who: str) -> Optional[str]:
    got = (queue.max_messages, queue.max_message_size)
    if got == (LECTURE_MAXMSG, LECTURE_MSGSIZE):
        return None
    return (f"the queue {who} created holds at most {got[0]} messages of at most {got[1]} bytes; the lecture's "
            f"attributes (README) are {LECTURE_MAXMSG} messages of {LECTURE_MSGSIZE} bytes: give mq_open a "
            f"struct mq_attr with mq_maxmsg = {LECTURE_MAXMSG} and mq_msgsize = {LECTURE_MSGSIZE} (with NULL "
            f"the system's defaults apply, /proc/sys/fs/mqueue/msg_default and msgsize_default)")


# -- mq_create ---------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_create_honours_attributes(sandbox: Sandbox, queues: Queues) -> None:
    """mq_create makes the queue with the MAXMSG and MSGSIZE asked for, prints them and leaves it."""
    for maxmsg, msgsize in ((3, 64), (7, 1000)):
        name = sandbox.name(f"create{maxmsg}")
        queues.remove_later(name)
        argv = f"mq_create {name} {maxmsg} {msgsize}"
        creator = sandbox.spawn([sandbox.student("mq_create"), name, str(maxmsg), str(msgsize)])
        end = creator.wait(sandbox.timeout(3), "to exit once it has created the queue")
        queue = queues.open(name)
        if queue is None:
            fail(f"after `{argv}` there is no queue {name}: mq_create must create it and leave it in place "
                 f"(only mq_receiver removes a queue).\n{ended(creator, always=True)}")
        got = (queue.max_messages, queue.max_message_size)
        if got != (maxmsg, msgsize):
            fail(f"`{argv}` made a queue of at most {got[0]} messages of at most {got[1]} bytes (mq_getattr), "
                 f"not {maxmsg} messages of {msgsize} bytes: pass MAXMSG and MSGSIZE to mq_open in a struct "
                 f"mq_attr (mq_maxmsg, mq_msgsize)")
        expect_exit(creator, end, 0, f"after `{argv}`")
        expect_lines(f"the output of `{argv}`", [f"maxmsg: {maxmsg}", f"msgsize: {msgsize}", "curmsgs: 0"],
                     creator.stdout(), creator)


# -- mq_sender ---------------------------------------------------------------------------------
EXACT = [(0, b"hello"), (0, b"two words and more"), (0, b"a:b:c"), (0, "héllo wörld ✓".encode()), (0, b""),
         (0, b"x" * LECTURE_MSGSIZE)]
PRIORITIES = [(1, b"low"), (5, b"high"), (3, b"middle"), (5, b"high, second"), (0, b"lowest"), (12, b"twelve"),
              (3, b"middle, second")]


@pytest.mark.points(2)
def test_sent_messages_exact(sandbox: Sandbox, queues: Queues) -> None:
    """Each MSG arrives as one message of exactly its bytes, no NUL, in order (read by the grader)."""
    name, queue = queues.create("exact")
    sender = spawn_sender(sandbox, name, EXACT)
    end = sender.wait(sandbox.timeout(3), f"to exit after sending {len(EXACT)} messages into a queue with room for 10")
    got = [data for data, _ in receive_waiting(queue)]
    expect_messages(f"the messages your mq_sender put in the queue (received by the grader; a message of "
                    f"{LECTURE_MSGSIZE} bytes is the most the queue takes)", [d for _, d in EXACT], got, sender)
    expect_exit(sender, end, 0, "after sending every message")


@pytest.mark.points(2)
def test_sent_priorities(sandbox: Sandbox, queues: Queues) -> None:
    """Each message carries the priority given with it: the grader receives them highest first."""
    name, queue = queues.create("prio")
    sender = spawn_sender(sandbox, name, PRIORITIES)
    sender.wait(sandbox.timeout(3), f"to exit after sending {len(PRIORITIES)} messages into a queue with room for 10")
    got = [(without_nul(data), prio) for data, prio in receive_waiting(queue)]
    want = [(data, prio) for prio, data in by_priority(PRIORITIES)]
    if got == want:
        return
    hint = ""
    if got and all(prio == 0 for _, prio in got):
        hint = "\nEvery message arrived with priority 0: give PRIO as the last argument of mq_send."
    fail(f"`{command('mq_sender', 'NAME', PRIORITIES)}`: the grader received the messages in this order "
         f"(a queue hands out the highest priority first, first-in first-out among equal ones):\n"
         + block("expected", "\n".join(f"priority {p}: {shown(d)}" for d, p in want)) + "\n"
         + block("got", "\n".join(f"priority {p}: {shown(d)}" for d, p in got)) + hint + f"\n{ended(sender)}")


@pytest.mark.points(1)
def test_sender_creates_lecture_queue(sandbox: Sandbox, queues: Queues) -> None:
    """A missing queue is created by mq_sender with the lecture's attributes (10 x 256 bytes)."""
    name = sandbox.name("made")
    queues.remove_later(name)
    messages = [(0, b"message %d" % i) for i in range(1, LECTURE_MAXMSG + 2)]  # one more than fits: it waits
    sender = spawn_sender(sandbox, name, messages)
    deadline = time.monotonic() + sandbox.timeout(3)
    queue = queues.open(name)
    while queue is None and sender.poll() is None and time.monotonic() < deadline:
        time.sleep(observe.POLL_S)
        queue = queues.open(name)
    if queue is None:
        queue = queues.open(name)
    if queue is None:
        shown_argv = f"{command('mq_sender', name, messages[:1])} ... '0:message {len(messages)}'"
        fail(f"`{shown_argv}` on a queue that does not exist yet should create it (O_CREAT, with the lecture's "
             f"attributes), but no queue {name} appeared.\n{ended(sender, always=True)}")
    problem = attributes_problem(queue, "mq_sender")
    if problem:
        fail(problem)


@pytest.mark.points(2)
def test_sender_blocks_on_full_queue(sandbox: Sandbox, queues: Queues) -> None:
    """With the queue full, mq_sender sleeps in mq_send until the grader makes room: no busy-waiting."""
    name, queue = queues.create("full", max_messages=2)
    messages = [(0, b"one"), (0, b"two"), (0, b"three")]
    sender = spawn_sender(sandbox, name, messages)
    wait_in(sandbox, "mq_send", name, sender,
            "mq_sender to sleep in mq_send() on the full queue (room for 2 messages, 3 to send)")
    got = [without_nul(data) for data, _ in receive_all(queue, 3, sandbox.timeout(3))]
    expect_messages("the messages received once the grader made room", [d for _, d in messages], got, sender)
    end = sender.wait(sandbox.timeout(3), "to exit once all its messages were sent")
    expect_exit(sender, end, 0, "after sending every message")


@pytest.mark.points(1)
def test_send_retried_after_eintr(sandbox: Sandbox, queues: Queues) -> None:
    """A signal that interrupts mq_send on a full queue (EINTR) is no error: send again."""
    name, queue = queues.create("eintrs", max_messages=1)
    messages = [(0, b"first"), (0, b"second")]
    sender = spawn_sender(sandbox, name, messages)
    b = wait_in(sandbox, "mq_send", name, sender,
                "mq_sender to sleep in mq_send() on the full queue (room for 1 message, 2 to send)")
    sandbox.interrupt(b)
    got = [without_nul(data) for data, _ in receive_all(queue, 2, sandbox.timeout(3))]
    expect_messages("the messages received after mq_send was interrupted", [d for _, d in messages], got, sender)
    end = sender.wait(sandbox.timeout(3), "to exit once both messages were sent")
    expect_exit(sender, end, 0, "after sending both messages")


# -- mq_receiver -------------------------------------------------------------------------------
MIXED = [(2, b"routine one"), (7, b"urgent one"), (2, b"routine two"), (0, b"whenever"), (7, b"urgent two"),
         (4, b"normal")]
BINARY = [(0, b"zero\x00bytes\x00inside"), (0, bytes(range(LECTURE_MSGSIZE))), (0, b"\xff\xfe\x00\x01"),
          (0, b"two\nlines")]


@pytest.mark.points(2)
def test_received_in_priority_order(sandbox: Sandbox, queues: Queues) -> None:
    """mq_receiver prints the messages the grader sent, highest priority first, with their priority."""
    name, _ = queues.create("order", messages=MIXED)
    receiver = spawn_receiver(sandbox, name, len(MIXED))
    end = receiver.wait(sandbox.timeout(3), f"to exit after receiving the {len(MIXED)} messages waiting in the queue")
    want = received_lines(by_priority(MIXED)).decode().splitlines()
    expect_lines(f"the output of mq_receiver NAME {len(MIXED)} (the grader sent "
                 + ", ".join(f"{d.decode()!r} with priority {p}" for p, d in MIXED) + ")",
                 want, receiver.stdout(), receiver)
    expect_exit(receiver, end, 0, f"after receiving {len(MIXED)} messages")


@pytest.mark.points(2)
def test_received_bytes_exact(sandbox: Sandbox, queues: Queues) -> None:
    """Binary messages (zero bytes, a full 256-byte one) are printed exactly as they came."""
    name, _ = queues.create("binary", messages=BINARY)
    receiver = spawn_receiver(sandbox, name, len(BINARY))
    expected = received_lines(BINARY)
    got = printed(sandbox, receiver, len(expected))
    at = first_difference(expected, got)
    hint = ""
    if at is not None and expected[at:at + 1] == b"\0":
        hint = ("\nThe output stops or differs at a zero byte of a message: print the n bytes mq_receive returned "
                "(fwrite(buf, 1, n, stdout)), not a C string (%s, strlen, puts stop at the first zero byte).")
    expect_output(f"the output of mq_receiver NAME {len(BINARY)} for {len(BINARY)} binary messages "
                  f"(zero bytes included; one of {LECTURE_MSGSIZE} bytes, the queue's message size)",
                  expected, got, receiver, hint)


@pytest.mark.points(2)
def test_receive_buffer_is_queue_msgsize(sandbox: Sandbox, queues: Queues) -> None:
    """The receive buffer has the queue's own mq_msgsize (1000 here, not the lecture's 256)."""
    big = b"0123456789" * 100
    name, _ = queues.create("big", max_messages=2, max_message_size=len(big), messages=[(0, big)])
    receiver = spawn_receiver(sandbox, name, 1)
    receiver.wait(sandbox.timeout(3), "to exit after receiving the one message waiting in the queue")
    err = receiver.stderr().decode("utf-8", "replace")
    hint = ""
    if "Message too long" in err or "EMSGSIZE" in err:
        hint = ("\nmq_receive failed with EMSGSIZE: its buffer length must be at least the queue's mq_msgsize "
                f"({len(big)} for this queue, made by another program), even for a short message. Ask the queue "
                "(mq_getattr) and allocate attr.mq_msgsize bytes.")
    expect_output(f"the output of mq_receiver NAME 1 on a queue of messages up to {len(big)} bytes",
                  received_lines([(0, big)]), receiver.stdout(), receiver, hint)


@pytest.mark.points(2)
def test_receiver_blocks_on_empty_queue(sandbox: Sandbox, queues: Queues) -> None:
    """Started first, mq_receiver creates the lecture's queue and sleeps in mq_receive until a message comes."""
    name = sandbox.name("empty")
    queues.remove_later(name)
    receiver = spawn_receiver(sandbox, name, 1)
    wait_in(sandbox, "mq_receive", name, receiver,
            f"mq_receiver (started before any sender, so the queue {name} does not exist yet) to create the queue "
            "and sleep in mq_receive() on it")
    queue = queues.open(name)
    if queue is None:
        fail(f"mq_receiver waits in mq_receive, but the queue {name} no longer exists: it must remove the queue "
             "only once it has received its messages (a sender could not reach it)")
    problem = attributes_problem(queue, "mq_receiver")
    if problem:
        fail(problem)
    queue.send(b"wake up", timeout=0, priority=0)
    expected = received_lines([(0, b"wake up")])
    got = printed(sandbox, receiver, len(expected))
    expect_output("the output of mq_receiver NAME 1 after it had waited", expected, got, receiver)


@pytest.mark.points(1)
def test_receive_retried_after_eintr(sandbox: Sandbox, queues: Queues) -> None:
    """A signal that interrupts mq_receive on an empty queue (EINTR) is no error: receive again."""
    name, queue = queues.create("eintrr")
    receiver = spawn_receiver(sandbox, name, 1)
    b = wait_in(sandbox, "mq_receive", name, receiver, "mq_receiver to sleep in mq_receive() on the empty queue")
    sandbox.interrupt(b)
    queue.send(b"after the signal", timeout=0, priority=0)
    expected = received_lines([(0, b"after the signal")])
    got = printed(sandbox, receiver, len(expected))
    expect_output("the output of mq_receiver NAME 1 after mq_receive was interrupted", expected, got, receiver)


@pytest.mark.points(1)
def test_nonblocking_receive_reports_eagain(sandbox: Sandbox, queues: Queues) -> None:
    """With --nonblock, an empty queue makes mq_receive fail with EAGAIN at once: reported, exit code 3."""
    name, _ = queues.create("nonblock", messages=[(0, b"only one")])
    receiver = spawn_receiver(sandbox, name, 2, "--nonblock")
    end = receiver.wait(sandbox.timeout(3), "to exit at once (with --nonblock, mq_receive on the empty queue must "
                        "fail with EAGAIN, not wait)")
    expect_lines("the output of mq_receiver NAME 2 --nonblock with one message in the queue",
                 ["Received (priority 0): only one", "Queue empty (EAGAIN)"], receiver.stdout(), receiver)
    expect_exit(receiver, end, 3, "when --nonblock found the queue empty (EAGAIN)")


# -- who removes the queue ---------------------------------------------------------------------
@pytest.mark.points(1)
def test_sender_does_not_unlink(sandbox: Sandbox, queues: Queues) -> None:
    """mq_sender leaves the queue in place: only mq_receiver removes it."""
    name, _ = queues.create("keep")
    sender = spawn_sender(sandbox, name, [(0, b"still here")])
    sender.wait(sandbox.timeout(3), "to exit after sending one message")
    if not queues.exists(name):
        fail(f"after mq_sender exited the queue {name} no longer exists: mq_sender removed it (mq_unlink). Only "
             "mq_receiver removes the queue, once it has received its messages; a receiver started after the "
             f"sender would find no queue (or make a new, empty one) and the message would be lost.\n{ended(sender)}")


@pytest.mark.points(1)
def test_receiver_unlinks_queue(sandbox: Sandbox, queues: Queues) -> None:
    """mq_receiver removes the queue (mq_unlink) once it has received its messages."""
    name, _ = queues.create("gone", messages=[(0, b"first"), (0, b"second")])
    receiver = spawn_receiver(sandbox, name, 2)
    end = receiver.wait(sandbox.timeout(3), "to exit after receiving the 2 messages waiting in the queue")
    if queues.exists(name):
        fail(f"mq_receiver {end}, but the queue {name} still exists: once it has received its messages, "
             "mq_receiver must remove it with mq_unlink (it is the one program that does)")
    sandbox.assert_no_leaks(what="after mq_receiver exited")


# -- with the reference ------------------------------------------------------------------------
INTEROP = [(0, b"first"), (0, b"second message"), (0, b"third: the end")]


@pytest.mark.points(1)
def test_student_sender_with_reference_receiver(sandbox: Sandbox, queues: Queues) -> None:
    """The reference mq_receiver, waiting on the queue it made, prints what your mq_sender sends."""
    name = sandbox.name("tosref")
    queues.remove_later(name)
    receiver = spawn_receiver(sandbox, name, len(INTEROP), reference=True)
    sandbox.wait_blocked(lambda b: on_queue(b, "mq_receive", name),
                         "the reference mq_receiver to wait on the empty queue it made", among=[receiver])
    sender = spawn_sender(sandbox, name, INTEROP)
    expected = received_lines(INTEROP)
    got = printed(sandbox, receiver, len(expected))
    hint = ""
    if b"\x00\n" in got:
        hint = "\nThe messages carry a terminating NUL: the spec says it is not sent (strlen(MSG) bytes)."
    if got != expected:
        hint += f"\n{ended(sender)}"
    expect_output(f"the output of the reference mq_receiver for `{command('mq_sender', name, INTEROP)}`",
                  expected, got, receiver, hint)


@pytest.mark.points(1)
def test_student_receiver_with_reference_sender(sandbox: Sandbox, queues: Queues) -> None:
    """Your mq_receiver prints what the reference mq_sender put in the queue it made."""
    name = sandbox.name("fromref")
    queues.remove_later(name)
    sender = spawn_sender(sandbox, name, INTEROP, reference=True)
    end = sender.wait(sandbox.timeout(3), "to exit after sending 3 messages")
    expect_exit(sender, end, 0)
    receiver = spawn_receiver(sandbox, name, len(INTEROP))
    expected = received_lines(INTEROP)
    got = printed(sandbox, receiver, len(expected))
    expect_output(f"the output of mq_receiver {name} {len(INTEROP)} (the reference mq_sender sent "
                  + ", ".join(repr(d.decode()) for _, d in INTEROP) + ")", expected, got, receiver)
