-- Pagination: every list answers a Relay connection built here, from a page size, an `after` cursor and
-- the page's nodes. One rule for pageInfo (rustok._page_info): hasNextPage when a node beyond the page was
-- read; hasPreviousPage when the page starts after a cursor (the node the cursor names, at least, comes
-- before it; Relay lets a forward page answer so, and asks nothing more of it).

create or replace function rustok._page_size(first int, field text default 'first') returns int
language sql immutable parallel safe as $$
    /* A page size: 1..100, 20 when absent. Raises VALIDATION_FAILED (reason out_of_range). */
    select coalesce(rustok._input_int(to_jsonb(first), field, 1, 100)::int, 20)
$$;

create or replace function rustok._page_after(after text) returns uuid
language sql immutable parallel safe as $$
    /* The id an `after` cursor names (lists whose cursor is the node id); null without one. Raises
       INVALID_ID (details.field 'after'). */
    select rustok._input_id(to_jsonb(after), 'after')
$$;

create or replace function rustok._page_info(has_next boolean, after text, start_cursor text, end_cursor text)
returns jsonb
language sql immutable parallel safe as $$
    /* The pageInfo of every connection (the rule at the head of this file). Raises nothing. */
    select jsonb_build_object(
        'hasNextPage', coalesce(has_next, false),
        'hasPreviousPage', nullif(btrim(coalesce(after, '')), '') is not null,
        'startCursor', start_cursor,
        'endCursor', end_cursor)
$$;

create or replace function rustok._connection(nodes jsonb, has_next boolean, after text) returns jsonb
language sql immutable parallel safe as $$
    /* A Relay connection from an ordered array of nodes that each have an "id" (used as the cursor). Raises
       nothing. */
    select jsonb_build_object(
        'edges', coalesce((select jsonb_agg(jsonb_build_object('cursor', n ->> 'id', 'node', n) order by i)
                           from jsonb_array_elements(nodes) with ordinality as e (n, i)), '[]'::jsonb),
        'pageInfo', rustok._page_info(has_next, after, nodes -> 0 ->> 'id', nodes -> -1 ->> 'id'))
$$;

create or replace function rustok._page_connection(nodes jsonb, page int, after text) returns jsonb
language sql immutable parallel safe as $$
    /* The connection of one keyset page, read as up to page + 1 ordered nodes: the extra node is not shown,
       it only says that another page follows. Raises nothing. */
    select rustok._connection(case when jsonb_array_length(nodes) > page then nodes - page else nodes end,
                              jsonb_array_length(nodes) > page, after)
$$;
