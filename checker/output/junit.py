"""`kata check --junit FILE`: JUnit XML, the format CI systems (GitHub, GitLab, Jenkins) display.

One <testsuite> per kata and one <testcase> per hidden test. A kata that never reached its
tests (a syntax error, a time-out, a crash, a locked kata) gets one <testcase name="check"> that
says why, so no problem is lost between the tests.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from checker import __version__
from checker.errors import KataError

# XML 1.0 forbids most control characters; learner output (ANSI colours, stray bytes) has them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: object) -> str:
    return _NOT_XML.sub("?", str(text)) if text is not None else ""


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _problem(case: ET.Element, status: str, message: str) -> None:
    """Adds <failure>, <error> or <skipped> to a testcase (nothing for a pass)."""
    tag = {"fail": "failure", "error": "error", "timeout": "error", "locked": "skipped",
           "skip": "skipped"}.get(status)
    if tag:
        element = ET.SubElement(case, tag, message=_clean(_first_line(message)), type=status)
        element.text = _clean(message)


def _suite(kata: dict) -> ET.Element:
    """One kata (a `results_json.kata_result` dict) as a <testsuite>."""
    tests = kata["tests"]
    suite = ET.Element("testsuite", name=f"kata {kata['kata']:02d} {kata['slug']}: {_clean(kata['title'])}",
                       time=f"{kata['duration_s'] or 0:.3f}")
    props = ET.SubElement(suite, "properties")
    for name in ("kata", "slug", "kata_status", "fresh_judgement", "sha256"):
        ET.SubElement(props, "property", name=name, value=_clean(kata.get(name)))
    classname = f"katas.step_{kata['kata']:02d}"
    for test in tests:
        case = ET.SubElement(suite, "testcase", classname=classname, name=_clean(test["name"]),
                             time=f"{test.get('duration_s') or 0:.3f}")
        _problem(case, test.get("test_status") or test["status"], test.get("message") or "failed")
        if test.get("output"):
            ET.SubElement(case, "system-out").text = _clean(test["output"])
    # A verdict that no listed test explains (no tests ran, or they did not all finish).
    if kata["status"] != "pass" and all(t["status"] == "pass" for t in tests):
        case = ET.SubElement(suite, "testcase", classname=classname, name="check", time="0.000")
        _problem(case, kata["kata_status"], kata["message"] or kata["kata_status"])
    cases = suite.findall("testcase")
    for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        suite.set(key, str(sum(1 for c in cases if c.find(tag) is not None)))
    suite.set("tests", str(len(cases)))
    return suite


def to_xml(katas: list[dict]) -> bytes:
    root = ET.Element("testsuites", name=f"kata checker {__version__}")
    total_time = 0.0
    for kata in katas:
        root.append(_suite(kata))
        total_time += kata["duration_s"] or 0
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key)) for s in root)))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def check_writable(path: Path) -> None:
    """Refuses, before any check runs, a JUnit path that cannot be written."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise KataError(f"--junit {path}: that is a folder; give a file name such as junit.xml.")
    if not folder.is_dir():
        raise KataError(f"--junit {path}: the folder {folder} does not exist.")
    if not os.access(folder, os.W_OK):
        raise KataError(f"--junit {path}: the folder {folder} is not writable.")


def write(path: Path, katas: list[dict]) -> None:
    try:
        path.write_bytes(to_xml(katas))
    except OSError as exc:
        raise KataError(f"Cannot write the JUnit file {path} ({exc.strerror}).") from None
