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
"""
from __future__ import annotations

import time
from typing import Callable

from grader import observe
from grader.errors import fail
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
        if observe.state(b.pid) in (None, "Z") or not observe.threads(b.pid) or b.tid not in observe.threads(b.pid):
            fail(f"{label}: its {name} was interrupted by a signal (EINTR) and, instead of retrying the call, "
                 f"the process (pid {b.pid}) ended: {gone()}")
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
