#!/usr/bin/env bash
# A throwaway PostgreSQL for tests and local runs with DATABASE_URL, reusing a running one:
#   - installs Debian's `postgresql` package when no server binaries are found;
#   - keeps its cluster in CHALLENGE_PG_DIR (default ${XDG_CACHE_HOME:-$HOME/.cache}/challenge/postgres):
#     data/ (the cluster, owned by the `postgres` OS user: PostgreSQL refuses to run as root) and postgres.log;
#   - listens on 127.0.0.1 only, port CHALLENGE_PG_PORT (default 55432), no Unix socket, trust auth on loopback;
#   - has a role and a database `challenge` (the role may create databases: one fresh database per test file).
# Idempotent and safe to run concurrently (a lock in the cluster dir). Progress goes to stderr; the last
# line of stdout is the DATABASE_URL.
set -euo pipefail
say() { printf '[postgres] %s\n' "$*" >&2; }
fail() { say "$*"; exit 1; }

port="${CHALLENGE_PG_PORT:-55432}"
dir="${CHALLENGE_PG_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/challenge/postgres}"
data="$dir/data"
log="$dir/postgres.log"
url="postgresql://challenge@127.0.0.1:$port/challenge"
[[ "$port" =~ ^[0-9]+$ ]] || fail "CHALLENGE_PG_PORT must be a port number, not '$port'"

# Debian puts the server binaries in /usr/lib/postgresql/<version>/bin, outside PATH: take the newest,
# else whatever PATH has (other systems).
find_bin() {
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
  if [[ -n "$newest" && -x "$newest/initdb" && -x "$newest/pg_ctl" ]]; then
    echo "$newest"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}
bin="$(find_bin)"
if [[ -z "$bin" ]]; then
  [[ $EUID -eq 0 ]] || fail "no PostgreSQL server binaries (initdb, pg_ctl) found; install Debian's postgresql package, or run this as root to have it installed"
  say "installing Debian's postgresql package"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  bin="$(find_bin)"
  [[ -n "$bin" ]] || fail "the postgresql package is installed but no initdb/pg_ctl was found under /usr/lib/postgresql/*/bin"
fi

# PostgreSQL refuses to run as root: as root, the cluster belongs to the postgres OS user.
if [[ $EUID -eq 0 ]]; then
  id postgres >/dev/null 2>&1 || fail "no 'postgres' OS user (Debian's postgresql package creates it); create it or run this script as a non-root user"
  as_pg() { runuser -u postgres -- "$@"; }
  owner=postgres
else
  as_pg() { "$@"; }
  owner="$(id -un)"
fi

mkdir -p "$dir"
[[ $EUID -eq 0 ]] && chown "$owner" "$dir"
# The postgres user must reach the cluster dir: under root's home (mode 700 on Debian) it cannot. Grant it
# search permission (x, not read) on the ancestors in its way, for that user only (ACL), rather than to everyone.
if ! as_pg test -x "$dir" -a -w "$dir"; then
  if ! command -v setfacl >/dev/null 2>&1; then
    say "installing Debian's acl package (setfacl), to let the postgres user reach $dir"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends acl >/dev/null
  fi
  # From / down, so that only the directories that really block it get the ACL.
  ancestors=()
  ancestor="$dir"
  while [[ "$ancestor" != / ]]; do
    ancestor="$(dirname "$ancestor")"
    ancestors=("$ancestor" "${ancestors[@]}")
  done
  for ancestor in "${ancestors[@]}"; do
    as_pg test -x "$ancestor" && continue
    say "granting the postgres user search permission on $ancestor (setfacl -m u:postgres:x)"
    setfacl -m u:postgres:x "$ancestor" || fail "cannot grant the postgres user access to $ancestor; set CHALLENGE_PG_DIR to a directory it can reach (e.g. /var/tmp/challenge-postgres)"
  done
  as_pg test -x "$dir" -a -w "$dir" || fail "the postgres OS user cannot use $dir; set CHALLENGE_PG_DIR to a directory it can reach"
fi

# One run at a time: two test processes starting together would otherwise both initdb or start.
exec 9>"$dir/ensure.lock"
flock -w 120 9 || fail "another ensure-postgres.sh held $dir/ensure.lock for 2 minutes"

# The server (as the postgres user) appends to the log that this script starts.
touch "$log"
[[ $EUID -eq 0 ]] && chown "$owner" "$log"

psql_as() { # role, database, psql arguments...
  local role="$1" db="$2"
  shift 2
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$role" -d "$db" "$@"
}

if [[ ! -s "$data/PG_VERSION" ]]; then
  say "creating a cluster in $data"
  rm -rf "$data"
  as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >>"$log" 2>&1 || fail "initdb failed; see $log"
  # Loopback TCP only: no Unix socket, so no dependency on /var/run/postgresql and no path-length limit.
  as_pg tee -a "$data/postgresql.conf" >/dev/null <<'EOF'
# written by scripts/ensure-postgres.sh
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
fi

# Whether the postmaster of postmaster.pid runs. Not `pg_ctl status`: a postmaster killed a moment ago is a
# zombie until reaped, and after a restart of the machine the pid may belong to an unrelated process.
postmaster_alive() {
  local pid state
  pid="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  state="$(ps -o stat=,comm= -p "$pid" 2>/dev/null || true)"
  [[ -n "$state" && "$state" != Z* && "$state" == *postgres* ]]
}

if postmaster_alive; then
  say "reusing the server running on $data"
elif "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres 2>/dev/null; then
  # Something else answers on the port (a cluster in another CHALLENGE_PG_DIR): use it if it is ours in all but place.
  psql_as challenge challenge -c 'SELECT 1' >/dev/null 2>&1 || fail "port $port is taken by a server that is not this cluster ($data) and has no trusted 'challenge' role; stop it or set CHALLENGE_PG_PORT"
  say "reusing the server already listening on 127.0.0.1:$port"
  echo "$url"
  exit 0
else
  # Not running: a postmaster.pid left by a crash or a restarted machine would block the start.
  as_pg rm -f "$data/postmaster.pid"
  say "starting the server on 127.0.0.1:$port (log: $log)"
  # 9>&-: the server must not inherit the lock, or it would hold it for as long as it runs.
  as_pg "$bin/pg_ctl" start -w -t 60 -D "$data" -l "$log" -o "-p $port" >/dev/null 9>&- || {
    tail -n 20 "$log" >&2
    fail "PostgreSQL did not start; see $log"
  }
fi

# The port the running server listens on is the one asked for (a server started earlier with another port is not).
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres || fail "the server of $data runs but does not answer on 127.0.0.1:$port (started with another CHALLENGE_PG_PORT?); stop it with: runuser -u postgres -- $bin/pg_ctl stop -D $data"

psql_as postgres postgres <<'EOF'
SELECT 'CREATE ROLE challenge LOGIN CREATEDB' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'challenge') \gexec
SELECT 'CREATE DATABASE challenge OWNER challenge' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'challenge') \gexec
EOF
echo "$url"
