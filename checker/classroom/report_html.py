"""The class report as one self-contained HTML page (templates/report.html).

Everything is drawn here, in Python, as plain HTML and inline SVG; the page's only script sorts
the table. Every string that comes from a learner's file is escaped: names are untrusted.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

from checker import __version__
from checker.errors import KataError
from checker.progress import now_iso
from checker.classroom.report import ATTEMPTED, MISMATCH, NOT_STARTED, PASSED, ClassReport, Learner

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "report.html"
RANK = {PASSED: 3, MISMATCH: 2, ATTEMPTED: 1, NOT_STARTED: 0}
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
CHART_W, CHART_H, BAR_GAP = 720, 220, 8


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _cards(report: ClassReport) -> str:
    learners = report.learners
    total = len(report.katas)
    finished = sum(1 for l in learners if l.passed == total)
    average = sum(l.passed for l in learners) / len(learners) if learners else 0
    cards = [("learners", len(learners)), ("katas passed on average", f"{average:.1f} / {total}"),
             ("finished every kata", finished),
             ("with passes their files do not match", sum(1 for l in learners if l.mismatches)),
             ("files skipped", len(report.skipped))]
    return "".join(f'<div class="card"><b>{_e(v)}</b>{_e(k)}</div>' for k, v in cards)


def _stuck(report: ClassReport) -> str:
    stuck = report.stuck
    if not stuck:
        return '<p class="stuck" id="stuck">Nobody is stuck: no kata has attempts that did not pass.</p>'
    return (f'<p class="stuck" id="stuck"><b>Where the class is stuck: kata {stuck["kata"]}, '
            f'{_e(stuck["title"])}</b> &mdash; {stuck["trying"]} learners have tried it and not '
            f'passed yet ({stuck["failing"]} attempts between them); {stuck["passes"]} have passed '
            "it. (The kata on which learners who have not passed it spent the most attempts.)</p>")


def _mismatches(report: ClassReport) -> str:
    marked = [l for l in report.learners if l.mismatches]
    if not marked:
        return ""
    items = "".join(
        f"<li><b>{_e(l.name)}</b> ({_e(l.source)}): "
        + "; ".join(f"kata {n}: {_e(why)}" for n, why in sorted(l.mismatches.items())) + "</li>"
        for l in marked)
    return ('<div class="warn" id="mismatches"><b>Passes their files do not match</b> &mdash; the '
            "progress file claims a pass, but the learner's file is not the one that passed. "
            "Re-check them with <code>kata check --all --json</code> in CI."
            f"<ul>{items}</ul></div>")


def _chart(report: ClassReport) -> str:
    """Passes per kata as an inline SVG bar chart (the stuck kata in amber)."""
    count = max(len(report.katas), 1)
    most = max(len(report.learners), 1)
    stuck = (report.stuck or {}).get("kata")
    bar_w = (CHART_W - 40) / count - BAR_GAP
    plot_h = CHART_H - 40
    parts = [f'<svg id="chart" role="img" width="{CHART_W}" height="{CHART_H}" '
             f'viewBox="0 0 {CHART_W} {CHART_H}" aria-label="Passes per kata">']
    for i, (number, title) in enumerate(report.katas):
        passes = report.passes(number)
        h = plot_h * passes / most
        x = 30 + i * (bar_w + BAR_GAP)
        y = 20 + plot_h - h
        cls = "bar is-stuck" if number == stuck else "bar"
        parts.append(
            f'<g><title>Kata {number}: {_e(title)} &#8212; {passes} of {len(report.learners)} '
            f'passed, {report.attempts(number)} attempts</title>'
            f'<rect class="{cls}" data-kata="{number}" data-passes="{passes}" x="{x:.1f}" '
            f'y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}"></rect>'
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{passes}</text>'
            f'<text x="{x + bar_w / 2:.1f}" y="{CHART_H - 6}" text-anchor="middle">{number}</text></g>')
    parts.append(f'<line x1="26" y1="{20 + plot_h}" x2="{CHART_W - 6}" y2="{20 + plot_h}" stroke="#999"></line>')
    parts.append("</svg>")
    return "".join(parts)


def _kata_cell(learner: Learner, number: int, title: str) -> str:
    state = learner.state(number)
    entry = learner.katas.get(number) or {}
    attempts = entry.get("attempts") or 0
    notes = [f"Kata {number} ({title}): {state}", f"{attempts} attempts"]
    if entry.get("first_pass"):
        notes.append(f"first pass {entry['first_pass']}")
    if entry.get("hints_used"):
        notes.append(f"{entry['hints_used']} hints")
    if entry.get("solution_revealed"):
        notes.append("solution revealed")
    if number in learner.mismatches:
        notes.append(learner.mismatches[number])
    mark = {PASSED: "&#10003;", MISMATCH: "&#9888;", ATTEMPTED: str(attempts), NOT_STARTED: ""}[state]
    cls = "k " + state.replace(" ", "-") + (" revealed" if entry.get("solution_revealed") else "")
    return (f'<td class="{cls}" data-state="{state}" data-sort="{RANK[state] * 100000 + attempts}" '
            f'title="{_e("; ".join(notes))}">{mark}</td>')


def _table(report: ClassReport) -> str:
    heads = [("learner", "text", "Learner", "sort by name"), ("email", "text", "Email", ""),
             ("passed", "num", "Passed", "katas passed"), ("attempts", "num", "Attempts", ""),
             ("hints", "num", "Hints", "hints shown"), ("revealed", "num", "Solutions seen", ""),
             ("files", "text", "Files", "verified: every pass matches its file's sha256")]
    heads += [(f"kata-{n}", "num", str(n), f"Kata {n}: {t}") for n, t in report.katas]
    head = "".join(
        f'<th data-key="{key}" data-type="{kind}" title="{_e(tip)}" '
        f'aria-sort="{"ascending" if key == "learner" else "none"}">'
        f'<button type="button">{_e(label)}</button></th>'
        for key, kind, label, tip in heads)
    rows = []
    for learner in report.learners:
        cells = [
            f'<td class="name" title="{_e(learner.name)} ({_e(learner.source)})">{_e(learner.name)}'
            + (" &#9888;" if learner.mismatches else "") + "</td>",
            f"<td>{_e(learner.email or '')}</td>",
            f'<td class="num">{learner.passed}</td>',
            f'<td class="num">{learner.total("attempts")}</td>',
            f'<td class="num">{learner.total("hints_used")}</td>',
            f'<td class="num">{learner.revealed}</td>',
            f"<td>{_e(learner.files)}</td>",
        ] + [_kata_cell(learner, n, t) for n, t in report.katas]
        rows.append(f'<tr class="{"tampered" if learner.mismatches else ""}">{"".join(cells)}</tr>')
    return (f'<table id="class-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _skipped(report: ClassReport) -> str:
    if not report.skipped:
        return ""
    items = "".join(f"<li><code>{_e(s.source)}</code>: {_e(s.reason)}</li>" for s in report.skipped)
    return f'<h2>Skipped ({len(report.skipped)})</h2><ul id="skipped">{items}</ul>'


def render(report: ClassReport, title: str | None = None) -> str:
    title = title or f"Class report: {report.course}"
    parts = {
        "version": _e(__version__),
        "title": _e(title),
        "meta": _e(f"{len(report.learners)} learners, {len(report.katas)} katas. "
                   f"Made by kata report {__version__} at {now_iso()}."),
        "cards": _cards(report), "stuck": _stuck(report), "mismatches": _mismatches(report),
        "chart": _chart(report), "table": _table(report), "skipped": _skipped(report),
    }
    # One pass, so a learner's name that reads "{{table}}" is never itself replaced.
    return PLACEHOLDER.sub(lambda m: parts[m.group(1)], TEMPLATE.read_text(encoding="utf-8"))


def write(report: ClassReport, path: Path, title: str | None = None) -> None:
    try:
        path.write_text(render(report, title), encoding="utf-8")
    except OSError as exc:
        raise KataError(f"Cannot write {path} ({exc.strerror}).") from None
