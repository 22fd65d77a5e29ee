#!/usr/bin/env bash
# Regenerates nmia/schema/schema.sql from the real NMIA's own models, the way the app creates its schema
# (it has no migrations): Base.metadata.create_all in the app's api image against PostgreSQL 15, then
# pg_dump --schema-only --no-owner --no-privileges. Needs Docker with the images postgres:15 and nmia-api
# (.ci/provision-docker.sh builds nmia-api from the app commit it stamps on the image).
# Usage: nmia/schema/regenerate-schema.sh [output]   (default: nmia/schema/schema.sql)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/schema.sql}
name=nmia-schema-regen-$$
network=$name
# The app commit the nmia-api image was built from (provision-docker.sh builds it from the shared bundle's HEAD).
commit=${NMIA_APP_COMMIT:-3e1062f3eebb211cecd206eb30c149cb1e4a996b}
cleanup() { docker rm -f "$name" >/dev/null 2>&1 || true; docker network rm "$network" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker network create "$network" >/dev/null
docker run -d --name "$name" --network "$network" -e POSTGRES_USER=nmia -e POSTGRES_PASSWORD=nmia -e POSTGRES_DB=nmia postgres:15 >/dev/null
for _ in $(seq 1 60); do docker exec "$name" pg_isready -U nmia -d nmia >/dev/null 2>&1 && break; sleep 1; done
docker run --rm --network "$network" --entrypoint python3 nmia-api -c "
from sqlalchemy import create_engine
from nmia.core.db import Base
import nmia.auth.models, nmia.core.models  # registers every table on Base.metadata
Base.metadata.create_all(create_engine('postgresql://nmia:nmia@$name:5432/nmia'))
"
dump=$(docker exec "$name" pg_dump -U nmia --schema-only --no-owner --no-privileges nmia)
{
  echo "-- The real NMIA's schema (jimwalker53/NMAI, commit $commit)."
  echo "-- Produced by the app's own Base.metadata.create_all (it has no migrations), run in its nmia-api image"
  echo "-- against PostgreSQL 15, then: pg_dump --schema-only --no-owner --no-privileges."
  echo "-- Regenerate with nmia/schema/regenerate-schema.sh; never edit by hand (the drill judges backups against it)."
  echo "-- applySchema() skips pg_dump's psql-only \\restrict/\\unrestrict lines."
  echo
  printf '%s\n' "$dump"
} >"$out"
echo "wrote $out" >&2
