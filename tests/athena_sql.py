"""Reading Athena's positional SQL back as Athena does, for the tests that check or run it."""

from __future__ import annotations

import sqlglot
from sqlglot.dialects.trino import Trino
from sqlglot.tokens import TokenType  # type: ignore[attr-defined]


def filled_in(sql: str, parameters: list[str]) -> str:
    """Athena's view: each `?` token, in the text's order, replaced by the next parameter (Trino's tokenizer
    finds them, so a `?` inside a string literal is not one); normalised through sqlglot's Trino dialect."""
    spans = [t for t in Trino().tokenize(sql) if t.token_type == TokenType.PLACEHOLDER]
    assert len(spans) == len(parameters)
    for token, parameter in reversed(list(zip(spans, parameters, strict=True))):
        sql = sql[: token.start] + parameter + sql[token.end + 1 :]
    return sqlglot.parse_one(sql, read="trino").sql(dialect="trino")
