"""A headless Debian Chromium for the explorer's browser tests (skips when there is none).

Only the system browser is used (``/usr/bin/chromium`` with ``/usr/bin/chromedriver``, or the
paths in ``CHROMIUM`` / ``CHROMEDRIVER``): nothing here downloads a browser or a driver.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Iterator

import pytest


def _find(env: str, *names: str) -> str | None:
    given = os.environ.get(env)
    if given:
        return given if os.path.exists(given) else None
    for n in names:
        path = shutil.which(n) or (n if os.path.isabs(n) and os.path.exists(n) else None)
        if path:
            return path
    return None


def chromium() -> Iterator[Any]:
    """Yield a Selenium Chrome driver on the system Chromium, or skip with the reason."""
    webdriver = pytest.importorskip("selenium.webdriver",
                                    reason="selenium is not installed (pip install '.[browser]')")
    from selenium.webdriver.chrome.service import Service

    browser = _find("CHROMIUM", "/usr/bin/chromium", "chromium", "chromium-browser")
    driver_path = _find("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")
    if browser is None or driver_path is None:
        pytest.skip("no system Chromium + chromedriver (Debian: apt-get install chromium "
                    "chromium-driver); the browser tests never download one")
    profile = tempfile.mkdtemp(prefix="explorer-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-extensions",
                "--window-size=1400,900", f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    except Exception as exc:  # a browser that cannot start here: skip, saying why
        shutil.rmtree(profile, ignore_errors=True)
        pytest.skip(f"the system Chromium did not start: {str(exc).splitlines()[0]}")
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
