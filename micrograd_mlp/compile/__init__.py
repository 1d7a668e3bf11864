"""The opt-in compiler: trace a graph once, then run code generated for it, with eager's results.

Two targets: the scalar straight-line code (:func:`compile_graph`; ``print(program.listing)``
and ``program.source`` are a teaching artefact: the backward pass written out, one line per
node and partial) and the NumPy code with the layers lowered to matrix products
(:meth:`BatchGraph.lowered`, :class:`LoweredBatch`: the speed). :func:`train` is the training
loop with ``engine="eager"`` (the default) or ``engine="compiled"``.

* :mod:`.trace`    - the graph → a listing, one instruction per node (``v7 = sigmoid(v6)``);
* :mod:`.rules`    - the primitive table's rules for one instruction, as expressions;
* :mod:`.inline`   - the table's small helpers (σ, sech² ...) written out in float code;
* :mod:`.emit`     - a listing → source (scalar, or lowered), registered with :mod:`linecache`;
* :mod:`.lower`    - find the layers (affine nodes over the same inputs, then one activation);
* :mod:`.graph`    - :class:`CompiledGraph`, :class:`BatchGraph`, :class:`LoweredBatch`: run the
  code, and let the eager engine run any step it refuses (and every step of a graph with a user
  op it cannot write, with a warning);
* :mod:`.samples`  - :func:`compile_model`: a model's batch from one sample's network graph;
* :mod:`.steps`    - the optimisers' update rules (:mod:`micrograd_mlp.nn.optim`'s own) on the
  compiled parameter vector;
* :mod:`.minibatch` - mini-batches (a program per batch size, each step's rows gathered) and
  ``cross_entropy`` (its softmax as array code on the output layer);
* :mod:`.training` - ``train(..., engine="eager" | "compiled" | "auto")``.

Imports the layers below it (core, nn) only.
"""

from .graph import BatchGraph, CompiledGraph, LoweredBatch, compile_batch, compile_graph
from .samples import compile_model
from .training import train

__all__ = ["compile_graph", "CompiledGraph", "compile_batch", "BatchGraph", "LoweredBatch",
           "compile_model", "train"]
