"""The explorer's view in a real browser (headless Debian Chromium through Selenium; skips
without one): text readable at the default zoom, the step's node in view at every step, the
zoom and pan controls, and the Jupyter iframe sized to its content.

Window sizes are a laptop's and a desktop's screens (1366×768, 1920×1080): the page gets what
the window leaves (Chromium's frame takes some 140 px), which is stricter than a viewport of
that size. A text's rendered size is its computed font size times the SVG's scale on screen
(``getScreenCTM``), and its box's height is checked too.
"""

from __future__ import annotations

import json
import shutil

import pytest

from micrograd_mlp import MLP
from micrograd_mlp.nn.losses import half_squared_error
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz import explore

from .browser import chromium

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` missing")

SIZES = [(1366, 768), (1920, 1080)]

#: The smallest text the explorer may show at its default zoom (CSS px).
MIN_TEXT_PX = 10.0

# [smallest rendered font size (px), smallest text box height (px), number of texts]
SMALLEST_TEXT = """
function smallestText() {
  var texts = Array.from(document.querySelectorAll('#graph svg text'));
  var px = Infinity, box = Infinity;
  texts.forEach(function (t) {
    if (!t.textContent.trim()) { return; }
    var size = parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a;
    px = Math.min(px, size);
    box = Math.min(box, t.getBoundingClientRect().height);
  });
  return [px, box, texts.length];
}
"""

# the boxes of the current step's drawn nodes, the viewport's and the pane's size
ACTIVE_BOXES = """
function activeBoxes() {
  var p = document.getElementById('graph').getBoundingClientRect();
  return Array.from(document.querySelectorAll('#graph g.node.current')).map(function (g) {
    var r = g.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom, window.innerWidth, window.innerHeight,
            p.left, p.top, p.right, p.bottom]; });
}
"""

# every step taken with the "next" button in one script (no round trip per step): for each,
# [smallest text, the active node's boxes]
EVERY_STEP = SMALLEST_TEXT + ACTIVE_BOXES + """
var out = [], count = arguments[0];
for (var k = 1; k <= count; k++) {
  document.getElementById('next').click();
  out.push([smallestText(), activeBoxes()]);
}
return out;
"""


@pytest.fixture(scope="module")
def driver():
    yield from chromium()


def _bigger_loss():
    """A 2-4-4-1 tanh network on one sample, drawn expanded: 63 nodes, 22 steps."""
    net = MLP(2, [4, 4, 1], seed=0)
    (out,) = net([0.5, -0.3])
    return half_squared_error([out], [1.0]), net


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("view")
    loss, net = article_loss()
    bigger, big_net = _bigger_loss()
    return {"article": explore(loss, model=net).write(folder / "article.html"),
            "bigger": explore(bigger, model=big_net).write(folder / "bigger.html")}


def _step_count(driver) -> int:
    data = driver.find_element("id", "backprop-steps").get_attribute("textContent")
    return len(json.loads(data)["steps"])


def _assert_readable(smallest, where) -> None:
    px, box, count = smallest
    assert count > 20, where
    assert px >= MIN_TEXT_PX, (where, px)
    assert box >= MIN_TEXT_PX, (where, box)


def _assert_in_view(boxes, k) -> None:
    assert boxes, k  # the value node (and its op node) of step k
    for box in boxes:
        left, top, right, bottom, width, height, pl, pt, pr, pb = box
        assert left >= 0 and right <= width + 0.5, (k, box)  # in the window
        assert top >= 0 and bottom <= height + 0.5, (k, box)
        assert pl - 0.5 <= left and right <= pr + 0.5, (k, box)  # not clipped by the pane
        assert pt - 0.5 <= top and bottom <= pb + 0.5, (k, box)


def _settle(driver) -> None:
    """Wait for pending messages and two frames (a resized iframe is laid out by then)."""
    driver.execute_async_script(
        "var done = arguments[0]; setTimeout(function () {"
        "  requestAnimationFrame(function () { requestAnimationFrame(function () { done(); }); });"
        "}, 30)")


def _every_step(driver, readable: bool = True) -> None:
    """Take every step; at each, the step's node is in view (and every text readable)."""
    for k, (smallest, boxes) in enumerate(
            driver.execute_script(EVERY_STEP, _step_count(driver)), start=1):
        if readable:
            _assert_readable(smallest, k)
        _assert_in_view(boxes, k)


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
@pytest.mark.parametrize("name", ["article", "bigger"])
def test_default_zoom_is_readable_and_follows_every_step(driver, pages, name, size):
    """At the default zoom every text of the picture is at least 10 px at every step (the "so
    far" texts fit their cells, so none is shrunk), the graph overflows its pane (so following
    the step needs the scrolling this checks), and each step's node is in view."""
    driver.set_window_size(*size)
    driver.get(pages[name].as_uri())
    _assert_readable(driver.execute_script(SMALLEST_TEXT + "return smallestText()"), "forward")
    overflow = driver.execute_script(
        "var p = document.getElementById('graph');"
        "return p.scrollWidth > p.clientWidth || p.scrollHeight > p.clientHeight")
    assert overflow  # else following the step would prove nothing
    _every_step(driver)


def test_zoomed_in_and_whole_graph_keep_the_step_in_view(driver, pages):
    driver.set_window_size(1366, 768)
    driver.get(pages["article"].as_uri())
    zoom = driver.find_element("id", "zoom")
    readable = zoom.text
    driver.find_element("id", "zoom-in").click()
    driver.find_element("id", "zoom-in").click()
    assert int(zoom.text[:-1]) > int(readable[:-1])
    _every_step(driver)
    fit = driver.find_element("id", "fit")
    assert fit.text == "whole graph"
    fit.click()  # the whole graph in the pane: an overview, no scrolling
    assert fit.text == "readable"
    assert driver.execute_script(
        "var p = document.getElementById('graph');"
        "return p.scrollWidth <= p.clientWidth && p.scrollHeight <= p.clientHeight")
    _assert_in_view(driver.execute_script(ACTIVE_BOXES + "return activeBoxes()"), "whole")
    fit.click()
    assert zoom.text == readable
    driver.find_element("id", "zoom-out").click()
    driver.find_element("tag name", "body").send_keys("0")  # back to the readable zoom
    assert zoom.text == readable


def test_dragging_pans_the_graph_and_selects_nothing(driver, pages):
    from selenium.webdriver.common.action_chains import ActionChains

    driver.set_window_size(1366, 768)
    driver.get(pages["article"].as_uri() + "#step=1")  # E_total's step: at the right end
    pane = driver.find_element("id", "graph")
    before = driver.execute_script("return arguments[0].scrollLeft", pane)
    node = driver.find_element("css selector", "#graph g.node.current")
    ActionChains(driver).click_and_hold(node).move_by_offset(250, 0).release().perform()
    after = driver.execute_script("return arguments[0].scrollLeft", pane)
    assert after == pytest.approx(before - 250, abs=2) or (before < 250 and after == 0)
    assert before >= 250  # the last step sits at the right: there is room to pan left
    assert "Click a node" in driver.find_element("id", "details").text  # the drag selected none
    node.click()  # a click (no drag) still selects: E_total's breakdown
    assert driver.find_element("id", "details").text.startswith("E_total")


@pytest.mark.parametrize("size", SIZES, ids=["1366x768", "1920x1080"])
def test_the_jupyter_iframe_is_sized_to_its_content_and_readable(driver, tmp_path, size):
    """The notebook's output (``_repr_html_``) in a column 70% of the window wide: the
    iframe grows or shrinks to its page at once, grows with it (nothing cut off) at each step,
    and its text is readable."""
    loss, net = article_loss()
    host = tmp_path / "notebook.html"
    host.write_text("<!DOCTYPE html><html><body><div style='width:70vw'>"
                    + explore(loss, model=net)._repr_html_() + "</div></body></html>",
                    encoding="utf-8")
    driver.set_window_size(*size)
    driver.get(host.as_uri())
    frame = driver.find_element("tag name", "iframe")
    driver.execute_async_script(  # wait for the page's first report of its height
        "var f = arguments[0], done = arguments[1], t = Date.now();"
        "(function wait() { if (f.getAttribute('data-sized') || Date.now() - t > 5000) { done(); }"
        " else { setTimeout(wait, 20); } }())", frame)
    assert frame.get_attribute("data-sized") == "1"
    for k in range(3):
        _settle(driver)  # the page's message handled, the iframe laid out at its new height
        outer = driver.execute_script("return arguments[0].clientHeight", frame)
        driver.switch_to.frame(frame)
        try:
            inner = driver.execute_script("return document.body.offsetHeight")
            scrolls = driver.execute_script(
                "return document.documentElement.scrollHeight > window.innerHeight + 1")
            _assert_readable(driver.execute_script(SMALLEST_TEXT + "return smallestText()"),
                             ("iframe", k))
            driver.find_element("id", "next").click()
        finally:
            driver.switch_to.default_content()
        assert not scrolls, k  # nothing of the page is cut off
        if k == 0:  # the first report sets the height: not half empty
            assert abs(outer - inner) <= 4, (outer, inner)
        assert outer >= inner, (k, outer, inner)
