"""Checks of the `shm` assignment (the spec, with points, is README.md beside this file).

The writer and the reader are each checked against the grader (which makes or reads the object
itself with posix_ipc and mmap) and against the reference program on the other side.

The synchronized counter is judged in two ways:

* the total: ``shm_counter NAME N K`` prints ``counter: N*K``;
* the synchronization, deterministically rather than by hoping for a race: while the counter's
  processes run, the grader maps the program's ``shared_data_t`` and takes the semaphore itself
  (``sem_timedwait`` through ctypes on ``data->mutex``).  From then on the counter must not move,
  every adding process must be seen asleep in a futex wait on that very semaphore (its futex word
  lies at offset 0 of ``/dev/shm/NAME`` in ``/proc/PID/maps``), and after the grader's
  ``sem_post`` they must go on.  An unsynchronized program moves the counter while the grader
  holds the semaphore; one with ``sem_init(..., 0, 1)`` (pshared 0) never wakes up, since its
  waiters sleep on process-private futexes; one whose semaphore is not in the object leaves the
  grader unable to take it.

Why not a race: measured on the 2-core machines this was written on, the unsynchronized
program (``long v = *counter; *counter = v + 1;`` on a volatile) runs 10^6 additions in 0.3 ms, less
than the time between two fork()s, so its processes mostly run one after another and lose
nothing (N=4, K=20000: 30 exact totals out of 30; N=4, K=10^6: 22 of 30), while the synchronized
program needs 0.15 s for the same work.  Losses were seen in 30 runs of 30 only at N=8, K=500000,
where the correct program takes 0.7 s, and the odds moved with the machine's load (N=4, K=200000
lost additions in 43 runs of 50 while other work ran, N=8, K=100000 in 26 of 30).

Trap: the checks that want an exact total run the counter on one CPU (see ``grader.proc.one_cpu``).  On two,
a program with a process-private semaphore sometimes hangs (6 runs in 1000 at N=3, K=100) and one
whose semaphore is a global copied by fork() sometimes loses additions (3 in 500 at N=4, K=100),
so those checks would judge timing instead of the total (on one CPU: 0 in 1000 each); their
synchronization is the business of ``test_counter_waits_for_semaphore``.
"""
from __future__ import annotations

import ctypes
import mmap
import os
import signal
import stat
import time
from pathlib import Path
from typing import Optional

import posix_ipc
import pytest

from grader import observe, proc
from grader.checks import expect_bytes, expect_exit
from grader.errors import block, fail
from grader.observe import Blocked, FutexWait
from grader.proc import Child
from grader.sandbox import Sandbox

SIZE = 4096  # what shm_writer makes
MODE = 0o600  # what the README asks of shm_writer
SEM_SIZE = 32  # sizeof(sem_t) on Linux (glibc and musl, 64-bit)
COUNTER_AT = SEM_SIZE  # offset of `long counter` in shared_data_t
DATA_SIZE = COUNTER_AT + 8  # sizeof(shared_data_t)
FOREVER = 1_000_000_000  # K for a counter that is still adding when the grader steps in
SHM_DIR = Path("/dev/shm")


def shm_path(name: str) -> Path:
    return SHM_DIR / name.lstrip("/")


def message(sandbox: Sandbox) -> str:
    """A text unique to the check, so that nothing stale or hard-wired can pass for it."""
    return f"Hello through shared memory, check {sandbox.token}!"


# -- the grader's side of an object ------------------------------------------------------------
def make_object(sandbox: Sandbox, name: str, data: bytes, size: int) -> None:
    """Create NAME (SIZE bytes) holding DATA, usable and removable by the programs' user."""
    shm = posix_ipc.SharedMemory(name, posix_ipc.O_CREX, mode=0o666, size=size)
    try:
        with mmap.mmap(shm.fd, size) as mem:
            mem[: len(data)] = data
        sandbox.share(shm.fd)  # /dev/shm is sticky: only the owner may unlink it (shm_reader does)
    finally:
        shm.close_fd()


