"""The limited Jinja environment: ImmutableSandboxedEnvironment whose compiled templates
count what they build and check the clock (block buffers, loops, `~`, literals, every printed
value), with `+ * ** %`, every filter, every call and str.format checked before they run
(sizes.py) against the thread's budget (limits.py). jinja2 is imported when the class is
first built (render.environment()), not with this module.
"""

from __future__ import annotations

import time
from functools import lru_cache

from . import sizes
from .limits import _Budget, _budget, _limit_of, _RenderGuard, _tick
from .sizes import _BINOP_CHECKS, _check_call, _check_digits, _check_value, _limit_filter, _too_big, _weight


class _GuardedRenderFunc:
    """A template's root or block render function, returning its generator in a
    _RenderGuard. Equal to the function it wraps: `super()` looks the running block's
    function up in the context's list of blocks (`blocks.index(block_body)`)."""

    __slots__ = ("func",)

    def __init__(self, func):
        self.func = func

    def __call__(self, context, *args, **kwargs):
        gen = self.func(context, *args, **kwargs)
        b = _budget()
        return gen if b is None else _RenderGuard(gen, b)

    def __eq__(self, other) -> bool:
        return other is self.func or (isinstance(other, _GuardedRenderFunc) and other.func is self.func)

    def __hash__(self) -> int:
        return hash(self.func)


class _LoopGuard:
    """A for loop's iterable: checks the clock per iteration (a loop with no output and no
    call would not be stopped otherwise when there is no SIGALRM)."""

    __slots__ = ("src", "it", "b")

    def __init__(self, src, b: _Budget):
        self.src, self.it, self.b = src, None, b

    def __iter__(self):
        if self.it is None:
            self.it = iter(self.src)
        return self

    def __next__(self):
        b = self.b
        if b.active and (b.expired or (b.poll and time.monotonic() > b.deadline)):
            raise b.time_up()
        if self.it is None:
            self.it = iter(self.src)
        return next(self.it)

    def __len__(self):  # loop.length, loop.last
        return len(self.src)


class _Buffer(list):
    """The list a macro, `{% set %}` block, `{% filter %}` block or recursive loop collects
    its output in."""

    __slots__ = ("n", "b", "limit")

    def __init__(self, b: _Budget | None):
        super().__init__()
        self.n, self.b, self.limit = 0, b, _limit_of(b)

    def append(self, s) -> None:
        self._add(len(s))
        list.append(self, s)

    def extend(self, items) -> None:
        items = tuple(items)
        self._add(sum(len(s) for s in items))
        list.extend(self, items)

    def _add(self, n: int) -> None:
        self.n += n
        if self.n > self.limit:
            raise _too_big("a block's output", self.limit)
        _tick(self.b if self.b is not None and self.b.active else None)


def _finalize(value):
    """Every `{{ ... }}` before str(): a value past the limit is refused before printing it."""
    b = _budget()
    _tick(b)
    _check_value(value, _limit_of(b), "the printed value")
    return value


