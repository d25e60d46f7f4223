"""Building a submission, the reference programs and the grader's own helpers.

Everything is built once per grading run, in a private folder (never in the student's folder),
by the controller process before any check runs; xdist workers read the result from
``manifest.json`` in that folder.

How a submission is built (stated to students in each assignment's README):

* the files of the submission folder are copied (regular files only, no links, at most
  ``MAX_FILES`` files and ``MAX_BYTES`` bytes) into ``BUILD/student/src``;
* with a ``Makefile`` there, ``make`` runs in that copy and must leave an executable named after
  each program;
* without one, each program ``P`` is compiled from ``P.c`` plus every ``.c`` file that is not
  another program's main source (shared helpers), with the assignment's flags;
* a ready executable named ``P`` (any language) is used when there is no ``P.c``.

A program that does not build fails exactly the checks that use it, each showing the
compiler's message; the other programs are still graded.
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from grader.settings import Assignment

MAX_FILES = 200
MAX_BYTES = 20 << 20
COMPILE_TIMEOUT_S = 60.0
LOG_CAP = 8000


class BuildError(Exception):
    """A program could not be built; the message is the compiler's, for the student."""


@dataclass(frozen=True)
class Built:
    """One program's build: where the executable is, or why there is none."""

    program: str
    path: Optional[str]
    log: str

    @property
    def ok(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class Manifest:
    """All that one run built: student and reference programs, the launcher, the EINTR shim."""

    root: str
    student: dict[str, Built]
    reference: dict[str, Built]
    launcher: str
    shim: str

    def save(self) -> None:
        data = {
            "root": self.root,
            "student": {k: asdict(v) for k, v in self.student.items()},
            "reference": {k: asdict(v) for k, v in self.reference.items()},
            "launcher": self.launcher,
            "shim": self.shim,
        }
        tmp = Path(self.root, "manifest.json.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        tmp.replace(Path(self.root, "manifest.json"))

    @classmethod
    def load(cls, root: str) -> Manifest:
        data = json.loads(Path(root, "manifest.json").read_text())
        return cls(
            root=data["root"],
            student={k: Built(**v) for k, v in data["student"].items()},
            reference={k: Built(**v) for k, v in data["reference"].items()},
            launcher=data["launcher"],
            shim=data["shim"],
        )


def _tail(text: str, cap: int = LOG_CAP) -> str:
    return text if len(text) <= cap else "...\n" + text[-cap:]


def _run(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run a build command with a deadline; return (exit code, output). 127 when not found."""
    try:
        proc = subprocess.run(
            argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            timeout=COMPILE_TIMEOUT_S, start_new_session=True,
        )
    except FileNotFoundError:
        return 127, f"{argv[0]} is not installed on this machine: install it (Debian: apt-get install gcc make)"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv)} did not finish within {COMPILE_TIMEOUT_S:.0f} s"
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def copy_sources(src: Path, dst: Path) -> list[str]:
    """Copy the regular files of SRC (recursively, no links) into DST; return the notes of what
    was left out."""
    notes: list[str] = []
    count = total = 0
    dst.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(src, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        rel = Path(dirpath).relative_to(src)
        for name in sorted(filenames):
            path = Path(dirpath, name)
            try:
                st = path.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            count += 1
            total += st.st_size
            if count > MAX_FILES or total > MAX_BYTES:
                notes.append(f"{rel / name}: left out (more than {MAX_FILES} files or {MAX_BYTES >> 20} MiB)")
                continue
            (dst / rel).mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(path, dst / rel / name)
            except OSError as exc:
                notes.append(f"{rel / name}: cannot be read ({exc.strerror})")
                continue
            if st.st_mode & 0o111:
                os.chmod(dst / rel / name, 0o755)
    return notes


def _compile(cc: str, sources: list[Path], out: Path, assignment: Assignment, cwd: Path) -> tuple[bool, str]:
    argv = [cc, *assignment.cflags, "-I", str(cwd), "-o", str(out), *map(str, sources), *assignment.ldflags]
    code, log = _run(argv, cwd)
    shown = " ".join(Path(a).name if a.startswith("/") else a for a in argv)
    return code == 0 and out.exists(), f"$ {shown}\n{_tail(log)}" if log.strip() or code else ""


def build_programs(src_dir: Path, out_dir: Path, assignment: Assignment, who: str) -> dict[str, Built]:
    """Build every program of ASSIGNMENT from the sources in SRC_DIR (already a private copy)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    found = sorted(p.name for p in src_dir.iterdir()) if src_dir.is_dir() else []
    if (src_dir / "Makefile").is_file() or (src_dir / "makefile").is_file():
        code, log = _run(["make", "-s"], src_dir)
        results = {}
        for prog in assignment.programs:
            exe = src_dir / prog
            if code == 0 and exe.is_file() and os.access(exe, os.X_OK):
                shutil.copy2(exe, out_dir / prog)
                results[prog] = Built(prog, str(out_dir / prog), _tail(log))
            elif code != 0:
                results[prog] = Built(prog, None, f"make failed in the {who} folder (exit {code}):\n{_tail(log)}")
            else:
                results[prog] = Built(prog, None, f"make succeeded but left no executable named {prog!r}")
        return results

    main_sources = {f"{p}.c" for p in assignment.programs}
    helpers = sorted(src_dir.glob("*.c"))
    helpers = [h for h in helpers if h.name not in main_sources]

    def one(prog: str) -> Built:
        source = src_dir / f"{prog}.c"
        exe = src_dir / prog
        if source.is_file():
            ok, log = _compile(os.environ.get("CC", "gcc"), [source, *helpers], out_dir / prog, assignment, src_dir)
            if ok:
                return Built(prog, str(out_dir / prog), log)
            return Built(prog, None, f"{prog}.c did not compile:\n{log}")
        if exe.is_file() and os.access(exe, os.X_OK):
            shutil.copy2(exe, out_dir / prog)
            return Built(prog, str(out_dir / prog), "")
        listing = ", ".join(found[:20]) or "nothing"
        return Built(prog, None, f"expected {prog}.c (or an executable named {prog}) in the {who} folder; found: {listing}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(assignment.programs, pool.map(one, assignment.programs)))


def build_tools(tools_dir: Path) -> tuple[str, str]:
    """Compile the launcher and the EINTR shim; BuildError if the machine cannot."""
    tools_dir.mkdir(parents=True, exist_ok=True)
    here = Path(__file__).resolve().parent
    launcher = tools_dir / "launcher"
    shim = tools_dir / "eintr_shim.so"
    cc = os.environ.get("CC", "gcc")
    jobs = [
        [cc, "-O2", "-Wall", "-o", str(launcher), str(here / "launcher.c")],
        [cc, "-O2", "-Wall", "-shared", "-fPIC", "-o", str(shim), str(here / "eintr_shim.c")],
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for code, log in pool.map(lambda argv: _run(argv, tools_dir), jobs):
            if code != 0:
                raise BuildError(f"the grader could not build its own helpers: {log}")
    return str(launcher), str(shim)


def build_all(assignment: Assignment, submission: Path, root: Path) -> Manifest:
    """Build the submission, the reference and the helpers under ROOT; save and return the manifest."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    launcher, shim = build_tools(root / "tools")
    with ThreadPoolExecutor(max_workers=2) as pool:
        def side(who: str, src: Path) -> dict[str, Built]:
            copy = root / who / "src"
            notes = copy_sources(src, copy)
            built = build_programs(copy, root / who / "bin", assignment, who)
            if notes:
                built = {k: Built(v.program, v.path, (v.log + "\n" + "\n".join(notes)).strip()) for k, v in built.items()}
            return built

        student_f = pool.submit(side, "student", submission)
        reference_f = pool.submit(side, "reference", assignment.reference_dir)
        manifest = Manifest(str(root), student_f.result(), reference_f.result(), launcher, shim)
    manifest.save()
    return manifest
