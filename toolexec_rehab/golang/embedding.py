"""Methods and embedding of named types, for the resolver (types.py): what a method of a
type returns when it is declared on it, on an alias's target, on an interface or promoted
from an embedded field, and which types a type embeds (`*sqlx.Rows` embeds `*sql.Rows`;
so does a module's own `type Rows struct{ *sql.Rows }`). Types of the std table and of
dependencies are asked of the API table; the module's own from their syntax, read once per
type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tree_sitter import Node

from . import parse as P

if TYPE_CHECKING:
    from .package import GoFile


def strip_ptr(t: str | None) -> str | None:
    return t[1:] if t and t.startswith("*") else t


class Embedding:
    """Mixed into Resolver: uses its api, pkg, _split, type_from_node, _decl_results and the
    memo dicts _fieldmap, _embeds and _closure."""

    def method_results(self, t: str, name: str, depth: int = 0) -> list[str] | None:
        """Results of the method `name` of a value of type `t`: declared on it, on an alias's
        target, on an interface (or one it embeds), or promoted from an embedded field."""
        bare = strip_ptr(t) or ""
        if self.api.has_type(bare) or bare in ("error",):
            return self.api.method_results(t, name)
        owner, tname = self._split(bare)
        if owner is None or depth > 3:
            return None
        decl = owner.pkg.methods.get((tname, name))
        if decl is not None:
            return owner._decl_results(decl)
        spec = owner.pkg.types.get(tname)
        body = spec.child_by_field_name("type") if spec is not None else None
        if body is None:
            return None
        sf = owner.pkg.file_for(spec)
        if spec.type == "type_alias":
            target = owner.type_from_node(body, sf)
            return self.method_results(target, name, depth + 1) if target else None
        if body.type == "interface_type":
            for el in body.named_children:
                if el.type in ("method_elem", "method_spec") and P.text(el.child_by_field_name("name")) == name:
                    return owner._decl_results(el)
        for et in owner.embedded(spec, sf):
            res = self.method_results(et, name, depth + 1)
            if res is not None:
                return res
        return None

    def _struct_fields(self, spec: Node) -> dict[str, Node]:
        """A struct type's named fields: name -> type node (read once per type)."""
        got = self._fieldmap.get(spec.id)
        if got is None:
            got = self._fieldmap[spec.id] = {}
            st = spec.child_by_field_name("type")
            lists = [c for c in P.named_children(st) if c.type == "field_declaration_list"] \
                if st is not None and st.type == "struct_type" else []
            for fd in P.named_children(lists[0]) if lists else ():
                for n in fd.children_by_field_name("name") if fd.type == "field_declaration" else ():
                    got.setdefault(P.text(n), fd.child_by_field_name("type"))
        return got

    def embedded(self, spec: Node, f: GoFile) -> list[str]:
        """The types a struct (or an interface) of this package embeds, `*` kept (memoized)."""
        got = self._embeds.get(spec.id)
        if got is None:
            got = self._embeds[spec.id] = self._embedded(spec, f)
        return list(got)

    def _embedded(self, spec: Node, f: GoFile) -> list[str]:
        body = spec.child_by_field_name("type")
        out: list[str] = []
        if body is None:
            return out
        if body.type == "struct_type":
            for fd in P.descendants(body):
                if fd.type == "field_declaration" and not fd.children_by_field_name("name"):
                    t = self.type_from_node(fd.child_by_field_name("type"), f)
                    if t:
                        out.append(("*" if any(c.type == "*" for c in fd.children) else "") + t)
        elif body.type == "interface_type":
            for el in body.named_children:
                kids = P.named_children(el) if el.type == "type_elem" else []
                t = self.type_from_node(kids[0], f) if len(kids) == 1 else None
                if t:
                    out.append(t)
        return out

    def embeds(self, t: str | None, target: str) -> bool:
        """A value of type `t` is `target` (or an alias of it), or embeds it, so that the
        target's methods are promoted to it: `*sqlx.Rows` embeds `*sql.Rows`, and so does
        `type Rows struct{ *sql.Rows }` of this module."""
        if not t or t.startswith("**"):
            return False
        if t == target:
            return True
        reach = self.embedded_closure(t)
        return (target if t.startswith("*") == target.startswith("*") else None) in reach[0] or \
            target.lstrip("*") in reach[1]

    def embedded_closure(self, t: str) -> tuple[frozenset[str], frozenset[str]]:
        """({t, the alias targets of t}, {the bare types embedded in t, at any depth up to 4}),
        memoized per type: every call's result is asked about every catalogue entry."""
        got = self._closure.get(t)
        if got is not None:
            return got
        self._closure[t] = (frozenset({t}), frozenset())  # cycle guard
        same = {t}
        bare = t.lstrip("*")
        if self.api.has_type(bare):
            same.add(self.api.resolve_alias(t))
        embedded: set[str] = set()
        frontier, depth = [bare], 0
        while frontier and depth < 4:
            nxt = []
            for b in frontier:
                for et in self._embedded_of(b):
                    eb = et.lstrip("*")
                    if eb not in embedded:
                        embedded.add(eb)
                        nxt.append(eb)
            frontier, depth = nxt, depth + 1
        got = (frozenset(same), frozenset(embedded))
        self._closure[t] = got
        return got

    def _embedded_of(self, bare: str) -> list[str]:
        if self.api.has_type(bare):
            fl = self.api.fields(bare)
            ti = self.api._type_info(bare)[0] or {}
            return [fl[n] for n in ti.get("e", ()) if n in fl]
        owner, tname = self._split(bare)
        spec = owner.pkg.types.get(tname) if owner is not None else None
        if spec is None:
            return []
        body = spec.child_by_field_name("type")
        if spec.type == "type_alias" and body is not None:
            target = owner.type_from_node(body, owner.pkg.file_for(spec))
            return [target] if target else []
        return owner.embedded(spec, owner.pkg.file_for(spec))

