#!/usr/bin/env bash
# Runs once, when the PostgreSQL volume is empty: the results database and its own role, apart from
# Temporal's databases (which the temporal-schema service creates with the superuser), so neither can touch the other.
set -euo pipefail
: "${CHALLENGE_DB_PASSWORD:?CHALLENGE_DB_PASSWORD is not set: put it in docker/.env (see docker/.env.example)}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -v password="$CHALLENGE_DB_PASSWORD" <<'SQL'
CREATE ROLE challenge LOGIN PASSWORD :'password';
CREATE DATABASE challenge OWNER challenge;
SQL
