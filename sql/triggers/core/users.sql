-- A user's access changes (role, status, the user deleted) emit their events from the table itself, so a
-- change from the API and a plain statement in psql alike reach event handlers and the realtime relay, which
-- re-checks that user's open event streams on them.

create or replace function rustok.tg_users__emit_access_events() returns trigger
language plpgsql as $$
/* AFTER UPDATE OF role, status OR DELETE on users: UserRoleChanged {user_id, role}, UserStatusChanged
   {user_id, status}, UserDeleted {user_id}, in the same transaction. Nothing when the tenant itself is being
   deleted (its events go with it). */
begin
    if tg_op = 'DELETE' then
        if exists (select 1 from public.tenants t where t.id = old.tenant_id) then
            perform rustok._publish_event_for(old.tenant_id, 'UserDeleted',
                                              jsonb_build_object('user_id', rustok.ulid(old.id)));
        end if;
        return null;
    end if;
    if new.role is distinct from old.role then
        perform rustok._publish_event_for(new.tenant_id, 'UserRoleChanged',
                                          jsonb_build_object('user_id', rustok.ulid(new.id), 'role', new.role));
    end if;
    if new.status is distinct from old.status then
        perform rustok._publish_event_for(new.tenant_id, 'UserStatusChanged',
                                          jsonb_build_object('user_id', rustok.ulid(new.id), 'status', new.status));
    end if;
    return null;
end
$$;

create or replace trigger _900_emit_access_events after update of role, status or delete on public.users
    for each row execute function rustok.tg_users__emit_access_events();
