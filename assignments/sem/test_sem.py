"""Checks of the `sem` assignment (the spec, with points, is README.md beside this file).

The bounded buffer's layout is part of the spec, so the grader can be either side: it makes the
objects with the reference ``pc_init``, opens the three named semaphores with posix_ipc and maps
the ``buffer_t``, and then puts or takes items itself, or holds the mutex, to judge one program at
a time.

Which semaphore a process waits on is read from the kernel: a thread asleep in ``sem_wait`` is in
a futex wait whose word lies in its mapping of ``/dev/shm/sem.NAME`` (``observe.futex_wait``).

A deadlock is proven, not guessed from a timeout: every thread of the check is asleep in a wait
that has no timeout (a futex wait, or waitpid), the futex waits on the check's semaphores are on
semaphores whose value is 0, and nothing has moved (same threads, same voluntary context-switch
counts) between two looks.  Nobody is left who could post.

Trap: ``test_many_producers_and_consumers`` runs its programs on one CPU.  On two, a program that
changes the buffer without the mutex loses or repeats items only now and then, so that check
would judge timing; the mutex is ``test_buffer_changes_only_under_mutex``'s business, which holds
it and sees every change made without it.  Each round of the check starts from the state that
shows a wrong order of waits for certain: all the consumers first, on an empty buffer; all the
producers first, until the buffer is full.
"""
from __future__ import annotations

import contextlib
import mmap
import os
import re
import struct
import time
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

import posix_ipc
import pytest

from grader import observe, proc
from grader.checks import expect_exit
from grader.errors import block, fail
from grader.observe import Blocked
from grader.proc import Child
from grader.sandbox import Sandbox

SLOTS = 10
BUFFER = struct.Struct(f"={2 * SLOTS}i2i")  # buffer_t: item_t slot[10] (producer, number); in; out
WHICH = ("empty", "full", "mutex")
INITIAL = {"empty": SLOTS, "full": 0, "mutex": 1}
LINE = re.compile(r"consumed (-?\d+):(-?\d+)")

Item = tuple[int, int]