@lru_cache(maxsize=1)
def _limited_environment_class():
    from jinja2.compiler import CodeGenerator
    from jinja2.environment import Template
    from jinja2.runtime import markup_join, str_join
    from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
    from jinja2.utils import Namespace, generate_lorem_ipsum
    from markupsafe import EscapeFormatter, Markup

    sizes._NAMESPACE = Namespace  # _weight looks into a namespace's attributes

    class LimitedCodeGenerator(CodeGenerator):
        """Compiles block buffers, loops, `~` and literals to the environment's checks."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._guarded_iters: set[int] = set()

        def visit(self, node, *args, **kwargs):
            if id(node) in self._guarded_iters:
                self.write("environment.rehab_iter(")
                super().visit(node, *args, **kwargs)
                self.write(")")
                return None
            return super().visit(node, *args, **kwargs)

        def buffer(self, frame):
            frame.buffer = self.temporary_identifier()
            self.writeline(f"{frame.buffer} = environment.rehab_buffer()")

        def visit_For(self, node, frame):
            self._guarded_iters.add(id(node.iter))
            super().visit_For(node, frame)

        def visit_Concat(self, node, frame):
            if frame.eval_ctx.volatile:
                markup = "context.eval_ctx.autoescape"
            else:
                markup = "True" if frame.eval_ctx.autoescape else "False"
            self.write("environment.rehab_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write(f"), {markup})")

        def _checked(self, visit, node, frame):
            self.write("environment.rehab_value(")
            visit(node, frame)
            self.write(")")

        def visit_List(self, node, frame):
            self._checked(super().visit_List, node, frame)

        def visit_Dict(self, node, frame):
            self._checked(super().visit_Dict, node, frame)

        def visit_Tuple(self, node, frame):
            if node.ctx == "load":
                self._checked(super().visit_Tuple, node, frame)
            else:  # an assignment target
                super().visit_Tuple(node, frame)

    class LimitedTemplate(Template):
        @classmethod
        def _from_namespace(cls, environment, namespace, globals):
            t = super()._from_namespace(environment, namespace, globals)
            t.root_render_func = _GuardedRenderFunc(t.root_render_func)
            t.blocks = {k: _GuardedRenderFunc(f) for k, f in t.blocks.items()}
            return t

    class LimitedFormatter(SandboxedFormatter):
        """str.format from a template: widths, precisions and the total, before formatting."""

        def vformat(self, format_string, args, kwargs):
            self._rehab_n = len(format_string)
            return super().vformat(format_string, args, kwargs)

        def format_field(self, value, format_spec):
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            self._rehab_n = getattr(self, "_rehab_n", 0) + _check_digits(format_spec, limit, "format")
            self._rehab_n += _weight(value, limit)
            if self._rehab_n > limit:
                raise _too_big("format", limit)
            return super().format_field(value, format_spec)

    class LimitedEscapeFormatter(LimitedFormatter, EscapeFormatter):
        pass

    class LimitedEnvironment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset(_BINOP_CHECKS)  # + * ** %
        code_generator_class = LimitedCodeGenerator
        template_class = LimitedTemplate

        def __init__(self, *args, **kwargs):
            kwargs.setdefault("finalize", _finalize)
            super().__init__(*args, **kwargs)
            self.filters = {name: _limit_filter(name, f) for name, f in self.filters.items()}

        def call_binop(self, context, operator, left, right):
            b = _budget()
            _tick(b)
            _BINOP_CHECKS[operator](left, right, _limit_of(b))  # sizes._check_binop, one call less
            return self.binop_table[operator](left, right)

        def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - the sandbox's signature
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            args = _check_call(__obj, args, kwargs, limit, generate_lorem_ipsum)
            rv = super().call(__context, __obj, *args, **kwargs)
            _check_value(rv, limit, "the result of a call")
            return rv

        def wrap_str_format(self, value):
            # as the sandbox's, with our formatters
            import types
            from functools import update_wrapper

            if not isinstance(value, (types.MethodType, types.BuiltinMethodType)) or \
                    value.__name__ not in ("format", "format_map"):
                return None
            f_self = value.__self__
            if not isinstance(f_self, str):
                return None
            str_type = type(f_self)
            is_format_map = value.__name__ == "format_map"
            if isinstance(f_self, Markup):
                formatter = LimitedEscapeFormatter(self, escape=f_self.escape)
            else:
                formatter = LimitedFormatter(self)

            def wrapper(*args, **kwargs):
                if is_format_map:
                    if kwargs:
                        raise TypeError("format_map() takes no keyword arguments")
                    if len(args) != 1:
                        raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                    kwargs = args[0]
                    args = ()
                return str_type(formatter.vformat(f_self, args, kwargs))

            return update_wrapper(wrapper, value)

        # called by the compiled templates (LimitedCodeGenerator)
        def rehab_buffer(self):
            return _Buffer(_budget())

        def rehab_iter(self, iterable):
            b = _budget()
            return iterable if b is None else _LoopGuard(iterable, b)

        def rehab_value(self, value):
            b = _budget()
            _tick(b)
            _check_value(value, _limit_of(b), "a literal")
            return value

        def rehab_concat(self, items, markup=False):
            b = _budget()
            _tick(b)
            limit = _limit_of(b)
            total = 0
            for x in items:
                total += len(x) if isinstance(x, str) else _weight(x, limit)
                if total > limit:
                    raise _too_big("'~'", limit)
            return markup_join(items) if markup else str_join(items)

    return LimitedEnvironment
