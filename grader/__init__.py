"""ipc-grader: a pytest plugin that grades inter-process-communication assignments in C."""
from __future__ import annotations

__version__ = "0.1.0"
