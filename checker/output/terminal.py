"""Terminal output: a check's verdict, the kata list and the progress bar, for people."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from checker.check.verdict import CheckResult
from checker.curriculum import Curriculum, Kata
from checker.progress import kata_state, passed_numbers

STATUS_STYLE = {"pass": "green", "fail": "red", "error": "red", "timeout": "yellow",
                "locked": "dim", "skip": "dim"}
MARK = {"pass": "✓", "fail": "✗", "error": "✗", "timeout": "⏱", "skip": "-"}


def progress_bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / total) if total else 0
    head = ">" if 0 < filled < width else ""
    bar = "#" * filled + head + "-" * (width - filled - len(head))
    percent = round(100 * done / total) if total else 0
    return f"[{bar}] {done}/{total} ({percent}%)"


def test_title(name: str) -> str:
    """test_matches_gpt2_ln_1[seq5] -> 'matches gpt2 ln 1 [seq5]', for people."""
    base, _, params = name.partition("[")
    title = base.removeprefix("test_").replace("_", " ")
    return f"{title} [{params}" if params else title


def render_list(console: Console, curriculum: Curriculum, progress: dict) -> None:
    passed = passed_numbers(progress)
    table = Table(title=curriculum.course, title_justify="left", show_edge=False)
    for column in ("#", "kata", "status", "attempts", "hints"):
        table.add_column(column)
    styles = {"passed": "green", "locked": "dim", "coming soon": "dim", "in progress": "yellow",
              "ready": "cyan"}
    for kata in curriculum.katas:
        if kata.part:
            table.add_section() if table.row_count else None
            table.add_row("", f"[bold]{escape(kata.part)}[/]", "", "", "")
        state = kata_state(kata, progress, passed, [k.number for k in curriculum.available])
        record = progress["katas"].get(str(kata.number), {})
        table.add_row(str(kata.number), escape(kata.title), f"[{styles[state]}]{state}[/]",
                      str(record.get("attempts", 0) or ""), str(record.get("hints_shown", 0) or ""))
    console.print(table)
    done = len(passed & {k.number for k in curriculum.katas})
    console.print(escape(progress_bar(done, len(curriculum.katas))))


def compiling_part(compile_s: float) -> str:
    """The verdict line's word on compiling: what it cost and that it did not count. Not "once":
    a graph MAX's eager interpreter refuses is compiled again in every check (watchdog.py)."""
    return f", {compile_s:.0f} s of it MAX compiling, not counted" if compile_s >= 1 else ""


def render_result(console: Console, result: CheckResult, kata: Kata) -> None:
    style = STATUS_STYLE.get(result.status, "red")
    compiling = compiling_part(result.compile_s)
    console.print(f"\n[bold]Kata {kata.number}: {escape(kata.title)}[/] — "
                  f"[bold {style}]{result.status.upper()}[/] ({result.duration_s:.1f} s{compiling})")
    seen_messages: set[str] = set()
    for test in result.shown_tests:
        mark = MARK.get(test["status"], "?")
        tstyle = STATUS_STYLE.get(test["status"], "red")
        console.print(f"  [{tstyle}]{mark}[/] {escape(test_title(test['name']))}")
        message = test.get("message")
        if message and message not in seen_messages:
            seen_messages.add(message)
            for line in message.splitlines():
                console.print(f"      {escape(line)}", highlight=False)
        elif message:
            console.print("      (same problem as above)", style="dim")
        for text in test.get("notes") or []:
            console.print(f"      {escape(text)}", style="cyan", highlight=False)
    if result.message and (result.status != "fail" or not result.tests):
        console.print(escape(result.message), highlight=False)
    if result.blame:
        console.print(escape(result.blame), style="bold yellow", highlight=False)
