"""One check's world: its unique names and folder, the programs it starts, and its cleanup.

Every name a check hands to a program is unique to that check, so that two checks, two xdist
workers or two graders at once never collide:

* ``sandbox.path("fifo")`` is a path in the check's own folder ``/tmp/gTOKEN/`` (short on
  purpose: a socket path must fit the 108 bytes of ``sun_path``);
* ``sandbox.name("queue")`` is a POSIX object name ``/grader-TOKEN-queue``;
* ``sandbox.port()`` is a free TCP port on the loopback interface.

Programs run in the grading process's jail (``grader.contain``: a uid of their own, cgroups, no
network, where the machine allows).  At the end of the check, pass or fail, every process below
the grader and in the jail is killed and reaped, every named object, special file and temporary
file the check's programs made is removed, and what had been left behind is recorded as a note
on the check; a cleanup check turns leaks into lost points with ``assert_no_leaks``.
"""
from __future__ import annotations

import itertools
import os
import secrets
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence

from grader import contain, faults, leaks, observe, proc
from grader.build import Built, Manifest
from grader.contain import Jail
from grader.errors import block, fail
from grader.observe import Blocked
from grader.proc import Child, Limits, StdinSpec
from grader.settings import GraderSettings, tmp_root

_counter = itertools.count(1)


