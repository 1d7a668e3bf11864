"""The compiled path: trace a graph once, then run straight-line Python generated for it.

* :mod:`.trace`   - the graph → a listing, one instruction per node (``v7 = sigmoid(v6)``);
* :mod:`.rules`   - the primitive table's rules for one instruction, as code;
* :mod:`.inline`  - the table's small helpers (σ, sech² ...) written out in float code;
* :mod:`.emit`    - one emitter: a listing → source for the scalar, batch or NumPy target,
  registered with :mod:`linecache` so tracebacks show the generated lines;
* :mod:`.lower`   - find the layers (affine nodes over the same inputs, then one activation) that
  the ``lowered`` target writes as matrix products;
* :mod:`.graph`   - :class:`CompiledGraph`, :class:`BatchGraph`, :class:`VectorizedBatch`,
  :class:`LoweredBatch`: run the code, and let the eager engine run any step it refuses;
* :mod:`.samples` - :func:`compile_model`: a model's batch from one sample's network graph;
* :mod:`.steps`   - the optimisers' updates (SGD, momentum, weight decay, Adam) on the compiled
  parameter vector;
* :mod:`.training` - ``train(..., engine="auto" | "eager" | "compiled")``.

Imports the layers below it (core, nn) only.
"""

from .graph import (
    BatchGraph,
    CompiledGraph,
    LoweredBatch,
    VectorizedBatch,
    compile_batch,
    compile_graph,
)
from .samples import compile_model
from .training import train

__all__ = ["compile_graph", "CompiledGraph", "compile_batch", "BatchGraph", "VectorizedBatch",
           "LoweredBatch", "compile_model", "train"]
