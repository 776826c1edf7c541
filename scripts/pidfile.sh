# Sourced by the scripts that run a server in the background and know it by a pid file
# (kafka.sh, connect.sh). Each defines `pidfile` and `die` first.

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

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
