-- depends: index_0002_search
-- Analysts (rustok_analytics, `rustok db url --analytics`) read the index tables and nothing else; the
-- tenant policy applies to them as to the API, so they set a tenant with rustok.set_context first.
grant select on index_products, index_content to rustok_analytics;