def read_object(name: str) -> Optional[tuple[os.stat_result, bytes]]:
    """The object's stat and its bytes, read through posix_ipc and mmap; None when there is none."""
    try:
        shm = posix_ipc.SharedMemory(name, read_only=True)
    except posix_ipc.ExistentialError:
        return None
    try:
        st = os.fstat(shm.fd)
        if st.st_size == 0:
            return st, b""
        with mmap.mmap(shm.fd, st.st_size, prot=mmap.PROT_READ) as mem:
            return st, bytes(mem)
    finally:
        shm.close_fd()


def remove_object(name: str) -> None:
    """Unlink NAME if it is there (an object a correct writer leaves for its reader)."""
    try:
        posix_ipc.unlink_shared_memory(name)
    except posix_ipc.ExistentialError:
        pass


def expect_object(name: str, who: str) -> tuple[os.stat_result, bytes]:
    __tracebackhide__ = True
    found = read_object(name)
    if found is None:
        fail(f"after {who} there is no shared-memory object {name} ({shm_path(name)}): shm_writer must "
             f"create it (shm_open with O_CREAT) and leave it for the reader, which unlinks it")
    return found


# -- running the programs ----------------------------------------------------------------------
def run(sandbox: Sandbox, argv: list[str], what: str, timeout_s: float = 3.0) -> tuple[Child, proc.ExitInfo]:
    """Start ARGV and wait for it to end (failing with the kernel's view if it does not)."""
    __tracebackhide__ = True
    child = sandbox.spawn(argv)
    return child, child.wait(sandbox.timeout(timeout_s), what)


def run_writer(sandbox: Sandbox, prog: str, name: str, text: str) -> Child:
    """Run a writer to its end; fail unless it exited with 0 (naming SIGBUS for what it is).  On a
    failure the object is removed first: what a writer left is no note of the check's."""
    __tracebackhide__ = True
    writer, end = run(sandbox, [prog, name, text], "to exit once it has written the text")
    if end.exit_code != 0:
        remove_object(name)
    if end.term_signal == signal.SIGBUS:
        fail(f"{writer.label} was killed by SIGBUS: it wrote to a part of the mapping the object does not "
             f"cover. A new object is 0 bytes long: size it with ftruncate(fd, 4096) before writing to it.")
    expect_exit(writer, end, 0)
    return writer



# -- the counter's shared_data_t, seen from the grader -----------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_libc.sem_timedwait.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_libc.sem_post.argtypes = [ctypes.c_void_p]
MAP_FAILED = ctypes.c_void_p(-1).value


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class SharedData:
    """The program's shared_data_t { sem_t mutex; long counter; }, mapped into the grader.

    Trap: the grader maps it only once the object is at least DATA_SIZE bytes long; touching a
    mapped page beyond the end of the object would kill the grader with SIGBUS."""

    def __init__(self, name: str) -> None:
        shm = posix_ipc.SharedMemory(name)
        try:
            addr = _libc.mmap(None, DATA_SIZE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, shm.fd, 0)
        finally:
            shm.close_fd()
        if addr is None or addr == MAP_FAILED:
            raise OSError(ctypes.get_errno(), f"mmap of {name}: {os.strerror(ctypes.get_errno())}")
        self.addr: int = addr
        self.held = False

    @property
    def counter(self) -> int:
        return ctypes.c_long.from_address(self.addr + COUNTER_AT).value

    def sem_words(self) -> tuple[int, int]:
        """(value, waiters) of the semaphore as glibc keeps it (one 64-bit word)."""
        word = ctypes.c_uint64.from_address(self.addr).value
        return word & 0xFFFFFFFF, word >> 32

    def take(self, timeout_s: float) -> bool:
        """sem_wait on data->mutex, for at most TIMEOUT_S; True once the grader holds it."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = time.clock_gettime(time.CLOCK_REALTIME) + 0.02
            ts = _Timespec(int(now), int((now % 1) * 1e9))
            if _libc.sem_timedwait(self.addr, ctypes.byref(ts)) == 0:
                self.held = True
                return True
        return False

    def give(self) -> None:
        """sem_post on data->mutex."""
        if self.held:
            _libc.sem_post(self.addr)
            self.held = False

    def close(self) -> None:
        _libc.munmap(self.addr, DATA_SIZE)


def sem_waiters(pids: list[int], name: str) -> list[tuple[Blocked, FutexWait]]:
    """Threads among PIDS asleep in a futex wait on the semaphore at the start of NAME."""
    path = str(shm_path(name))
    out = []
    for b in observe.all_blocked(pids):
        fw = observe.futex_wait(b)
        if fw is not None and fw.file == path and fw.offset < SEM_SIZE:
            out.append((b, fw))
    return out


def alive(sandbox: Sandbox) -> list[int]:
    return [p for p in sandbox.processes() if observe.state(p) not in (None, "Z")]


def semaphore_notes(sandbox: Sandbox, name: str) -> str:
    """What the processes asleep on the object's semaphore say about it (for hang messages)."""
    waiters = sem_waiters(alive(sandbox), name)
    if not waiters:
        return ""
    lines = [f"  pid {b.pid}{'' if b.tid == b.pid else f' thread {b.tid}'} sleeps in sem_wait on data->mutex "
             f"({'a process-private' if fw.private else 'a shared'} futex)" for b, fw in waiters]
    text = "\n".join(lines)
    try:
        with open(shm_path(name), "rb") as f:
            word = int.from_bytes(f.read(8), "little")
        text += f"\n  the semaphore's value is {word & 0xFFFFFFFF} right now"
    except OSError:
        pass
    if any(fw.private for _, fw in waiters):
        text += ("\n  A process-private futex means sem_init(&data->mutex, 0, ...): a sem_post in another process "
                 "never wakes such a waiter. Processes need sem_init(&data->mutex, 1, 1).")
    return text


