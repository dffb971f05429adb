#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 and that a role exists for the tests,
# without assuming how the server authenticates: the role `doorstep` (password `doorstep`, CREATEDB)
# is made through the local socket as the postgres superuser. Prints the DATABASE_URL to use.
# Installs and starts Debian's postgresql when none is there. Fails loudly; never skips.
set -euo pipefail
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
if ! command -v pg_ctlcluster >/dev/null; then
  echo "installing postgresql (apt-get)" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL" >&2
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432 >&2 || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
as_postgres psql -q -v ON_ERROR_STOP=1 -d postgres >&2 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'doorstep') THEN
    CREATE ROLE doorstep LOGIN PASSWORD 'doorstep' CREATEDB;
  ELSE
    ALTER ROLE doorstep LOGIN PASSWORD 'doorstep' CREATEDB;
  END IF;
END $$;
SQL
url="postgres://doorstep:doorstep@127.0.0.1:5432/postgres"
PGPASSWORD=doorstep psql -q -h 127.0.0.1 -U doorstep -d postgres -c "SELECT 1" >/dev/null \
  || { echo "cannot log in as doorstep over TCP; check pg_hba.conf" >&2; exit 1; }
echo "$url"
