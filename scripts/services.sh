#!/usr/bin/env bash
# Makes sure the local PostgreSQL and MariaDB test servers answer, starting them if needed.
# Tests use PostgreSQL at 127.0.0.1:5432 (user postgres, db test) and MariaDB at 127.0.0.1:3306 (root, db test).
set -uo pipefail

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
my_up() { mariadb -h 127.0.0.1 -P 3306 -u root -e 'SELECT 1' >/dev/null 2>&1; }

if ! pg_up; then
  echo "services: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>&1 || true
fi
if ! my_up; then
  echo "services: starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd 2>&1 || true
fi
for _ in $(seq 1 60); do pg_up && my_up && break; sleep 1; done
pg_up || { echo "services: PostgreSQL is not answering on 127.0.0.1:5432" >&2; exit 1; }
my_up || { echo "services: MariaDB is not answering on 127.0.0.1:3306" >&2; exit 1; }
psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
  || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
mariadb -h 127.0.0.1 -u root -e "CREATE DATABASE IF NOT EXISTS test" >/dev/null
echo "services: PostgreSQL and MariaDB are up"
