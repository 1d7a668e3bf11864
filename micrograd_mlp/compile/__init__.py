"""The compiled path: trace a graph once, then run straight-line Python generated for it.

* :mod:`.trace`   - the graph → a listing, one instruction per node (``v7 = sigmoid(v6)``);
* :mod:`.rules`   - the primitive table's rules for one instruction, as code;
* :mod:`.inline`  - the table's small helpers (σ, sech² ...) written out in float code;
* :mod:`.emit`    - one emitter: a listing → source for the scalar, batch or NumPy target,
  registered with :mod:`linecache` so tracebacks show the generated lines;
* :mod:`.graph`   - :class:`CompiledGraph`, :class:`BatchGraph`, :class:`VectorizedBatch`: run
  the code, and let the eager engine run any step it refuses.

Imports the layers below it (core) only.
"""

from .graph import BatchGraph, CompiledGraph, VectorizedBatch, compile_batch, compile_graph

__all__ = ["compile_graph", "CompiledGraph", "compile_batch", "BatchGraph", "VectorizedBatch"]
