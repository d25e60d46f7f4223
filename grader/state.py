"""Stash keys: the typed state of a run, kept on the pytest config (never in globals)."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.contain import Jail
from grader.settings import GraderSettings

settings_key = pytest.StashKey[GraderSettings]()
run_key = pytest.StashKey[Path]()  # the run folder: builds, logs, collected checks
started_key = pytest.StashKey[float]()
jail_key = pytest.StashKey[Jail]()  # the containment of the programs this process starts
call_failed_key = pytest.StashKey[bool]()  # on an item: its call phase failed (for teardown)
