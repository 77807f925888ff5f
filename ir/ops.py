"""The op table: every op of the IR is declared once, here or in the modules this one loads.

Where it sits: the heart of ir/. A declaration names the op, its kind, its operands, its typed
attributes (with defaults), its shape rule and every other per-op fact a later stage needs: its
traits (pointwise, fuses as an epilogue), its layout behaviour, which operands are per-channel or
read only for their shape. The other stages attach their hooks by op name (reference semantics
in runtime/ref_ops*.py, gradient rules in compiler/passes/grad_rules*.py, kernels in
compiler/codegen/); tests/test_op_table.py fails when an op lacks one of them.

Op groups are data: passes test membership (`op in ELEMENTWISE`, `op in ops_with(Trait.X)`),
never chains of name checks, and no op-name list lives outside ir/.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ir.errors import AttrError
from ir.types import TensorType, elements


class Kind(Enum):
    """Semantic groups; fusion, layout and simplification passes reason per group."""

    ELEMENTWISE = "elementwise"  # out[i] = f(in[i]...) with numpy broadcasting
    VIEW = "view"  # same bytes, new type: never a kernel
    CONTRACTION = "contraction"  # sums of products: conv, dense, matmul and their gradients
    WINDOW = "window"  # pooling and its gradients
    REDUCE = "reduce"  # reductions over axes
    NORMALIZE = "normalize"  # softmax-like row operations, batchnorm
    LOSS = "loss"  # scalar losses and their gradients
    DATA = "data"  # constants, concat, slices, masks
    UPDATE = "update"  # optimizer updates, written in place


class Trait(Enum):
    """Facts about an op that fusion and codegen test by membership (`ops_with(trait)`).

    An op declared without `traits=` takes its kind's defaults (KIND_TRAITS)."""

    POINTWISE = "pointwise"
    """Computable element by element from operands read at (broadcast) same indices: a fused
    loop evaluates it with its scalar formula (compiler/codegen/expr.py EXPR)."""
    EPILOGUE = "epilogue"
    """May join, as an epilogue, the kernel that produced one of its operands (passes/fuse.py);
    otherwise it starts a kernel of its own."""


KIND_TRAITS: dict[Kind, frozenset[Trait]] = {
    Kind.ELEMENTWISE: frozenset({Trait.POINTWISE, Trait.EPILOGUE}),
    Kind.UPDATE: frozenset({Trait.POINTWISE, Trait.EPILOGUE}),
}
"""Default traits per kind; kinds not listed have none."""


class Init(Enum):
    """How compiler.compile initializes a parameter or state tensor that this op reads as the
    named operand (PyTorch's defaults, so a model trains as its PyTorch twin does)."""

    ZEROS = "zeros"  # the default for every operand not named
    ONES = "ones"  # batch norm's scale and running variance
    FAN_IN = "fan-in"  # U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = prod(weight.shape[1:])
    NORMAL = "normal"  # N(0, 1): an embedding table


class Layout(Enum):
    """What an op's kernel does with the physical layouts of compiler/passes/layout.py (NHWC,
    blocked NCHW<b>c) on its rank-4 float operands and result."""

    FOLLOWS = "follows"  # pointwise ops and views: the result shares its operands' layout
    PLAIN = "plain"  # row-major only: what it reads and writes stays plain
    READS = "reads"  # reads laid-out operands, writes a plain result (reductions over H, W)
    WRITES = "writes"  # writes a laid-out result from plain operands
    READS_WRITES = "reads-writes"  # both (convolutions, pools)

    @property
    def reads(self) -> bool:
        return self in (Layout.FOLLOWS, Layout.READS, Layout.READS_WRITES)

    @property
    def writes(self) -> bool:
        return self in (Layout.FOLLOWS, Layout.WRITES, Layout.READS_WRITES)


REQUIRED = object()
"""Sentinel default: the attribute must be given."""

ATTR_KINDS = ("int", "float", "bool", "str", "ints", "dims")


@dataclass(frozen=True)
class AttrSpec:
    """One typed attribute. `length` fixes the size of an `ints` list; `dims` may hold `N`."""

    name: str
    kind: str
    default: Any = REQUIRED
    length: int | None = None
    choices: tuple[str, ...] | None = None


