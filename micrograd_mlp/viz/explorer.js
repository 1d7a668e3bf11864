// micrograd_mlp backpropagation explorer: hand-written, no external resources, works from file://.
// Reads the JSON in #backprop-steps (nodes, steps) and steps through the backward pass.
// Steps count 1..N: pos = N shows step N (steps[N - 1]); pos = 0 is the forward pass, before
// step 1 (#step=0 or no fragment).
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("backprop-steps").textContent);
  var nodes = data.nodes, steps = data.steps, S = steps.length;
  var svg = document.querySelector("#graph svg");
  var byTitle = {};   // drawn node id (v3, op3, n0_1) -> its <g>
  var edges = [];     // [tail, head, <g>]
  var gradTexts = {}; // node id -> the SVG <text> elements that show "grad ..."
  var pos = 0, timer = null, selected = null;

  function fmt(x) {
    if (x === null || x === undefined) { return "non-finite"; }
    return String(Number(x.toPrecision(6)));
  }
  function gnum(x, p) {
    // x with p significant digits, as Python's "%.{p}g" writes it (the picture's numbers)
    if (!isFinite(x)) { return isNaN(x) ? "nan" : (x > 0 ? "inf" : "-inf"); }
    if (x === 0) { return "0"; }
    var e = x.toExponential(p - 1), exp = parseInt(e.slice(e.indexOf("e") + 1), 10);
    if (exp < -4 || exp >= p) {
      var m = e.slice(0, e.indexOf("e")).replace(/\.?0+$/, "");
      return m + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }
    return x.toFixed(Math.max(0, p - 1 - exp)).replace(/(\.\d*?)0+$/, "$1").replace(/\.$/, "");
  }
  function short(x) {
    if (x === null || x === undefined) { return "non-finite"; }
    return gnum(x, data.precision);
  }
  function name(i) {
    var n = nodes[i];
    return n.label !== null ? n.label : (n.op !== null ? n.op : fmt(n.data));
  }
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }

  if (svg) {
    Array.prototype.forEach.call(svg.querySelectorAll("g.node"), function (g) {
      var t = g.querySelector("title");
      if (t) { byTitle[t.textContent] = g; }
    });
    Array.prototype.forEach.call(svg.querySelectorAll("g.edge"), function (g) {
      var t = g.querySelector("title");
      if (!t) { return; }
      var parts = t.textContent.split("->");
      if (parts.length === 2) { edges.push([parts[0].split(":")[0], parts[1].split(":")[0], g]); }
    });
    // a collapsed neuron shows its output's gradient ("out …, grad …": its net's, for a linear
    // neuron, which has no separate output) and its net's (δ = …)
    var isOut = function (n) { return n.label !== null && n.label.indexOf("out_") === 0; };
    var hasOut = {};
    nodes.forEach(function (n) { if (isOut(n)) { hasOut[n.svg[0]] = true; } });
    var outRow = function (t) { return /^out .*, grad /.test(t); };
    nodes.forEach(function (n) {
      var inNeuron = n.svg.length === 1 && n.svg[0].charAt(0) === "n";
      var test = function (t) { return t.indexOf("grad ") === 0; };
      if (inNeuron && isOut(n)) {
        test = outRow;
      } else if (inNeuron && (n.op === "affine" || (n.label || "").indexOf("net_") === 0)) {
        test = function (t) {
          return t.indexOf("δ = ") === 0 || (!hasOut[n.svg[0]] && outRow(t));
        };
      } else if (inNeuron) {
        return;
      }
      var g = byTitle[inNeuron ? n.svg[0] : "v" + n.id];
      if (!g || (!inNeuron && n.svg[0] !== "v" + n.id)) { return; }
      gradTexts[n.id] = Array.prototype.filter.call(g.querySelectorAll("text"), function (t) {
        return test(t.textContent);
      });
      gradTexts[n.id].forEach(function (t) {
        // the picture's text is the widest this cell shows at any step (Python drew the cell for
        // it): each step writes its own text over it, keeping what comes before the gradient
        t.setAttribute("data-template", t.textContent);
        t.setAttribute("data-prefix", t.textContent.indexOf("δ = ") === 0 ? "δ = " : "grad ");
        try { t.setAttribute("data-width", String(t.getComputedTextLength())); } catch (e) { /* */ }
      });
    });
    Object.keys(byTitle).forEach(function (key) {
      byTitle[key].addEventListener("click", function () { select(key); });
    });
  }

  function gradsAt(p) {
    // gradient of every node after steps 1..p (the engine's accumulation, in its order)
    var g = new Array(nodes.length).fill(0);
    g[data.root] = 1.0;
    for (var s = 0; s < p; s++) {
      steps[s].contributions.forEach(function (c) { g[c.to] += c.value; });
    }
    return g;
  }

  function nextStep(to, p) {
    // the first step after step p that pushes a contribution to node `to`
    for (var s = p; s < S; s++) {
      if (steps[s].contributions.some(function (c) { return c.to === to; })) { return s + 1; }
    }
    return null;
  }

  function fitText(t) {
    // keep a text ("grad 0.0554 so far", "frozen") inside the cell drawn for the final one
    t.style.fontSize = "";
    var room = parseFloat(t.getAttribute("data-width") || "0");
    var size = parseFloat(t.getAttribute("font-size") || "0");
    if (!(room > 0) || !(size > 0)) { return; }
    var need = t.getComputedTextLength();
    if (need > room) { t.style.fontSize = (size * room / need).toFixed(2) + "px"; }
  }

  function setClass(ids, cls) {
    ids.forEach(function (id) { if (byTitle[id]) { byTitle[id].classList.add(cls); } });
  }

  // --- the view: zoom (readable by default), pan (scroll, or drag), the step kept in view ---
  var pane = document.getElementById("graph");
  var embedded = document.body.classList.contains("embedded");
  var view = (function () {
    var READABLE_PX = 10.5;  // the smallest text at the default zoom, in CSS px
    var PT = 4 / 3;          // Graphviz's SVG unit is the point: 1 pt = 4/3 CSS px
    var MARGIN = 16;         // room kept around the step's nodes when scrolling to them
    var width = 0, height = 0, smallest = 14, mode = "readable", scale = 1, shown = [[], []];
    if (svg) {
      var vb = svg.viewBox && svg.viewBox.baseVal;
      width = (vb && vb.width ? vb.width : svg.getBBox().width) * PT;
      height = (vb && vb.height ? vb.height : svg.getBBox().height) * PT;
      Array.prototype.forEach.call(svg.querySelectorAll("text"), function (t) {
        var size = parseFloat(t.getAttribute("font-size") || "14");
        if (size > 0 && size < smallest) { smallest = size; }
      });
    }
    function paneHeight() {
      var max = parseFloat(getComputedStyle(pane).maxHeight);
      return isFinite(max) ? max : window.innerHeight * 0.62;
    }
    function scaleFor(m) {
      var fitWidth = pane.clientWidth / width;
      if (m === "whole") { return Math.min(1, fitWidth, (paneHeight() - 4) / height); }
      if (m === "readable") {  // the whole width when it reads; else readable, and pan
        return Math.min(1, Math.max(fitWidth, READABLE_PX / (smallest * PT)));
      }
      return scale;
    }
    function apply(s) {
      if (!svg || !(width > 0)) { return; }
      scale = Math.max(0.05, Math.min(4, s));
      svg.style.width = (scale * width).toFixed(1) + "px";
      svg.style.height = (scale * height).toFixed(1) + "px";
      document.getElementById("zoom").textContent = Math.round(scale * 100) + "%";
      document.getElementById("fit").textContent = mode === "whole" ? "readable" : "whole graph";
    }
    function setMode(m, s) { mode = m; apply(m === "custom" ? s : scaleFor(m)); show(); }
    function rectOf(ids) {
      var r = null;
      ids.forEach(function (id) {
        var g = byTitle[id];
        if (!g) { return; }
        var b = g.getBoundingClientRect();
        r = r === null ? {left: b.left, top: b.top, right: b.right, bottom: b.bottom}
          : {left: Math.min(r.left, b.left), top: Math.min(r.top, b.top),
             right: Math.max(r.right, b.right), bottom: Math.max(r.bottom, b.bottom)};
      });
      return r;
    }
    function nearest(lo, hi, viewLo, viewHi) {
      // the scroll that brings [lo, hi] inside [viewLo, viewHi] (its start, if it is larger)
      if (hi - lo > viewHi - viewLo || lo < viewLo) { return lo - viewLo; }
      return hi > viewHi ? hi - viewHi : 0;
    }
    function toward(lo, hi, allLo, allHi, viewLo, viewHi) {
      // the scroll along one axis: the node [lo, hi] with its operands [allLo, allHi] if they
      // fit; else the node, with as much room as there is on the operands' side of it
      var size = viewHi - viewLo;
      if (allHi - allLo <= size) { return nearest(allLo, allHi, viewLo, viewHi); }
      if (hi - lo >= size) { return lo - viewLo; }
      var start = allHi - hi > lo - allLo ? lo : hi - size;  // the node at the view's near edge
      return start - viewLo;
    }
    function show(ids, operands, centre) {
      // scroll the pane (and the page) so that the step's node is in view, with its operands
      // as far as they fit (``centre``: the node in the middle of the pane)
      if (ids !== undefined) { shown = [ids, operands || []]; }
      var r = rectOf(shown[0]);
      if (r === null) { return; }
      var all = rectOf(shown[0].concat(shown[1]));
      var p = pane.getBoundingClientRect();
      var left = p.left + pane.clientLeft + MARGIN, top = p.top + pane.clientTop + MARGIN;
      var right = left + pane.clientWidth - 2 * MARGIN;
      var bottom = top + pane.clientHeight - 2 * MARGIN;
      if (centre) {
        pane.scrollLeft += (r.left + r.right - left - right) / 2;
        pane.scrollTop += (r.top + r.bottom - top - bottom) / 2;
      } else {
        pane.scrollLeft += toward(r.left, r.right, all.left, all.right, left, right);
        pane.scrollTop += toward(r.top, r.bottom, all.top, all.bottom, top, bottom);
      }
      if (embedded) { return; }  // the notebook's page is not ours to scroll
      r = rectOf(shown[0]);
      var dy = nearest(r.top - 4, r.bottom + 4, 0, window.innerHeight);
      var dx = nearest(r.left - 4, r.right + 4, 0, window.innerWidth);
      if (dx || dy) { window.scrollBy(dx, dy); }
    }
    return {
      start: function () { setMode("readable"); },
      show: show,
      fit: function () { setMode(mode === "whole" ? "readable" : "whole"); },
      zoom: function (factor) { setMode("custom", scale * factor); },
      readable: function () { setMode("readable"); },
      resized: function () { if (mode !== "custom") { setMode(mode); } },
      scale: function () { return scale; }
    };
  }());

  (function panByDragging() {
    var drag = null, dragged = false;
    pane.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) { return; }
      drag = {x: ev.clientX, y: ev.clientY, left: pane.scrollLeft, top: pane.scrollTop};
      dragged = false;
    });
    window.addEventListener("pointermove", function (ev) {
      if (drag === null) { return; }
      var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
      if (!dragged && Math.abs(dx) + Math.abs(dy) < 5) { return; }
      dragged = true;
      pane.classList.add("dragging");
      pane.scrollLeft = drag.left - dx;
      pane.scrollTop = drag.top - dy;
    });
    window.addEventListener("pointerup", function () {
      drag = null;
      pane.classList.remove("dragging");
    });
    pane.addEventListener("click", function (ev) {  // the end of a drag selects nothing
      if (dragged) { ev.stopPropagation(); dragged = false; }
    }, true);
    pane.addEventListener("wheel", function (ev) {  // ctrl + wheel zooms
      if (!ev.ctrlKey) { return; }
      ev.preventDefault();
      view.zoom(ev.deltaY < 0 ? 1.1 : 1 / 1.1);
    }, {passive: false});
  }());

  function reportHeight() {
    // in a notebook's iframe: tell the notebook how tall the page is (it grows the iframe to it)
    if (!embedded) { return; }
    try {
      parent.postMessage({micrograd_explorer_height: Math.ceil(document.body.offsetHeight)}, "*");
    } catch (e) { /* no parent */ }
  }

  function render() {
    ["current", "operand", "pending", "partial"].forEach(function (cls) {
      Array.prototype.forEach.call(svg ? svg.querySelectorAll("g." + cls) : [], function (g) {
        g.classList.remove(cls);
      });
    });
    edges.forEach(function (e) { e[2].classList.remove("flow"); });
    var grads = gradsAt(pos);
    var reached = {};
    reached[data.root] = true;
    for (var s = 0; s < pos; s++) {
      steps[s].contributions.forEach(function (c) { reached[c.to] = true; });
    }
    Object.keys(gradTexts).forEach(function (id) {
      var n = nodes[id];
      // partial: reached, but its last contribution is still to come
      var partial = !n.frozen && reached[id] === true && n.final_step !== null &&
        n.final_step > pos;
      gradTexts[id].forEach(function (t) {
        var prefix = t.getAttribute("data-prefix");
        var text = n.frozen ? (prefix === "grad " ? "frozen" : prefix + "frozen")
          : prefix + (reached[id] ? short(grads[id]) + (partial ? " so far" : "") : "?");
        var template = t.getAttribute("data-template"), at = template.lastIndexOf(prefix);
        t.textContent = template.slice(0, at) + text;
        t.classList.toggle("partial", partial);
        fitText(t);
      });
      if (!reached[id] && !n.frozen) { setClass(n.svg.slice(0, 1), "pending"); }
    });
    var box = document.getElementById("current-step");
    box.textContent = "";
    document.getElementById("position").textContent =
      pos < 1 ? "forward pass, before step 1 of " + S : "step " + pos + " of " + S;
    if (pos < 1) {
      view.show(nodes[data.root].svg, [], true);
      box.appendChild(el("h2", "Forward pass"));
      box.appendChild(el("p", "Every node shows its value. The backward pass starts at " +
        name(data.root) + " with ∂" + name(data.root) + "/∂" + name(data.root) +
        " = 1; press → (or ▶|) to push gradients, in the order the engine does (" + S +
        " steps)."));
      return;
    }
    var step = steps[pos - 1], node = nodes[step.node];
    setClass(node.svg, "current");
    var heads = {}, tails = {};
    node.svg.forEach(function (id) { heads[id] = true; });
    step.contributions.forEach(function (c) {
      setClass(nodes[c.to].svg, "operand");
      nodes[c.to].svg.forEach(function (id) { tails[id] = true; });
    });
    edges.forEach(function (e) { if (heads[e[1]] && (tails[e[0]] || heads[e[0]])) { e[2].classList.add("flow"); } });
    view.show(node.svg, Object.keys(tails));
    var root = name(data.root);
    box.appendChild(el("h2", "Step " + pos + " of " + S + ": " + name(step.node) +
      (node.label !== null ? " (" + step.symbol + ")" : "")));
    var p = el("p");
    p.appendChild(el("span", "out = " + step.formula + "; ∂" + root + "/∂" + name(step.node) +
      " = "));
    p.appendChild(el("b", fmt(step.grad), "upstream"));
    box.appendChild(p);
    var table = el("table", null, "numbers");
    var head = el("tr");
    ["operand", "rule", "∂" + root + "/∂out × local = contribution", "its gradient", ""]
      .forEach(function (h) { head.appendChild(el("th", h)); });
    table.appendChild(head);
    step.contributions.forEach(function (c) {
      var tr = el("tr", null, "contribution");
      tr.setAttribute("data-to", c.to);
      tr.appendChild(el("td", name(c.to)));
      tr.appendChild(el("td", c.rule, "rule"));
      tr.appendChild(el("td", fmt(step.grad) + " × " + fmt(c.partial) + " = " + fmt(c.value),
                        "value"));
      tr.appendChild(el("td", fmt(c.so_far), "so-far"));
      var last = nodes[c.to].final_step;
      tr.appendChild(el("td", c.final ? "final" : "so far (more in step " +
        nextStep(c.to, pos) + (last > nextStep(c.to, pos) ? "…" + last : "") + ")",
        c.final ? "status final" : "status partial"));
      if (!c.final) { tr.classList.add("partial"); }
      table.appendChild(tr);
    });
    box.appendChild(table);
    (step.frozen || []).forEach(function (f) {
      box.appendChild(el("p", name(f.to) + " is frozen (requires_grad=False): it receives no " +
        "gradient (" + fmt(step.grad) + " × " + fmt(f.partial) + " = " + fmt(f.value) +
        " is not added).", "hint"));
    });
  }

  function select(svgId) {
    var i = -1, best = -1;  // a collapsed neuron stands for its output (else its net) node
    for (var k = 0; k < nodes.length; k++) {
      if (nodes[k].svg.indexOf(svgId) < 0) { continue; }
      var lab = nodes[k].label || "";
      var rank = lab.indexOf("out_") === 0 ? 3 : (nodes[k].op === "affine" ? 2 : 1);
      if (rank > best) { best = rank; i = k; }
    }
    if (i < 0) { return; }
    if (selected) { setClassOff(selected); }
    selected = svgId;
    if (byTitle[svgId]) { byTitle[svgId].classList.add("selected"); }
    var n = nodes[i], root = name(data.root), box = document.getElementById("details");
    box.textContent = "";
    box.appendChild(el("h2", name(i) + (n.op !== null ? " (" + n.op + ")" : "")));
    box.appendChild(el("p", "data = " + fmt(n.data) + ", ∂" + root + "/∂" + name(i) + " = " +
      (n.frozen ? "none: frozen (requires_grad=False), it receives no gradient" : fmt(n.grad))));
    if (n.received.length) {
      box.appendChild(el("p", "Chain rule: ∂" + root + "/∂" + name(i) + " = Σ over its uses of ∂" +
                         root + "/∂use × ∂use/∂" + name(i) + ":"));
      var table = el("table", null, "numbers");
      n.received.forEach(function (r) {
        var tr = el("tr", null, "use");
        tr.appendChild(el("td", "via " + name(r.from)));
        tr.appendChild(el("td", r.rule, "rule"));
        tr.appendChild(el("td", fmt(nodes[r.from].grad) + " × " + fmt(r.partial) + " = " +
                          fmt(r.value)));
        table.appendChild(tr);
      });
      box.appendChild(table);
      box.appendChild(el("p", "sum = " + fmt(n.grad)));
    } else if (n.id === data.root) {
      box.appendChild(el("p", "The backward pass starts here: ∂" + root + "/∂" + root + " = 1."));
    }
    if (n.explain) { box.appendChild(el("pre", n.explain, "explain")); }
    if (n.op === null && n.frozen) {
      box.appendChild(el("p", "frozen: gradient descent leaves " + name(i) + " = " + fmt(n.data) +
        " as it is.", "update"));
    } else if (n.parameter && n.op === null && n.grad !== null) {
      var eta = data.learning_rate, w = name(i);
      box.appendChild(el("p", "update (η = " + eta + "): " + w + "⁺ = " + w + " − η·∂" + root +
        "/∂" + w + " = " + fmt(n.data) + " − " + eta + " × " + fmt(n.grad) + " = " +
        fmt(n.data - eta * n.grad), "update"));
    }
    reportHeight();
  }
  function setClassOff(id) { if (byTitle[id]) { byTitle[id].classList.remove("selected"); } }

  function go(p, keepHash) {
    pos = Math.max(0, Math.min(S, p));
    render();
    reportHeight();
    if (!keepHash) {
      try { history.replaceState(null, "", "#step=" + pos); } catch (e) { /* sandboxed */ }
    }
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    document.getElementById("play").textContent = "play";
  }
  function play() {
    if (timer !== null) { stop(); return; }
    if (pos >= S) { go(0); }
    document.getElementById("play").textContent = "pause";
    timer = setInterval(function () { if (pos >= S) { stop(); } else { go(pos + 1); } }, 900);
  }
  function fromHash() {
    var m = /^#step=(-?\d+)$/.exec(location.hash);
    go(m ? parseInt(m[1], 10) : 0, true);
  }

  document.getElementById("first").addEventListener("click", function () { stop(); go(0); });
  document.getElementById("back").addEventListener("click", function () { stop(); go(pos - 1); });
  document.getElementById("next").addEventListener("click", function () { stop(); go(pos + 1); });
  document.getElementById("last").addEventListener("click", function () { stop(); go(S); });
  document.getElementById("play").addEventListener("click", play);
  document.getElementById("fit").addEventListener("click", function () { view.fit(); });
  document.getElementById("zoom-in").addEventListener("click", function () { view.zoom(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () {
    view.zoom(1 / 1.25);
  });
  window.addEventListener("resize", function () { view.resized(); });
  document.addEventListener("keydown", function (ev) {
    if (ev.target && ev.target.tagName === "BUTTON" && ev.key === " ") { ev.preventDefault(); }
    if (ev.key === "ArrowRight") { stop(); go(pos + 1); }
    else if (ev.key === "ArrowLeft") { stop(); go(pos - 1); }
    else if (ev.key === "Home") { stop(); go(0); }
    else if (ev.key === "End") { stop(); go(S); }
    else if (ev.key === " ") { ev.preventDefault(); play(); }
    else if (ev.key === "+" || ev.key === "=") { view.zoom(1.25); }
    else if (ev.key === "-") { view.zoom(1 / 1.25); }
    else if (ev.key === "0") { view.readable(); }
    else { return; }
  });
  window.addEventListener("hashchange", fromHash);
  view.start();
  fromHash();
  if (embedded && window.ResizeObserver) {  // whatever changes the page's height: report it
    new ResizeObserver(reportHeight).observe(document.body);
  }
}());
