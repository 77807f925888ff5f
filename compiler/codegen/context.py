"""KernelContext: what one kernel's code generation knows: its nodes, buffers and pointers.

Where it sits: created by compiler/codegen/module.py for each kernel group and handed to the
kernel's emitter. Every value the kernel reads or writes resolves, through the memory plan, to a
buffer (a parameter or state slot, a scratch offset, an external input); each distinct buffer is
one `noalias` pointer parameter of the kernel's body function, so LLVM may vectorize freely.
Constants are immediates, never loads, except where an emitter needs a pointer (a contraction
whose weight is a constant): there they are a read-only global of the kernel's module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import llvmlite.ir as ir

from compiler.codegen.kernel_builder import F32, F64, I64, KernelBuilder
from ir.errors import CompileError
from ir.graph import Graph, Node, Value
from ir.ops import VIEW
from ir.schedule import KernelGroup
from ir.types import elements

if TYPE_CHECKING:
    from compiler.codegen.module import ModuleGen

ELEMENT_TYPES = {"f32": F32, "f64": F64, "i64": I64}
BufferKey = tuple[str, int]


@dataclass
class KernelContext:
    gen: ModuleGen
    group: KernelGroup
    ntasks: int = 1
    workspace: int = 0
    """Bytes of per-thread scratch the kernel needs (packing buffers)."""
    flops: int = 0
    touched: list[str] = field(default_factory=list)
    ptrs: dict[str, ir.Value] = field(default_factory=dict)
    ws_ptr: ir.Value | None = None
    module: ir.Module | None = None
    uses_services: bool = False
    """True when the kernel calls into the library (its table starts with the services)."""
    services: ir.Value | None = None
    shared: dict[str, ir.Function] = field(default_factory=dict)
    """Helpers of this kernel's module (the micro-kernel), built once."""

    @property
    def graph(self) -> Graph:
        return self.gen.graph

    @property
    def nodes(self) -> list[Node]:
        return [self.graph.node(n) for n in self.group.nodes]

    @property
    def anchor(self) -> Node:
        return self.nodes[0]

    @property
    def members(self) -> set[str]:
        return set(self.group.nodes)

    def value(self, name: str) -> Value:
        return self.graph.value(name)

    def const_node(self, name: str) -> Node | None:
        """The `const` node behind `name` (through views), unless this kernel computes it."""
        if name in self.group.nodes:
            return None
        v = self.value(name)
        while v.node is not None and v.node.op in VIEW:
            v = v.node.operands[0]
        return v.node if v.node is not None and v.node.op == "const" else None

    def is_const(self, name: str) -> bool:
        return self.const_node(name) is not None

    def touch(self, *names: str) -> None:
        for name in names:
            if not self.is_const(name) and name not in self.touched:
                self.touched.append(name)

    def key(self, name: str) -> BufferKey:
        """The buffer that holds `name`'s bytes, after following views and in-place updates."""
        plan = self.graph.plan
        assert plan is not None
        alloc = plan.resolve(name)
        if alloc.region == "input":
            return ("input", self.gen.external.index(alloc.value))
        if alloc.region in ("param", "state"):
            return ("persistent", alloc.offset)
        if alloc.region == "output":
            return ("output", alloc.offset)
        return ("arena", alloc.offset)

    def elem_type(self, name: str) -> ir.Type:
        return ELEMENT_TYPES[self.value(name).type.dtype]

    # ------------------------------------------------------------ inside the body

    def ptr(self, name: str) -> ir.Value:
        """The pointer to `name`'s elements. A constant has no buffer (it is an immediate
        wherever an emitter loads it element by element), but a contraction or a window op
        walks its operands through pointers: such a constant becomes a read-only global of the
        kernel's module, holding its value in every element."""
        if name not in self.ptrs and self.const_node(name) is not None:
            self.ptrs[name] = self._const_global(name)
        return self.ptrs[name]

    def _const_global(self, name: str) -> ir.Value:
        assert self.module is not None, "pointers exist only while a kernel module is built"
        node = self.const_node(name)
        assert node is not None
        elem = self.elem_type(name)
        count = elements(self.value(name).type.shape)
        array = ir.ArrayType(elem, count)
        glob = ir.GlobalVariable(self.module, array, name=f"const.{name}")
        glob.global_constant = True
        glob.linkage = "internal"
        glob.align = 64  # emitters may load whole vectors, as from any arena buffer
        value = node.attrs["value"]
        glob.initializer = (ir.Constant(array, None) if value == 0 else
                            ir.Constant(array, [ir.Constant(elem, value)] * count))
        zero = ir.Constant(ir.IntType(32), 0)
        return glob.gep([zero, zero])

    def load(self, kb: KernelBuilder, name: str, index: ir.Value | int) -> ir.Value:
        """Element `index` of `name` (an immediate for constants)."""
        node = self.const_node(name)
        if node is not None:
            return ir.Constant(self.elem_type(name), node.attrs["value"])
        return kb.load(self.ptrs[name], index)

    def thread_workspace(self, kb: KernelBuilder, thread: ir.Value) -> ir.Value:
        """This thread's scratch bytes (i8*)."""
        if self.ws_ptr is None:  # a codegen bug, checked even under `python -O`
            raise CompileError(f"kernel {self.group.name} asked for workspace it did not "
                               "declare")
        return kb.b.gep(self.ws_ptr, [kb.mul(thread, self.workspace)])