# -- the grader's side of the buffer -----------------------------------------------------------
class Buffer:
    """One set of producer-consumer objects: PREFIX (the buffer_t) and PREFIX-empty, -full,
    -mutex.  The grader opens them with posix_ipc to read and play its part; ``close`` closes its
    handles and removes whatever is left, so that a check never reports them as the student's."""

    def __init__(self, sandbox: Sandbox, stem: str = "pc") -> None:
        self.sandbox = sandbox
        self.prefix = sandbox.name(stem)
        self.names = {w: f"{self.prefix}-{w}" for w in WHICH}
        self._sems: dict[str, posix_ipc.Semaphore] = {}
        self._mem: Optional[mmap.mmap] = None

    def sem_path(self, which: str) -> str:
        return f"/dev/shm/sem.{self.names[which].lstrip('/')}"

    def init(self) -> None:
        """Make the objects with the reference pc_init."""
        __tracebackhide__ = True
        init = self.sandbox.spawn([self.sandbox.reference("pc_init"), self.prefix])
        end = init.wait(self.sandbox.timeout(3), "to make the objects")
        expect_exit(init, end, 0)

    def sem(self, which: str) -> posix_ipc.Semaphore:
        if which not in self._sems:
            self._sems[which] = posix_ipc.Semaphore(self.names[which])
        return self._sems[which]

    def value(self, which: str) -> int:
        return int(self.sem(which).value)

    def values(self) -> dict[str, int]:
        return {w: self.value(w) for w in WHICH}

    def _memory(self) -> mmap.mmap:
        if self._mem is None:
            shm = posix_ipc.SharedMemory(self.prefix)
            try:
                self._mem = mmap.mmap(shm.fd, BUFFER.size)
            finally:
                shm.close_fd()
        return self._mem

    def raw(self) -> bytes:
        return bytes(self._memory()[: BUFFER.size])

    def state(self) -> tuple[list[Item], int, int]:
        """(slots, in, out) of the buffer_t."""
        fields = BUFFER.unpack(self.raw())
        slots = [(fields[2 * i], fields[2 * i + 1]) for i in range(SLOTS)]
        return slots, fields[-2], fields[-1]

    def _set(self, slot: Optional[tuple[int, Item]] = None, in_: Optional[int] = None,
             out: Optional[int] = None) -> None:
        mem = self._memory()
        if slot is not None:
            struct.pack_into("=2i", mem, 8 * slot[0], *slot[1])
        if in_ is not None:
            struct.pack_into("=i", mem, 8 * SLOTS, in_)
        if out is not None:
            struct.pack_into("=i", mem, 8 * SLOTS + 4, out)

    def put(self, item: Item, use_mutex: bool = True) -> None:
        """Put ITEM in the buffer as a producer would (empty, mutex, slot, mutex, full).  Without
        USE_MUTEX when the only other party is known to be asleep waiting for the item."""
        self.sem("empty").acquire(1.0)
        if use_mutex:
            self.sem("mutex").acquire(1.0)
        _, in_, _ = self.state()
        self._set(slot=(in_ % SLOTS, item), in_=(in_ + 1) % SLOTS)
        if use_mutex:
            self.sem("mutex").release()
        self.sem("full").release()

    def take(self) -> Item:
        """Take an item as a consumer would, but without the mutex: only when the only other party
        is known to be asleep waiting for a free slot (it may hold the mutex, in the wrong order)."""
        self.sem("full").acquire(1.0)
        slots, _, out = self.state()
        self._set(out=(out + 1) % SLOTS)
        self.sem("empty").release()
        return slots[out % SLOTS]

    def which(self, b: Blocked) -> Optional[str]:
        """'empty', 'full' or 'mutex': the semaphore of this buffer B waits on in sem_wait."""
        fw = observe.futex_wait(b)
        if fw is None:
            return None
        for w in WHICH:
            if fw.file == self.sem_path(w):
                return w
        return None

    def describe(self) -> str:
        """The semaphores' values and the buffer's indices, for messages."""
        try:
            values = self.values()
            _, in_, out = self.state()
        except (posix_ipc.Error, OSError, ValueError):
            return "(the objects cannot be read)"
        return (f"empty = {values['empty']}, full = {values['full']}, mutex = {values['mutex']}; "
                f"in = {in_}, out = {out}")

    def close(self) -> None:
        for sem in self._sems.values():
            with contextlib.suppress(posix_ipc.Error):
                sem.close()
        if self._mem is not None:
            self._mem.close()
        for name in self.names.values():
            with contextlib.suppress(posix_ipc.Error):
                posix_ipc.unlink_semaphore(name)
        with contextlib.suppress(posix_ipc.Error):
            posix_ipc.unlink_shared_memory(self.prefix)


@pytest.fixture
def buf(sandbox: Sandbox) -> Iterator[Buffer]:
    """Objects made by the reference pc_init (removed before the sandbox looks for leftovers)."""
    made = Buffer(sandbox)
    try:
        made.init()
        yield made
    finally:
        made.close()


# -- watching the programs ---------------------------------------------------------------------
def alive(sandbox: Sandbox, among: Sequence[Child] = ()) -> list[int]:
    pids = observe.descendants([c.pid for c in among]) if among else sandbox.processes()
    return [p for p in pids if observe.state(p) not in (None, "Z")]


def who(sandbox: Sandbox, pid: int) -> str:
    for c in sandbox.children:
        if c.pid == pid:
            return f"{c.label} (pid {pid})"
    fields = observe.stat_fields(pid)
    return f"pid {pid} ({fields[0]}), forked by pid {fields[2]}" if fields else f"pid {pid}"


