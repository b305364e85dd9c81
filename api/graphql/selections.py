"""What an operation selects below a field, by name: so a resolver can skip the JOINs that
nobody asked for.

Conservative by design: every field named anywhere below, through fragments of every type
condition, whatever `@skip` or `@include` say. A resolver uses it to decide what to read
eagerly and still answers correctly for a name it did not see (by loading it when asked).
This is strawberry's public reading of the selection; the engine has a cached one.
"""

from __future__ import annotations

from collections.abc import Iterable

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from api.graphql.context import Info


def names_below(info: Info) -> frozenset[str]:
    """The names of the fields selected anywhere below the field being resolved."""
    names: set[str] = set()
    pending: list[Iterable[Selection]] = [field.selections for field in info.selected_fields]
    while pending:
        for selection in pending.pop():
            if isinstance(selection, SelectedField):
                names.add(selection.name)
                pending.append(selection.selections)
            elif isinstance(selection, FragmentSpread | InlineFragment):
                pending.append(selection.selections)
    return frozenset(names)
