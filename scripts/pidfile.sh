# Sourced by the scripts that run a server in the background and know it by a pid file
# (kafka.sh, connect.sh). Each defines `pidfile`, `port`, `run`, `logfile` and `die` first.

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

# Waits up to $1 seconds for the command after $2 (what the server is called) to succeed; if the
# server exits meanwhile, prints the tail of its logs and dies.
await_ready() {
  local seconds=$1 name=$2
  shift 2
  for _ in $(seq 1 $((seconds * 2))); do
    "$@" && return 0
    running || { tail -n 30 "$run/stdout.log" "$logfile" 2>/dev/null >&2; die "$name exited during start-up (log above)"; }
    sleep 0.5
  done
  die "$name did not answer on 127.0.0.1:$port within $seconds s (scripts/$(basename "$0") logs)"
}

# Stops the server: SIGTERM, then SIGKILL if it is still there after 30 s. $1 names it in messages.
stop_server() {
  if ! running; then
    echo "$1: not running on port $port"
    rm -f "$pidfile"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  kill "$pid"
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "$1: stopped"; return 0; }
    sleep 0.5
  done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$1: killed after 30 s"
}

# kill -9, keeping the server's data: `up` starts it again.
kill_server() {
  running || die "not running on port $port"
  kill -9 "$(cat "$pidfile")"
  while running; do sleep 0.1; done
  rm -f "$pidfile"
  echo "$1: killed"
}
