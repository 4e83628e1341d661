-- Commit order for the outbox (docs/architecture.md, Events): at commit, each event-writing transaction takes
-- the next commit number and sends the one NOTIFY that wakes the readers.

create or replace function rustok.tg_event_outbox__commit_order() returns trigger
language plpgsql volatile security definer set search_path = pg_catalog, public, pg_temp as $$
/* At commit (deferred; queued once per transaction by rustok._commit_order_arm): sends NOTIFY rustok_events
   and records the transaction in event_commits with the next commit number. The EXCLUSIVE lock on
   event_commits is what orders commits: only this trigger takes it (clients hold no privilege on the table,
   so none can lock it), and PostgreSQL makes a commit visible before it releases its locks, so the next
   transaction draws its number only after every lower one is visible or rolled back. No prepared
   transaction holds the lock: PREPARE TRANSACTION refuses a transaction that has sent a NOTIFY. A second
   stamp of one transaction would raise a unique violation (event_commits: txid). Returns null. */
begin
    perform pg_notify('rustok_events', '');
    perform set_config('rustok.commit_order', 'stamped', true);
    -- from here to the end of the commit, event-writing commits go one at a time: keep this part short
    lock table only public.event_commits in exclusive mode;
    insert into public.event_commits (txid, occurred_at) values (pg_current_xact_id(), now());
    return null;
end
$$;

-- Every write to the outbox: the trigger was created (and the table locked against writers) in this migrate
-- transaction, so events written before commit order existed are numbered now, once.
drop trigger if exists _900_commit_order on public.event_outbox;
create constraint trigger _900_commit_order after insert on public.event_outbox
    deferrable initially deferred for each row when (rustok._commit_order_arm())
    execute function rustok.tg_event_outbox__commit_order();
select rustok._start_commit_order();
