-- depends: index_0010_mirror_partitions
-- The upkeep's bookkeeping for the tables' owner. A cascade (deleting a category or a tenant from psql, with
-- no tenant context) runs as the owner, under forced row-level security: its upkeep triggers recorded ids in
-- index_pending under the tenant policy (refused: "new row violates row-level security policy"), and the
-- flush it queued fires as the owner too, where the policy hid the pending rows from it. For rustok_owner only
-- (the role of those cascades and of the upkeep's SECURITY DEFINER functions) the rows of index_pending are
-- all visible; they are ids of this and other running transactions, each transaction touching only its own
-- (`txid = pg_current_xact_id()`), and the flush recomputes each tenant's ids under that tenant's context.
-- Clients keep the tenant policy alone.
create policy upkeep_owner on index_pending to rustok_owner using (true) with check (true);
