#!/bin/sh
# Runs once, when the primary's data volume is first initialised (docker-entrypoint-initdb.d):
# a replication role for the standby, and a pg_hba line that lets it stream over the compose network.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     --set role="$RUSTOK_REPLICATION_USER" --set password="$RUSTOK_REPLICATION_PASSWORD" <<'SQL'
create role :"role" with login replication password :'password';
SQL
echo "host replication $RUSTOK_REPLICATION_USER all scram-sha-256" >> "$PGDATA/pg_hba.conf"
