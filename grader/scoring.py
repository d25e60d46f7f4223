"""The scoreboard: points per check, fed by test reports, held by the controller.

Points and visibility travel on each report as ``user_properties`` (so that they cross from
xdist workers to the controller); every worker also writes the list of the checks it collected
to the run folder, so that a check that never ran (an interrupted run) still appears in the
report, with 0 points and the reason.  A check earns its points when no phase of it failed and
its call passed; anything else (failed, error, skipped, not run) earns 0.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pytest

POINTS_PROP = "grader_points"
VISIBILITY_PROP = "grader_visibility"
NOTE_PROP = "grader_note"
VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
MESSAGE_CAP = 4000


@dataclass
class CheckResult:
    """The outcome of one check."""

    nodeid: str
    max_score: float
    visibility: str = "visible"
    status: Optional[str] = None  # "passed", "failed", None while not run
    output: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return self.max_score if self.status == "passed" else 0.0


def check_meta(item: pytest.Item) -> tuple[Optional[float], str]:
    """(points, visibility) from an item's markers; points None when it has no points marker."""
    marker = item.get_closest_marker("points")
    points = None
    if marker is not None:
        if len(marker.args) != 1 or not isinstance(marker.args[0], (int, float)) or marker.args[0] < 0:
            raise pytest.UsageError(f"{item.nodeid}: points() takes one number of points, 0 or more")
        points = float(marker.args[0])
    vis = item.get_closest_marker("visibility")
    visibility = vis.args[0] if vis is not None and vis.args else "visible"
    if visibility not in VISIBILITIES:
        raise pytest.UsageError(f"{item.nodeid}: visibility({visibility!r}) must be one of {', '.join(VISIBILITIES)}")
    return points, visibility


def write_collected(run_dir: Path, who: str, items: list[pytest.Item]) -> None:
    """Record the checks WHO (a worker id, or 'main') collected, with their points."""
    data = {}
    for item in items:
        points, visibility = check_meta(item)
        data[item.nodeid] = {"points": points or 0.0, "visibility": visibility}
    tmp = run_dir / f"checks-{who}.json.tmp"
    tmp.write_text(json.dumps(data))
    tmp.replace(run_dir / f"checks-{who}.json")


def _short(text: str) -> str:
    text = text.strip()
    if text.startswith("Failed: "):
        text = text[len("Failed: "):]
    return text if len(text) <= MESSAGE_CAP else text[:MESSAGE_CAP] + "\n... (cut)"


class Scoreboard:
    """Collects the results of the checks on the controller (registered as 'grader-scoreboard')."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.results: dict[str, CheckResult] = {}
        self.interrupted = False

    def _result(self, nodeid: str, props: dict[str, Any]) -> CheckResult:
        res = self.results.get(nodeid)
        if res is None:
            res = CheckResult(nodeid, float(props.get(POINTS_PROP, 0.0)), str(props.get(VISIBILITY_PROP, "visible")))
            self.results[nodeid] = res
        return res

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props: dict[str, Any] = {}
        notes = []
        for key, value in report.user_properties:
            if key == NOTE_PROP:
                notes.append(str(value))
            else:
                props[key] = value
        res = self._result(report.nodeid, props)
        for note in notes:
            if note not in res.output:
                res.output.append(note)
        if report.failed:
            res.status = "failed"
            what = "" if report.when == "call" else f"(error during {report.when}) "
            res.output.insert(0, what + _short(report.longreprtext))
        elif report.skipped and report.when in ("setup", "call"):
            res.status = "failed"
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            res.output.insert(0, f"skipped: {reason}")
        elif report.when == "call" and report.passed and res.status is None:
            res.status = "passed"

    def pytest_keyboard_interrupt(self) -> None:
        self.interrupted = True

    def collected(self) -> None:
        """Add the checks the workers collected that never reported (not run)."""
        for path in sorted(self.run_dir.glob("checks-*.json")):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for nodeid, meta in data.items():
                res = self._result(nodeid, {POINTS_PROP: meta["points"], VISIBILITY_PROP: meta["visibility"]})
                res.max_score = float(meta["points"])

    def ordered(self) -> list[CheckResult]:
        self.collected()
        return list(self.results.values())

    @property
    def complete(self) -> bool:
        return not self.interrupted and all(r.status is not None for r in self.ordered())

    def totals(self) -> tuple[float, float]:
        results = self.ordered()
        return sum(r.score for r in results), sum(r.max_score for r in results)


def fmt(points: float) -> str:
    """2.0 -> '2', 1.5 -> '1.5'."""
    return f"{points:g}"


def is_controller(config: pytest.Config) -> bool:
    """True in the process that reports: the xdist controller, or a run without xdist."""
    return not hasattr(config, "workerinput")


def worker_id(config: pytest.Config) -> str:
    """'gw0'... on an xdist worker, 'main' otherwise."""
    winput = getattr(config, "workerinput", None)
    return str(winput["workerid"]) if winput else "main"


__all__ = ["Scoreboard", "CheckResult", "check_meta", "write_collected", "fmt", "is_controller", "worker_id"]
