"""`selfeval serve` in a real browser: the system's headless Chromium (Debian `chromium` and
`chromium-driver`, installed by .ci/run; nothing is downloaded at run time) driven by Selenium
against a live uvicorn server.

Screenshots of the pages are written to $SELFEVAL_SCREENSHOTS (default build/screenshots, not
committed) for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_report_template import fill_template
from test_web_support import (
    GOLDEN_PROJECTS,
    GOLDEN_UNIT,
    PASSWORD,
    ROOT,
    SEED,
    UNIT_A,
    add_accounts,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = Path(os.environ.get("SELFEVAL_SCREENSHOTS", ROOT / "build" / "screenshots"))
WAIT = 180.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A live server with accounts (bureau, unit-a of the sample's unit, unit-b): (base URL, its Web)."""
    import uvicorn

    from selfeval.web.app import create_app

    data = tmp_path_factory.mktemp("serve")
    add_accounts(data)
    app = create_app(data)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app.state.web
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium from the system (failing, not skipping, when it is missing: .ci/run installs it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    assert Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists(), "install Debian's chromium and chromium-driver (see .ci/run)"
    downloads = tmp_path_factory.mktemp("downloads")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1366,900", "--lang=zh-CN"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


def _until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _by_id(driver: Any, element_id: str) -> Any:
    from selenium.webdriver.common.by import By

    found = driver.find_elements(By.ID, element_id)
    return found[0] if found else None


def _login(driver: Any, base: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.delete_all_cookies()
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button").click()
    _until(lambda: "/login" not in driver.current_url, "the login")


def _shot(driver: Any, name: str) -> Path:
    """A screenshot of the window, and one of the full page (the window stretched to its height)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SHOTS / f"{name}-top.png"))
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, min(max(900, int(height)), 6000))
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1366, 900)
    return path


def _downloaded(driver: Any, name: str) -> Path:
    path = driver.downloads / name
    return _until(lambda: path if path.is_file() and not list(driver.downloads.glob("*.crdownload")) else None, f"the download of {name}")


def test_unit_journey_upload_template_score_download(server: tuple[str, Any], browser: Any) -> None:
    """It should take a unit officer from the declaration upload through the downloaded template,
    filled, to a downloaded workbook whose project totals equal the golden result (SPEC §5.7)."""
    from selenium.webdriver.common.by import By

    base, _ = server
    _login(browser, base, "unit-a")
    browser.get(f"{base}/unit")
    _shot(browser, "1-unit")
    browser.find_element(By.ID, "files").send_keys(str(SEED))
    browser.find_element(By.ID, "upload-declaration").click()
    _until(lambda: "/declarations/" in browser.current_url, "the declaration page")
    assert len(browser.find_elements(By.CSS_SELECTOR, "tr[id^='ind-']")) == 45
    _shot(browser, "2-declaration")
    browser.find_element(By.ID, "download-template").click()
    template = _downloaded(browser, "填报模板_mof-2020.xlsx")
    assert "实际完成值" in openpyxl.load_workbook(template, read_only=True).sheetnames
    filled = fill_template(template, template.with_name("填好的模板.xlsx"))  # typed as a person would (tests/test_report_template.py)
    browser.find_element(By.ID, "filled").send_keys(str(filled))
    browser.find_element(By.ID, "start-run").click()
    total = _until(lambda: _by_id(browser, "unit-total"), "the results page (the job's page reloads itself)")
    assert total.text == f"{GOLDEN_UNIT:.2f}"
    assert browser.find_element(By.ID, "unit-grade").text == "优"
    _shot(browser, "3-results")
    browser.find_element(By.ID, "download-workbook").click()
    book = openpyxl.load_workbook(_downloaded(browser, f"自评表_{UNIT_A}.xlsx"), read_only=True)
    cells = [c for row in book["汇总"].iter_rows(values_only=True) for c in row]
    assert all(total in cells for total in GOLDEN_PROJECTS.values()) and GOLDEN_UNIT in cells


def test_unit_cannot_open_another_units_result(server: tuple[str, Any], browser: Any) -> None:
    """It should show unit B a 找不到 page, with none of the result, for unit A's run and its workbook."""
    from selenium.webdriver.common.by import By

    base, web = server
    runs = [r for r in web.store.records(("score",), unit_code=UNIT_A) if r.status == "done"]
    if not runs:  # this test run alone: make unit A's result first, through the pages
        test_unit_journey_upload_template_score_download(server, browser)
        runs = [r for r in web.store.records(("score",), unit_code=UNIT_A) if r.status == "done"]
    run = runs[0]
    _login(browser, base, "unit-b")
    before = sorted(p.name for p in browser.downloads.iterdir())
    for url in (f"{base}/runs/{run.id}", f"{base}/records/{run.id}/files/自评表_{UNIT_A}.xlsx", f"{base}/declarations/{run.parent}"):
        browser.get(url)
        assert "找不到" in browser.find_element(By.ID, "error").text
        assert _by_id(browser, "unit-total") is None and f"{GOLDEN_UNIT:.2f}" not in browser.page_source
    time.sleep(1)
    assert sorted(p.name for p in browser.downloads.iterdir()) == before  # the workbook was not served
    _shot(browser, "4-other-unit-404")


@pytest.mark.slow
def test_bureau_journey_league_and_whatif_slider(server: tuple[str, Any], browser: Any) -> None:
    """It should show the league table of a synthetic county, and moving a weight slider should
    move units off the diagonal of the grade migration matrix."""
    from selenium.webdriver.common.by import By

    base, _ = server
    _login(browser, base, "bureau")
    browser.get(f"{base}/bureau")
    browser.find_element(By.ID, "synth_units").send_keys("30")
    browser.find_element(By.ID, "start-bulk").click()
    league = _until(lambda: _by_id(browser, "league"), "the league table")
    assert len(league.find_elements(By.CSS_SELECTOR, "a[href*='/units/']")) == 30
    _shot(browser, "5-bulk")
    slider = browser.find_element(By.CSS_SELECTOR, "input[name='weights.产出指标']")
    browser.execute_script("arguments[0].value = 0; arguments[0].dispatchEvent(new Event('input'));", slider)
    assert slider.find_element(By.XPATH, "following-sibling::output").text == "0"
    browser.find_element(By.ID, "start-whatif").click()
    matrix = _until(lambda: _by_id(browser, "matrix-单位"), "the migration matrix")
    cells = matrix.find_elements(By.CSS_SELECTOR, "td[data-from]")
    moved = sum(int(c.text) for c in cells if c.get_attribute("data-from") != c.get_attribute("data-to"))
    assert sum(int(c.text) for c in cells) == 30 and moved > 0
    _shot(browser, "6-whatif")
