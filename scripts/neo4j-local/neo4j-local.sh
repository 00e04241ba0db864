#!/usr/bin/env bash
# neo4j-local.sh — run a local Neo4j Community server (embedded DBMS + Bolt + HTTP) without Docker.
#
#   neo4j-local.sh start [--port N] [--http-port N|off]
#                         fetch jars (first time only), start in background, wait for Bolt and HTTP;
#                         HTTP serves the discovery document at /, the HTTP API and Neo4j Browser
#                         at /browser/ (see README.md beside this script)
#   neo4j-local.sh stop   SIGTERM, wait for a clean shutdown, remove the PID file
#   neo4j-local.sh status exit 0 if running, 3 if not
#   neo4j-local.sh import [--database NAME] [--overwrite] IMPORTER-OPTIONS...
#                         Neo4j's offline importer (neo4j-admin database import full) into this
#                         data dir's database NAME (default: neo4j, the one user database of
#                         Community); the server must be stopped. --overwrite replaces an existing
#                         database. IMPORTER-OPTIONS: --nodes=Label=FILES, --relationships=TYPE=FILES,
#                         --input-type=parquet, --max-off-heap-memory=2G, ... (see import --help)
#   neo4j-local.sh admin ARGS...
#                         any neo4j-admin command on this data dir, e.g. `admin database info`
#
# Environment:
#   TOPOGRAPH_CACHE      cache root (default $HOME/.cache/topograph); jars go to
#                        $TOPOGRAPH_CACHE/neo4j-<version>/lib and are reused
#   NEO4J_DATA_DIR       database home (data/, logs/, PID and log file);
#                        default $TOPOGRAPH_CACHE/neo4j-<version>/data
#   NEO4J_BOLT_PORT      default Bolt port when --port is not given (default 7687)
#   NEO4J_HTTP_PORT      default HTTP port when --http-port is not given (default 7474; off: none)
#   NEO4J_BROWSER        on (default): serve Neo4j Browser at /browser/ (its jar is fetched once);
#                        off: the HTTP API only
#   NEO4J_TX_LOG_RETENTION   db.tx_log.rotation.retention_policy (default "2 files"): transaction
#                        logs kept beyond what recovery needs; Neo4j's own default, "2 days", kept
#                        12 GB of logs beside an 853 MB store after an hour of ingests
#   NEO4J_TX_LOG_ROTATION_SIZE  db.tx_log.rotation.size (default 64M; Neo4j's: 256M)
#   NEO4J_CHECKPOINT_INTERVAL   db.checkpoint.interval.time (default 1m; Neo4j's: 15m): logs are
#                        pruned only at a checkpoint, and Community checkpoints by time (or every
#                        100,000 transactions), never by log volume
#   NEO4J_TX_LOG_PREALLOCATE    db.tx_log.preallocate (default true): preallocate each log file
#                        (one rotation size); false for throw-away data dirs
#   NEO4J_PASSWORD       if set: auth enabled, initial password of user 'neo4j' (min. 8 chars);
#                        applied on the first start with a password for that data dir only
#   NEO4J_HEAP           JVM heap (-Xms/-Xmx), default 2g
#   NEO4J_HEAP_YOUNG     G1 young generation (-Xmn), default half the heap; "auto": G1 sizes it.
#                        Ingest allocates short-lived transaction state: with 1g and G1's own
#                        sizing, GC took a third of the server's CPU; 2g with 1g young, 3%
#   NEO4J_PAGECACHE      page cache size, default 512m
#   NEO4J_START_TIMEOUT  seconds to wait for Bolt (default 120)
#   NEO4J_STOP_TIMEOUT   seconds to wait for a clean shutdown (default 60)
#   NEO4J_CONF_FILE      extra Neo4j settings, neo4j.conf format (default: $NEO4J_DATA_DIR/neo4j.conf
#                        if present); they win over the generated $NEO4J_DATA_DIR/neo4j-local.conf
#                        (written on every start and import from the variables above)
#   NEO4J_JAVA_OPTS      extra JVM options
#   NEO4J_ADMIN_HEAP     JVM heap of import/admin (default 2g: with 1g the importer warned it may
#                        be too small for a 60M-edge archive; it works off-heap besides, see
#                        its --max-off-heap-memory, default 90% of free memory)
#   NEO4J_MVN_ARGS       extra mvn options for the one-time fetch (e.g. -o, -Dmaven.repo.local=DIR)
# Requires Java 17 or 21 and, for the first start only, Maven.
set -euo pipefail

