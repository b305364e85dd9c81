"""The private symbols of strawberry and graphql-core that the engine relies on still exist."""

from __future__ import annotations

from api.graphql.engine.upstream import SYMBOLS, Symbol, missing


def test_every_private_symbol_the_engine_relies_on_exists() -> None:
    gone = missing()
    assert not gone, (
        "strawberry or graphql-core no longer has what api/graphql/engine relies on: "
        + "; ".join(gone)
        + ". Adapt the engine (see its README) or run with GRAPHQL_FAST_PATH=false."
    )


def test_a_removed_symbol_is_named_with_what_uses_it() -> None:
    """The check itself can fail: a name that does not exist is reported."""
    gone = Symbol("graphql.execution.executor:Executor", "no_such_hook", "executor.py")
    assert not gone.present()
    assert Symbol("strawberry.types.info:Info", "_raw_info", "selections.py").present()
    assert len(SYMBOLS) == len({(s.owner, s.attribute) for s in SYMBOLS})
