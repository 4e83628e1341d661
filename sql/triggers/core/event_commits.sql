-- The commit-order stamp runs at COMMIT only, for client roles (docs/architecture.md, Events): from the stamp to
-- the end of its transaction, every event-writing commit of every tenant waits. A client's SET CONSTRAINTS ...
-- IMMEDIATE would stamp early and hold that lock for as long as the session liked.

create or replace function rustok.tg_event_commits__at_commit_only() returns trigger
language plpgsql volatile as $$
/* Queued (deferred) by the stamp's insert into event_commits (the WHEN: from inside a trigger); named
   _900_commit_order like the stamp on event_outbox, so SET CONSTRAINTS moves both, by name or with ALL. At
   COMMIT, deferred triggers fire one after another, so this one fires after the stamp, on its own (trigger depth
   1), and does nothing. Fired inside the stamp (depth above 1), the constraints were made IMMEDIATE: the stamp
   ran before COMMIT and would keep the EXCLUSIVE lock on event_commits until the transaction ends. For a session
   of a client role (rustok_app, rustok_analytics, …) that raises COMMIT_ORDER_EARLY: the stamp is undone and the
   lock released at once (an aborted transaction, or subtransaction, holds no lock). An operator's session (owner
   or superuser) may stamp early, as tests do, and keeps the lock until it ends. Returns null. */
begin
    if pg_catalog.pg_trigger_depth() > 1
       and pg_catalog.pg_has_role(session_user, 'rustok_clients', 'MEMBER')
       and not coalesce((select r.rolsuper from pg_catalog.pg_roles r where r.rolname = session_user), false) then
        perform rustok.raise('COMMIT_ORDER_EARLY',
                             'an event-writing transaction takes its commit number at COMMIT: no SET CONSTRAINTS '
                             '... IMMEDIATE for _900_commit_order (or ALL) in a transaction that writes events',
                             jsonb_build_object('constraint', '_900_commit_order'));
    end if;
    return null;
end
$$;

drop trigger if exists _900_commit_order on public.event_commits;
-- (queued only by an insert from inside a trigger, the stamp: rows written otherwise, such as the numbering of
-- rustok._start_commit_order in a migrate, leave no pending event behind to hold up that migrate's ALTER TABLEs)
create constraint trigger _900_commit_order after insert on public.event_commits
    deferrable initially deferred for each row when (pg_trigger_depth() > 0)
    execute function rustok.tg_event_commits__at_commit_only();
