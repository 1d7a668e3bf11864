"""Terminal output fits: every line of `demo`, `compare`, `check` and `explain` fits 100 columns by
default (fewer on a narrower terminal, `--width N`), nothing is lost (the numbers and diagnoses
are all there, `--wide` gives the full table), and the width is chosen as documented."""

from __future__ import annotations

import io
import json
import re
import unicodedata

import pytest

from micrograd_mlp.cli import main, parsing
from micrograd_mlp.cli.main import build_parser
from micrograd_mlp.nn import MLP
from micrograd_mlp.reference import article, compare_gradients, explain, manual


def columns(line: str) -> int:
    """The columns a terminal gives ``line``: combining marks none, wide characters two."""
    return sum(0 if unicodedata.combining(c) else
               2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def run(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    status = parsing.run(build_parser().parse_args(argv), out, err)
    assert err.getvalue() == "", err.getvalue()
    return status, out.getvalue()


def widest(text: str) -> int:
    return max(columns(line) for line in text.splitlines())


@pytest.fixture(scope="module")
def grads(tmp_path_factory):
    """Gradient files: the article's right ones, one with four classic mistakes, a partial one."""
    right = manual.gradients(article.network(), article.INPUTS, article.TARGETS)
    bp = manual.backprop(article.network(), article.INPUTS, article.TARGETS)
    h1, o1 = bp.neurons["h1"], bp.neurons["o1"]
    files = {
        "right": right,
        "mistakes": {**right, "w1": o1.delta * 0.40 * h1.out * (1 - h1.out) * 0.05,
                     "w5": -right["w5"], "w6": 2 * right["w6"], "w7": 0.5 - 0.5 * right["w7"]},
        "partial": {"w5": right["w5"]},
    }
    folder = tmp_path_factory.mktemp("grads")
    for name, data in files.items():
        (folder / f"{name}.json").write_text(json.dumps(data))
    saved = folder / "deep.json"
    MLP(3, [4, 4, 2], hidden_activation="tanh", seed=5).save(saved)
    return folder


def commands(folder) -> list[list[str]]:
    """Each command's default runs (demo writes DOT source: no Graphviz needed)."""
    deep = ["--model", str(folder / "deep.json"), "--inputs", "0.1,-0.4,0.8", "--targets",
            "0.2,0.9"]
    return [
        ["demo", "--graph", str(folder / "demo.dot")],
        ["demo", "--no-graph"],
        ["compare"], ["compare", "--include-frozen"], ["compare", *deep],
        ["check", str(folder / "right.json")], ["check", str(folder / "mistakes.json")],
        ["check", str(folder / "partial.json")],
        ["explain", "w5"], ["explain", "w1"], ["explain", "b2"], ["explain", "w1", "--depth", "3"],
        ["explain", "w1", *deep, "--depth", "2"],
    ]


@pytest.mark.parametrize("index", range(13))
def test_every_line_of_every_default_output_fits_100_columns(grads, index):
    argv = commands(grads)[index]
    _, text = run(argv)
    assert len(text.splitlines()) > 5
    for line in text.splitlines():
        assert columns(line) <= 100, f"{' '.join(argv)}: {columns(line)} columns: {line}"


@pytest.mark.parametrize("width", [60, 80])
@pytest.mark.parametrize("index", [0, 2, 6, 7, 9, 10, 12])
def test_a_narrower_width_is_kept_too(grads, index, width):
    argv = commands(grads)[index]
    _, text = run([*argv, "--width", str(width)])
    for line in text.splitlines():
        assert columns(line) <= width, f"{' '.join(argv)}: {line}"


def test_the_wide_output_is_the_full_table(grads):
    status, text = run(["check", str(grads / "mistakes.json"), "--wide"])
    assert status == 1 and widest(text) > 150
    line = next(ln for ln in text.splitlines() if ln.startswith("w5 "))
    assert " 0.082167040564231 " in line  # every digit
    assert line.endswith("MISMATCH: the wrong sign: −∂E/∂w5 = -0.0821670406 (check (out − t) "
                         "against (t − out))")
    _, text = run(["explain", "w1", "--wide"])
    assert any(line.startswith("        via o1: ") and line.endswith(" = 0.0553994246514")
               for line in text.splitlines())


def test_nothing_is_lost_when_fitted(grads):
    """Every diagnosis, gradient and verdict of the report is in the fitted output."""
    mine = json.loads((grads / "mistakes.json").read_text())
    report = compare_gradients(article.network(), article.INPUTS, article.TARGETS, manual=mine,
                               manual_rtol=1e-6, manual_atol=1e-10, partial=True)
    for width in ("60", "80", "100"):
        _, text = run(["check", str(grads / "mistakes.json"), "--width", width])
        flat = " ".join(text.split())
        diagnosed = [row for row in report.rows if row.diagnosis]
        assert len(diagnosed) == 4  # the missing path, the sign, the factor 2, the update
        for row in diagnosed:
            assert " ".join(row.diagnosis.split()) in flat, (width, row.name)
        for row in report.rows:  # each number to at least 9 significant digits
            assert f"{row.autograd:.9f}"[:11] in flat or f"{row.autograd:.9g}" in flat
        assert flat.endswith("overall: MISMATCH (8 parameters)")
    e = explain("w1")
    _, text = run(["explain", "w1", "--width", "60"])
    for f in [*e.factors, *e.factors[0].terms]:
        assert f"{f.value:.12g}" in text


def test_fitted_tables_keep_their_columns_aligned(grads):
    _, text = run(["compare"])
    lines = text.splitlines()
    rule = lines[1]
    assert set(rule) <= {"-", " "}
    gaps = [i for i, ch in enumerate(rule) if ch == " "]
    for line in lines[2:10]:
        assert all(i >= len(line) or line[i] == " " for i in gaps), line
        assert re.match(r"^w\d\s", line)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("terminal, expected", [(200, 100), (100, 100), (80, 80), (72, 72),
                                                (40, 60)])
def test_the_width_follows_a_narrower_terminal(monkeypatch, terminal, expected):
    import os

    monkeypatch.setattr(parsing.shutil, "get_terminal_size",
                        lambda fallback=(80, 24): os.terminal_size((terminal, 24)))
    args = build_parser().parse_args(["compare"])
    assert parsing.output_width(args, Terminal()) == expected
    assert parsing.output_width(args, io.StringIO()) == 100  # a file or a pipe: 100
    wide = build_parser().parse_args(["compare", "--wide"])
    assert parsing.output_width(wide, Terminal()) is None
    given = build_parser().parse_args(["compare", "--width", "70"])
    assert parsing.output_width(given, Terminal()) == 70


@pytest.mark.parametrize("argv, message", [
    (["compare", "--width", "59"], "argument --width: expected a number of columns >= 60, got '59'"),
    (["explain", "w5", "--width", "wide"], "expected a number of columns >= 60, got 'wide'"),
    (["demo", "--wide", "--width", "80"], "argument --width: not allowed with argument --wide"),
])
def test_bad_widths_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_the_table_narrows_before_it_becomes_paragraphs():
    """100 columns: the values and 11 digits; 80: no values, 7 digits; 60: one paragraph per
    parameter, every digit."""
    _, text = run(["compare"])
    assert text.splitlines()[0].split() == ["param", "value", "manual", "δ", "autograd",
                                            "central", "diff", "Δ", "manual", "Δ", "numeric",
                                            "verdict"]
    assert re.search(r"^w1 +0\.15 +0\.00043856773447 ", text, flags=re.M)
    _, text = run(["compare", "--width", "80"])
    assert text.splitlines()[0].split()[:3] == ["param", "manual", "δ"]
    assert re.search(r"^w1 +0\.0004385677 +0\.0004385677 +0\.0004385677 +3\.3e-19 ", text,
                     flags=re.M)
    _, text = run(["compare", "--width", "60"])
    assert text.startswith("w1: value 0.15, manual δ 0.000438567734474,")
