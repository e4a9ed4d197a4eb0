"""Headless Chromium for the control page's tests: Debian's chromium and chromedriver (scripts/setup.sh --test),
driven by Selenium. The driver's path is given, so Selenium Manager never runs and nothing is downloaded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def missing() -> str | None:
    """Why no browser can be started here, or None."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            return f"no {path}: install chromium and chromium-driver (bash scripts/setup.sh --test)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "no selenium: pip install -e '.[test]'"
    return None


def start_chromium(profile: Path, width: int = 1280, height: int = 900):
    """A headless Chromium with a private profile in `profile`; quit() it when done."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.pop("SE_CHROMEDRIVER", None)  # it would override the path below
    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(profile.parent / "chromedriver.log"))
    return webdriver.Chrome(service=service, options=options)


def stop_chromium(driver, profile: Path) -> None:
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)
