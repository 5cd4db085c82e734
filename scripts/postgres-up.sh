#!/usr/bin/env bash
# Start Debian's PostgreSQL cluster (no systemd here) and make a role and database for the
# tests. Prints the URL to use as DOCKYARD_TEST_POSTGRES_URL.
set -euo pipefail

ROLE=${DOCKYARD_PG_ROLE:-dockyard}
PASSWORD=${DOCKYARD_PG_PASSWORD:-dockyard}
DB=${DOCKYARD_PG_DB:-dockyard}

cluster=$(pg_lsclusters --no-header | awk 'NR==1 {print $1" "$2}')
[ -n "$cluster" ] || { echo "postgres-up: no PostgreSQL cluster (apt-get install postgresql)" >&2; exit 1; }
read -r version name <<<"$cluster"
port=$(pg_lsclusters --no-header | awk 'NR==1 {print $3}')
if ! pg_lsclusters --no-header | awk 'NR==1 {print $4}' | grep -q online; then
  # stdout carries only the URL: pg_ctlcluster chatters ("Removed stale pid file.").
  pg_ctlcluster "$version" "$name" start >&2
fi

psql_admin() { su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -tAc \"$1\""; }
if [ -z "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'")" ]; then
  psql_admin "CREATE ROLE $ROLE LOGIN CREATEDB PASSWORD '$PASSWORD'" >/dev/null
fi
# Tests drop their databases WITH (FORCE), which must also end an autovacuum worker there.
psql_admin "GRANT pg_signal_backend TO $ROLE" >/dev/null 2>&1
if [ -z "$(psql_admin "SELECT 1 FROM pg_database WHERE datname='$DB'")" ]; then
  psql_admin "CREATE DATABASE $DB OWNER $ROLE" >/dev/null
fi
echo "postgresql+psycopg://$ROLE:$PASSWORD@127.0.0.1:$port/$DB"
