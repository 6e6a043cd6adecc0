"""rnnlab inspect's page, opened from disk in a real browser (headless Chromium, driven
by Selenium and Debian's chromedriver; `make test` installs both where it may): no
console errors, every section there, another unit recolours the text, and the unit the
ranking puts first for a trained echo run follows the input three steps back."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from helpers import quiet_train

RNNLAB = [sys.executable, "-m", "rnnlab"]
ALICE = os.path.join(os.path.dirname(__file__), "data", "alice.txt")
SECTIONS = ("settings", "curves", "text", "units", "ranking", "gates", "diagnose")


def rnnlab(*args):
    return subprocess.run(RNNLAB + [str(a) for a in args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "MPLBACKEND": "Agg"})


@pytest.fixture(scope="module")
def browser():
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        pytest.skip("needs Chromium and chromedriver (Debian: apt-get install chromium "
                    "chromium-driver; make test installs them as root)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2400"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def echo_page(tmp_path_factory):
    run = tmp_path_factory.mktemp("echo") / "run"
    quiet_train(run, init="glorot", state_size=8, epochs=3, series_length=20000, seed=1)
    assert rnnlab("diagnose", run, "--max-lag", "20", "--series-length", "4000").returncode == 0
    done = rnnlab("inspect", run)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    return run


def data_of(page: str) -> dict:
    text = open(page, encoding="utf-8").read()
    found = re.search(r'<script id="data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def open_page(browser, path):
    browser.get("file://" + str(path))
    browser.get_log("browser")  # what was logged before: the page's own load, below
    browser.refresh()
    return [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def colours(browser) -> list:
    return browser.execute_script(
        "return [...document.querySelectorAll('#stream span')].slice(0, 200)"
        ".map(s => s.style.backgroundColor)")


def test_the_page_has_every_section_and_no_console_error(browser, echo_page):
    page = echo_page / "inspect.html"
    assert page.stat().st_size < 3_000_000
    assert open_page(browser, page) == []
    for name in SECTIONS:
        section = browser.find_element("id", f"{name}-section")
        assert section.is_displayed() and section.text.strip(), name
    assert "This cell has no gates." in browser.find_element("id", "gates-section").text
    assert len(browser.find_elements("css selector", "#stream span")) == 2000
    assert browser.find_elements("css selector", "#diagnose svg")  # diagnose ran: its curves


def test_another_unit_recolours_the_text(browser, echo_page):
    open_page(browser, echo_page / "inspect.html")
    browser.execute_script("document.getElementById('colour-by').value = 'unit';"
                           "document.getElementById('colour-by').dispatchEvent(new Event('change'))")
    first_name = browser.find_element("id", "unit-name").text
    before = colours(browser)
    browser.find_element("tag name", "body").send_keys("\ue014")  # the right arrow key
    assert browser.find_element("id", "unit-name").text != first_name
    after = colours(browser)
    assert before != after and len(set(after)) > 2


def test_the_top_ranked_unit_of_an_echo_run_follows_the_input_three_steps_back(browser, echo_page):
    open_page(browser, echo_page / "inspect.html")
    first = browser.find_elements("css selector", "#ranking tr")[1].text
    assert "the input 3 steps back" in first
    # The unit the page shows first, against the page's own bits: it follows x[t-3].
    data = data_of(echo_page / "inspect.html")
    top = data["ranking"]["top"][0]
    bits = np.array([int(b) for b in data["stretch"]["symbols"]], float)
    values = browser.execute_script(f"return Array.from(activations[{top['unit']}])")
    r = np.corrcoef(np.array(values)[3:], bits[:-3])[0, 1]
    assert abs(r) > 0.9 and abs(top["r"]) > 0.9


def test_a_text_run_page_shows_its_held_out_text_and_gates(browser, tmp_path):
    run = tmp_path / "run"
    quiet_train(run, task="text", data=ALICE, cell="lstm", state_size=16, truncation=10,
                batch_size=4, epochs=2, seed=0, val_fraction=0.1, test_fraction=0.1)
    done = rnnlab("inspect", run, "--split", "test", "--out", tmp_path / "page.html")
    assert done.returncode == 0, done.stderr
    assert open_page(browser, tmp_path / "page.html") == []
    text = browser.find_element("id", "stream").text.replace("\u21b5\n", "\n")
    held_out = open(ALICE, encoding="utf-8").read()
    assert text[:40] in held_out[int(len(held_out) * 0.9):]  # the test part, the file's last 10%
    charts = browser.find_elements("css selector", "#gates .chart")
    assert [c.find_element("tag name", "h3").text for c in charts] == [
        "layer 0, input gate", "layer 0, forget gate", "layer 0, output gate"]
    assert "inside quotes" in browser.find_element("id", "ranking-note").text


def test_a_sweep_and_one_of_its_networks(browser, tmp_path):
    sweep = tmp_path / "sweep"
    shutil.copytree(os.path.join(os.path.dirname(__file__), "data", "before-reshape", "sweep"),
                    sweep)
    assert rnnlab("inspect", sweep).returncode == 0
    assert open_page(browser, sweep / "inspect.html") == []
    assert len(browser.find_elements("css selector", "#sweep img")) == 2
    assert not browser.find_element("id", "text-section").is_displayed()
    done = rnnlab("inspect", sweep, "--point", "echo_step=2", "truncation=4", "--seed", "1")
    assert done.returncode == 0, done.stderr
    member = sweep / "members" / "echo_step2-truncation4-seed1"
    assert json.loads((member / "config.json").read_text())["echo_step"] == 2
    assert open_page(browser, member / "inspect.html") == []


@pytest.mark.parametrize("args, message", [
    (["--length", "0"], "--length must be an integer from 1 to 20,000"),
    (["--length", "10000000"], "--length must be an integer from 1 to 20,000"),
    (["--split", "val"], "--split is for text and words runs"),
    (["--out", "/proc/nope/page.html"], "cannot be written"),
    (["--point", "echo_step=1"], "--point names a point of a sweep"),
])
def test_bad_input_to_inspect_is_one_line_and_changes_nothing(args, message, echo_page):
    before = sorted(os.listdir(echo_page))
    done = rnnlab("inspect", echo_page, *args)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert message in line
    assert sorted(os.listdir(echo_page)) == before


def test_a_run_without_a_checkpoint_or_a_damaged_one_is_one_line(tmp_path, echo_page):
    empty = tmp_path / "fresh"
    empty.mkdir()
    shutil.copy(echo_page / "config.json", empty / "config.json")
    done = rnnlab("inspect", empty)
    assert done.returncode == 2 and "holds no checkpoint yet" in done.stderr
    damaged = tmp_path / "damaged"
    shutil.copytree(echo_page, damaged)
    for data in (damaged / "checkpoints").glob("ckpt-*.data-*"):
        data.write_bytes(b"garbage")
    (damaged / "inspect.html").unlink()
    done = rnnlab("inspect", damaged)
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert "no readable checkpoint" in line and not (damaged / "inspect.html").exists()
