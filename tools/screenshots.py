"""Regenerate the explorer's screenshots in docs/images (headless Chromium through Selenium).

    .venv/bin/python tools/screenshots.py            # docs/images/explorer-1366x768.png, ...
    .venv/bin/python tools/screenshots.py --out /tmp/shots --step 11
    .venv/bin/python tools/screenshots.py --readme   # and the README's docs/images/explorer.png

Needs Graphviz's ``dot``, the system Chromium and chromedriver (Debian: ``apt-get install
chromium chromium-driver``; or the paths in ``CHROMIUM`` / ``CHROMEDRIVER``) and selenium
(``pip install -e '.[browser]'``). Nothing is downloaded. Each picture is the worked example's
explorer (``explore(loss, model=net)``) at its default zoom, at one window size, on one step; with
Pillow installed the PNG is reduced to a 256-colour palette, which keeps it small.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]

#: (window width, window height) of the committed screenshots.
SIZES = ((1366, 768), (1920, 1080))

#: The step shown: net_o1's, the first to leave gradients "so far" (out_h1 and out_h2 are used
#: by both output neurons: their second contributions come in step 11).
DEFAULT_STEP = 6


def _which(env: str, *names: str) -> str | None:
    given = os.environ.get(env)
    if given:
        return given if os.path.exists(given) else None
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def start_chromium() -> Iterator[Any]:
    """A headless system Chromium (a Selenium driver); raises SystemExit saying what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        raise SystemExit("selenium is not installed: pip install -e '.[browser]'") from None
    browser = _which("CHROMIUM", "/usr/bin/chromium", "chromium", "chromium-browser")
    driver_path = _which("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")
    if browser is None or driver_path is None:
        raise SystemExit("no system Chromium + chromedriver (Debian: apt-get install chromium "
                         "chromium-driver)")
    profile = tempfile.mkdtemp(prefix="screenshots-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1",
                f"--user-data-dir={profile}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def set_viewport(driver: Any, width: int, height: int) -> None:
    """Make the page's viewport (not the window) ``width`` × ``height`` CSS pixels."""
    driver.set_window_size(width, height)
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.set_window_size(width + (width - inner[0]), height + (height - inner[1]))


def small_png(data: bytes) -> bytes:
    """The PNG reduced to a 256-colour palette (Pillow), or unchanged without Pillow."""
    try:
        from PIL import Image
    except ImportError:
        return data
    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue() if out.tell() < len(data) else data


def shoot(driver: Any, page: Path, step: int, size: tuple[int, int], path: Path) -> None:
    """One screenshot of ``page`` at ``step`` in a ``size`` viewport, written to ``path``."""
    set_viewport(driver, *size)
    driver.get(page.resolve().as_uri() + f"#step={step}")
    data = small_png(driver.get_screenshot_as_png())
    path.write_bytes(data)
    print(f"{path} ({len(data) // 1024} KB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images",
                        help="folder for explorer-WxH.png (default: docs/images)")
    parser.add_argument("--step", type=int, default=DEFAULT_STEP, help="the step shown")
    parser.add_argument("--readme", action="store_true",
                        help="also the README's explorer.png: one node per neuron, top to bottom, "
                             "step 10 (o2's σ), 1000×760")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from micrograd_mlp.reference.picture import article_loss
    from micrograd_mlp.viz import explore

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        loss, net = article_loss()
        page = explore(loss, model=net).write(Path(tmp) / "backprop.html")
        narrow = explore(loss, model=net, collapse=True, rankdir="TB").write(
            Path(tmp) / "narrow.html")
        for driver in start_chromium():
            for width, height in SIZES:
                shoot(driver, page, args.step, (width, height),
                      args.out / f"explorer-{width}x{height}.png")
            if args.readme:
                shoot(driver, narrow, 10, (1000, 760), args.out / "explorer.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
