"""How a check fails: with text a student can act on, never a traceback into the harness."""
from __future__ import annotations

from typing import NoReturn

import pytest


def fail(message: str) -> NoReturn:
    """Fail the current check with MESSAGE alone (no traceback)."""
    __tracebackhide__ = True
    pytest.fail(message, pytrace=False)


def quote(data: bytes | str, limit: int = 600) -> str:
    """Student output made safe to show: escaped, control characters visible, cut to LIMIT."""
    if isinstance(data, bytes):
        text = data.decode("utf-8", "backslashreplace")
    else:
        text = data
    cut = len(text) > limit
    text = text[:limit]
    shown = "".join(
        c if c == "\n" or c == "\t" or (c.isprintable() and c != "\x7f") else repr(c)[1:-1] for c in text
    )
    return shown + (f"... [{len(data)} characters in all, cut]" if cut else "")


def block(title: str, data: bytes | str, limit: int = 600) -> str:
    """A titled, indented block of student output for a failure message; empty when there is none."""
    text = quote(data, limit).rstrip("\n")
    if not text:
        return f"{title}: (nothing)" if not data else f"{title}: only {data!r}"
    return f"{title}:\n" + "\n".join("    " + line for line in text.split("\n"))
