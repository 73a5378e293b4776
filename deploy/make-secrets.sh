#!/bin/sh
# Create the Docker secrets docker-compose.yml expects, in deploy/secrets/ (or $1).
# Random values for the control token, the PostgreSQL password (and the matching rotor database
# URL) and the Grafana admin password. Exchange keys are yours to write; empty placeholders are
# created so compose can start in modes that need none. Existing files are never overwritten.
set -eu

dir="${1:-$(dirname "$0")/secrets}"
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

random_hex() {
    # 32 random bytes as hex, without needing python or openssl on the host.
    od -An -tx1 -N32 /dev/urandom | tr -d ' \n'
}

create() {
    name="$1"
    value="$2"
    if [ -e "$dir/$name" ]; then
        echo "kept    $dir/$name"
        return
    fi
    printf '%s' "$value" > "$dir/$name"
    echo "created $dir/$name"
}

create control_token "$(random_hex)"
create postgres_password "$(random_hex)"
create database_url "postgresql+asyncpg://rotor:$(cat "$dir/postgres_password")@postgres:5432/rotor"
create grafana_admin_password "$(random_hex)"
create exchange_api_key ""
create exchange_api_secret ""

# The directory stays private to you (0700); the files must be readable by the container users
# (rotor 10001, postgres 999, grafana 472), which compose's file secrets cannot re-own.
chmod 644 "$dir"/*
echo "done: write your exchange keys into $dir/exchange_api_key and $dir/exchange_api_secret"