def describe(sandbox: Sandbox, b: Optional[Blocked], buffers: Sequence[Buffer]) -> str:
    """What one thread is doing, naming the semaphore of a sem_wait and its value."""
    if b is None:
        return "running"
    for bf in buffers:
        w = bf.which(b)
        if w is not None:
            try:
                value = f" (value {bf.value(w)})"
            except posix_ipc.Error:
                value = ""
            return f"blocked in sem_wait on {bf.names[w]}{value}"
    return b.describe()


def kernel_view(sandbox: Sandbox, buffers: Sequence[Buffer], among: Sequence[Child] = ()) -> str:
    """One line per thread of the check's processes: what it waits on, semaphores named."""
    lines = []
    for pid in alive(sandbox, among):
        for tid in observe.threads(pid):
            name = who(sandbox, pid) + ("" if tid == pid else f" thread {tid}")
            lines.append(f"  {name}: {describe(sandbox, observe.blocked(pid, tid), buffers)}")
    for bf in buffers:
        lines.append(f"  {bf.prefix}: {bf.describe()}")
    return "\n".join(lines) or "  (no process left)"


def sem_waiters(pids: list[int], bf: Buffer, which: Optional[str] = None) -> list[tuple[Blocked, str]]:
    """Threads among PIDS asleep in sem_wait on a semaphore of BF (on WHICH, if given)."""
    out = []
    for b in observe.all_blocked(pids):
        w = bf.which(b)
        if w is not None and (which is None or w == which):
            out.append((b, w))
    return out


