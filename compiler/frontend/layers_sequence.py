"""The Builder's layers for today's architectures: normalizations and activations of MobileNet,
EfficientNet and transformers, embeddings, multi-head self-attention, means over axes.

Where it sits: mixed into compiler/frontend/builder.Builder (which keeps the convolutional
layers and the plumbing), so a model description reaches these through the same
`getattr(builder, kind)` as every layer. Each layer is a composition of IR ops from
compiler/frontend/compose.py, the same the ONNX converters use, so `layer_norm` here and an
exported LayerNormalization give the same ops. Parameters are named as PyTorch's state_dict
names them under the layer (`<layer>.weight`, `<layer>.in_proj_weight`,
`<layer>.out_proj.weight`), in PyTorch's layouts, so weights move between the two unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from compiler.frontend import compose
from compiler.frontend.compose import Emit
from ir.errors import ModelError
from ir.graph import Graph, Value
from ir.types import format_shape

if TYPE_CHECKING:
    from ir.types import Dim


class SequenceLayers:
    """Layers written as compositions; the plumbing (_name, _op, _param) is Builder's."""

    graph: Graph

    if TYPE_CHECKING:
        def _name(self, kind: str, name: str | None) -> str: ...

        def _op(self, op: str, layer: str, operands: Sequence[Value],
                attrs: dict[str, Any] | None = None) -> Value: ...

        def _param(self, layer: str, suffix: str, shape: Sequence[Dim], dtype: str,
                   role: str = "param") -> Value: ...

    # ------------------------------------------------------------ plumbing

    def _composed(self, kind: str, name: str | None,
                  build: Callable[[str, Emit], Value]) -> Value:
        """Runs build(layer, emit) with an emit that names each step `<layer>.<part>`, then
        gives the result the layer's own name."""
        return self._compose_as(self._name(kind, name), build)

    def _compose_as(self, layer: str, build: Callable[[str, Emit], Value]) -> Value:
        def emit(op: str, operands: Sequence[Value], attrs: dict[str, Any], part: str) -> Value:
            return self._op(op, self.graph.fresh_name(f"{layer}.{part}"), operands, attrs)

        result = build(layer, emit)
        if result.name != layer:
            self.graph.rename(result, layer)
        return result

    def _features(self, x: Value, layer: str, kind: str) -> int:
        """The size of x's last axis, which these layers act on."""
        last = x.type.shape[-1] if x.type.rank >= 2 else None
        if not isinstance(last, int) or x.type.dtype not in ("f32", "f64"):
            raise ModelError(f"{kind} needs a float input with features on its last axis, got "
                             f"{x.type}", layer=layer.lstrip("~"))
        return last

    # ------------------------------------------------------------ activations

    def gelu(self, x: Value, name: str | None = None) -> Value:
        return self._composed("gelu", name, lambda layer, emit: compose.gelu(emit, x))

    def silu(self, x: Value, name: str | None = None) -> Value:
        return self._composed("silu", name, lambda layer, emit: compose.silu(emit, x))

    def hardsigmoid(self, x: Value, name: str | None = None) -> Value:
        return self._composed("hardsigmoid", name,
                              lambda layer, emit: compose.hard_sigmoid(emit, x))

    def hardswish(self, x: Value, name: str | None = None) -> Value:
        return self._composed("hardswish", name, lambda layer, emit: compose.hard_swish(emit, x))

    def relu6(self, x: Value, name: str | None = None) -> Value:
        return self.clip(x, 0.0, 6.0, name=name, kind="relu6")

    def clip(self, x: Value, min: float = -math.inf, max: float = math.inf,
             name: str | None = None, kind: str = "clip") -> Value:
        layer = self._name(kind, name)
        if not min <= max:
            raise ModelError(f"clip min {min} is above max {max}", layer=layer.lstrip("~"))
        return self._op("clip", layer, [x], {"min": float(min), "max": float(max)})

    # ------------------------------------------------------------ normalization and reductions

    def layer_norm(self, x: Value, eps: float = 1e-5, elementwise_affine: bool = True,
                   name: str | None = None) -> Value:
        """PyTorch's LayerNorm over the last axis (normalized_shape = its size)."""

        def build(layer: str, emit: Emit) -> Value:
            features = self._features(x, layer, "layer_norm")
            if not eps > 0:
                raise ModelError(f"layer_norm eps must be positive, got {eps}",
                                 layer=layer.lstrip("~"))
            scale = shift = None
            if elementwise_affine:
                scale = self._param(layer, "weight", (features,), x.type.dtype)
                shift = self._param(layer, "bias", (features,), x.type.dtype)
            return compose.layer_norm(emit, x, [x.type.rank - 1], eps, scale, shift)[0]

        return self._composed("layer_norm", name, build)

    def mean(self, x: Value, axes: Sequence[int], keepdims: bool = False,
             name: str | None = None) -> Value:
        """The mean over per-sample `axes` (1 is the first axis after the batch)."""
        layer = self._name("mean", name)
        if not axes or any(not 1 <= abs(a) < x.type.rank or a == -x.type.rank for a in axes):
            raise ModelError(f"mean axes {list(axes)} must name axes 1..{x.type.rank - 1} of "
                             f"{format_shape(x.type.shape)} (axis 0 is the batch)",
                             layer=layer.lstrip("~"))
        return self._op("reduce_mean", layer, [x], {"axes": list(axes), "keepdims": keepdims})

    # ------------------------------------------------------------ lookups and attention

    def embedding(self, ids: Value, num_embeddings: int, dim: int,
                  name: str | None = None) -> Value:
        """Rows of a [num_embeddings, dim] table (`<layer>.weight`) picked by int64 ids."""
        layer = self._name("embedding", name)
        for key, v in (("num_embeddings", num_embeddings), ("dim", dim)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ModelError(f"'{key}' must be a positive integer, got {v!r}",
                                 layer=layer.lstrip("~"))
        if ids.type.dtype != "i64":
            raise ModelError(f"embedding reads int64 ids, got {ids.type}; declare the input "
                             "with dtype: i64", layer=layer.lstrip("~"))
        table = self._param(layer, "weight", (num_embeddings, dim), "f32")
        return self._op("embedding", layer, [table, ids])

    def linear(self, x: Value, units: int, bias: bool, layer: str, emit: Emit,
               suffix: str = "") -> Value:
        """PyTorch's Linear over the last axis of x ([N, ..., in] -> [N, ..., units])."""
        w = self._param(layer, f"{suffix}weight", (units, x.type.shape[-1]), x.type.dtype)
        b = self._param(layer, f"{suffix}bias", (units,), x.type.dtype) if bias else None
        return compose.linear_last(emit, x, w, b)

    def attention(self, x: Value, heads: int, dim: int | None = None,
                  name: str | None = None) -> Value:
        """Multi-head self-attention as torch.nn.MultiheadAttention(dim, heads,
        batch_first=True) computes attn(x, x, x): x [N, T, dim] -> [N, T, dim]."""
        return self._composed("attention", name,
                              lambda layer, emit: self._attention(x, heads, dim, layer, emit))

    def _attention(self, x: Value, heads: int, dim: int | None, layer: str,
                   emit: Emit) -> Value:
        shown = layer.lstrip("~")
        if x.type.rank != 3:
            raise ModelError(f"attention needs a [N, tokens, features] input, got {x.type}",
                             layer=shown)
        features = self._features(x, layer, "attention")
        if dim is not None and dim != features:
            raise ModelError(f"attention dim {dim} differs from the input's {features} features",
                             layer=shown)
        if isinstance(heads, bool) or not isinstance(heads, int) or heads < 1 or features % heads:
            raise ModelError(f"attention heads {heads!r} must divide the {features} features",
                             layer=shown)
        tokens, width = int(x.type.shape[1]), features // heads
        qkv = self.linear(x, 3 * features, True, layer, emit, "in_proj_")
        batch = x.type.shape[0]

        def head_view(k: int, part: str) -> Value:  # [N, T, 3D] -> [N, heads, T, width]
            crop = emit("pad", [qkv], {"before": [0, 0, -k * features],
                                       "after": [0, 0, -(2 - k) * features]}, part)
            split = emit("reshape", [crop], {"shape": (batch, tokens, heads, width)},
                         f"{part}_heads")
            return emit("transpose", [split], {"perm": [0, 2, 1, 3]}, f"{part}_t")

        q, k, v = head_view(0, "q"), head_view(1, "k"), head_view(2, "v")
        scores = compose.batched_matmul(_sub(emit, "scores"), q, k, transpose_b=True)
        scaled = emit("mul", [scores, compose.scalar(emit, x, 1.0 / math.sqrt(width), "scale")],
                      {}, "scaled")
        weights = emit("softmax", [scaled], {"axis": -1}, "weights")
        mixed = compose.batched_matmul(_sub(emit, "mixed"), weights, v)
        merged = emit("transpose", [mixed], {"perm": [0, 2, 1, 3]}, "merged_t")
        joined = emit("reshape", [merged], {"shape": (batch, tokens, features)}, "merged")
        return self.linear(joined, features, True, layer, emit, "out_proj.")


def _sub(emit: Emit, prefix: str) -> Emit:
    """An emit whose parts are named `<prefix>_<part>` (two products in one layer)."""
    return lambda op, operands, attrs, part: emit(op, operands, attrs, f"{prefix}_{part}")
