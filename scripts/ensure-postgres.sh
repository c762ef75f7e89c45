#!/usr/bin/env bash
# Make sure the PostgreSQL server used by the tests answers, starting the local cluster if it is
# installed but stopped, and creating the test database if it is missing. Never fails: the test
# suite decides whether a missing server is a skip (developer machine) or a failure (CI=true).
set -u
url="${1:-postgresql://postgres@127.0.0.1:5432/test}"
db="${url##*/}"
answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if command -v pg_isready >/dev/null 2>&1 && ! answers; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
    done
    for _ in $(seq 1 20); do answers && break; sleep 0.5; done
  fi
fi
if command -v psql >/dev/null 2>&1 && answers; then
  if ! psql -h 127.0.0.1 -U postgres -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
    psql -h 127.0.0.1 -U postgres -d postgres -c "create database \"$db\"" >/dev/null 2>&1 || true
  fi
  echo "postgres: answering on 127.0.0.1:5432 (database $db)"
else
  echo "postgres: NOT answering on 127.0.0.1:5432; PostgreSQL tests will skip (or fail when CI=true)"
fi
exit 0
