#!/bin/sh
# First start: create the cluster (superuser POSTGRES_USER with the password from
# POSTGRES_PASSWORD_FILE, password auth over TCP, trust on the local socket inside the
# container) and the database POSTGRES_DB. Later starts use the existing data directory.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    [ -r "${POSTGRES_PASSWORD_FILE:-}" ] || {
        echo "postgres: POSTGRES_PASSWORD_FILE must name a readable file" >&2
        exit 1
    }
    initdb --pgdata="$PGDATA" --username="$user" --pwfile="$POSTGRES_PASSWORD_FILE" \
        --auth-host=scram-sha-256 --auth-local=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    printf "host all all all scram-sha-256\n" >>"$PGDATA/pg_hba.conf"
    printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    if [ "$db" != "postgres" ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\";" |
            postgres --single -j -D "$PGDATA" postgres >/dev/null
    fi
    echo "postgres: initialised $PGDATA (user $user, database $db)"
fi
exec postgres -D "$PGDATA" "$@"