def stop_all(sandbox: Sandbox, name: str) -> None:
    """End the check's programs and remove the object, so that what a check stopped on purpose
    is not reported as left behind."""
    for c in sandbox.children:
        if c.poll() is None:
            proc.terminate(c, grace_s=0.0)
    sandbox.jail.kill_all()
    proc.kill_all()
    remove_object(name)


def run_counter(sandbox: Sandbox, name: str, n: int, k: int, timeout_s: float = 5.0) -> tuple[Child, proc.ExitInfo]:
    """Run shm_counter NAME N K on one CPU to its end; fail (with what each process waits on) if it
    does not end; return it and its output lines."""
    __tracebackhide__ = True
    with proc.one_cpu():
        counter = sandbox.spawn([sandbox.student("shm_counter"), name, str(n), str(k)])
    end = counter.try_wait(sandbox.timeout(timeout_s))
    if end is None:
        notes = semaphore_notes(sandbox, name)
        fail(f"shm_counter {name} {n} {k} did not finish within {sandbox.timeout(timeout_s):.1f} s "
             f"(the reference needs a few milliseconds); what the kernel shows:\n"
             f"{observe.describe_tree(alive(sandbox))}" + (f"\n{notes}" if notes else ""))
    return counter, end


def expect_total(counter: Child, end: proc.ExitInfo, n: int, k: int) -> None:
    __tracebackhide__ = True
    want = f"counter: {n * k}"
    out = counter.stdout()
    lines = out.decode("utf-8", "replace").splitlines()
    if lines != [want]:
        got = lines[0] if len(lines) == 1 else ""
        why = ""
        if got == "counter: 0":
            why = ("\nThe parent sees 0: the processes did not add to the counter in the shared object (a counter "
                   "in ordinary memory is copied by fork(): each process adds to its own copy).")
        elif got.startswith("counter: ") and got[9:].isdigit() and int(got[9:]) < n * k:
            why = (f"\n{n * k - int(got[9:])} additions are missing: did the parent wait for all {n} processes, "
                   f"and does each add {k}?")
        fail(f"shm_counter NAME {n} {k} should print exactly one line, {want!r}\n{block('it printed', out)}"
             f"{why}\nshm_counter {counter.describe_end()}")
    expect_exit(counter, end, 0)


