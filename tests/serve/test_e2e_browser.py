"""The page in a real browser: Debian's chromium through chromedriver, driven by Selenium.

Types a caption, waits for a picture and an audio player, submits three blind ratings and finds
them in SQLite, and saves a screenshot to ``build/test-artifacts/serve-e2e.png`` (or
``$MMLATENT_ARTIFACTS``). Skips, saying what is missing, where the browser or driver is absent.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
from pathlib import Path

import pytest

from mmlatent.serve.ratings import RATINGS_FILE

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("MMLATENT_ARTIFACTS", "build/test-artifacts"))
WAIT_S = 120
"""Generous: the shared 2-core test machine may be busy."""


def browser_or_skip():
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "no chromium or chromedriver on PATH: `make test-e2e` installs Debian's "
            "chromium and chromium-driver"
        )
    pytest.importorskip("gradio", reason="the web extra is not installed: pip install '.[web]'")
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed: pip install '.[web-test]'"
    )
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size=1400,2200")
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def page(state):
    driver = browser_or_skip()
    from mmlatent.serve.app import build_app, launch

    app = build_app(state)
    port = free_port()
    launch(app, state, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    driver.get(f"http://127.0.0.1:{port}")
    yield driver
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / "serve-e2e-last.png"))  # the page as the test left it
    driver.quit()
    app.close()


def test_caption_to_picture_and_sound_then_three_ratings(page, state):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as seen
    from selenium.webdriver.support.wait import WebDriverWait

    wait = WebDriverWait(page, WAIT_S)
    caption = wait.until(
        seen.element_to_be_clickable(
            (By.CSS_SELECTOR, "textarea[placeholder='a handwritten seven']")
        )
    )
    caption.send_keys("a handwritten seven")
    page.find_element(By.ID, "generate-button").click()
    # A generated picture in the gallery, and an audio player holding a generated WAV.
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "img[src*='gradio_api/file=']"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "[data-testid='waveform-audio 1']"))
    assert page.find_elements(By.CSS_SELECTOR, "a[download$='_audio.wav']")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.save_screenshot(str(ARTIFACTS / "serve-e2e.png"))

    next(
        b for b in page.find_elements(By.CSS_SELECTOR, "button[role='tab']") if b.text == "Rate"
    ).click()
    wait.until(seen.element_to_be_clickable((By.CSS_SELECTOR, "#rater-name textarea"))).send_keys(
        "Ada"
    )
    page.find_element(By.ID, "next-pair").click()
    wait.until(lambda d: "new pair" in d.find_element(By.ID, "rating-status").text)
    for done in range(1, 4):
        choice = wait.until(
            seen.element_to_be_clickable((By.CSS_SELECTOR, "#choice input[value='a']"))
        )
        for side in ("A", "B"):  # an audio pair also asks for an opinion score of each
            block = page.find_elements(By.ID, f"score-{side}")
            if block and block[0].is_displayed():
                press(page, block[0].find_element(By.CSS_SELECTOR, "input[value='4']"))
        press(page, choice)
        press(page, page.find_element(By.ID, "submit-rating"))
        wait.until(
            lambda d, n=done: (
                f"{n} pairs rated by Ada" in d.find_element(By.ID, "rating-status").text
            )
        )
    page.save_screenshot(str(ARTIFACTS / "serve-e2e-rate.png"))
    assert preference_count(state) == 3


def press(page, element) -> None:
    """Click as a person would after scrolling to it (a toast or a sticky bar may cover it)."""
    page.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", element
    )


def preference_count(state) -> int:
    db = sqlite3.connect(state.run.path / RATINGS_FILE)
    try:
        query = "SELECT COUNT(*) FROM judgements WHERE kind = 'preference' AND rater = 'Ada'"
        return int(db.execute(query).fetchone()[0])
    finally:
        db.close()
