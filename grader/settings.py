"""Options of the grader, where the assignments live, and what each assignment declares.

Every option has a command-line flag, an ini key and an environment variable; the precedence is
ini < environment < command line (documented once, in the README).  Validation happens at
configure time and raises ``pytest.UsageError`` naming the fix.

An assignment is a folder ``assignments/NAME/`` holding ``README.md`` (the student's spec),
``assignment.toml`` (the programs to build and the compiler flags) and the checks
(``test_NAME.py``).  Its reference programs are in ``reference/NAME/``.  From a checkout both
folders sit beside the ``grader`` package; in an installed wheel they are inside it
(``grader/assignments``, ``grader/reference``).
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

ASSIGNMENT_HELP = "grade the checks of assignments/NAME only (any working directory, no test path needed)"
SUBMISSION_HELP = "folder of the submission to grade (default: the current directory)"
REPORT_HELP = "write a Gradescope results.json to this path (also after a failed build or an interrupted run)"
TIMEOUT_HELP = "scale every deadline of the checks by this factor (default 1.0; raise it on a slow machine)"
ISOLATION_HELP = ("auto: as root, run programs as a user of their own, in cgroups, without network "
                  "where the assignment has none; none: run them as the grader's user (default auto)")
STRACE_HELP = ("run the student's programs under strace and show their last system calls in the "
               "feedback of a failed check (slower: about 0.1 ms per system call)")
OUTPUT_CAP_HELP = "bytes of stdout/stderr kept per program; more is cut (default 16 MiB)"


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def data_dirs(kind: str) -> list[Path]:
    """The folders ``assignments`` or ``reference`` to look in, first found first: those under
    ``$GRADER_ROOT`` (an instructor's own assignments), then the grader's own, inside the package
    when installed from a wheel or beside it in a checkout."""
    here = _package_dir()
    candidates = [Path(os.environ["GRADER_ROOT"]) / kind] if os.environ.get("GRADER_ROOT") else []
    candidates += [here / kind, here.parent / kind]
    found = [c for c in candidates if c.is_dir()]
    if not found:
        raise FileNotFoundError(f"the grader's {kind} folder is missing (looked in {here} and {here.parent})")
    return found


def _find(kind: str, name: str) -> Path:
    for root in data_dirs(kind):
        if (root / name).is_dir():
            return root / name
    return data_dirs(kind)[0] / name


def known_assignments() -> list[str]:
    """Names of the assignments there are: folders of ``assignments/`` with an assignment.toml."""
    return sorted({p.name for root in data_dirs("assignments") for p in root.iterdir()
                   if (p / "assignment.toml").is_file()})


def tmp_root() -> Path:
    """Where run folders and check folders go: $GRADER_TMP, else /tmp (short, for socket paths)."""
    return Path(os.environ.get("GRADER_TMP") or "/tmp")


@dataclass(frozen=True)
class Assignment:
    """What ``assignments/NAME/assignment.toml`` declares."""

    name: str
    checks_dir: Path
    reference_dir: Path
    programs: tuple[str, ...]
    cflags: tuple[str, ...]
    ldflags: tuple[str, ...]
    title: str = ""
    network: bool = False

    @classmethod
    def load(cls, name: str) -> Assignment:
        """Read the assignment NAME; UsageError when there is none of that name."""
        known = known_assignments()
        if name not in known:
            raise pytest.UsageError(
                f"--assignment={name!r} unknown; choose one of: {', '.join(known) or '(none)'}"
            )
        checks_dir = _find("assignments", name)
        with open(checks_dir / "assignment.toml", "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
        return cls(
            name=name,
            checks_dir=checks_dir,
            reference_dir=_find("reference", name),
            programs=tuple(data["programs"]),
            cflags=tuple(data.get("cflags", ())),
            ldflags=tuple(data.get("ldflags", ())),
            title=str(data.get("title", name)),
            network=bool(data.get("network", False)),
        )


@dataclass(frozen=True)
class GraderSettings:
    """The validated options of one grading run."""

    assignment: Optional[Assignment]
    submission: Path
    report_path: Optional[Path]
    timeout_factor: float = 1.0
    output_cap: int = 16 << 20
    isolation: str = "auto"
    strace: bool = False


def _pick(config: pytest.Config, flag: str, ini: str, env: str) -> Any:
    value = config.getoption(flag)
    if value is not None:
        return value
    if os.environ.get(env):
        return os.environ[env]
    ini_value = config.getini(ini)
    return ini_value if ini_value not in ("", None, []) else None


def add_options(parser: pytest.Parser) -> None:
    """Register the grader's options and their ini twins."""
    group = parser.getgroup("grader", "IPC assignment grading")
    group.addoption("--assignment", dest="grader_assignment", metavar="NAME", help=ASSIGNMENT_HELP)
    group.addoption("--submission", dest="grader_submission", metavar="DIR", help=SUBMISSION_HELP)
    group.addoption("--grade-report", dest="grader_report", metavar="PATH", help=REPORT_HELP)
    group.addoption("--grader-timeout", dest="grader_timeout", type=float, metavar="FACTOR", help=TIMEOUT_HELP)
    group.addoption("--grader-output-cap", dest="grader_output_cap", type=int, metavar="BYTES", help=OUTPUT_CAP_HELP)
    group.addoption("--grader-isolation", dest="grader_isolation", choices=("auto", "none"), help=ISOLATION_HELP)
    parser.addini("grader_assignment", ASSIGNMENT_HELP)
    parser.addini("grader_submission", SUBMISSION_HELP)
    parser.addini("grader_report", REPORT_HELP)
    parser.addini("grader_timeout", TIMEOUT_HELP)
    parser.addini("grader_output_cap", OUTPUT_CAP_HELP)
    parser.addini("grader_isolation", ISOLATION_HELP)
    group.addoption("--grader-strace", dest="grader_strace", action="store_const", const="1", help=STRACE_HELP)
    parser.addini("grader_strace", STRACE_HELP)


def assignment_option(config: pytest.Config) -> Optional[str]:
    """The assignment asked for, if any (flag, environment, ini)."""
    value = _pick(config, "grader_assignment", "grader_assignment", "GRADER_ASSIGNMENT")
    return str(value) if value else None


def settings_from_config(config: pytest.Config) -> GraderSettings:
    """Validate the options; ``pytest.UsageError`` with the fix for each bad one."""
    name = assignment_option(config)
    assignment = Assignment.load(name) if name else None
    submission = Path(_pick(config, "grader_submission", "grader_submission", "GRADER_SUBMISSION") or ".")
    submission = Path(os.path.abspath(submission))
    if assignment is not None and not submission.is_dir():
        raise pytest.UsageError(
            f"--submission={str(submission)!r} is not a folder; give the folder that holds your sources")
    report = _pick(config, "grader_report", "grader_report", "GRADER_REPORT")
    try:
        factor = float(_pick(config, "grader_timeout", "grader_timeout", "GRADER_TIMEOUT") or 1.0)
        cap = int(_pick(config, "grader_output_cap", "grader_output_cap", "GRADER_OUTPUT_CAP") or (16 << 20))
    except ValueError as exc:
        raise pytest.UsageError(
            f"--grader-timeout takes a number and --grader-output-cap a whole number: {exc}") from None
    if factor <= 0:
        raise pytest.UsageError(f"--grader-timeout={factor} must be above 0")
    isolation = str(_pick(config, "grader_isolation", "grader_isolation", "GRADER_ISOLATION") or "auto")
    if isolation not in ("auto", "none"):
        raise pytest.UsageError(f"--grader-isolation={isolation!r}: choose auto or none")
    if cap < 4096:
        raise pytest.UsageError(f"--grader-output-cap={cap} must be at least 4096 bytes")
    return GraderSettings(
        assignment=assignment,
        submission=submission,
        report_path=Path(os.path.abspath(report)) if report else None,
        timeout_factor=factor,
        output_cap=cap,
        isolation=isolation,
        strace=str(_pick(config, "grader_strace", "grader_strace", "GRADER_STRACE") or "0").lower()
        in ("1", "true", "yes"),
    )
