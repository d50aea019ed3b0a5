#!/usr/bin/env bash
# Run once by the postgres image, when its data volume is first initialised: the database `parley`,
# owned by a role `parley` of its own, next to Airflow's metadata database (POSTGRES_DB). The password
# comes from the environment, so it is written nowhere in the repository: docker-compose.yml passes
# the one the parley_db connection uses.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    --set=password="${PARLEY_DB_PASSWORD:?set PARLEY_DB_PASSWORD}" <<'SQL'
CREATE ROLE parley LOGIN PASSWORD :'password';
CREATE DATABASE parley OWNER parley;
SQL
