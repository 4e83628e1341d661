-- depends: blog_0001_comments
-- The moderation queue (rustok.list_pending_comments): pending comments of a tenant, oldest first, without
-- scanning its approved ones.

create index nodes_pending_comments on nodes (tenant_id, id) where moderation = 'pending';