NEO4J_VERSION="5.26.30"   # pinned; must match compose.yml
# Neo4j Browser: Maven has no org.neo4j.client:neo4j-browser for 5.26.x (its newest is
# 5.24.0, September 2024; the 5.26 distributions bundle a newer Browser that is not published
# there). 5.24.0 is the Browser closest to this server that Maven serves; it talks Bolt 5 to it.
BROWSER_VERSION="5.24.0"
# The importer's Parquet input (--input-type=parquet) needs four jars that the server's
# dependency set leaves out; fetched on the first Parquet import only.
PARQUET_EXTRAS="com.fasterxml.woodstox:woodstox-core:5.4.0 org.codehaus.woodstox:stax2-api:4.2.1
org.apache.commons:commons-collections4:4.4 org.apache.hadoop.thirdparty:hadoop-shaded-guava:1.5.0"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${TOPOGRAPH_CACHE:-$HOME/.cache/topograph}"
DIST_DIR="$CACHE_ROOT/neo4j-$NEO4J_VERSION"
LIB_DIR="$DIST_DIR/lib"
DATA_DIR="${NEO4J_DATA_DIR:-$DIST_DIR/data}"
PID_FILE="$DATA_DIR/neo4j-local.pid"
PORT_FILE="$DATA_DIR/neo4j-local.port"
HTTP_PORT_FILE="$DATA_DIR/neo4j-local.http-port"
GEN_CONF="$DATA_DIR/neo4j-local.conf"
BROWSER_DIR="$CACHE_ROOT/neo4j-browser-$BROWSER_VERSION"
EXTRAS_DIR="$DIST_DIR/import-extras"
LOG_FILE="$DATA_DIR/neo4j-local.log"
HOST="127.0.0.1"
HEAP="${NEO4J_HEAP:-2g}"
START_TIMEOUT="${NEO4J_START_TIMEOUT:-120}"
STOP_TIMEOUT="${NEO4J_STOP_TIMEOUT:-60}"
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi
if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/javac" ]]; then JAVAC="$JAVA_HOME/bin/javac"; else JAVAC="javac"; fi

die() { echo "neo4j-local: error: $*" >&2; exit 1; }
say() { echo "neo4j-local: $*"; }

usage() {
    echo "usage: $(basename "$0") start [--port N] [--http-port N|off] | stop | status" >&2
    echo "       $(basename "$0") import [--database NAME] [--overwrite] IMPORTER-OPTIONS... | admin ARGS..." >&2
    exit 2
}

# PID from the PID file if that process is alive and is our launcher; empty otherwise.
running_pid() {
    [[ -f "$PID_FILE" ]] || return 0
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    if [[ -r "/proc/$pid/cmdline" ]] && ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "Launcher"; then
        return 0   # PID reused by another program
    fi
    echo "$pid"
}

valid_port() { [[ "$1" =~ ^[0-9]+$ && "$1" -ge 1 && "$1" -le 65535 ]]; }

http_ready() {  # the discovery document at / names the Bolt address
    local resp
    resp="$(
        exec 3<>"/dev/tcp/$HOST/$1" || exit 1
        printf 'GET / HTTP/1.0\r\nHost: %s:%s\r\nAccept: application/json\r\n\r\n' "$HOST" "$1" >&3
        timeout 3 cat <&3
    )" 2>/dev/null || return 1
    [[ "$resp" == *'"bolt_direct"'* ]]
}

