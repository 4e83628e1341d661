#!/bin/sh
# The streaming replica: on an empty volume, a base backup of the primary with -R (standby.signal and
# primary_conninfo written for us); then the image's own entrypoint starts PostgreSQL, which finds an
# initialised data directory and runs it as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    until gosu postgres pg_isready -h "$RUSTOK_PRIMARY_HOST" -p 5432 -q; do sleep 1; done
    PGPASSWORD="$RUSTOK_REPLICATION_PASSWORD" gosu postgres pg_basebackup -D "$PGDATA" \
        -d "host=$RUSTOK_PRIMARY_HOST port=5432 user=$RUSTOK_REPLICATION_USER application_name=rustok_replica" \
        -R -X stream -c fast -w
fi
exec docker-entrypoint.sh "$@"
