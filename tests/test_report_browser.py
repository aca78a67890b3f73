"""The class report page in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium. The table and chart render, sorting works, nothing comes
from the network, a learner's name cannot run script, and a screenshot is taken.

Skipped where Chromium is not installed, except under CI (CI=1), where that is a failure:
.ci/run installs it, so a missing browser there is a broken CI, not a reason to skip.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from class_maker import make_class, make_learner
from conftest import KATAS, REPO, kata_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
LEARNERS = 60


def _browser_missing() -> str | None:
    if not CHROMIUM or not CHROMEDRIVER:
        return "Chromium and ChromeDriver are not installed (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e \".[dev]\")"
    return None


@pytest.fixture(scope="module")
def browser():
    missing = _browser_missing()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser test, but: {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # Headless as root on a machine with no network: these flags keep Chromium from phoning home.
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1400,1000"):
        options.add_argument(flag)
    profile = Path(os.environ.get("TMPDIR", "/tmp")) / f"kata-chromium-{os.getpid()}"
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A report of 60 generated learners, 3 of them with a pass their file does not match, one
    whose name is a script, and one bad file."""
    where = tmp_path_factory.mktemp("browser-class")
    make_class(where / "class", LEARNERS - 1, seed=7, tampered=3)
    make_learner(where / "class" / "zz-evil", "<img src=x onerror=window.pwned=1><script>window.pwned=2</script>",
                 5, random.Random(1))
    (where / "class" / "junk.json").write_text("[1, 2, 3]")
    done = subprocess.run([sys.executable, "-c", "from checker.cli import main; main()", "report", "class",
                           "--html", "class.html", "--csv", "class.csv"], cwd=where, env=kata_env(REPO),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return where / "class.html"


# True when the column under heading arguments[0] is in order, compared as the page compares.
SORTED = """
const [th, numeric, ascending] = arguments;
const rows = Array.from(document.querySelectorAll('#class-table tbody tr'));
const keys = rows.map(r => { const c = r.cells[th.cellIndex];
  const v = c.hasAttribute('data-sort') ? c.getAttribute('data-sort') : c.textContent.trim();
  return numeric ? Number(v) : v.toLocaleLowerCase(); });
return keys.every((k, i) => i === 0 || (numeric ? k - keys[i - 1] : k.localeCompare(keys[i - 1]))
                                       * (ascending ? 1 : -1) >= 0);
"""


def column(driver, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#class-table tbody tr'))"
        ".map(r => r.cells[arguments[0]].getAttribute('data-sort') ?? r.cells[arguments[0]].textContent.trim())",
        index)


def heading(driver, key: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'#class-table th[data-key="{key}"]')


def test_report_renders_sorts_and_is_screenshotted(browser, page, tmp_path):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "#class-table tbody tr")
    assert len(rows) == LEARNERS
    assert rows[0].find_element(By.CSS_SELECTOR, "td.name").is_displayed()
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart rect.bar")
    assert len(bars) == KATAS
    heights = [float(bar.get_attribute("height")) for bar in bars]
    assert heights[0] > heights[-1] >= 0 and bars[0].size["height"] > 20  # drawn, not just present
    assert len(browser.find_elements(By.CSS_SELECTOR, "#chart rect.is-stuck")) == 1
    assert "Where the class is stuck" in browser.find_element(By.ID, "stuck").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr.tampered")) == 3
    assert "junk.json" in browser.find_element(By.ID, "skipped").text

    # the hostile name is text, and no script of it ran
    assert browser.execute_script("return window.pwned") is None
    evil = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "td.name") if "onerror" in r.text]
    assert evil and "<script>" in evil[0]

    # sorting: numbers, then text, each way; the first click sorts ascending, the next reverses
    for key, numeric in (("passed", True), ("learner", False), ("attempts", True), ("kata-7", True)):
        th = heading(browser, key)
        for direction in ("ascending", "descending"):
            th.find_element(By.TAG_NAME, "button").click()
            assert th.get_attribute("aria-sort") == direction
            assert browser.execute_script(SORTED, th, numeric, direction == "ascending"), (key, direction)
        others = browser.find_elements(By.CSS_SELECTOR, "#class-table th[aria-sort]:not([aria-sort=none])")
        assert len(others) == 1
    values = [int(v) for v in column(browser, int(browser.execute_script(
        "return arguments[0].cellIndex", heading(browser, "passed"))))]
    assert len(set(values)) > 3  # the class is spread out, so the sort checks mean something
    states = browser.execute_script(
        "return Array.from(document.querySelectorAll('#class-table tbody tr'))"
        ".map(r => r.cells[arguments[0].cellIndex].dataset.state)", heading(browser, "kata-7"))
    order = {"not started": 0, "attempted": 1, "mismatch": 2, "passed": 3}
    assert [order[s] for s in states] == sorted((order[s] for s in states), reverse=True)

    # nothing was fetched, nothing went wrong
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe

    browser.execute_script("window.scrollTo(0, 0); document.querySelector('.table-wrap').scrollLeft = 0")
    shot = tmp_path / "class-report.png"
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600 and len(data) > 20_000  # a real page, not a blank