ShapeRule = Callable[[Sequence[TensorType], Mapping[str, Any]], TensorType]
FlopRule = Callable[[Sequence[TensorType], TensorType, Mapping[str, Any]], int]


@dataclass(frozen=True)
class OpDef:
    """The single declaration of an op.

    operands: names in order; a trailing `?` marks an optional last operand, a leading `*` a
    variadic list (only as the sole operand). grad: "rule" when autodiff has a gradient rule,
    "none" when the op is not differentiable (its operands get no gradient from it).
    layout: None until declared; pointwise ops and views follow their operands.
    per_channel: operands of shape [C] that broadcast along axis 1 of the result (not numpy's
    last axis). shape_only: operands read only for their shape, never loaded.
    identity: a constant e with op(x, e) == x (and op(e, x) == x when `commutative`), which
    the algebraic pass removes.
    """

    name: str
    kind: Kind
    operands: tuple[str, ...]
    attrs: tuple[AttrSpec, ...]
    infer: ShapeRule
    doc: str
    grad: str = "rule"
    flops: FlopRule | None = None
    traits: frozenset[Trait] = frozenset()
    layout: Layout | None = None
    per_channel: tuple[str, ...] = ()
    shape_only: tuple[str, ...] = ()
    identity: float | None = None
    commutative: bool = False
    init: tuple[tuple[str, Init], ...] = ()
    attr_index: dict[str, AttrSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "attr_index", {a.name: a for a in self.attrs})
        names = {o.strip("?*") for o in self.operands}
        for role in (*self.per_channel, *self.shape_only, *(name for name, _ in self.init)):
            if role not in names:
                raise ValueError(f"op '{self.name}' names '{role}', not one of its operands")

    def flop_count(self, operands: Sequence[TensorType], result: TensorType,
                   attrs: Mapping[str, Any]) -> int:
        """Its FLOP rule's count, or one per result element for an op declared without one (per
        sample while the batch is symbolic): the one default the summary and the JIT share."""
        if self.flops is None:
            return elements(result.shape)
        return self.flops(operands, result, attrs)

    def initial(self, operand: int) -> Init:
        """How a parameter read as operand `operand` starts (Init.ZEROS unless declared)."""
        role = self.operands[min(operand, len(self.operands) - 1)].strip("?*")
        return dict(self.init).get(role, Init.ZEROS)

    def positions(self, roles: Sequence[str]) -> frozenset[int]:
        """Operand indices of the named operands (for per_channel, shape_only)."""
        return frozenset(i for i, o in enumerate(self.operands) if o in roles)

    @property
    def variadic(self) -> bool:
        return len(self.operands) == 1 and self.operands[0].startswith("*")

    def arity(self) -> tuple[int, int | None]:
        """(min, max) operand count; max None for variadic ops."""
        if self.variadic:
            return 1, None
        optional = sum(1 for o in self.operands if o.endswith("?"))
        return len(self.operands) - optional, len(self.operands)


OPS: dict[str, OpDef] = {}


def declare(
    name: str, kind: Kind, operands: Sequence[str], attrs: Sequence[AttrSpec],
    infer: ShapeRule, doc: str, grad: str = "rule", flops: FlopRule | None = None, *,
    traits: Sequence[Trait] | None = None, layout: Layout | None = None,
    per_channel: Sequence[str] = (), shape_only: Sequence[str] = (),
    identity: float | None = None, commutative: bool = False,
    init: Mapping[str, Init] | None = None,
) -> OpDef:
    """Registers an op; a second declaration of the same name is a bug in netc.

    traits None takes the kind's defaults (KIND_TRAITS). layout None is filled in only for ops
    that follow their operands (pointwise ops, views); every other op must say what its kernel
    does with layouts, which tests/test_op_table.py checks."""
    if name in OPS:
        raise ValueError(f"op '{name}' declared twice")
    chosen = KIND_TRAITS.get(kind, frozenset()) if traits is None else frozenset(traits)
    if layout is None and (Trait.POINTWISE in chosen or kind is Kind.VIEW):
        layout = Layout.FOLLOWS
    op = OpDef(name, kind, tuple(operands), tuple(attrs), infer, doc, grad, flops,
               chosen, layout, tuple(per_channel), tuple(shape_only), identity, commutative,
               tuple(sorted((init or {}).items())))
    OPS[name] = op
    return op


