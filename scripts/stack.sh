# The local stack's parts, for scripts/up.sh and the measuring scripts:
# port checks, a supervisor that restarts what exits, and how to start the
# broker (with its SQLite or PostgreSQL storage) and ClickHouse as user
# processes. Sourced after lib.sh; expects $STATE.

# Fails, naming the holder, when a TCP port on loopback is already taken:
# a second stack (or a leftover process) must be stopped first, not fought.
require_free_port() {
  local port=$1 what=$2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    local holder
    holder="$(ss -ltnpH "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -1)"
    die "port $port ($what) is already in use${holder:+ by $holder}: stop that process, or choose another port (see the PMOC_*_PORT variables at the top of scripts/up.sh)"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Waits until a command succeeds, up to $1 seconds, re-checking often.
wait_until() {
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not become ready in ${limit}s (logs in $STATE/log)"
    sleep 0.2
  done
}

say() { printf '%s %s\n' "$(date '+%H:%M:%S')" "$*" | tee -a "$STATE/log/supervisor.log" >&2; }

# supervise NAME COMMAND...: runs COMMAND (output to $STATE/log/NAME.log) and
# starts it again whenever it exits, after 1, 2, 4 ... 30 s (back to 1 s
# once it has stayed up a minute), logging each restart. Run it in the
# background; TERM stops the command (TERM, then KILL after 5 s) and the loop.
supervise() {
  local name=$1; shift
  local delay=1 child="" stopping=0
  trap 'stopping=1; [[ -n $child ]] && stop_child "$child"; exit 0' TERM INT
  while ((!stopping)); do
    local started=$SECONDS
    "$@" >>"$STATE/log/$name.log" 2>&1 &
    child=$!
    echo "$child" >"$STATE/run/$name.pid"
    local status=0
    wait "$child" || status=$?
    child=""
    # Ctrl-C reaches every process of the terminal at once: a process that
    # ended with the whole stack is not restarted.
    sleep 0.3
    [[ -e $STATE/run/stopping ]] && break
    ((SECONDS - started >= 60)) && delay=1
    say "$name exited with status $status; restarting in ${delay}s (log: $STATE/log/$name.log)"
    sleep "$delay" & wait $! || true
    delay=$((delay * 2 > 30 ? 30 : delay * 2))
  done
}

# TERM, then KILL if it has not gone in 5 s.
stop_child() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || return 0
  local i
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "pid $pid did not stop within 5 s of SIGTERM; killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

# Runs a command as the postgres user when we are root (PostgreSQL refuses
# to run as root), as ourselves otherwise.
as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_bin() { echo "/usr/lib/postgresql/$(ls /usr/lib/postgresql | sort -n | tail -1)/bin/$1"; }

# Where the PostgreSQL cluster of state folder $1 lives. As root it runs
# as the postgres user, which cannot enter /root: then its data goes under
# that user's home, one folder per state folder.
postgres_dir() {
  local state=$1
  if [[ $(id -u) -eq 0 ]]; then
    echo "$(getent passwd postgres | cut -d: -f6)/pmoc-$(realpath -m "$state" | md5sum | cut -c1-12)"
  else
    echo "$state/postgres"
  fi
}

# Creates a PostgreSQL cluster in $1 once (trust on loopback only).
postgres_init() {
  local dir=$1
  [[ -f $dir/PG_VERSION ]] && return 0
  mkdir -p "$dir"
  [[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
  chmod 700 "$dir"
  as_postgres "$(pg_bin initdb)" -D "$dir" -U postgres -A trust >/dev/null
}

# Runs PostgreSQL in the foreground on 127.0.0.1:$2 (for `supervise`).
run_postgres() {
  local dir=$1 port=$2
  exec_as_postgres "$(pg_bin postgres)" -D "$dir" -p "$port" -k "$dir" -c listen_addresses=127.0.0.1
}

exec_as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then exec runuser -u postgres -- "$@"; else exec "$@"; fi
}

# The broker's storage URL, creating the PostgreSQL database when needed.
broker_storage_url() {
  local storage=$1 pg_port=${2:-}
  case $storage in
    sqlite) echo "sqlite://pmoc.db" ;;
    postgres)
      as_postgres "$(pg_bin psql)" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'pmoc'" | grep -q 1 \
        || as_postgres "$(pg_bin createdb)" -h 127.0.0.1 -p "$pg_port" -U postgres pmoc
      echo "postgres://postgres:postgres@127.0.0.1:$pg_port/pmoc" ;;
    *) die "unknown broker storage $storage (sqlite or postgres)" ;;
  esac
}

# Runs the broker in the foreground on 127.0.0.1:$1 with storage $2, from
# $STATE/broker, against which both brokers resolve sqlite:// paths.
run_broker() {
  local port=$1 url=$2
  cd "$STATE/broker"
  exec "$(broker_binary)" broker --cluster-id pmoc \
    --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine "$url"
}
