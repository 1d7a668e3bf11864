"""The package's public surface: what ``import micrograd_mlp`` loads, the lazy names, and the
old module paths (deprecated for one release: same module, one DeprecationWarning naming the new
path)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings

import pytest

import micrograd_mlp
from micrograd_mlp import _deprecated

OLD_PATHS = sorted(_deprecated.MOVED.items())


def run_python(code: str, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *options, "-c", code], capture_output=True, text=True,
                          timeout=120)


def loaded_after(code: str) -> list[str]:
    """The library modules a fresh interpreter holds after running ``code``."""
    done = run_python(code + "\nimport json, sys\n"
                      "print(json.dumps(sorted(m for m in sys.modules "
                      "if m.startswith('micrograd_mlp'))))")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def layers(modules: list[str]) -> set[str]:
    return {m.split(".")[1] for m in modules if m.count(".") >= 1}


def test_import_loads_core_and_nn_only():
    loaded = loaded_after("import micrograd_mlp")
    assert layers(loaded) <= {"core", "nn", "_version", "_deprecated"}, loaded
    assert {"micrograd_mlp.core", "micrograd_mlp.nn"} <= set(loaded)
    assert "micrograd_mlp.nn.micrograd" not in loaded


def test_the_everyday_names_cost_nothing_more():
    loaded = loaded_after("from micrograd_mlp import MLP, SGD, Value, grad, mse, no_grad")
    assert layers(loaded) <= {"core", "nn", "_version", "_deprecated"}, loaded


@pytest.mark.parametrize("name, layer", [
    ("draw_graph", "viz"), ("explore", "viz"), ("compile_graph", "compile"),
    ("train", "compile"), ("compare_gradients", "reference"), ("article", "reference"),
])
def test_a_lazy_name_imports_its_layer_when_used(name, layer):
    loaded = loaded_after(f"from micrograd_mlp import {name}")
    assert layer in layers(loaded)
    if layer != "viz":
        assert "viz" not in layers(loaded), loaded


def test_import_warns_of_nothing():
    done = run_python("import micrograd_mlp", "-W", "error::DeprecationWarning")
    assert done.returncode == 0, done.stderr
    names = ", ".join(n for n in micrograd_mlp.__all__ if n != "__version__")
    done = run_python(f"from micrograd_mlp import {names}", "-W", "error")
    assert done.returncode == 0, done.stderr


def test_every_public_name_resolves_and_is_listed_by_dir():
    for name in micrograd_mlp.__all__:
        assert getattr(micrograd_mlp, name) is not None
        assert name in dir(micrograd_mlp)
    for layer in ("core", "nn", "reference", "compile", "viz", "cli"):
        assert getattr(micrograd_mlp, layer) is importlib.import_module(f"micrograd_mlp.{layer}")
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        micrograd_mlp.nothing  # noqa: B018


def test_train_is_the_engine_choosing_loop_and_nn_train_the_eager_one():
    from micrograd_mlp.compile.training import train as choosing
    from micrograd_mlp.nn.training import train as eager

    assert micrograd_mlp.train is choosing and micrograd_mlp.nn.train is eager
    assert "eager" in (eager.__doc__ or "") and "engine" in (eager.__doc__ or "")


def test_explain_is_always_the_function():
    from micrograd_mlp.reference import explain as module_function
    from micrograd_mlp.reference.explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        sys.modules.pop("micrograd_mlp.explain", None)
        import micrograd_mlp.explain  # the old module path...
        old = importlib.import_module("micrograd_mlp.explain")
        from micrograd_mlp.explain import Explanation
    assert old is sys.modules["micrograd_mlp.reference.explain"] and Explanation is not None
    assert micrograd_mlp.explain is explain is module_function  # ...leaves the function
    done = run_python("import micrograd_mlp.explain, micrograd_mlp as m\n"
                      "import inspect; assert inspect.isfunction(m.explain), m.explain")
    assert done.returncode == 0, done.stderr


def forget(old: str) -> None:
    """As if ``micrograd_mlp.<old>`` had never been used in this process."""
    sys.modules.pop(f"micrograd_mlp.{old}", None)
    if old != "explain":
        micrograd_mlp.__dict__.pop(old, None)


@pytest.mark.parametrize("old, new", OLD_PATHS)
def test_an_old_path_imports_the_same_module_and_warns_once(old, new):
    forget(old)
    real = importlib.import_module(f"micrograd_mlp.{new}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(f"micrograd_mlp.{old}")
        again = importlib.import_module(f"micrograd_mlp.{old}")
        exec(f"import micrograd_mlp.{old}\nfrom micrograd_mlp.{old} import __name__ as _n", {})
    assert module is real and again is real
    assert real.__name__ == f"micrograd_mlp.{new}" and real.__spec__.name == real.__name__
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert messages == [f"micrograd_mlp.{old} is deprecated and will be removed in the next "
                        f"release; import micrograd_mlp.{new} instead"]
    assert caught[0].filename == __file__  # the warning points at the importing line


@pytest.mark.parametrize("old, new", [p for p in OLD_PATHS if p[0] not in ("article", "manual",
                                                                            "explain")])
def test_an_old_path_read_as_an_attribute_warns_once(old, new):
    forget(old)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = getattr(micrograd_mlp, old)
        second = getattr(micrograd_mlp, old)
    assert first is second is importlib.import_module(f"micrograd_mlp.{new}")
    assert [f"import micrograd_mlp.{new} instead" in str(w.message) for w in caught] == [True]


@pytest.mark.parametrize("name, module", [("article", "reference.article"),
                                          ("manual", "reference.manual")])
def test_article_and_manual_are_public_names_but_old_import_paths(name, module):
    forget(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = getattr(micrograd_mlp, name)  # the package root's name: no warning
    assert got is importlib.import_module(f"micrograd_mlp.{module}")
    with pytest.warns(DeprecationWarning, match=f"import micrograd_mlp.{module} instead"):
        sys.modules.pop(f"micrograd_mlp.{name}", None)
        importlib.import_module(f"micrograd_mlp.{name}")


def test_the_documented_forms_work_in_a_fresh_interpreter():
    code = ("import warnings\nwarnings.simplefilter('error')\n"
            "try:\n    import micrograd_mlp.losses\nexcept DeprecationWarning as w:\n"
            "    assert 'micrograd_mlp.nn.losses' in str(w)\nelse:\n    raise SystemExit(1)\n"
            "warnings.simplefilter('ignore')\n"
            "import micrograd_mlp.losses\nfrom micrograd_mlp.article import network\n"
            "import micrograd_mlp.nn.losses as real\n"
            "assert micrograd_mlp.losses is real and network().nin == 2\n")
    done = run_python(code)
    assert done.returncode == 0, done.stderr


def test_a_module_under_an_old_package_path_is_the_real_one():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sys.modules.pop("micrograd_mlp.engine.value", None)
        module = importlib.import_module("micrograd_mlp.engine.value")
    assert module is importlib.import_module("micrograd_mlp.core.value")
    assert any("import micrograd_mlp.core.value instead" in str(w.message) for w in caught)


def test_the_micrograd_drop_in_path_is_supported_not_deprecated():
    sys.modules.pop("micrograd_mlp.micrograd", None)
    micrograd_mlp.__dict__.pop("micrograd", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from micrograd_mlp.micrograd import MLP, Value  # docs/coming-from-micrograd.md
        module = importlib.import_module("micrograd_mlp.micrograd")
    assert module is importlib.import_module("micrograd_mlp.nn.micrograd")
    assert MLP is module.MLP and Value is module.Value


def test_the_import_hook_is_installed_once_and_ignores_other_names():
    finders = [f for f in sys.meta_path if isinstance(f, _deprecated.AliasFinder)]
    assert len(finders) == 1 and sys.meta_path[0] is finders[0]
    _deprecated.install()
    assert [f for f in sys.meta_path if isinstance(f, _deprecated.AliasFinder)] == finders
    finder = finders[0]
    for name in ("json", "micrograd_mlp", "micrograd_mlp.core", "micrograd_mlp.nn.losses",
                 "micrograd_mlp.nothing", "other.losses"):
        assert finder.find_spec(name) is None
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("micrograd_mlp.nothing")


def test_jupyter_still_shows_a_value_as_its_graph_before_viz_is_imported():
    code = ("import sys, micrograd_mlp\nfrom micrograd_mlp import Value\n"
            "assert 'micrograd_mlp.viz' not in sys.modules\n"
            "y = Value(2.0, label='x') * 3.0\nshown = y._repr_svg_()\n"
            "assert 'micrograd_mlp.viz' in sys.modules\n"
            "assert shown == y._repr_svg_() and (shown is None or '<svg' in shown)\n")
    done = run_python(code)
    assert done.returncode == 0, done.stderr
