"""The pytest plugin: hooks only.  Behaviour lives in the modules and objects registered here.

With ``--assignment=NAME`` pytest collects ``assignments/NAME/`` only (from any working
directory, with no test path), builds the submission and the reference once in a private run
folder, runs the checks, shows the grade and writes the report.  Without it pytest behaves as
usual.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from grader import build, leaks, observe, proc, report, settings
from grader.scoring import (
    POINTS_PROP, VISIBILITY_PROP, Scoreboard, check_meta, is_controller, worker_id, write_collected,
)
from grader.contain import Jail
from grader.state import call_failed_key, jail_key, run_key, settings_key, started_key

SCOREBOARD = "grader-scoreboard"
BACKSTOP_TIMEOUT_S = 120.0


def pytest_addoption(parser: pytest.Parser) -> None:
    settings.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Point collection at the assignment's checks, before any conftest is loaded (so that a
    conftest.py in the student's folder is never imported)."""
    name = early_config.known_args_namespace.grader_assignment or os.environ.get("GRADER_ASSIGNMENT")
    if not name:
        return
    checks_dir = settings.Assignment.load(name).checks_dir
    if early_config.known_args_namespace.file_or_dir:
        raise pytest.UsageError(
            "--assignment collects the assignment's checks by itself: give no test path "
            "(select checks with -k)")
    args.append(str(checks_dir))
    early_config.known_args_namespace.file_or_dir = [str(checks_dir)]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "points(n): the points a check is worth (required on every check)")
    config.addinivalue_line("markers", "visibility(v): visible, hidden, after_due_date or after_published")
    grading = settings_from_config(config)
    if grading.assignment is None:
        return
    config.stash[settings_key] = grading
    config.stash[started_key] = time.time()
    if config.getoption("timeout", None) is None and not os.environ.get("PYTEST_TIMEOUT"):
        config.option.timeout = BACKSTOP_TIMEOUT_S  # the last backstop; checks have their own deadlines
        config.option.timeout_method = "signal"
    config.pluginmanager.register(GradingRun(config), "grader-run")
    config.pluginmanager.import_plugin("grader.fixtures")


def settings_from_config(config: pytest.Config) -> settings.GraderSettings:
    return settings.settings_from_config(config)


class GradingRun:
    """The hooks of a grading run (registered only with --assignment)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.settings = config.stash[settings_key]
        self.owner = is_controller(config)
        winput = getattr(config, "workerinput", None)
        if self.owner:
            run_dir = Path(tempfile.mkdtemp(prefix="grader-run-", dir=settings.tmp_root()))
            os.chmod(run_dir, 0o755)
            config.stash[run_key] = run_dir
            self.board = Scoreboard(run_dir)
            config.pluginmanager.register(self.board, SCOREBOARD)
            self._write_report(exit_status=None)
            signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
            assert self.settings.assignment is not None
            leaks.ensure_mqueue_fs()
            self.preflight = leaks.preflight()
            for note in self.preflight:
                config.issue_config_time_warning(pytest.PytestWarning(note), stacklevel=2)
            try:
                self.manifest = build.build_all(self.settings.assignment, self.settings.submission, run_dir)
            except build.BuildError as exc:  # the machine cannot build at all (no gcc)
                self.fatal = str(exc)
                self._write_report(exit_status=int(pytest.ExitCode.USAGE_ERROR))
                shutil.rmtree(run_dir, ignore_errors=True)
                raise pytest.UsageError(str(exc)) from None
            if config.pluginmanager.hasplugin("xdist"):
                config.pluginmanager.register(_XdistHooks(run_dir), "grader-xdist")
        else:
            assert winput is not None
            config.stash[run_key] = Path(winput["grader_run_dir"])
            signal.signal(signal.SIGTERM, _sigterm_as_interrupt)

    # -- collection -------------------------------------------------------------------------
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        missing = []
        for item in items:
            points, visibility = check_meta(item)
            if points is None:
                missing.append(item.nodeid)
                continue
            item.user_properties.append((POINTS_PROP, points))
            item.user_properties.append((VISIBILITY_PROP, visibility))
        if missing:
            raise pytest.UsageError(
                "every check needs a points marker; add @pytest.mark.points(N) to: " + ", ".join(missing))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        # After -k/-m deselection: the checks of this run, for the report of an interrupted one.
        write_collected(session.config.stash[run_key], worker_id(session.config), session.items)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        rep = yield
        if rep.when == "call":
            item.stash[call_failed_key] = bool(rep.failed)
        return rep

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if session.config.pluginmanager.getplugin("dsession") is None:
            proc.become_subreaper()
            assert self.settings.assignment is not None
            jail = Jail.open(self.settings.isolation, self.settings.assignment.network)
            why = jail.check_reachable(self.config.stash[run_key])
            if why:
                session.config.issue_config_time_warning(pytest.PytestWarning(why), stacklevel=2)
            self.config.stash[jail_key] = jail
            (self.config.stash[run_key] / f"jail-{worker_id(self.config)}.json").write_text(
                json.dumps({"uid": jail.uid, "describe": jail.describe()}))
        leaks.ensure_mqueue_fs()

    # -- the end ----------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if session.config.pluginmanager.getplugin("dsession") is None:
            jail = self.config.stash.get(jail_key, None)
            if jail is not None:
                jail.close()
            proc.kill_all()  # (an xdist controller's children are its workers: leave them)
        if self.owner:
            self._write_report(exit_status=int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.owner:
            assert self.settings.assignment is not None
            report.terminal_summary(terminalreporter, self.board, self.settings.assignment.name)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if not self.owner:
            return
        if self.settings.report_path and not self.settings.report_path.exists():
            self._write_report(exit_status=None)
        if not os.environ.get("GRADER_KEEP_RUN"):
            shutil.rmtree(config.stash[run_key], ignore_errors=True)

    def _write_report(self, exit_status: int | None) -> None:
        path = self.settings.report_path
        if path is None:
            return
        assert self.settings.assignment is not None
        notes = list(getattr(self, "preflight", []))
        notes += self._build_notes() if hasattr(self, "manifest") else []
        if getattr(self, "fatal", None):
            notes.append(self.fatal)
        complete = None
        if exit_status in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR):
            complete = False
        data = report.results_json(self.board, assignment=self.settings.assignment.name,
                                   started=self.config.stash[started_key], exit_status=exit_status,
                                   notes=notes, complete=complete)
        jails = []
        for jail_file in sorted(self.config.stash[run_key].glob("jail-*.json")):
            try:
                jails.append(json.loads(jail_file.read_text()))
            except (OSError, ValueError):
                pass
        data["extra_data"]["isolation"] = jails
        report.write_json(path, data)

    def _build_notes(self) -> list[str]:
        notes = []
        for prog, built in self.manifest.student.items():
            if not built.ok:
                notes.append(f"{prog}: not built.\n{built.log}")
            elif built.log.strip():
                notes.append(f"{prog}: compiler warnings:\n{built.log}")
        return notes


class _XdistHooks:
    """Hands the run folder to each xdist worker."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["grader_run_dir"] = str(self.run_dir)


def _sigterm_as_interrupt(signum: int, frame: Any) -> None:
    """SIGTERM to the grader ends the run like Ctrl-C: cleanup and an incomplete report.  An
    xdist controller passes it on to its workers first, so that they stop their checks at once
    instead of running on to their deadlines."""
    for pid in observe.children(os.getpid()):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    raise KeyboardInterrupt


