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

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional, TypeVar

from grader.settings import Assignment

T = TypeVar("T")

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
        return Built(prog, None,
                     f"expected {prog}.c (or an executable named {prog}) in the {who} folder; found: {listing}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(assignment.programs, pool.map(one, assignment.programs), strict=True))


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


def cache_dir() -> Optional[Path]:
    """Where builds of the grader's own code (helpers, reference programs) are kept between runs:
    $GRADER_CACHE, else ~/.cache/ipc-grader; None when it cannot be made.  Only the grader writes
    there (programs run as another user where they can), keyed by a hash of the sources, the
    flags and the compiler, so a stale entry is never used."""
    root = Path(os.environ.get("GRADER_CACHE") or Path.home() / ".cache" / "ipc-grader")
    try:
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
    except OSError:
        return None
    return root


def _key(*parts: object) -> str:
    digest = hashlib.sha256()
    cc = shutil.which(os.environ.get("CC", "gcc")) or ""
    try:
        digest.update(f"{cc}:{os.stat(cc).st_mtime_ns}".encode())
    except OSError:
        digest.update(cc.encode())
    for part in parts:
        if isinstance(part, Path):
            for path in sorted(part.rglob("*")) if part.is_dir() else [part]:
                if path.is_file() and "__pycache__" not in path.parts:
                    digest.update(path.name.encode() + b"\0" + path.read_bytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()[:24]


def cached(key: str, make: Callable[[Path], T], out: Path) -> T:
    """MAKE(folder) once per KEY; its folder is copied to OUT on every use.  Without a cache,
    MAKE(OUT) directly."""
    root = cache_dir()
    if root is None:
        return make(out)
    entry = root / key
    meta = entry / "result.json"
    if not meta.exists():
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
        try:
            result = make(tmp / "files")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        (tmp / "result.json").write_text(json.dumps(_encode(result, tmp / "files")))
        try:
            tmp.rename(entry)
        except OSError:  # another grader made it first
            shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(entry / "files", out, dirs_exist_ok=True)
    return _decode(json.loads(meta.read_text()), out)  # type: ignore[no-any-return]


def _encode(result: Any, base: Path) -> Any:
    """Paths under BASE become relative, so the cache entry can be copied anywhere."""
    if isinstance(result, Built):
        return {"built": [result.program, os.path.relpath(result.path, base) if result.path else None, result.log]}
    if isinstance(result, dict):
        return {"dict": {k: _encode(v, base) for k, v in result.items()}}
    if isinstance(result, tuple):
        return {"tuple": [os.path.relpath(p, base) for p in result]}
    raise TypeError(result)


def _decode(data: Any, base: Path) -> Any:
    if "built" in data:
        prog, rel, log = data["built"]
        return Built(prog, str(base / rel) if rel else None, log)
    if "dict" in data:
        return {k: _decode(v, base) for k, v in data["dict"].items()}
    return tuple(str(base / p) for p in data["tuple"])


def build_all(assignment: Assignment, submission: Path, root: Path) -> Manifest:
    """Build the submission, the reference and the helpers under ROOT; save and return the manifest."""
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    here = Path(__file__).resolve().parent

    def side(who: str, src: Path, out: Path) -> dict[str, Built]:
        copy = out / "src"
        notes = copy_sources(src, copy)
        built = build_programs(copy, out / "bin", assignment, who)
        if notes:
            built = {k: Built(v.program, v.path, (v.log + "\n" + "\n".join(notes)).strip()) for k, v in built.items()}
        return built

    with ThreadPoolExecutor(max_workers=3) as pool:
        tools_f = pool.submit(cached, _key("tools", here / "launcher.c", here / "eintr_shim.c"),
                              build_tools, root / "tools")
        reference_f = pool.submit(
            cached, _key("reference", assignment.reference_dir, assignment.cflags, assignment.ldflags),
            lambda out: side("reference", assignment.reference_dir, out), root / "reference")
        student_f = pool.submit(side, "student", submission, root / "student")
        launcher, shim = tools_f.result()
        manifest = Manifest(str(root), student_f.result(), reference_f.result(), launcher, shim)
    manifest.save()
    return manifest
