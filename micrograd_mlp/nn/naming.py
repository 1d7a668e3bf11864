"""The one parameter-naming scheme, shared by the modules, the state files and the δ reference.

Neurons are named by layer: ``o1..om`` in the output layer; ``h1..hn`` when there is one hidden
layer, ``h{l}_{j}`` when there are several. Plain Python, no engine: the manual δ reference uses it.
"""

from __future__ import annotations

from typing import Sequence


def neuron_names(nouts: Sequence[int]) -> list[list[str]]:
    """Neuron names per layer for widths ``nouts`` (see the module docstring)."""
    hidden = len(nouts) - 1
    out = []
    for layer, width in enumerate(nouts):
        if layer == hidden:
            out.append([f"o{j}" for j in range(1, width + 1)])
        elif hidden == 1:
            out.append([f"h{j}" for j in range(1, width + 1)])
        else:
            out.append([f"h{layer + 1}_{j}" for j in range(1, width + 1)])
    return out
