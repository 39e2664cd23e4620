"""cgan-app in a real browser: headless Chromium opens the page, picks a class, presses generate, and the
picture arrives. Its screenshot is README's docs/images/app.png."""

import importlib.util
import os
import shutil
import socket

import pytest
from conftest import ROOT

if importlib.util.find_spec("gradio") is None:  # found, not imported: importing Gradio costs seconds at collection
    pytest.skip("the app extra is not installed: pip install -e '.[app]'", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[app]'")

from cgan.app.open_file import open_backend
from cgan.app.serve import serve

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium on a machine without network: no background requests, no first-run work, no sandbox as root.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
SCREENSHOT = ROOT / "docs" / "images" / "app.png"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (Debian: apt-get install chromium)")
def test_a_browser_picks_a_class_generates_and_sees_the_picture(gesture_checkpoint, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # CGAN_UPDATE_SCREENSHOT=<a trained checkpoint>: serve that one and keep the screenshot for the README.
    ckpt = os.environ.get("CGAN_UPDATE_SCREENSHOT") or str(gesture_checkpoint)
    chosen = open_backend(ckpt).class_names[-1]  # "scissors" for the gestures
    page_server = serve(ckpt, port=port, block=False)
    try:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            page = browser.new_page(viewport={"width": 1200, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="networkidle")
            first = page.locator("img[src*='image.png']").first
            first.wait_for(timeout=60_000)  # the page draws the first class when it loads
            before = first.get_attribute("src")

            page.get_by_label("class").first.click()
            page.get_by_role("option", name=chosen, exact=True).click()
            page.locator("#generate").click()
            page.wait_for_function(
                "before => { const img = document.querySelector(\"img[src*='image.png']\");"
                " return img && img.src !== before && img.complete && img.naturalWidth > 0; }",
                arg=before, timeout=60_000)
            size = page.evaluate("() => { const img = document.querySelector(\"img[src*='image.png']\");"
                                 " return [img.naturalWidth, img.naturalHeight]; }")
            assert size[0] >= 512 and size[1] > 0  # the grid, scaled up to at least 512 pixels wide
            assert page.locator("input").first.input_value() == chosen
            shot = tmp_path / "app.png"
            page.screenshot(path=str(shot), full_page=True)
            browser.close()
    finally:
        page_server.close()
    assert shot.stat().st_size > 10_000
    if os.environ.get("CGAN_UPDATE_SCREENSHOT"):  # README's picture of the page is this test's own screenshot
        shutil.copy(shot, SCREENSHOT)