def get(name: str) -> OpDef:
    from ir.suggest import did_you_mean

    try:
        return OPS[name]
    except KeyError:
        raise AttrError(f"unknown op '{name}'{did_you_mean(name, OPS)}") from None


def ops_of_kind(*kinds: Kind) -> frozenset[str]:
    return frozenset(n for n, op in OPS.items() if op.kind in kinds)


def ops_with(trait: Trait) -> frozenset[str]:
    """The ops declared with `trait`: the one way a later stage asks for a group of ops."""
    return frozenset(n for n, op in OPS.items() if trait in op.traits)


def ops_where(test: Callable[[OpDef], bool]) -> frozenset[str]:
    """The ops whose declaration passes `test` (e.g. `lambda op: op.layout ...`)."""
    return frozenset(n for n, op in OPS.items() if test(op))


def check_attr_value(op: str, spec: AttrSpec, value: Any) -> Any:
    """Validates one attribute value against its spec and returns its canonical form."""
    kind = spec.kind
    bad = AttrError(
        f"op '{op}' attribute '{spec.name}' must be {_describe(spec)}, got {value!r}"
    )
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise bad
        return value
    if kind == "str":
        if not isinstance(value, str) or (spec.choices and value not in spec.choices):
            raise bad
        return value
    return _check_list(spec, value, bad)


def _check_list(spec: AttrSpec, value: Any, bad: AttrError) -> tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise bad
    allowed_str = ("N",) if spec.kind == "dims" else ()
    for v in value:
        if isinstance(v, bool) or not (isinstance(v, int) or v in allowed_str):
            raise bad
    if spec.length is not None and len(value) != spec.length:
        raise bad
    return tuple(value)


def _describe(spec: AttrSpec) -> str:
    if spec.kind == "ints":
        n = f"{spec.length} " if spec.length else ""
        return f"a list of {n}integers"
    if spec.kind == "dims":
        return "a list of dimensions"
    if spec.kind == "str" and spec.choices:
        return "one of " + ", ".join(spec.choices)
    return {"int": "an integer", "float": "a number", "bool": "true or false",
            "str": "a string"}[spec.kind]


def normalize_attrs(op: OpDef, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """Checks names and types, fills defaults; the result lists attributes in declared order."""
    from ir.suggest import did_you_mean

    for key in attrs:
        if key not in op.attr_index:
            raise AttrError(
                f"op '{op.name}' has no attribute '{key}'{did_you_mean(key, op.attr_index)}"
            )
    out: dict[str, Any] = {}
    for spec in op.attrs:
        if spec.name in attrs:
            out[spec.name] = check_attr_value(op.name, spec, attrs[spec.name])
        elif spec.default is REQUIRED:
            raise AttrError(f"op '{op.name}' needs attribute '{spec.name}'")
        else:
            out[spec.name] = spec.default
    return out


def _load_declarations() -> None:
    """Imports every ir/ops_*.py: each declaration module registers its ops into OPS."""
    from ir.extensions import load_modules

    load_modules("ir", "ops_")


_load_declarations()

ELEMENTWISE = ops_of_kind(Kind.ELEMENTWISE)
VIEW = ops_of_kind(Kind.VIEW)
CONTRACTION = ops_of_kind(Kind.CONTRACTION)
WINDOW = ops_of_kind(Kind.WINDOW)
REDUCE = ops_of_kind(Kind.REDUCE)
NORMALIZE = ops_of_kind(Kind.NORMALIZE)
LOSS = ops_of_kind(Kind.LOSS)
DATA = ops_of_kind(Kind.DATA)
UPDATE = ops_of_kind(Kind.UPDATE)
POINTWISE = ops_with(Trait.POINTWISE)
"""Ops computable element by element from operands read at (broadcast) same indices: a fused
loop can evaluate any chain of them."""
EPILOGUE = ops_with(Trait.EPILOGUE)
"""Ops that may ride on the kernel producing their operand (passes/fuse.py)."""
