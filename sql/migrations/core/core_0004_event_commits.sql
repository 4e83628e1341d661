-- depends: core_0001_platform
-- Commit order for the outbox. Consumers used to read events by (transaction id, position) and only below the
-- cluster's oldest running transaction, so any long transaction - an analyst's, another database's - held back
-- every event. Now each event-writing transaction gets, as it commits, the next number of event_commit_seq
-- (rustok.tg_event_outbox__commit_order, under a lock only those commits take), and consumers read by
-- (commit_seq, position). Events written before this existed are numbered seq = txid, once, by
-- rustok._start_commit_order() (re-applied trigger file, in the transaction that installs the trigger), so
-- every stored cursor - a consumer's position, an SSE client's Last-Event-ID - keeps its meaning.

-- One row per committed event-writing transaction. occurred_at is the transaction's start, which is also its
-- events' occurred_at: the row lives in the same month's partition as its events and retention drops both.
create sequence event_commit_seq as bigint;
create table event_commits (
    seq          bigint not null default nextval('event_commit_seq'),
    txid         xid8 not null,
    occurred_at  timestamptz not null,
    primary key (seq, occurred_at),
    unique (txid, occurred_at)
) partition by range (occurred_at);
alter sequence event_commit_seq owned by event_commits.seq;
create table event_commits_default partition of event_commits default;
insert into partitioned_tables (table_name, period, premake, retention_setting)
values ('event_commits', 'month', 3, 'events.retention');

-- A durable consumer's position is a cursor in commit order now.
alter table event_consumers rename column last_txid to last_commit_seq;
alter table event_consumers
    alter column last_commit_seq drop default,
    alter column last_commit_seq type bigint using last_commit_seq::text::bigint,
    alter column last_commit_seq set default 0;
