"""The explorer in a real browser: headless Debian Chromium through Selenium (skips without one).

One page of the worked example is opened from file://; every step is taken with the controls
and the displayed numbers are checked against the engine's backward(); #step=N, the keyboard,
a click on a parameter, the console and the network are checked; a screenshot shows the graph.
"""

from __future__ import annotations

import json
import shutil

import pytest

from micrograd_mlp.core import topological_order
from micrograd_mlp.reference.picture import article_loss
from micrograd_mlp.viz import explore

from .browser import chromium

pytestmark = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` missing")


@pytest.fixture(scope="module")
def driver():
    yield from chromium()


@pytest.fixture(scope="module")
def article_page(tmp_path_factory):
    loss, net = article_loss()
    path = tmp_path_factory.mktemp("explorer") / "backprop.html"
    explore(loss, model=net).write(path)
    order = topological_order(loss)
    for v in order:
        v.grad = 0.0
    loss.backward()  # the oracle: the engine's own gradients
    return path, {i: v.grad for i, v in enumerate(order)}, len(order)


def _rows(driver):
    rows = driver.find_elements("css selector", "#current-step tr.contribution")
    return [(int(r.get_attribute("data-to")),
             float(r.find_element("css selector", "td.so-far").text)) for r in rows]


def test_every_step_with_the_controls_matches_autograd(driver, article_page):
    path, grads, _ = article_page
    driver.get(path.as_uri())
    assert "Forward pass" in driver.find_element("id", "current-step").text
    steps = json.loads(driver.find_element("id", "backprop-steps").get_attribute("textContent"))
    count = len(steps["steps"])
    last_seen: dict[int, float] = {}
    assert count == 15
    assert driver.find_element("id", "position").text == f"forward pass, before step 1 of {count}"
    for k in range(1, count + 1):
        driver.find_element("id", "next").click()
        assert driver.find_element("id", "position").text == f"step {k} of {count}"
        assert driver.execute_script("return location.hash") == f"#step={k}"
        assert driver.find_element("css selector", "#current-step h2").text.startswith(
            f"Step {k} of {count}: ")
        for to, so_far in _rows(driver):
            last_seen[to] = so_far
    driver.find_element("id", "next").click()  # past the end: stays on the last step
    assert driver.find_element("id", "position").text == f"step {count} of {count}"
    # each node's gradient as last shown equals the engine's (6 significant digits shown)
    frozen = {n["id"] for n in steps["nodes"] if n["frozen"]}
    assert set(last_seen) == {i for i in grads if i != steps["root"] and i not in frozen}
    for i, shown in last_seen.items():
        assert shown == pytest.approx(grads[i], rel=1e-5, abs=1e-12), steps["nodes"][i]["label"]
    # the SVG's grad cells now show the final gradients
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#graph text')).map(t => t.textContent)")
    assert "grad 0.08217" in texts and "grad ?" not in texts
    assert not any(t.endswith(" so far") for t in texts)  # every gradient is final
    # the article's frozen biases say so, never "grad 0"
    assert "frozen" in texts and "grad 0" not in texts
    driver.find_element("id", "first").click()
    assert "Forward pass" in driver.find_element("id", "current-step").text
    assert driver.execute_script("return location.hash") == "#step=0"
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#graph text')).map(t => t.textContent)")
    assert "grad ?" in texts


def test_fragment_keyboard_and_details(driver, article_page):
    path, grads, _ = article_page
    driver.get(path.as_uri() + "#step=2")
    data = json.loads(driver.find_element("id", "backprop-steps").get_attribute("textContent"))
    step = data["steps"][1]  # #step=2 opens the second step
    assert step["number"] == 2
    node = data["nodes"][step["node"]]
    box = driver.find_element("id", "current-step").text
    assert box.startswith(f"Step 2 of 15: {node['label'] or node['op']}")
    assert f"{grads[step['node']]:.6g}" in box
    body = driver.find_element("tag name", "body")
    body.send_keys("\ue014")  # ArrowRight
    assert driver.find_element("id", "position").text.startswith("step 3 ")
    body.send_keys("\ue010")  # End
    assert driver.find_element("id", "position").text == f"step {len(data['steps'])} of " \
        f"{len(data['steps'])}"
    body.send_keys("\ue011")  # Home
    assert "Forward pass" in driver.find_element("id", "current-step").text
    assert driver.execute_script("return location.hash") == "#step=0"
    driver.get(path.as_uri() + "#step=15")  # the last step, by its number
    assert driver.find_element("id", "position").text == "step 15 of 15"
    driver.get(path.as_uri() + "#step=0")  # before step 1
    assert driver.find_element("id", "position").text == "forward pass, before step 1 of 15"
    w5 = next(n for n in data["nodes"] if n["label"] == "w5")
    driver.execute_script(
        "Array.from(document.querySelectorAll('#graph g.node')).find("
        "g => g.querySelector('title').textContent === arguments[0]).dispatchEvent("
        "new MouseEvent('click', {bubbles: true}))", w5["svg"][0])
    details = driver.find_element("id", "details").text
    assert "w5⁺ = w5 − η·∂E_total/∂w5" in details and "via net_o1" in details
    assert f"{0.4 - 0.5 * grads[w5['id']]:.6g}" in details


def test_no_console_errors_no_network_and_a_screenshot(driver, article_page, tmp_path):
    path, _, _ = article_page
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(path.as_uri() + "#step=5")
    driver.find_element("id", "play").click()
    driver.find_element("id", "play").click()  # pause
    errors = [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    assert all(u.startswith(("file://", "data:", "about:")) for u in urls), urls
    # the page fetched nothing: no resource entries at all (a planted <img src=http://...> or a
    # <link> to a CDN shows up here)
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
    size = driver.execute_script(
        "var r = document.querySelector('#graph svg').getBoundingClientRect();"
        "return [r.width, r.height, document.querySelectorAll('#graph g.node').length]")
    assert size[0] > 600 and size[1] > 150 and size[2] > 40
    shot = tmp_path / "explorer.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000  # a blank page compresses to far less
    shutil.copy(shot, "/tmp/explorer-test-screenshot.png") if shutil.os.environ.get(
        "KEEP_EXPLORER_SCREENSHOT") else None


def test_collapsed_neurons_show_their_delta_at_every_step(driver, tmp_path):
    """Collapsed, each neuron node shows δ = ∂E/∂net (its net node's gradient so far: "?" before
    any step reached it), and at the last step the engine's δ (the article's δ_o1 = 0.1385)."""
    loss, net = article_loss()
    path = tmp_path / "collapsed.html"
    explore(loss, model=net, collapse=True).write(path)
    driver.get(path.as_uri())
    data = json.loads(driver.find_element("id", "backprop-steps").get_attribute("textContent"))
    nets = {n["svg"][0]: n["id"] for n in data["nodes"]
            if n["label"] and n["label"].startswith("net_")}
    assert sorted(nets) == ["n0_0", "n0_1", "n1_0", "n1_1"]

    def deltas() -> dict[str, str]:
        return driver.execute_script(
            "var out = {}; document.querySelectorAll('#graph g.node').forEach(function (g) {"
            "  var t = Array.from(g.querySelectorAll('text')).find("
            "    t => t.textContent.indexOf('δ = ') === 0);"
            "  if (t) { out[g.querySelector('title').textContent] = t.textContent; } });"
            "return out")

    assert deltas() == {gid: "δ = ?" for gid in nets}
    so_far: dict[int, float] = {}
    for k, step in enumerate(data["steps"]):
        driver.find_element("id", "next").click()
        for c in step["contributions"]:
            so_far[c["to"]] = so_far.get(c["to"], 0.0) + c["value"]
        for gid, text in deltas().items():
            i = nets[gid]
            want = "δ = ?" if i not in so_far else f"δ = {float(f'{so_far[i]:.4g}'):g}"
            if i in so_far and data["nodes"][i]["final_step"] > k + 1:
                want += " so far"  # still accumulating
            assert text == want, (k, gid)
    loss.backward()
    shown = deltas()
    for gid, i in nets.items():
        assert float(shown[gid][4:]) == pytest.approx(data["nodes"][i]["grad"], rel=1e-3)
    assert shown["n1_0"] == "δ = 0.1385"


def _grad_texts(driver) -> dict[str, list[str]]:
    return driver.execute_script(
        "var out = {}; document.querySelectorAll('#graph g.node').forEach(function (g) {"
        "  out[g.querySelector('title').textContent] = Array.from(g.querySelectorAll('text'))"
        "    .map(t => t.textContent).filter(t => t.indexOf('grad ') === 0); });"
        "return out")


def test_a_gradient_still_accumulating_is_marked_so_far(driver, article_page):
    """A node reached by some but not all of its contributions shows "grad … so far" (and its
    row says "so far"), until the step of its last contribution, which says "final"."""
    path, _, _ = article_page
    driver.get(path.as_uri())
    data = json.loads(driver.find_element("id", "backprop-steps").get_attribute("textContent"))
    nodes = data["nodes"]
    several = [n for n in nodes if len(n["received"]) > 1]
    assert several, "the worked example has nodes with several uses (out_h1, out_h2)"
    seen_partial = set()
    for k, step in enumerate(data["steps"], start=1):
        driver.get(path.as_uri() + f"#step={k}")
        texts = _grad_texts(driver)
        italic = driver.execute_script(  # the "so far" texts, and only they, are set apart
            "return Array.from(document.querySelectorAll('#graph text')).map("
            "  t => [t.textContent.endsWith(' so far'), t.classList.contains('partial')])")
        assert all(so_far == partial for so_far, partial in italic), k
        for n in nodes:
            if n["frozen"] or n["svg"][:1] != [f"v{n['id']}"] or n["final_step"] is None:
                continue
            shown = texts.get(f"v{n['id']}", [])
            if not shown:
                continue
            if n["final_step"] > k and any(r["from"] in
                                           [s["node"] for s in data["steps"][:k]]
                                           for r in n["received"]):
                assert shown[0].endswith(" so far"), (k, n["label"], shown)
                seen_partial.add(n["id"])
            else:
                assert not shown[0].endswith(" so far"), (k, n["label"], shown)
        rows = driver.find_elements("css selector", "#current-step tr.contribution")
        for row, c in zip(rows, step["contributions"]):
            status = row.find_element("css selector", "td.status").text
            assert (status == "final") == c["final"], (k, status)
            if not c["final"]:
                assert status.startswith("so far (more in step ")
    assert {n["id"] for n in several} <= seen_partial


def test_a_frozen_parameter_says_frozen(driver, article_page):
    path, _, _ = article_page
    driver.get(path.as_uri() + "#step=15")
    data = json.loads(driver.find_element("id", "backprop-steps").get_attribute("textContent"))
    frozen = [n for n in data["nodes"] if n["frozen"]]
    assert frozen
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('#graph text')).map(t => t.textContent)")
    assert "grad 0" not in texts and texts.count("frozen") >= 1
    driver.execute_script(
        "Array.from(document.querySelectorAll('#graph g.node')).find("
        "g => g.querySelector('title').textContent === arguments[0]).dispatchEvent("
        "new MouseEvent('click', {bubbles: true}))", frozen[0]["svg"][0])
    details = driver.find_element("id", "details").text
    assert "frozen (requires_grad=False)" in details and "leaves" in details
    assert "η·∂" not in details


def test_the_page_writes_numbers_as_the_static_picture_does(driver, tmp_path):
    """At the last step each gradient cell of the page reads as draw_graph's after backward()
    (the same 4 significant digits, exponents as Python writes them: 1.235e+09), and a frozen
    leaf reads "frozen" in both."""
    from micrograd_mlp import Value, draw_graph
    from micrograd_mlp.viz.render import pipe

    from .test_marks import gradient_cells, node_texts

    x = Value(3e-6, label="x")
    c = Value(5e4, label="c", requires_grad=False)
    y = x * 12345.0 + c
    loss = y * y * Value(2e-7, label="s")
    path = tmp_path / "numbers.html"
    explore(loss).write(path)
    driver.get(path.as_uri() + "#step=99")  # past the end: the last step
    page = driver.execute_script(
        "var out = {}; document.querySelectorAll('#graph g.node').forEach(function (g) {"
        "  out[g.querySelector('title').textContent] = Array.from(g.querySelectorAll('text'))"
        "    .map(t => t.textContent); });"
        "return out")
    loss.backward()
    static = node_texts(pipe(draw_graph(loss), "svg"))
    cells = {k: gradient_cells(v) for k, v in static.items() if gradient_cells(v)}
    assert {k: gradient_cells(page[k]) for k in cells} == cells
    shown = [t for v in cells.values() for t in v]
    assert "frozen" in shown and any("e+" in t for t in shown), shown