class Sandbox:
    """The world of one check (see the module docstring)."""

    def __init__(self, manifest: Manifest, settings: GraderSettings, nodeid: str, jail: Jail) -> None:
        self.manifest = manifest
        self.jail = jail
        self.settings = settings
        self.nodeid = nodeid
        self.token = f"{os.getpid() % 0xFFFF:x}{next(_counter):x}{secrets.token_hex(2)}"
        self.dir = Path(tempfile.mkdtemp(prefix=f"g{self.token}", dir=tmp_root()))
        os.chmod(self.dir, 0o755)
        jail.give(self.dir)
        # What the grader itself makes in a check (FIFOs, sockets, named objects) must be usable
        # by the programs' own user: no umask while the check runs.
        self._umask = os.umask(0)
        self.log_dir = Path(manifest.root, "logs", self.token)
        self.children: list[Child] = []
        self.names: list[str] = []
        self.before = leaks.named_objects()

    # -- programs ---------------------------------------------------------------------------
    def _program(self, side: dict[str, Built], prog: str, who: str) -> str:
        __tracebackhide__ = True
        built = side.get(prog)
        if built is None:
            raise KeyError(f"{prog!r} is not a program of this assignment")
        if built.path is None:
            fail(f"{who} {prog} could not be built, so this check cannot run it.\n{built.log}")
        return built.path

    def student(self, prog: str) -> str:
        """Path of the student's PROG; fails the check with the compiler's message if it did
        not build."""
        __tracebackhide__ = True
        return self._program(self.manifest.student, prog, "your")

    def reference(self, prog: str) -> str:
        """Path of the reference PROG."""
        __tracebackhide__ = True
        return self._program(self.manifest.reference, prog, "the reference")

    def label(self, path: str) -> str:
        """'your fifo_server' or 'the reference fifo_client' for a program path."""
        who = "the reference" if Path(path).parent.parent.name == "reference" else "your"
        return f"{who} {Path(path).name}"

    def timeout(self, seconds: float) -> float:
        """SECONDS scaled by --grader-timeout."""
        return seconds * self.settings.timeout_factor

    def spawn(
        self,
        argv: Sequence[str],
        *,
        stdin: StdinSpec = None,
        stdout: Optional[int] = None,
        pty: bool = False,
        env: Optional[dict[str, str]] = None,
        limits: Optional[Limits] = None,
        label: Optional[str] = None,
    ) -> Child:
        """Start a program of the check (see ``proc.spawn``); it runs in the check's folder, in
        the jail (see ``grader.contain``)."""
        if limits is None:
            limits = Limits(nproc=contain.PIDS_MAX if self.jail.uid is not None else 0)
        env = {**(env or {}), **self.jail.env()}
        label = label or self.label(argv[0])
        trace_path: Optional[Path] = None
        tracer = shutil.which("strace") if self.settings.strace and label.startswith("your") else None
        if tracer:
            # -D keeps the program the grader's child, with its own pid; the tracer runs beside
            # it as the same user.  The log is made here, writable by that user.
            self.log_dir.mkdir(parents=True, exist_ok=True)
            trace_path = self.log_dir / f"trace-{len(self.children)}-{Path(argv[0]).name}"
            trace_path.touch(mode=0o666)
            os.chmod(trace_path, 0o666)
            argv = [tracer, "-D", "-f", "-qq", "-s", "40", "-o", str(trace_path), "--", *argv]
        child = proc.spawn(
            list(argv), label=label, launcher=self.manifest.launcher,
            shim=self.manifest.shim, cwd=self.dir, log_dir=self.log_dir, limits=limits,
            output_cap=self.settings.output_cap, stdin=stdin, stdout=stdout, pty=pty, env=env,
        )
        child.trace_path = trace_path
        self.children.append(child)
        return child

    def last_calls(self, lines: int = 12) -> list[str]:
        """The last system calls each traced program made (with --grader-strace), for the
        feedback of a failed check."""
        out = []
        for c in self.children:
            if c.trace_path is None or not c.trace_path.exists():
                continue
            with open(c.trace_path, "rb") as f:
                f.seek(max(0, c.trace_path.stat().st_size - 16384))
                tail = f.read().decode("utf-8", "replace").splitlines()[-lines:]
            if tail:
                out.append(block(f"last system calls of {c.label} (pid {c.pid}), from strace", "\n".join(tail), 2000))
        return out

    # -- names ------------------------------------------------------------------------------
    def path(self, stem: str) -> str:
        """A path unique to this check, in its folder (nothing is created there)."""
        return str(self.dir / stem)

    def name(self, stem: str) -> str:
        """A POSIX object name unique to this check: '/grader-TOKEN-STEM'."""
        name = f"/{leaks.GRADER_PREFIX}{self.token}-{stem}"
        self.names.append(name)
        return name

    def share(self, target: int | str | Path) -> None:
        """Give an fd or a path the grader made (a queue, a shared-memory object, a FIFO) to the
        programs' user, so that they may also unlink it.  Nothing to do without a jail uid."""
        uid = self.jail.uid
        if uid is None:
            return
        if isinstance(target, int):
            os.fchown(target, uid, uid)
        else:
            os.chown(target, uid, uid)

    def port(self) -> int:
        """A TCP port that is free on 127.0.0.1 right now."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])

    # -- observing --------------------------------------------------------------------------
    def processes(self) -> list[int]:
        """Every process of this check still there (zombies included)."""
        return proc.my_processes()

    def ends(self) -> str:
        """How each program of the check ended so far, with the tail of its stderr."""
        return "\n".join(f"{c.label} {c.describe_end()}" for c in self.children) or "nothing was started"

    def wait_blocked(
        self, match: Callable[[Blocked], bool], what: str, timeout_s: float = 3.0,
        among: Optional[Sequence[Child]] = None,
    ) -> Blocked:
        """Wait until a thread of the check's processes (or of AMONG's trees) is blocked as MATCH
        wants; fail with the state of every process after TIMEOUT_S (scaled)."""
        __tracebackhide__ = True
        roots = among

        def scope() -> list[int]:
            pids = observe.descendants([c.pid for c in roots]) if roots else self.processes()
            return [p for p in pids if observe.state(p) not in (None, "Z")]

        return observe.wait_for(scope, match, timeout_s=self.timeout(timeout_s), what=what, gone=self.ends)

    def interrupt(self, b: Blocked, timeout_s: float = 2.0) -> Blocked:
        """Interrupt the blocking call B with a signal; fail unless the program retries it."""
        __tracebackhide__ = True
        comm = b.comm
        label = next((c.label for c in self.children if c.pid == b.pid), f"your program ({comm}, pid {b.pid})")

        def gone() -> str:
            for c in self.children:
                if c.pid == b.pid:
                    return c.describe_end()
            return self._stderr_tails()

        return faults.interrupt(b, timeout_s=self.timeout(timeout_s), gone=gone, label=label)

    def _stderr_tails(self) -> str:
        parts = []
        for c in self.children:
            err = c.stderr().decode("utf-8", "replace").strip()
            if err:
                parts.append(block(f"stderr of {c.label}", "\n".join(err.splitlines()[-6:])))
        return "\n".join(parts) or "(no error message on stderr)"

    # -- leaks ------------------------------------------------------------------------------
    def leaks(self, keep: Sequence[Child] = ()) -> list[str]:
        """What the check's programs have left behind right now: named objects, FIFOs and
        socket files, zombies, and processes still running (except KEEP's trees)."""
        out = []
        for obj in sorted(self._new_objects()):
            out.append(leaks.describe_object(obj))
        out.extend(leaks.describe_file(p) for p in leaks.special_files(self.dir))
        kept = set(observe.descendants([c.pid for c in keep]))
        launched = {c.pid for c in self.children}
        pids = [p for p in sorted(set(self.processes()) | set(self.jail.pids())) if p not in kept]
        out.extend(leaks.process_leaks(pids, launched, orphans_excused=any(c.signaled for c in self.children)))
        return out

    def assert_no_leaks(self, keep: Sequence[Child] = (), what: str = "") -> None:
        """Fail the check, listing them, if anything is left behind (see ``leaks``)."""
        __tracebackhide__ = True
        found = self.leaks(keep)
        if found:
            fail(f"left behind{(' ' + what) if what else ''}:\n" + "\n".join(f"  - {x}" for x in found))

    def close(self) -> list[str]:
        """Kill and reap every process, remove every object and file; return what was left
        behind (for the check's notes)."""
        found = [x for x in self.leaks() if not x.startswith("still running")]
        if len(found) > 12:  # thousands of FIFOs or objects: a count, not a listing
            found = found[:10] + [f"... and {len(found) - 10} more"]
        # Still running now: fine for a program the check left running (a server) and its
        # children; anything else left its program's tree (an orphan, a setsid escape).
        running = [c.pid for c in self.children if c.poll() is None]
        kept = set(observe.descendants(running))
        strays = [p for p in sorted(set(self.processes()) | set(self.jail.pids()))
                  if p not in kept and observe.state(p) not in (None, "Z") and not observe.is_tracer(p)]
        for pid in strays[:5]:
            found.append(f"still running after its program ended: {observe.describe_process(pid)}")
        if len(strays) > 5:
            found.append(f"... and {len(strays) - 5} more processes still running")
        for c in self.children:
            if c.poll() is None:
                proc.terminate(c, grace_s=0.0)
        self.jail.kill_all()
        proc.kill_all()
        for c in self.children:
            c.poll()
        for obj in self._new_objects():
            leaks.remove_object(obj)
        if self.jail.uid is not None:  # files its programs left in the shared temporary folders
            for folder in dict.fromkeys([Path("/tmp"), Path("/var/tmp"), tmp_root()]):
                names = [n for n in contain.owned_by(self.jail.uid, folder) if folder / n != self.dir]
                for name in names:
                    path = folder / name
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
                if names:
                    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                    found.append(f"files in {folder}: {shown}")
        for name in self.names:
            if not os.path.ismount(leaks.MQ_DIR):
                leaks.unlink_queue(name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.umask(self._umask)
        return found

    def _new_objects(self) -> set[str]:
        """Named objects this check made: new since it began and carrying its token or no
        grader's name, or owned by the programs' user."""
        now = leaks.named_objects()
        new = now - self.before
        mine = {o for o in new if self.token in o}
        if self.jail.uid is not None:  # exact: whatever the programs' own user owns
            mine |= {o for o in now if leaks.owner(o) == self.jail.uid}
        else:  # a guess: new, named by no grader, and made by this user
            mine |= {o for o in new if leaks.belongs(o, self.token) and leaks.owner(o) == os.geteuid()}
        return mine
