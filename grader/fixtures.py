"""Fixtures of the checks, thin: each hands out an object of the modules that do the work.

``sandbox`` (per check): names, programs, observation and cleanup (see ``grader.sandbox``).
``manifest`` (per session): what was built for this run (see ``grader.build``).
"""
from __future__ import annotations

from typing import Iterator

import pytest

from grader.build import Manifest
from grader.sandbox import Sandbox
from grader.scoring import NOTE_PROP
from grader.contain import Jail
from grader.state import call_failed_key, jail_key, run_key, settings_key


@pytest.fixture(scope="session")
def manifest(pytestconfig: pytest.Config) -> Manifest:
    """What this run built: the student's programs, the reference, the launcher and the shim."""
    run = pytestconfig.stash.get(run_key, None)
    if run is None:
        pytest.fail("the grader's fixtures need --assignment=NAME", pytrace=False)
    return Manifest.load(str(run))


@pytest.fixture
def sandbox(request: pytest.FixtureRequest, manifest: Manifest) -> Iterator[Sandbox]:
    """The check's own world; everything in it is killed and removed at the end."""
    jail = request.config.stash.get(jail_key, None) or Jail()
    box = Sandbox(manifest, request.config.stash[settings_key], request.node.nodeid, jail)
    try:
        yield box
    finally:
        if request.node.stash.get(call_failed_key, False):
            for calls in box.last_calls():
                request.node.user_properties.append((NOTE_PROP, calls))
        left = box.close()
        if left:
            request.node.user_properties.append(
                (NOTE_PROP, "note: left behind and removed by the grader:\n" + "\n".join(f"  - {x}" for x in left))
            )
