#!/usr/bin/env bash
# Real Neo4j Community 5.26 LTS for tests and CI, from Maven Central (no Docker needed).
#
#   scripts/neo4j_server.sh fetch            # mvn dependency:copy-dependencies into scripts/neo4j/lib, compile the launcher
#   scripts/neo4j_server.sh start [PORT]     # start with Bolt on 127.0.0.1:PORT (default 7687), auth off; waits for Bolt
#   scripts/neo4j_server.sh stop             # stop the server started by `start` (by PID)
#   scripts/neo4j_server.sh status
#
# Data, logs and the PID file live in $NEO4J_RUN_DIR (default scripts/neo4j/run). `start` prints
# the Bolt URI on its last line. Needs Java 17+ and Maven.
# Auth is off, so the server is locked down instead: Bolt listens on 127.0.0.1 only, and LOAD CSV
# can read no local file and fetch no URL (see scripts/neo4j/GraphrecNeo4j.java).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
base="$here/neo4j"
lib="$base/lib"
classes="$base/classes"
run="${NEO4J_RUN_DIR:-$base/run}"
pidfile="$run/neo4j.pid"
heap="${NEO4J_HEAP:-1g}"
conf="${NEO4J_CONF:-$base/neo4j.conf}"

fetch() {
  if [ ! -f "$lib/.complete" ]; then
    command -v mvn >/dev/null || { echo "neo4j_server.sh: Maven (mvn) is needed to fetch Neo4j jars" >&2; exit 3; }
    rm -rf "$lib"
    mvn -q -B -f "$base/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" -DincludeScope=runtime >&2
    touch "$lib/.complete"
  fi
  if [ ! -f "$classes/GraphrecNeo4j.class" ] || [ "$base/GraphrecNeo4j.java" -nt "$classes/GraphrecNeo4j.class" ]; then
    command -v javac >/dev/null || { echo "neo4j_server.sh: a JDK (javac) is needed" >&2; exit 3; }
    mkdir -p "$classes"
    javac -d "$classes" -cp "$lib/*" "$base/GraphrecNeo4j.java" >&2
  fi
}

alive() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

bolt_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  local port="${1:-7687}"
  fetch
  if alive; then echo "neo4j_server.sh: already running (pid $(cat "$pidfile"))" >&2; cat "$run/uri"; return 0; fi
  if bolt_up "$port"; then echo "neo4j_server.sh: port $port is already in use; pass another port" >&2; exit 4; fi
  mkdir -p "$run"
  echo "bolt://127.0.0.1:$port" > "$run/uri"
  nohup java "-Xmx$heap" ${NEO4J_JAVA_OPTS:-} -cp "$lib/*:$classes" GraphrecNeo4j "$run/home" "$port" "$conf" > "$run/neo4j.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 180); do
    if ! alive; then echo "neo4j_server.sh: Neo4j exited during start-up; log:" >&2; tail -30 "$run/neo4j.log" >&2; exit 5; fi
    if grep -q "bolt listening" "$run/neo4j.log" && bolt_up "$port"; then
      echo "neo4j_server.sh: Neo4j $(basename "$(ls "$lib"/neo4j-kernel-[0-9]*.jar)" .jar | sed 's/neo4j-kernel-//') up, pid $(cat "$pidfile")" >&2
      echo "bolt://127.0.0.1:$port"
      return 0
    fi
    sleep 1
  done
  echo "neo4j_server.sh: Bolt did not answer on port $port within 180 s; log:" >&2
  tail -30 "$run/neo4j.log" >&2
  stop
  exit 6
}

stop() {
  if ! [ -f "$pidfile" ]; then echo "neo4j_server.sh: not running" >&2; return 0; fi
  local pid; pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then echo "neo4j_server.sh: pid $pid ignored SIGTERM; killing" >&2; kill -KILL "$pid"; fi
  fi
  rm -f "$pidfile"
  echo "neo4j_server.sh: stopped (pid $pid)" >&2
}

case "${1:-}" in
  fetch) fetch ;;
  start) shift; start "$@" ;;
  stop) stop ;;
  status) if alive; then echo "running pid $(cat "$pidfile") $(cat "$run/uri")"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 fetch|start [PORT]|stop|status" >&2; exit 2 ;;
esac
