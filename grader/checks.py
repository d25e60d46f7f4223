"""Assertions of the checks, with messages that say what was expected, what happened and the
evidence, in the student's terms."""
from __future__ import annotations

from typing import Optional

from grader.errors import block, fail, quote
from grader.proc import Child, ExitInfo


def expect_exit(child: Child, info: ExitInfo, code: int = 0, why: str = "") -> None:
    """Fail unless the program exited with CODE."""
    __tracebackhide__ = True
    if info.exit_code == code:
        return
    fail(f"{child.label} should exit with {code}{(' ' + why) if why else ''}, but it {child.describe_end()}")


def first_difference(expected: bytes, got: bytes) -> Optional[int]:
    """Offset of the first byte where GOT differs from EXPECTED, or None if equal."""
    if expected == got:
        return None
    for i, (a, b) in enumerate(zip(expected, got, strict=False)):
        if a != b:
            return i
    return min(len(expected), len(got))


def expect_bytes(what: str, expected: bytes, got: bytes, child: Optional[Child] = None) -> None:
    """Fail unless GOT equals EXPECTED byte for byte, showing where they part."""
    __tracebackhide__ = True
    at = first_difference(expected, got)
    if at is None:
        return
    lo = max(0, at - 20)
    msg = (f"{what}: expected {len(expected)} bytes, got {len(got)}; they differ from byte {at} on.\n"
           f"{block('expected (from byte %d)' % lo, expected[lo:lo + 80])}\n"
           f"{block('got (from byte %d)' % lo, got[lo:lo + 80])}")
    if child is not None:
        msg += f"\n{child.label} {child.describe_end()}"
    fail(msg)


def expect_lines(what: str, expected: list[str], got: bytes, child: Optional[Child] = None) -> None:
    """Fail unless GOT, as text, holds exactly the lines EXPECTED (in order)."""
    __tracebackhide__ = True
    lines = got.decode("utf-8", "replace").replace("\r\n", "\n").splitlines()
    if lines == expected:
        return
    missing = [line for line in expected if line not in lines]
    extra = [line for line in lines if line not in expected]
    msg = f"{what}: the output is not as specified."
    if missing:
        msg += "\n" + block("MISSING lines", "\n".join(missing[:10]))
    if extra:
        msg += "\n" + block("UNEXPECTED lines", "\n".join(extra[:10]))
    if not missing and not extra:
        msg += " The lines are right but in the wrong order."
    msg += "\n" + block("expected", "\n".join(expected)) + "\n" + block("got", got)
    if child is not None:
        msg += f"\n{child.label} {child.describe_end()}"
    fail(msg)


__all__ = ["expect_exit", "expect_bytes", "expect_lines", "first_difference", "quote"]
