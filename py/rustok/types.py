"""Type aliases the packages share, in one place (as Starlette's types.py): what a JSON object, a database
row and a connection that returns rows are. JSON values are arbitrary, so an object's values are typed `Any`
here once rather than at every use."""

from __future__ import annotations

from typing import Any

import psycopg

JsonObject = dict[str, Any]  # a JSON object: a jsonb result, a GraphQL response or error, a request's payload
Row = dict[str, Any]  # one row as psycopg's dict_row gives it (column name -> value)
RowConnection = psycopg.Connection[Row]  # a connection whose cursors return Rows (rustok.db.connect)
