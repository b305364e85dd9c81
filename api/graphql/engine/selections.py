"""What an operation selects below a field, by name: so a resolver can skip the JOINs that
nobody asked for.

Conservative by design: every field named anywhere below, through fragments of every type
condition, whatever `@skip` or `@include` say. A resolver uses it to decide what to read
eagerly and still answers correctly for a name it did not see (by loading it when asked).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)

from api.graphql.context import Info

# By the identities of a field's nodes, which belong to a parsed document that the parse
# cache keeps and reuses; the nodes are kept alive here, so their ids cannot be reused.
_NAMES: dict[tuple[int, ...], tuple[tuple[FieldNode, ...], frozenset[str]]] = {}
_LIMIT = 4096


def names_below(info: Info) -> frozenset[str]:
    """The names of the fields selected anywhere below the field being resolved."""
    raw = info._raw_info
    nodes = tuple(raw.field_nodes)
    key = tuple(map(id, nodes))
    cached = _NAMES.get(key)
    if cached is not None:
        return cached[1]
    names = _names((node.selection_set for node in nodes), raw.fragments)
    if len(_NAMES) >= _LIMIT:
        _NAMES.clear()
    _NAMES[key] = (nodes, names)
    return names


def _names(
    selection_sets: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> frozenset[str]:
    names: set[str] = set()
    spread: set[str] = set()
    pending = [s for s in selection_sets if s is not None]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
                if selection.selection_set is not None:
                    pending.append(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in spread:
                    spread.add(name)
                    pending.append(fragment.selection_set)
    return frozenset(names)
