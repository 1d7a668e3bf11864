"""PyTorch as an independent oracle (optional: ``pip install 'micrograd-mlp[torch]'``).

:func:`to_torch` turns an :class:`~micrograd_mlp.nn.MLP` into an equivalent ``torch.nn.Module`` in
float64 with the same weights: one ``nn.Linear`` per layer (weight[j][i] = w_ij), a per-neuron bias
as Linear's bias, a layer's shared bias as one scalar ``nn.Parameter`` broadcast over the layer, no
bias for ``'none'``; frozen parameters get ``requires_grad=False`` (a frozen weight is kept by a
mask: its gradient entry is zeroed by a hook). torch is imported only when called.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

from . import manual as _manual


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the machine
        raise ImportError("this needs PyTorch: pip install 'micrograd-mlp[torch]' "
                          "(torch==2.13.0)") from None
    return torch


def to_torch(model: Any, freeze: bool = True) -> Any:
    """An equivalent float64 ``torch.nn.Module`` (same weights, shared and frozen biases
    included). Its ``names`` attribute maps each library parameter name to
    ``(torch parameter name, index)``. ``freeze=False`` leaves every parameter trainable."""
    torch = _torch()
    net = _manual.from_model(model)
    acts = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
            "linear": lambda x: x}

    class TorchMLP(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.linears = torch.nn.ModuleList()
            self.shared = torch.nn.ParameterList()
            self.names: dict[str, tuple[str, tuple[int, ...]]] = {}
            self.modes = net.bias_modes
            self.acts = [acts[a] for a in net.activations]
            fan_in = net.nin
            for li, (W, B, mode) in enumerate(zip(net.weights, net.biases, net.bias_modes)):
                lin = torch.nn.Linear(fan_in, len(W), bias=(mode == "neuron"),
                                      dtype=torch.float64)
                with torch.no_grad():
                    lin.weight.copy_(torch.tensor(W, dtype=torch.float64))
                    if mode == "neuron":
                        lin.bias.copy_(torch.tensor(B, dtype=torch.float64))
                self.linears.append(lin)
                for j, row in enumerate(net.weight_names[li]):
                    for i, name in enumerate(row):
                        self.names[name] = (f"linears.{li}.weight", (j, i))
                if mode == "shared":
                    self.shared.append(torch.nn.Parameter(torch.tensor(B[0], dtype=torch.float64)))
                    shared_name = f"shared.{len(self.shared) - 1}"
                    self.names[str(net.bias_names[li][0])] = (shared_name, ())
                elif mode == "neuron":
                    for j, bias_name in enumerate(net.bias_names[li]):
                        self.names[str(bias_name)] = (f"linears.{li}.bias", (j,))
                fan_in = len(W)
            if freeze:
                params = dict(self.named_parameters())
                trainable = net.trainable()
                for pname, p in params.items():
                    mine = [(n, index) for n, (q, index) in self.names.items() if q == pname]
                    if all(n not in trainable for n, _ in mine):
                        p.requires_grad_(False)
                    elif any(n not in trainable for n, _ in mine):
                        mask = torch.ones_like(p)
                        for n, index in mine:
                            if n not in trainable:
                                mask[index] = 0.0
                        p.register_hook(lambda g, m=mask: g * m)

        def forward(self, x: Any) -> Any:
            shared = iter(self.shared)
            for lin, mode, act in zip(self.linears, self.modes, self.acts):
                x = lin(x)
                if mode == "shared":
                    x = x + next(shared)
                x = act(x)
            return x

    return TorchMLP()


def _torch_loss(loss: Callable[..., Any], torch: Any) -> Callable[[Any, Any], Any]:
    name = _manual.loss_name(loss)
    F = torch.nn.functional
    if name == "half_squared_error":
        return lambda o, t: 0.5 * ((t - o) ** 2).sum()
    if name == "mse":
        return lambda o, t: ((o - t) ** 2).mean()
    if name == "binary_cross_entropy":
        return lambda o, t: F.binary_cross_entropy(o, t)
    if name == "binary_cross_entropy_logits":
        return lambda o, t: F.binary_cross_entropy_with_logits(o, t)
    if name == "cross_entropy":  # o the logits, t the probability vector (one-hot for a class)
        return lambda o, t: F.cross_entropy(o.unsqueeze(0), t.unsqueeze(0))
    if name == "hinge":
        return lambda o, t: torch.relu(1.0 - t * o).mean()
    raise ValueError(f"no PyTorch form of the loss {name!r}")


def torch_gradients(model: Any, inputs: Any, targets: Any, loss: Callable[..., Any],
                    reduction: str, names: Sequence[str]) -> dict[str, float]:
    """``{name: ∂E/∂p}`` computed by PyTorch in float64 (frozen parameters: their true
    derivative, read with the freezing lifted)."""
    torch = _torch()
    net = _manual.from_model(model)
    xss, tss, batch = _manual.samples(inputs, targets, net.nin, len(net.weights[-1]),
                                      _manual.loss_name(loss))
    tm = to_torch(model, freeze=False)
    fn = _torch_loss(loss, torch)
    total = sum(fn(tm(torch.tensor(x, dtype=torch.float64)),
                   torch.tensor(t, dtype=torch.float64)) for x, t in zip(xss, tss))
    if batch and reduction == "mean":
        total = total / len(xss)
    params = dict(tm.named_parameters())
    grads = torch.autograd.grad(total, list(params.values()), allow_unused=True)
    by_name = {n: g for n, g in zip(params, grads)}
    out = {}
    for name in names:
        if name in tm.names:
            pname, index = tm.names[name]
            g = by_name[pname]
            out[name] = 0.0 if g is None else float(g[index] if index else g)
    return out