# -- the writer ------------------------------------------------------------------------------
@pytest.mark.points(2)
def test_writer_creates_object(sandbox: Sandbox) -> None:
    """shm_writer leaves a 4096-byte object that starts with the text and a zero byte."""
    name, text = sandbox.name("text"), message(sandbox)
    run_writer(sandbox, sandbox.student("shm_writer"), name, text)
    st, data = expect_object(name, "shm_writer exited with 0")
    remove_object(name)
    if st.st_size != SIZE:
        fail(f"the object {name} should be {SIZE} bytes long (ftruncate(fd, {SIZE})); it is {st.st_size} bytes")
    want = text.encode() + b"\0"
    if data[: len(want)] != want:
        hint = ""
        if not data.strip(b"\0"):
            hint = (" It holds only zero bytes: was it mapped with MAP_SHARED? (What is written to a MAP_PRIVATE "
                    "mapping stays in the writer's own copy.)")
        expect_bytes(f"the start of the object {name} (the text and its zero byte), as the grader reads it "
                     f"with mmap.{hint}", want, data[: len(want)])


@pytest.mark.points(1)
def test_writer_object_mode(sandbox: Sandbox) -> None:
    """The object shm_writer creates has mode 0600: read and write for its owner only."""
    name = sandbox.name("text")
    writer, _ = run(sandbox, [sandbox.student("shm_writer"), name, message(sandbox)], "to exit")
    try:
        st = os.stat(shm_path(name))
    except FileNotFoundError:
        fail(f"after shm_writer ended there is no object {shm_path(name)}, so its mode cannot be told; "
             f"shm_writer {writer.describe_end()}")
    finally:
        remove_object(name)
    mode = stat.S_IMODE(st.st_mode)
    if mode != MODE:
        fail(f"the object {shm_path(name)} has mode {mode:04o} ({stat.filemode(st.st_mode)[1:]}); it should be "
             f"{MODE:04o} (rw-------): shm_open(name, O_CREAT | O_RDWR, 0600). Other users must not read it.")


@pytest.mark.points(1)
def test_reference_reader_reads_writer(sandbox: Sandbox) -> None:
    """The reference shm_reader prints what your shm_writer wrote."""
    name, text = sandbox.name("text"), message(sandbox)
    run_writer(sandbox, sandbox.student("shm_writer"), name, text)
    reader, end = run(sandbox, [sandbox.reference("shm_reader"), name], "to exit after printing the text")
    remove_object(name)
    expect_bytes("what the reference shm_reader printed from the object your shm_writer made",
                 text.encode() + b"\n", reader.stdout(), reader)


# -- the reader ------------------------------------------------------------------------------
def run_reader(sandbox: Sandbox, name: str) -> tuple[Child, proc.ExitInfo]:
    __tracebackhide__ = True
    return run(sandbox, [sandbox.student("shm_reader"), name], "to exit after printing the text")


@pytest.mark.points(2)
def test_reader_prints_text(sandbox: Sandbox) -> None:
    """shm_reader prints the text of an object the grader made, and a newline."""
    name, text = sandbox.name("text"), message(sandbox)
    make_object(sandbox, name, text.encode() + b"\0", SIZE)
    reader, end = run_reader(sandbox, name)
    remove_object(name)
    expect_bytes(f"what shm_reader printed (the object holds {text!r} and a zero byte)",
                 text.encode() + b"\n", reader.stdout(), reader)
    expect_exit(reader, end, 0)


@pytest.mark.points(1)
def test_reader_reads_reference_writer(sandbox: Sandbox) -> None:
    """Your shm_reader prints what the reference shm_writer wrote."""
    name, text = sandbox.name("text"), message(sandbox)
    run_writer(sandbox, sandbox.reference("shm_writer"), name, text)
    reader, end = run_reader(sandbox, name)
    remove_object(name)
    expect_bytes("what shm_reader printed from the object of the reference shm_writer",
                 text.encode() + b"\n", reader.stdout(), reader)
    expect_exit(reader, end, 0)


