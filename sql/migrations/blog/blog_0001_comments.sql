-- depends: content_0001_tables
-- Blog: posts are content nodes of kind 'post'; comments are nodes of kind 'comment' threaded under a post
-- (their columns and thread upkeep belong to content). What the blog adds is who may comment and moderate.
-- Whether customers' comments wait for approval is the tenant's setting
-- tenant_modules.settings->'commentsNeedApproval' for module 'blog' (default true).

insert into permissions (slug, description) values
    ('comments.write', 'Comment on published posts; change and delete your own comments'),
    ('comments.moderate', 'Approve comments or mark them as spam (on your own posts; anyone''s with content.manage)');

insert into role_permissions (role, permission)
select r, p from (values
    ('super_admin', 'comments.write'), ('super_admin', 'comments.moderate'),
    ('admin', 'comments.write'), ('admin', 'comments.moderate'),
    ('manager', 'comments.write'), ('manager', 'comments.moderate'),
    ('customer', 'comments.write')
) as grants (r, p);