def wait_for_waiters(
    sandbox: Sandbox, bf: Buffer, among: Sequence[Child], count: int, which: Optional[str], what: str,
    watch: Optional[Callable[[], None]] = None, timeout_s: float = 3.0,
) -> list[tuple[Blocked, str]]:
    """Wait until COUNT threads of AMONG's trees sleep in sem_wait on BF's WHICH (any of its
    semaphores when None); WATCH() runs at each poll (it fails the check when it sees something
    wrong).  Fails with every thread's state after TIMEOUT_S, or when the programs end first."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    while True:
        if watch is not None:
            watch()
        pids = alive(sandbox, among)
        found = sem_waiters(pids, bf, which)
        if len(found) >= count:
            return found
        if not pids:
            fail(f"expected {what}, but the program ended first:\n"
                 + "\n".join(f"  {c.label} {c.describe_end()}" for c in among))
        if time.monotonic() >= deadline:
            fail(f"expected {what} within {sandbox.timeout(timeout_s):.1f} s; what the kernel shows:\n"
                 f"{kernel_view(sandbox, [bf])}")
        time.sleep(observe.POLL_S)


def deadlock(sandbox: Sandbox, buffers: Sequence[Buffer]) -> Optional[tuple[tuple[tuple[int, int, int], ...], str]]:
    """(snapshot, description) when the check's processes are deadlocked right now, else None.

    Deadlocked: every thread asleep in a wait without a timeout (a futex wait, or waitpid), at
    least one of them in sem_wait on a semaphore of BUFFERS, and every such semaphore at 0."""
    pids = alive(sandbox)
    if not pids:
        return None
    snapshot = []
    lines = []
    on_sems = 0
    for pid in pids:
        for tid in observe.threads(pid):
            b = observe.blocked(pid, tid)
            if b is None:
                return None
            if not b.is_("wait"):
                if not b.is_("futex") or (len(b.args) > 3 and b.args[3] != 0):
                    return None
                for bf in buffers:
                    w = bf.which(b)
                    if w is not None:
                        if bf.value(w) > 0:
                            return None
                        on_sems += 1
            snapshot.append((pid, tid, observe.ctxt_switches(pid, tid)))
            name = who(sandbox, pid) + ("" if tid == pid else f" thread {tid}")
            lines.append(f"  {name}: {describe(sandbox, b, buffers)}")
    if not on_sems:
        return None
    return tuple(snapshot), "\n".join(lines)


def finish(sandbox: Sandbox, programs: Sequence[Child], buffers: Sequence[Buffer], what: str, hint: str = "",
           timeout_s: float = 5.0) -> None:
    """Wait until PROGRAMS have all ended; fail at once on a proven deadlock (naming each process,
    the semaphore it waits on and that semaphore's value, then HINT), or after TIMEOUT_S."""
    __tracebackhide__ = True
    deadline = time.monotonic() + sandbox.timeout(timeout_s)
    last: Optional[tuple[tuple[int, int, int], ...]] = None
    while any(c.poll() is None for c in programs):
        found = deadlock(sandbox, buffers)
        if found is not None and found[0] == last:
            fail(f"deadlock {what}: every process is asleep, each waiting for a semaphore that only another "
                 f"sleeping process could post.\n{found[1]}\n" + "\n".join(f"  {bf.prefix}: {bf.describe()}"
                                                                            for bf in buffers)
                 + (f"\n{hint}" if hint else ""))
        last = found[0] if found is not None else None
        if time.monotonic() >= deadline:
            fail(f"the programs did not all end within {sandbox.timeout(timeout_s):.1f} s {what}; what the kernel "
                 f"shows:\n{kernel_view(sandbox, buffers)}")
        time.sleep(observe.POLL_S)



def consumed(consumer: Child) -> list[Item]:
    """The items a consumer printed; fails on a line that is not 'consumed P:I'."""
    __tracebackhide__ = True
    items = []
    for line in consumer.stdout().decode("utf-8", "replace").splitlines():
        m = LINE.fullmatch(line.strip())
        if m is None:
            fail(f"{consumer.label} printed a line that is not 'consumed P:I': {line!r}\n"
                 f"{block('its output', consumer.stdout())}")
        items.append((int(m.group(1)), int(m.group(2))))
    return items


def producer(sandbox: Sandbox, bf: Buffer, pid_: int, count: int, prog: Optional[str] = None) -> Child:
    return sandbox.spawn([prog or sandbox.student("producer"), bf.prefix, str(pid_), str(count)])


def consumer(sandbox: Sandbox, bf: Buffer, count: int, prog: Optional[str] = None) -> Child:
    return sandbox.spawn([prog or sandbox.student("consumer"), bf.prefix, str(count)])


def exit_of(child: Child) -> proc.ExitInfo:
    """How a program that has ended ended (``finish`` waited for it)."""
    info = child.poll()
    assert info is not None, f"{child.label} has not ended"
    return info


def expect_values(bf: Buffer, want: dict[str, int], when: str) -> None:
    __tracebackhide__ = True
    got = bf.values()
    if got != want:
        wrong = ", ".join(f"{w} is {got[w]} (expected {want[w]})" for w in WHICH if got[w] != want[w])
        fail(f"{when}, the semaphores should be empty = {want['empty']}, full = {want['full']}, mutex = "
             f"{want['mutex']}; {wrong}")


# -- pc_init and pc_cleanup --------------------------------------------------------------------
@pytest.mark.points(1)
def test_init_makes_objects(sandbox: Sandbox) -> None:
    """pc_init PREFIX makes the buffer object and the semaphores empty = 10, full = 0, mutex = 1."""
    bf = Buffer(sandbox)
    try:
        init = sandbox.spawn([sandbox.student("pc_init"), bf.prefix])
        end = init.wait(sandbox.timeout(3), "to make the objects and exit")
        expect_exit(init, end, 0)
        missing = [bf.names[w] for w in WHICH if not Path(bf.sem_path(w)).exists()]
        if missing:
            fail(f"after pc_init {bf.prefix}, these named semaphores do not exist: {', '.join(missing)} "
                 f"(sem_open(PREFIX-empty, O_CREAT | O_EXCL, 0600, 10) and likewise full and mutex)")
        try:
            size = os.stat(f"/dev/shm/{bf.prefix.lstrip('/')}").st_size
        except FileNotFoundError:
            fail(f"after pc_init {bf.prefix}, there is no shared-memory object {bf.prefix}")
        if size < BUFFER.size:
            fail(f"the object {bf.prefix} is {size} bytes long; it must hold a buffer_t ({BUFFER.size} bytes: "
                 f"ftruncate(fd, sizeof(buffer_t)))")
        expect_values(bf, INITIAL, f"after pc_init {bf.prefix}")
        _, in_, out = bf.state()
        if (in_, out) != (0, 0):
            fail(f"after pc_init the buffer should be empty with in = out = 0; in = {in_}, out = {out}")
    finally:
        bf.close()


@pytest.mark.points(1)
def test_cleanup_unlinks_everything(sandbox: Sandbox, buf: Buffer) -> None:
    """After pc_cleanup PREFIX, nothing of the producer-consumer is left in /dev/shm."""
    cleanup = sandbox.spawn([sandbox.student("pc_cleanup"), buf.prefix])
    end = cleanup.wait(sandbox.timeout(3), "to remove the objects and exit")
    sandbox.assert_no_leaks(what=f"after pc_cleanup {buf.prefix} (it unlinks the semaphores with sem_unlink, "
                                 f"which removes /dev/shm/sem.NAME, and the object with shm_unlink)")
    expect_exit(cleanup, end, 0)


# -- one program against the grader ------------------------------------------------------------
@pytest.mark.points(2)
def test_producer_fills_slots(sandbox: Sandbox, buf: Buffer) -> None:
    """producer PREFIX 6 5 puts 6:1 ... 6:5 into slots 0 to 4 and leaves empty = 5, full = 5."""
    prod = producer(sandbox, buf, 6, 5)
    end = prod.wait(sandbox.timeout(3), "to put 5 items into an empty buffer and exit")
    expect_exit(prod, end, 0)
    slots, in_, out = buf.state()
    want = [(6, i) for i in range(1, 6)]
    if slots[:5] != want or (in_, out) != (5, 0):
        fail(f"after producer {buf.prefix} 6 5 the buffer should hold 6:1 ... 6:5 in slots 0 to 4, with in = 5 "
             f"and out = 0; it holds {' '.join(f'{p}:{n}' for p, n in slots)}, in = {in_}, out = {out}")
    expect_values(buf, {"empty": 5, "full": 5, "mutex": 1}, "after 5 items were put into the empty buffer")


@pytest.mark.points(2)
def test_consumer_takes_items(sandbox: Sandbox, buf: Buffer) -> None:
    """With 8:1 ... 8:5 in the buffer (put by the grader), consumer PREFIX 5 prints them in order."""
    for i in range(1, 6):
        buf.put((8, i))
    cons = consumer(sandbox, buf, 5)
    end = cons.wait(sandbox.timeout(3), "to take the 5 items waiting in the buffer and exit")
    expect_exit(cons, end, 0)
    got = consumed(cons)
    want = [(8, i) for i in range(1, 6)]
    if got != want:
        fail(f"consumer {buf.prefix} 5 should print 'consumed 8:1' ... 'consumed 8:5', the items in the order they "
             f"were put\n{block('it printed', cons.stdout())}")
    _, _, out = buf.state()
    if out != 5:
        fail(f"after 5 items were taken, out should be 5; it is {out}")
    expect_values(buf, {"empty": SLOTS, "full": 0, "mutex": 1}, "after the 5 items were taken")


@pytest.mark.points(3)
def test_buffer_changes_only_under_mutex(sandbox: Sandbox, buf: Buffer) -> None:
    """While the grader holds PREFIX-mutex, a producer and a consumer both wait for it and the
    buffer does not change; once it is posted, both finish."""
    seed = producer(sandbox, buf, 9, 3, prog=sandbox.reference("producer"))
    expect_exit(seed, seed.wait(sandbox.timeout(3), "to put 3 items"), 0)
    buf.sem("mutex").acquire(1.0)
    before = buf.raw()
    held = buf.describe()
    prod = producer(sandbox, buf, 1, 3)
    cons = consumer(sandbox, buf, 3)

    def unchanged() -> None:
        if buf.raw() != before:
            slots, in_, out = buf.state()
            fail(f"the grader took {buf.names['mutex']} (sem_wait) with 3 items in the buffer ({held}); while "
                 f"it held it, the buffer changed: now {buf.describe()}, slots "
                 f"{' '.join(f'{p}:{n}' for p, n in slots)}. Your producer and consumer must take the mutex "
                 f"before they touch the buffer (slot, in, out) and post it only after.\n{kernel_view(sandbox, [buf])}")

    wait_for_waiters(sandbox, buf, [prod, cons], 2, "mutex",
                     "your producer and your consumer to be asleep in sem_wait on the mutex the grader holds",
                     watch=unchanged)
    unchanged()
    buf.sem("mutex").release()
    finish(sandbox, [prod, cons], [buf], "after the grader posted the mutex")
    expect_exit(prod, exit_of(prod), 0)
    expect_exit(cons, exit_of(cons), 0)
    got = consumed(cons)
    if got != [(9, 1), (9, 2), (9, 3)]:
        fail(f"the consumer should have taken the 3 items that were waiting, 9:1 9:2 9:3\n"
             f"{block('it printed', cons.stdout())}")


@pytest.mark.points(2)
def test_producer_blocks_when_full(sandbox: Sandbox, buf: Buffer) -> None:
    """producer PREFIX 4 11 fills the 10 slots, then sleeps in sem_wait on PREFIX-empty; once the
    grader takes an item it puts the 11th and exits."""
    prod = producer(sandbox, buf, 4, 11)
    wait_for_waiters(sandbox, buf, [prod], 1, "empty",
                     f"your producer, with 10 items in the 10 slots, to be asleep in sem_wait on {buf.names['empty']}")
    slots, in_, _ = buf.state()
    if slots != [(4, i) for i in range(1, 11)] or buf.value("full") != SLOTS:
        fail(f"while the producer waits for a free slot, the 10 slots should hold 4:1 ... 4:10 and full should be "
             f"10; slots: {' '.join(f'{p}:{n}' for p, n in slots)}; {buf.describe()}")
    buf.take()
    end = prod.wait(sandbox.timeout(3), "to put its 11th item once the grader had freed a slot, and exit")
    expect_exit(prod, end, 0)
    slots, in_, _ = buf.state()
    if slots[0] != (4, 11) or in_ != 1:
        fail(f"the 11th item should be 4:11 in slot 0 (in wraps around: in = (in + 1) % 10); slot 0 holds "
             f"{slots[0][0]}:{slots[0][1]}, in = {in_}")


@pytest.mark.points(2)
def test_consumer_blocks_when_empty(sandbox: Sandbox, buf: Buffer) -> None:
    """consumer PREFIX 1 on an empty buffer sleeps in sem_wait on PREFIX-full; once the grader
    puts an item it prints it and exits."""
    cons = consumer(sandbox, buf, 1)
    wait_for_waiters(sandbox, buf, [cons], 1, "full",
                     f"your consumer, with nothing in the buffer, to be asleep in sem_wait on {buf.names['full']}")
    buf.put((7, 1), use_mutex=False)
    end = cons.wait(sandbox.timeout(3), "to take the item the grader put and exit")
    expect_exit(cons, end, 0)
    if consumed(cons) != [(7, 1)]:
        fail(f"the consumer should print 'consumed 7:1'\n{block('it printed', cons.stdout())}")
    expect_values(buf, {"empty": SLOTS, "full": 0, "mutex": 1}, "after the item was taken")


# -- the order of the waits: deadlocks ---------------------------------------------------------
@pytest.mark.points(2)
def test_producer_waits_for_slot_before_mutex(sandbox: Sandbox, buf: Buffer) -> None:
    """Your producer PREFIX 1 11 waits on a full buffer; the reference consumer PREFIX 11 must be
    able to take the items: no deadlock."""
    prod = producer(sandbox, buf, 1, 11)
    wait_for_waiters(sandbox, buf, [prod], 1, None,
                     "your producer, with 10 items in the 10 slots, to be asleep in sem_wait")
    cons = consumer(sandbox, buf, 11, prog=sandbox.reference("consumer"))
    finish(sandbox, [prod, cons], [buf], "once the reference consumer started on the full buffer",
           hint="Your producer waits for a free slot (empty) while it holds the mutex, so no consumer can take an "
                "item to free one: sem_wait(empty) first, then sem_wait(mutex).")
    expect_exit(prod, exit_of(prod), 0)


@pytest.mark.points(2)
def test_consumer_waits_for_item_before_mutex(sandbox: Sandbox, buf: Buffer) -> None:
    """Your consumer PREFIX 1 waits on an empty buffer; the reference producer PREFIX 1 1 must be
    able to put an item: no deadlock."""
    cons = consumer(sandbox, buf, 1)
    wait_for_waiters(sandbox, buf, [cons], 1, None, "your consumer, on an empty buffer, to be asleep in sem_wait")
    prod = producer(sandbox, buf, 1, 1, prog=sandbox.reference("producer"))
    finish(sandbox, [prod, cons], [buf], "once the reference producer started on the empty buffer",
           hint="Your consumer waits for an item (full) while it holds the mutex, so no producer can put one: "
                "sem_wait(full) first, then sem_wait(mutex).")
    expect_exit(cons, exit_of(cons), 0)


# -- all together ------------------------------------------------------------------------------
PRODUCERS, CONSUMERS, EACH = 3, 3, 40


def judge(consumers: Sequence[Child], producers: Sequence[Child], round_: str) -> None:
    """Every item made is consumed exactly once, and each consumer sees each producer's items in
    the order they were made."""
    __tracebackhide__ = True
    for c in [*producers, *consumers]:
        end = c.poll()
        if end is None or end.exit_code != 0:
            fail(f"{round_}: {c.label} should exit with 0; it {c.describe_end()}")
    want = {(p, i) for p in range(1, PRODUCERS + 1) for i in range(1, EACH + 1)}
    seen: dict[Item, int] = {}
    for c in consumers:
        items = consumed(c)
        for item in items:
            seen[item] = seen.get(item, 0) + 1
        for p in range(1, PRODUCERS + 1):
            numbers = [n for q, n in items if q == p]
            if numbers != sorted(numbers):
                fail(f"{round_}: {c.label} took producer {p}'s items out of order: "
                     f"{' '.join(map(str, numbers[:30]))} (the buffer is a queue: in and out go round the slots "
                     f"in the same order)")
    missing = sorted(want - set(seen))
    twice = sorted(item for item, n in seen.items() if n > 1)
    strange = sorted(set(seen) - want)
    if missing or twice or strange:
        parts = []
        if missing:
            parts.append(f"never consumed ({len(missing)}): " + " ".join(f"{p}:{n}" for p, n in missing[:20]))
        if twice:
            parts.append(f"consumed more than once ({len(twice)}): " + " ".join(f"{p}:{n}" for p, n in twice[:20]))
        if strange:
            parts.append("never produced: " + " ".join(f"{p}:{n}" for p, n in strange[:20]))
        fail(f"{round_}: {PRODUCERS} producers made {EACH} items each and {CONSUMERS} consumers took {EACH} each; "
             f"every item should be consumed exactly once.\n" + "\n".join(f"  {x}" for x in parts))


@pytest.mark.points(3)
def test_many_producers_and_consumers(sandbox: Sandbox) -> None:
    """Three producers of 40 items and three consumers of 40 at once: every item is consumed
    exactly once, each producer's items in their order.  Two rounds: consumers first on an empty
    buffer, then producers first until it is full."""
    for round_, consumers_first, stem in (("consumers first", True, "pc"), ("producers first", False, "pc2")):
        bf = Buffer(sandbox, stem)
        try:
            bf.init()
            if consumers_first:
                with proc.one_cpu():
                    consumers = [consumer(sandbox, bf, EACH) for _ in range(CONSUMERS)]
                wait_for_waiters(sandbox, bf, consumers, CONSUMERS, None,
                                 f"{round_}: the {CONSUMERS} consumers, on an empty buffer, to be asleep in sem_wait")
                with proc.one_cpu():
                    producers = [producer(sandbox, bf, p, EACH) for p in range(1, PRODUCERS + 1)]
            else:
                with proc.one_cpu():
                    producers = [producer(sandbox, bf, p, EACH) for p in range(1, PRODUCERS + 1)]
                wait_for_waiters(sandbox, bf, producers, PRODUCERS, None,
                                 f"{round_}: the {PRODUCERS} producers, once the 10 slots are full, to be asleep "
                                 f"in sem_wait")
                with proc.one_cpu():
                    consumers = [consumer(sandbox, bf, EACH) for _ in range(CONSUMERS)]
            finish(sandbox, [*producers, *consumers], [bf], f"({round_})",
                   hint="A process that waits for empty or full while it holds the mutex stops every other one: "
                        "wait for a slot or an item first, for the mutex second.")
            judge(consumers, producers, round_)
        finally:
            bf.close()


# -- EINTR -------------------------------------------------------------------------------------
@pytest.mark.points(1)
def test_producer_retries_after_eintr(sandbox: Sandbox, buf: Buffer) -> None:
    """A signal interrupts the producer's sem_wait on PREFIX-empty (EINTR): it waits again,
    without putting anything, and goes on once slots are free."""
    prod = producer(sandbox, buf, 5, 12)
    (b, _), = wait_for_waiters(sandbox, buf, [prod], 1, "empty",
                               f"your producer, with the 10 slots full, to be asleep in sem_wait on "
                               f"{buf.names['empty']}")
    before = buf.raw()
    again = sandbox.interrupt(b)
    if buf.which(again) != "empty" or buf.raw() != before or buf.value("full") != SLOTS:
        fail(f"after its sem_wait(empty) failed with EINTR, your producer should wait again for a free slot "
             f"without touching the buffer; it is now {describe(sandbox, again, [buf])}, and {buf.describe()} "
             f"(full should still be 10, in 0). sem_wait returns -1 with errno EINTR: check what it returns and "
             f"call it again, while (sem_wait(empty) == -1 && errno == EINTR);")
    for _ in range(2):
        buf.take()
    end = prod.wait(sandbox.timeout(3), "to put its last 2 items once slots were free, and exit")
    expect_exit(prod, end, 0)


@pytest.mark.points(1)
def test_consumer_retries_after_eintr(sandbox: Sandbox, buf: Buffer) -> None:
    """A signal interrupts the consumer's sem_wait on PREFIX-full (EINTR): it waits again, without
    taking anything, and goes on once items are there."""
    cons = consumer(sandbox, buf, 2)
    (b, _), = wait_for_waiters(sandbox, buf, [cons], 1, "full",
                               f"your consumer, on an empty buffer, to be asleep in sem_wait on {buf.names['full']}")
    before = buf.raw()
    again = sandbox.interrupt(b)
    if buf.which(again) != "full" or buf.raw() != before or buf.value("empty") != SLOTS:
        fail(f"after its sem_wait(full) failed with EINTR, your consumer should wait again for an item without "
             f"touching the buffer; it is now {describe(sandbox, again, [buf])}, and {buf.describe()} (empty "
             f"should still be 10, out 0). sem_wait returns -1 with errno EINTR: check what it returns and call "
             f"it again, while (sem_wait(full) == -1 && errno == EINTR);")
    for i in (1, 2):
        buf.put((3, i), use_mutex=False)
    end = cons.wait(sandbox.timeout(3), "to take the 2 items the grader put and exit")
    expect_exit(cons, end, 0)
    if consumed(cons) != [(3, 1), (3, 2)]:
        fail(f"the consumer should print 'consumed 3:1' and 'consumed 3:2'\n{block('it printed', cons.stdout())}")
