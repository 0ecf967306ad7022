# Sourced by integration/pulsar/standalone.sh and integration/kafka/kraft.sh: the
# pid-file handling, start-up wait and jars of a broker JVM run in the background. The caller defines
# PID_FILE and log().

# pid_matching PATTERN: print the pid in PID_FILE if that process is alive and
# its command line matches PATTERN (a stale file may name a recycled pid).
pid_matching() {
  local pid
  [[ -f $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "$1" &&
    echo "$pid"
}

# stop_service PATTERN TIMEOUT: SIGTERM, wait up to TIMEOUT seconds, then
# SIGKILL. Idempotent.
stop_service() {
  local pid i
  if ! pid=$(pid_matching "$1"); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < $2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "no exit after ${2}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
  rm -f "$PID_FILE"
  log "stopped (pid $pid)"
}

# wait_ready PID TIMEOUT: wait until the caller's ready() succeeds, then log
# how long it took. If the process dies, or TIMEOUT seconds pass (then it is
# stopped), show its log and die. The caller defines ready(), show_log(),
# stop() and die().
wait_ready() {
  local pid=$1 t0=$SECONDS
  until ready; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_log
      rm -f "$PID_FILE"
      die "broker exited during start-up (log above)"
    fi
    if (( SECONDS - t0 >= $2 )); then
      show_log
      stop
      die "broker not ready after ${2}s (log above); stopped it"
    fi
    sleep 1
  done
  log "ready after $((SECONDS - t0))s"
}

# resolve_jars POM HOME LIB WHAT MVN_ARGS...: copy the runtime jars of the
# artifact POM pulls into LIB, once (a marker file means complete). Maven's
# output goes to HOME/mvn.log and is shown only on failure (-q still prints
# colour codes). The caller defines die().
resolve_jars() {
  local pom=$1 home=$2 lib=$3 what=$4
  shift 4
  [[ -f $lib/.complete ]] && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (needed once to download $what jars)"
  log "resolving $what jars from Maven Central into $lib (first time only)"
  rm -rf "$lib.tmp"
  mkdir -p "$home"
  mvn -B -q -f "$pom" "$@" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$lib.tmp" >"$home/mvn.log" 2>&1 || {
    cat "$home/mvn.log" >&2
    die "maven could not resolve $what"
  }
  rm -rf "$lib" && mv "$lib.tmp" "$lib" && touch "$lib/.complete"
}