port_open() {   # plain TCP connect
    (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

bolt_ready() {  # Bolt handshake: magic 0x6060B017, offer 5.0-5.8 and 4.4; any non-zero answer = ready
    local resp
    resp="$(
        exec 3<>"/dev/tcp/$HOST/$1" || exit 1
        printf '\x60\x60\xb0\x17\x00\x08\x08\x05\x00\x00\x04\x04\x00\x00\x00\x00\x00\x00\x00\x00' >&3
        timeout 3 head -c 4 <&3 | od -An -tx1 | tr -d ' \n'
    )" 2>/dev/null || return 1
    [[ ${#resp} -eq 8 && "$resp" != "00000000" ]]
}

check_java() {
    command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Java 17 or 21 required)"
    local v
    v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    [[ -n "$v" && "$v" -ge 17 ]] || die "Java 17 or 21 required (found: ${v:-unknown})"
}

fetch_lib() {
    [[ -f "$LIB_DIR/.complete" ]] && return 0
    command -v mvn >/dev/null 2>&1 || die "mvn not found; it is needed once to fetch Neo4j $NEO4J_VERSION"
    mkdir -p "$DIST_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$DIST_DIR/.fetch.lock"
        flock 9
        if [[ -f "$LIB_DIR/.complete" ]]; then exec 9>&-; return 0; fi
    fi
    say "fetching Neo4j $NEO4J_VERSION jars with mvn into $LIB_DIR (one time)"
    local tmp="$DIST_DIR/lib.tmp.$$"
    rm -rf "$tmp"
    # shellcheck disable=SC2086
    if ! mvn -B -q -f "$SCRIPT_DIR/pom.xml" ${NEO4J_MVN_ARGS:-} \
            -Dneo4j.version="$NEO4J_VERSION" -DincludeScope=runtime \
            -DoutputDirectory="$tmp" dependency:copy-dependencies >"$DIST_DIR/mvn.log" 2>&1; then
        rm -rf "$tmp"
        die "mvn could not fetch Neo4j $NEO4J_VERSION (see $DIST_DIR/mvn.log)"
    fi
    ls "$tmp"/neo4j-"$NEO4J_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "fetch incomplete (see $DIST_DIR/mvn.log)"; }
    touch "$tmp/.complete"
    rm -rf "$LIB_DIR"
    mv "$tmp" "$LIB_DIR"
    exec 9>&- 2>/dev/null || true   # release the lock; the server must not inherit it
}

# How to run Launcher.java (sets LAUNCHER_CP, LAUNCHER_MAIN): compiled once into the cache (per content of the source) when a JDK
# is there, which saves ~10 s of every start on a busy 2-core machine; else as a source program.
launcher_main() {
    local sum dir tmp
    sum="$(cksum <"$SCRIPT_DIR/Launcher.java" | cut -d' ' -f1)"
    dir="$DIST_DIR/launcher-$sum"
    if [[ ! -f "$dir/Launcher.class" ]] && command -v "$JAVAC" >/dev/null 2>&1; then
        tmp="$dir.tmp.$$"
        rm -rf "$tmp"
        if "$JAVAC" -nowarn --release 17 -cp "$LIB_DIR/*" -d "$tmp" "$SCRIPT_DIR/Launcher.java" >/dev/null 2>&1; then
            rm -rf "$dir"; mv "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
        else
            rm -rf "$tmp"
        fi
    fi
    if [[ -f "$dir/Launcher.class" ]]; then
        LAUNCHER_CP=":$dir"; LAUNCHER_MAIN="Launcher"
    else
        LAUNCHER_CP=""; LAUNCHER_MAIN="$SCRIPT_DIR/Launcher.java"
    fi
}

# Artifacts into DIR (with a .complete marker) by mvn; returns 1 instead of dying.
fetch_artifact() {
    local dir="$1"; shift
    [[ -f "$dir/.complete" ]] && return 0
    command -v mvn >/dev/null 2>&1 || return 1
    mkdir -p "$(dirname "$dir")"
    local tmp="$dir.tmp.$$" a
    rm -rf "$tmp"; mkdir -p "$tmp"
    for a in "$@"; do
        # shellcheck disable=SC2086
        if ! mvn -B -q -f "$SCRIPT_DIR/pom.xml" ${NEO4J_MVN_ARGS:-} -Dartifact="$a" \
                -DoutputDirectory="$tmp" dependency:copy >>"$dir.mvn.log" 2>&1; then
            rm -rf "$tmp"
            return 1
        fi
    done
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
}

fetch_browser() {   # class path entry for Neo4j Browser, or nothing
    [[ "${NEO4J_BROWSER:-on}" == "off" ]] && return 0
    if [[ ! -f "$BROWSER_DIR/.complete" ]]; then
        say "fetching Neo4j Browser $BROWSER_VERSION with mvn into $BROWSER_DIR (one time)" >&2
        if ! fetch_artifact "$BROWSER_DIR" "org.neo4j.client:neo4j-browser:$BROWSER_VERSION"; then
            say "warning: could not fetch Neo4j Browser (see $BROWSER_DIR.mvn.log); serving the HTTP API only" >&2
            return 0
        fi
    fi
    echo ":$BROWSER_DIR/*"
}

# The config this script owns, written on every start and import. $NEO4J_CONF_FILE (or the
# data dir's neo4j.conf) is loaded after it and wins.
write_conf() {
    mkdir -p "$DATA_DIR"
    local retention="${NEO4J_TX_LOG_RETENTION:-2 files}"
    local rotation="${NEO4J_TX_LOG_ROTATION_SIZE:-64M}"
    local prealloc="${NEO4J_TX_LOG_PREALLOCATE:-true}"
    local interval="${NEO4J_CHECKPOINT_INTERVAL:-1m}"
    [[ "$prealloc" == "true" || "$prealloc" == "false" ]] || die "NEO4J_TX_LOG_PREALLOCATE must be true or false"
    cat >"$GEN_CONF.tmp" <<CONF_EOF
# Written by neo4j-local.sh on every start and import: do not edit (edit neo4j.conf beside it,
# or the file named by NEO4J_CONF_FILE; its settings win).
#
# Transaction logs: a development server needs none for backups. At each checkpoint Neo4j
# prunes the log files beyond those the retention policy names, but always keeps what recovery
# needs (everything since the last checkpoint). Neo4j's own defaults (keep "2 days", checkpoint
# every 15m; Community does not checkpoint by log volume) kept 12 GB of logs beside an 853 MB
# store after one hour of ingests. Here: the 2 newest 64 MiB files beyond the last checkpoint,
# and a checkpoint (a page cache flush) at most every minute.
db.tx_log.rotation.retention_policy=$retention
db.tx_log.rotation.size=$rotation
db.tx_log.preallocate=$prealloc
db.checkpoint.interval.time=$interval
CONF_EOF
    mv "$GEN_CONF.tmp" "$GEN_CONF"
}

user_conf() {   # the user's extra settings file, if any
    if [[ -n "${NEO4J_CONF_FILE:-}" ]]; then
        [[ -f "$NEO4J_CONF_FILE" ]] || die "NEO4J_CONF_FILE not found: $NEO4J_CONF_FILE"
        echo "$NEO4J_CONF_FILE"
    elif [[ -f "$DATA_DIR/neo4j.conf" ]]; then
        echo "$DATA_DIR/neo4j.conf"
    fi
}

cmd_start() {
    local port="${NEO4J_BOLT_PORT:-7687}"
    local http_port="${NEO4J_HTTP_PORT:-7474}"
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --port) [[ $# -ge 2 ]] || usage; port="$2"; shift 2 ;;
            --port=*) port="${1#--port=}"; shift ;;
            --http-port) [[ $# -ge 2 ]] || usage; http_port="$2"; shift 2 ;;
            --http-port=*) http_port="${1#--http-port=}"; shift ;;
            *) usage ;;
        esac
    done
    valid_port "$port" || die "invalid port: $port"
    [[ "$http_port" == "off" ]] || valid_port "$http_port" || die "invalid HTTP port: $http_port"
    [[ "$http_port" != "$port" ]] || die "Bolt and HTTP need different ports ($port)"

    local pid
    pid="$(running_pid)"
    if [[ -n "$pid" ]]; then
        say "already running (pid $pid, bolt://$HOST:$(cat "$PORT_FILE" 2>/dev/null || echo '?'), data $DATA_DIR)"
        exit 0
    fi
    rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"

    check_java
    fetch_lib
    port_open "$port" && die "port $port on $HOST is already in use"
    local cp="$LIB_DIR/*" http_args=()
    if [[ "$http_port" != "off" ]]; then
        port_open "$http_port" && die "HTTP port $http_port on $HOST is already in use (--http-port N, or off)"
        cp+="$(fetch_browser)"
        http_args=(--http-port "$http_port")
    fi
    write_conf
    launcher_main
    local offset
    echo "=== $(date '+%Y-%m-%d %H:%M:%S') start neo4j $NEO4J_VERSION on $HOST:$port (http: $http_port)" >>"$LOG_FILE"
    offset=$(( $(wc -c <"$LOG_FILE") + 1 ))

    # shellcheck disable=SC2086
    local young="${NEO4J_HEAP_YOUNG:-}" young_opt=()
    if [[ -z "$young" && "$HEAP" =~ ^([0-9]+)([gGmM])$ ]]; then
        local mib="${BASH_REMATCH[1]}"
        [[ "${BASH_REMATCH[2]}" == [gG] ]] && mib=$(( mib * 1024 ))
        young="$(( mib / 2 ))m"
    fi
    if [[ -n "$young" && "$young" != "auto" ]]; then young_opt=(-Xmn"$young"); fi
    nohup "$JAVA" -Xms"$HEAP" -Xmx"$HEAP" "${young_opt[@]}" \
        -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow -XX:+DisableExplicitGC \
        -XX:+UnlockExperimentalVMOptions -XX:+TrustFinalNonStaticFields \
        --add-opens=java.base/java.nio=ALL-UNNAMED \
        --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
        -Djdk.nio.maxCachedBufferSize=1024 -Dio.netty.tryReflectionSetAccessible=true \
        -Dlog4j2.disable.jmx=true -Dfile.encoding=UTF-8 \
        ${NEO4J_JAVA_OPTS:-} \
        -cp "$cp$LAUNCHER_CP" "$LAUNCHER_MAIN" --home "$DATA_DIR" --port "$port" --address "$HOST" \
        "${http_args[@]}" --conf "$GEN_CONF" \
        </dev/null >>"$LOG_FILE" 2>&1 &
    pid=$!
    echo "$pid" >"$PID_FILE"
    echo "$port" >"$PORT_FILE"
    [[ "$http_port" == "off" ]] || echo "$http_port" >"$HTTP_PORT_FILE"

    local deadline=$(( SECONDS + START_TIMEOUT ))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"
            local why
            why="$(tail -c +"$offset" "$LOG_FILE" | grep -m1 -E 'ERROR|Exception' | cut -c1-200 || true)"
            die "server exited during startup${why:+: $why} (log: $LOG_FILE)"
        fi
        if tail -c +"$offset" "$LOG_FILE" | grep -q '^\[neo4j-local\] READY' && bolt_ready "$port" \
                && { [[ "$http_port" == "off" ]] || http_ready "$http_port"; }; then
            local web=""
            if [[ "$http_port" != "off" ]]; then
                if [[ "$cp" == *neo4j-browser* ]]; then web=", browser http://$HOST:$http_port/browser/"
                else web=", http://$HOST:$http_port (no Browser)"; fi
            fi
            say "started (pid $pid, bolt://$HOST:$port$web, auth $([[ -n "${NEO4J_PASSWORD:-}" ]] && echo on || echo off), data $DATA_DIR, log $LOG_FILE)"
            exit 0
        fi
        if (( SECONDS >= deadline )); then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"
            die "Bolt/HTTP did not come up on $HOST:$port/$http_port within ${START_TIMEOUT}s (log: $LOG_FILE)"
        fi
        sleep 0.5
    done
}

cmd_stop() {
    local pid
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"
        say "not running"
        exit 0
    fi
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$(( SECONDS + STOP_TIMEOUT ))
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            kill -KILL "$pid" 2>/dev/null || true
            rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"
            die "pid $pid did not stop within ${STOP_TIMEOUT}s; killed (store will recover on next start)"
        fi
        sleep 0.3
    done
    rm -f "$PID_FILE" "$PORT_FILE" "$HTTP_PORT_FILE"
    say "stopped (pid $pid)"
}

cmd_status() {
    local pid port
    pid="$(running_pid)"
    if [[ -z "$pid" ]]; then
        say "not running (data $DATA_DIR)"
        exit 3
    fi
    port="$(cat "$PORT_FILE" 2>/dev/null || echo 7687)"
    local http=""
    [[ -f "$HTTP_PORT_FILE" ]] && http=", http://$HOST:$(cat "$HTTP_PORT_FILE")"
    if bolt_ready "$port"; then
        say "running (pid $pid, bolt://$HOST:$port$http, data $DATA_DIR)"
    else
        say "process $pid alive but Bolt on $HOST:$port not answering (log: $LOG_FILE)"
        exit 1
    fi
}

# neo4j-admin from the same jars: org.neo4j.cli.AdminTool is the class bin/neo4j-admin runs (the
# distribution goes through a bootloader that only adds JVM options). NEO4J_HOME is the data
# dir, so the importer writes data/databases/<name> where the server looks; NEO4J_CONF holds the
# generated config followed by the user's settings.
run_admin() {   # run_admin EXTRA_CLASSPATH ARGS...
    local extra="$1"; shift
    local conf_dir="$DATA_DIR/.admin-conf" uc
    mkdir -p "$conf_dir"
    cp "$GEN_CONF" "$conf_dir/neo4j.conf"
    uc="$(user_conf)"
    if [[ -n "$uc" ]]; then { echo; cat "$uc"; } >>"$conf_dir/neo4j.conf"; fi
    # shellcheck disable=SC2086
    NEO4J_HOME="$DATA_DIR" NEO4J_CONF="$conf_dir" "$JAVA" -Xmx"${NEO4J_ADMIN_HEAP:-2g}" \
        -XX:+UseG1GC -XX:-OmitStackTraceInFastThrow \
        --add-opens=java.base/java.nio=ALL-UNNAMED \
        --add-opens=java.base/java.io=ALL-UNNAMED \
        --add-opens=java.base/sun.nio.ch=ALL-UNNAMED \
        -Dfile.encoding=UTF-8 ${NEO4J_JAVA_OPTS:-} \
        -cp "$LIB_DIR/*$extra" org.neo4j.cli.AdminTool "$@"
}

cmd_admin() {
    [[ $# -ge 1 ]] || usage
    check_java
    fetch_lib
    write_conf
    run_admin "" "$@"
}

cmd_import() {
    local database="${NEO4J_DATABASE:-neo4j}" overwrite=false args=() extra="" a
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --database) [[ $# -ge 2 ]] || usage; database="$2"; shift 2 ;;
            --database=*) database="${1#--database=}"; shift ;;
            --overwrite) overwrite=true; shift ;;
            --overwrite-destination*) die "use --overwrite" ;;
            *) args+=("$1"); shift ;;
        esac
    done
    [[ ${#args[@]} -gt 0 ]] || die "import needs --nodes=... (and --relationships=...) options"
    [[ "$database" =~ ^[A-Za-z0-9][A-Za-z0-9.-]*$ ]] || die "invalid database name: $database"
    local pid; pid="$(running_pid)"
    [[ -z "$pid" ]] || die "the server of $DATA_DIR is running (pid $pid): stop it first; the importer writes the store offline"
    local store="$DATA_DIR/data/databases/$database"
    if [[ -d "$store" && -n "$(ls -A "$store" 2>/dev/null)" && "$overwrite" != true ]]; then
        die "database '$database' already exists in $DATA_DIR: --overwrite replaces it (its graph is lost)"
    fi
    check_java
    fetch_lib
    for a in "${args[@]}"; do
        if [[ "$a" == "--input-type=parquet" ]]; then
            if [[ ! -f "$EXTRAS_DIR/.complete" ]]; then
                say "fetching the importer's Parquet reader jars with mvn into $EXTRAS_DIR (one time)"
                # shellcheck disable=SC2086
                fetch_artifact "$EXTRAS_DIR" $PARQUET_EXTRAS || die "mvn could not fetch the Parquet reader's jars (see $EXTRAS_DIR.mvn.log)"
            fi
            extra=":$EXTRAS_DIR/*"
        fi
    done
    write_conf
    local t0=$SECONDS
    if [[ "$overwrite" == true ]]; then args=(--overwrite-destination=true "${args[@]}"); fi
    # The importer writes its report of bad rows into the current directory unless told.
    [[ " ${args[*]} " == *" --report-file"* ]] || args+=(--report-file="$DATA_DIR/import.report")
    local marker="$DATA_DIR/.import-started"
    touch "$marker"
    # The database name goes first: --nodes/--relationships take any number of file lists.
    if ! run_admin "$extra" database import full "$database" "${args[@]}"; then
        # A failed import leaves store files the importer itself calls unusable: remove them
        # when it wrote any, so that the next start creates an empty database instead.
        if [[ -n "$(find "$store" "$DATA_DIR/data/transactions/$database" -newer "$marker" 2>/dev/null | head -n1)" ]]; then
            rm -rf "$store" "$DATA_DIR/data/transactions/$database"
            say "removed the partly written database '$database'"
        fi
        rm -f "$marker"
        die "import into '$database' failed (see the importer's output above; --verbose says more)"
    fi
    rm -f "$marker"
    say "imported into database '$database' of $DATA_DIR in $(( SECONDS - t0 ))s; start the server to use it"
    if [[ "$database" != "neo4j" ]]; then
        say "note: Community serves one user database, fixed when the data dir is first started (initial.dbms.default_database)"
    fi
}

[[ $# -ge 1 ]] || usage
sub="$1"; shift
case "$sub" in
    start) cmd_start "$@" ;;
    stop) [[ $# -eq 0 ]] || usage; cmd_stop ;;
    status) [[ $# -eq 0 ]] || usage; cmd_status ;;
    import) cmd_import "$@" ;;
    admin) cmd_admin "$@" ;;
    *) usage ;;
esac
