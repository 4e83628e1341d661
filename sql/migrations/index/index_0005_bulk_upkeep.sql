-- depends: index_0004_storefront
-- Bulk loads: the search mirrors' GIN indexes had fastupdate off, so every index row written put each of its
-- ~50 lexemes and trigrams into the GIN trees one by one (0.24 ms a row: the largest share of a bulk import's
-- upkeep). With the pending list on, a row's keys are appended and merged into the trees in sorted batches;
-- a small limit (256 kB, not the default 4 MB) bounds what a search scans besides the trees until the next
-- merge (by an insert that fills it, or autovacuum). Measured in bench/index_bench.py (bench/README.md).
alter index rustok.index_products_text_search set (fastupdate = on, gin_pending_list_limit = 256);
alter index rustok.index_products_text_title set (fastupdate = on, gin_pending_list_limit = 256);
alter index rustok.index_content_text_search set (fastupdate = on, gin_pending_list_limit = 256);
alter index rustok.index_content_text_title set (fastupdate = on, gin_pending_list_limit = 256);

-- GIN indexes on the index tables themselves can serve nobody: `@@` and `@>` are not LEAKPROOF, so under the
-- tables' forced row-level security (the API, the analysts, the owner alike) they are applied after the tenant
-- policy as filters and never as index conditions (docs/index.md, "Why search reads a mirror"). Search reads
-- the mirrors' GIN indexes; these only cost every index row written.
drop index index_products_search;
drop index index_products_categories;
drop index index_products_tags;
drop index index_content_search;
drop index index_content_tags;