@pytest.mark.points(1)
def test_reader_uses_object_size(sandbox: Sandbox) -> None:
    """An object of 12288 bytes with no zero byte: shm_reader learns the size with fstat and
    prints all of it, and nothing beyond it."""
    size = 3 * SIZE
    line = f"{sandbox.token} fills all of the object; ".encode()
    data = (line * (size // len(line) + 1))[:size]
    name = sandbox.name("big")
    make_object(sandbox, name, data, size)
    reader, end = run_reader(sandbox, name)
    remove_object(name)
    got = reader.stdout()
    if got != data + b"\n":
        hint = ""
        if len(got) in (SIZE, SIZE + 1):
            hint = " It printed 4096 bytes: the size of an object is not always 4096; ask fstat() (st_size)."
        elif end.term_signal is not None:
            hint = (" It was killed by a signal: it read past the end of the mapping (the text has no zero byte "
                    "here; stop at st_size, strnlen rather than strlen).")
        expect_bytes(f"what shm_reader printed from a {size}-byte object filled with text, without a zero byte."
                     + hint, data + b"\n", got, reader)
    expect_exit(reader, end, 0)


@pytest.mark.points(1)
def test_reader_unlinks_object(sandbox: Sandbox) -> None:
    """After shm_reader has run, the object is gone (shm_unlink)."""
    name = sandbox.name("text")
    make_object(sandbox, name, message(sandbox).encode() + b"\0", SIZE)
    reader, _ = run_reader(sandbox, name)
    if shm_path(name).exists():
        remove_object(name)
        fail(f"after shm_reader ended, the object is still there ({shm_path(name)}): the reader must remove it "
             f"with shm_unlink(name) once it has printed the text; shm_reader {reader.describe_end()}")


@pytest.mark.points(1)
def test_reader_reports_missing_object(sandbox: Sandbox) -> None:
    """With no such object, shm_reader prints nothing, says why on stderr and exits with 1."""
    name = sandbox.name("missing")
    reader, end = run_reader(sandbox, name)
    out, err = reader.stdout(), reader.stderr().decode("utf-8", "replace").strip()
    if end.exit_code == 1 and not out and err:
        return
    problems = []
    if end.exit_code != 1:
        problems.append(f"it should exit with 1; it {end}")
    if out:
        problems.append(f"it should print nothing on stdout; it printed {len(out)} bytes: {out[:80]!r}")
    if not err:
        problems.append("it should say what went wrong on stderr (perror); it printed nothing there")
    hint = ""
    if end.term_signal is not None or out:
        hint = ("\nCheck what shm_open() returns (-1, errno ENOENT) before using the descriptor, and likewise "
                "what fstat() and mmap() return.")
    fail(f"with no object {name}, shm_open fails; then shm_reader:\n" + "\n".join(f"  - {p}" for p in problems)
         + hint + (f"\n{block('its stderr', err)}" if err else ""))


# -- the counter -----------------------------------------------------------------------------
@pytest.mark.points(1)
def test_counter_one_process(sandbox: Sandbox) -> None:
    """shm_counter NAME 1 1000 prints 'counter: 1000'."""
    name = sandbox.name("counter")
    counter, end = run_counter(sandbox, name, 1, 1000)
    expect_total(counter, end, 1, 1000)


@pytest.mark.points(2)
def test_counter_many_processes(sandbox: Sandbox) -> None:
    """shm_counter NAME 4 100: four processes add 100 each, and the parent prints 'counter: 400'."""
    name = sandbox.name("counter")
    counter, end = run_counter(sandbox, name, 4, 100)
    expect_total(counter, end, 4, 100)


def wait_for_object(sandbox: Sandbox, counter: Child, name: str, timeout_s: float) -> SharedData:
    """Map the counter's shared_data_t once the object exists and is big enough."""
    __tracebackhide__ = True
    deadline = time.monotonic() + timeout_s
    size = -1
    while True:
        try:
            size = os.stat(shm_path(name)).st_size
        except FileNotFoundError:
            size = -1
        if size >= DATA_SIZE:
            try:
                return SharedData(name)
            except (OSError, posix_ipc.ExistentialError):
                pass  # unlinked in between: the program is ending; told below
        if counter.poll() is not None:
            fail(f"shm_counter {name} 2 {FOREVER} should still be adding (K is one thousand million), but it "
                 f"{counter.describe_end()}\n{block('its output', counter.stdout())}")
        if time.monotonic() >= deadline:
            what = (f"is only {size} bytes long; it must hold a shared_data_t ({DATA_SIZE} bytes: "
                    f"ftruncate(fd, sizeof(shared_data_t)))" if size >= 0 else "never appeared")
            fail(f"the object {shm_path(name)} {what}; what the kernel shows:\n"
                 f"{observe.describe_tree(alive(sandbox))}")
        time.sleep(observe.POLL_S)


@pytest.mark.points(3)
def test_counter_waits_for_semaphore(sandbox: Sandbox) -> None:
    """While the grader holds data->mutex, the counter does not move and every adding process
    sleeps in sem_wait on it; after the grader's sem_post they go on."""
    name = sandbox.name("counter")
    n = 2
    counter = sandbox.spawn([sandbox.student("shm_counter"), name, str(n), str(FOREVER)])
    shared = wait_for_object(sandbox, counter, name, sandbox.timeout(3))
    try:
        deadline = time.monotonic() + sandbox.timeout(3)
        while shared.counter == 0:
            if time.monotonic() >= deadline or not alive(sandbox):
                fail(f"the counter in the object {shm_path(name)} (the long after the sem_t, at offset "
                     f"{COUNTER_AT}) stayed 0: the processes must add to data->counter in the shared object. "
                     f"shm_counter {counter.describe_end()}; what the kernel shows:\n"
                     f"{observe.describe_tree(alive(sandbox))}")
            time.sleep(observe.POLL_S)
        if not shared.take(sandbox.timeout(2)):
            value, _ = shared.sem_words()
            fail(f"while the counter was moving, the grader could not take the semaphore data->mutex at the "
                 f"start of the object within {sandbox.timeout(2):.1f} s (its value stayed {value}). The "
                 f"processes are not using it: it must be the sem_t inside the shared object, made with "
                 f"sem_init(&data->mutex, 1, 1) before the fork()s, and each addition must sem_wait/sem_post it "
                 f"(a sem_t in ordinary memory is copied by fork(): each process then has its own).")
        held = shared.counter
        deadline = time.monotonic() + sandbox.timeout(3)
        while True:
            now = shared.counter
            if now != held:
                fail(f"the grader took the semaphore data->mutex (sem_wait), and while it held it the counter "
                     f"went on changing, from {held} to {now}: the processes add without waiting for the "
                     f"semaphore, so two of them can read the same value and one addition is lost. Wrap each "
                     f"addition in sem_wait(&data->mutex) ... sem_post(&data->mutex).")
            pids = alive(sandbox)
            waiters = sem_waiters(pids, name)
            if len({b.tid for b, _ in waiters}) >= n:
                break
            if not pids:
                fail(f"while the grader held the semaphore, shm_counter ended instead of waiting for it: it "
                     f"{counter.describe_end()}")
            if time.monotonic() >= deadline:
                fail(f"while the grader held the semaphore data->mutex, {n} processes should be asleep in sem_wait "
                     f"on it (a futex wait on the word at offset 0 of {shm_path(name)}); within "
                     f"{sandbox.timeout(3):.1f} s only {len(waiters)} were. What the kernel shows:\n"
                     f"{observe.describe_tree(pids)}")
            time.sleep(observe.POLL_S)
        shared.give()
        deadline = time.monotonic() + sandbox.timeout(2)
        while shared.counter == held:
            if time.monotonic() >= deadline:
                fail(f"{len(waiters)} processes waited for the semaphore while the grader held it, as they "
                     f"should; but after the grader's sem_post none of them went on within "
                     f"{sandbox.timeout(2):.1f} s (the counter stayed {held}):\n{semaphore_notes(sandbox, name)}")
            time.sleep(observe.POLL_S)
    finally:
        shared.close()
        stop_all(sandbox, name)


@pytest.mark.points(1)
def test_nothing_left_behind(sandbox: Sandbox) -> None:
    """After shm_counter NAME 2 100 the object is gone (shm_unlink) and every process was waited for."""
    name = sandbox.name("counter")
    run_counter(sandbox, name, 2, 100)
    sandbox.assert_no_leaks(what="after shm_counter exited (the parent unlinks the object once it has printed "
                                 "the total, and waits for every process it forked)")
