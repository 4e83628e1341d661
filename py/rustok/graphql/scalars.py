"""The schema's own scalars, checked in Python before any resolver or SQL function sees a value.

graphql-core lets a scalar declared in SDL take any input unchanged: an object where a DateTime belongs
reached psycopg (which cannot send a dict: INTERNAL), a JSON value nested 1,000 levels deep broke the JSON
encoder (INTERNAL). So every custom scalar gets input coercion here (`install`):

- `DateTime`: an ISO 8601 date and time with its offset, as the SQL functions parse it (rustok._input_instant):
  `2030-01-01T09:00:00Z`, `…+02:00`; the offset within ±15:59, PostgreSQL's range. The calendar (month 13,
  30 February) stays the SQL functions' rule: they name the field too.
- `JSON`: any JSON value nested at most 32 levels (api/json_depth.py): JSON_TOO_DEEP beyond.
- any other custom scalar (a module's, e.g. MinorUnits): a JSON leaf only (string, number, boolean); its
  meaning is the SQL function's to check.

A refused value answers VALIDATION_FAILED (JSON_TOO_DEEP) with `details.field`: where the value sits in its
variable — `publishedAt` for `$input.publishedAt` (inside an input object, fields are named as the SQL
functions name them), `variants[0].metadata`, or the variable's name for a value that is the whole variable.
A literal written in the document is a document that does not match the schema: its error points at the
line and column, with the argument path in `details.field`."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLScalarType,
    GraphQLSchema,
    ListValueNode,
    Node,
    ObjectValueNode,
    ValueNode,
    VariableDefinitionNode,
    value_from_ast_untyped,
    visit,
)
from graphql.language import Visitor

from rustok.api.json_depth import Segment, check_json_depth, first_path, join_path, path_text
from rustok.errors import RusToKError, ValidationFailed

_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(?P<offset>Z|z|[+-](?P<hours>[0-9]{2})(:?(?P<minutes>[0-9]{2}))?)"
)
_MAX_OFFSET_HOURS = 15  # PostgreSQL refuses a displacement of 16:00 or more (SQLSTATE 22009)
_BUILT_IN = frozenset({"String", "Int", "Float", "Boolean", "ID"})


def date_time(value: Any) -> str:
    """A DateTime input: the text as sent, when it has the shape SQL parses. Raises ValidationFailed."""
    text = value if isinstance(value, str) else ""
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise ValidationFailed("not an ISO 8601 date and time with offset", {"reason": "format"})
    if match["hours"] and (int(match["hours"]) > _MAX_OFFSET_HOURS or int(match["minutes"] or 0) > 59):
        raise ValidationFailed("the offset must be within ±15:59", {"reason": "offset"})
    return text


def json_value(value: Any) -> Any:
    """A JSON input: any value nested at most 32 levels. Raises JsonTooDeep."""
    return check_json_depth(value)


def leaf(value: Any) -> Any:
    """A scalar without rules of its own in Python: a string, number or boolean. Raises ValidationFailed."""
    if isinstance(value, str | int | float | bool):
        return value
    raise ValidationFailed("expected a string, number or boolean", {"reason": "type"})


_COERCE: dict[str, Callable[[Any], Any]] = {"DateTime": date_time, "JSON": json_value}


def install(schema: GraphQLSchema) -> None:
    """Gives every custom scalar of the schema its input coercion (values and literals)."""
    for named in schema.type_map.values():
        if isinstance(named, GraphQLScalarType) and named.name not in _BUILT_IN and not named.name.startswith("__"):
            coerce = _COERCE.get(named.name, leaf)
            literal = _literal(coerce)
            # both names: graphql-core 3.3 calls coerce_*, its deprecated helpers (value_from_ast) parse_*
            named.coerce_input_value = coerce
            named.parse_value = coerce  # type: ignore[method-assign,assignment]
            named.coerce_input_literal = literal
            named.parse_literal = literal  # type: ignore[method-assign]


def _literal(coerce: Callable[[Any], Any]) -> Callable[..., Any]:
    """A literal in the document is judged as the same value sent in a variable would be (the parser bounds
    its nesting)."""

    def coerce_literal(node: ValueNode, variables: dict[str, Any] | None = None, *_: Any) -> Any:
        return coerce(value_from_ast_untyped(node, variables))

    return coerce_literal


# -- which field a refusal is about ------------------------------------------------------------------------


def refusal(error: GraphQLError, document: DocumentNode | None = None) -> RusToKError | None:
    """The RusToKError a scalar raised behind this GraphQL error (wrapped by graphql-core's coercion), with
    details.field set to where the value sits; None when the error has no such cause."""
    cause = _root_cause(error)
    if cause is None:
        return None
    node = error.nodes[0] if error.nodes else None
    field: str | None = None
    if isinstance(node, VariableDefinitionNode):
        field = _variable_field(error, node.variable.name.value, cause)
    elif document is not None and node is not None:
        field = _literal_field(document, node)
    if field:
        cause.details = {**cause.details, "field": join_path(field, cause.details.get("field", ""))}
    return cause


def _root_cause(error: GraphQLError) -> RusToKError | None:
    found: BaseException | None = error
    for _ in range(5):
        if isinstance(found, RusToKError):
            return found
        if not isinstance(found, GraphQLError):
            return None
        found = found.original_error
    return None


def _variable_field(error: GraphQLError, name: str, cause: RusToKError) -> str:
    """graphql-core reports a variable's refusal as "Variable '$<name>' has invalid value<path>: <inner>",
    with <path> " at .a[0].b" or "" and the coercion's own message as <inner>: the path is what lies between."""
    head = f"Variable '${name}' has invalid value"
    inner = error.original_error.message if isinstance(error.original_error, GraphQLError) else str(cause)
    message = error.message
    if not message.startswith(head) or not message.endswith(f": {inner}"):
        return name
    path = message[len(head) : len(message) - len(inner) - 2].removeprefix(" at ")
    return _field(name, path)


def _field(argument: str, path: str) -> str:
    """Inside an input object a field is named as the SQL functions name it ("variants[0].sku"); a list or a
    whole value keeps the argument's (or variable's) name."""
    if path.startswith("."):
        return path[1:]
    return argument + path


def _literal_field(document: DocumentNode, target: Node) -> str | None:
    for argument in _arguments(document):
        path = _path_to(argument.value, target)
        if path is not None:
            return _field(argument.name.value, path)
    return None


def _arguments(document: DocumentNode) -> Iterator[ArgumentNode]:
    found: list[ArgumentNode] = []

    class Collect(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            found.append(node)

    visit(document, Collect())
    return iter(found)


def _path_to(value: ValueNode, target: Node) -> str | None:
    """The path of `target` inside a literal ("", ".a", "[2].b"), or None when it is not there (linear, and a
    path built for the target only: json_depth.first_path)."""
    found = first_path(value, _literal_children, lambda node, _depth: node is target)
    return None if found is None else path_text(found)


def _literal_children(node: ValueNode) -> Iterable[tuple[Segment, ValueNode]] | None:
    if isinstance(node, ObjectValueNode):
        return ((field.name.value, field.value) for field in node.fields)
    if isinstance(node, ListValueNode):
        return enumerate(node.values)
    return None
