#!/usr/bin/env bash
# Start a local PostgreSQL server for the skysift.stream storage tests and print the URL to use.
#
#   eval "$(bash .ci/start_postgres.sh)"     # exports SKYSIFT_TEST_POSTGRES_URL
#
# Idempotent and quick when the server already runs: installs Debian's `postgresql` only when
# missing, creates (or reuses) a cluster, starts it on 127.0.0.1, creates the role and database
# `skysift` (password `skysift`) and prints `export SKYSIFT_TEST_POSTGRES_URL=...` on stdout.
# Everything else goes to stderr. Runs as root (CI) or as a user that may sudo to postgres.
set -euo pipefail

DB_NAME="${SKYSIFT_PG_DB:-skysift_test}"
DB_USER="${SKYSIFT_PG_USER:-skysift}"
DB_PASS="${SKYSIFT_PG_PASSWORD:-skysift}"
log() { echo "[start_postgres] $*" >&2; }

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && sudo -u postgres -- "$@")
    fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing Debian package postgresql"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq postgresql >&2; then
        apt-get update -qq >&2
        apt-get install -y -qq postgresql >&2
    fi
fi

# The newest installed server version, and its first cluster (created when there is none).
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
CLUSTER="$(pg_lsclusters -h 2>/dev/null | awk -v v="$VERSION" '$1 == v {print $2; exit}')"
if [ -z "$CLUSTER" ]; then
    CLUSTER=main
    log "creating cluster $VERSION/$CLUSTER"
    pg_createcluster "$VERSION" "$CLUSTER" >&2
fi
PORT="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $3}')"
STATUS="$(pg_lsclusters -h | awk -v v="$VERSION" -v c="$CLUSTER" '$1 == v && $2 == c {print $4}')"

if [ "$STATUS" != "online" ]; then
    log "starting cluster $VERSION/$CLUSTER on port $PORT"
    # Tests make many short connections; fsync off is fine for a throwaway test server.
    pg_ctlcluster "$VERSION" "$CLUSTER" start -- -o "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 \
        || pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

for _ in $(seq 1 50); do
    if as_postgres psql -p "$PORT" -qAtc "select 1" >/dev/null 2>&1; then break; fi
    sleep 0.2
done

as_postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qAt >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DB_USER}') THEN
    CREATE ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASS}';
  ELSE
    ALTER ROLE ${DB_USER} LOGIN PASSWORD '${DB_PASS}';
  END IF;
END \$\$;
SQL
if [ "$(as_postgres psql -p "$PORT" -qAtc "select 1 from pg_database where datname = '${DB_NAME}'")" != "1" ]; then
    log "creating database $DB_NAME"
    as_postgres createdb -p "$PORT" -O "$DB_USER" "$DB_NAME" >&2
fi

URL="postgresql://${DB_USER}:${DB_PASS}@127.0.0.1:${PORT}/${DB_NAME}"
log "PostgreSQL $VERSION/$CLUSTER ready at $URL"
echo "export SKYSIFT_TEST_POSTGRES_URL=${URL}"
