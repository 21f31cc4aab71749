# shellcheck shell=bash
#
# A MongoDB-compatible server for the test run, sourced by .ci/run.
#
# No MongoDB server can be installed where CI runs, so the tests talk to
# FerretDB 1.x: the MongoDB wire protocol over SQLite, built from its Go module.
#
#   mongo_install   build FerretDB into the user cache, once
#   mongo_start     start it on a free loopback port, export MONGO_URL
#   mongo_stop      stop what mongo_start started, remove its data
#
# When MONGO_URL is already set (a real MongoDB, say), mongo_start and
# mongo_stop leave it alone. The caller should run mongo_stop from an EXIT trap.

FERRETDB_VERSION=v1.24.2
FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/twofa/ferretdb-$FERRETDB_VERSION/ferretdb"

# Seconds mongo_start waits for the server to answer a ping.
MONGO_START_TIMEOUT="${MONGO_START_TIMEOUT:-30}"

_mongo_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_mongo_pid=""
_mongo_dir=""

_mongo_say () {
  echo "mongo: $*" >&2
}

# Builds FerretDB unless the cached binary exists. The module as published
# lacks build/version/version.txt, which the binary embeds and reads at start
# (a plain `go install` builds a binary that panics), so the build runs on a
# copy of the module with that file written.
mongo_install () {
  if [[ -x "$FERRETDB_BIN" ]]; then
    return 0
  fi
  if ! command -v go >/dev/null; then
    _mongo_say "go is needed to build FerretDB"
    return 1
  fi

  local module_dir work status=0
  module_dir="$(go mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" || true
  if [[ ! -d "$module_dir" ]]; then
    _mongo_say "could not download $FERRETDB_MODULE@$FERRETDB_VERSION"
    return 1
  fi

  work="$(mktemp -d "${TMPDIR:-/tmp}/twofa-ferretdb-build.XXXXXX")" || return 1
  cp -r "$module_dir" "$work/src" &&
    chmod -R u+w "$work/src" &&
    echo "$FERRETDB_VERSION" > "$work/src/build/version/version.txt" &&
    (cd "$work/src" && go build -buildvcs=false -o "$work/ferretdb" ./cmd/ferretdb) &&
    mkdir -p "$(dirname "$FERRETDB_BIN")" &&
    mv "$work/ferretdb" "$FERRETDB_BIN" || status=$?
  rm -rf "$work"

  if [[ $status -ne 0 ]]; then
    _mongo_say "building FerretDB $FERRETDB_VERSION failed"
    return 1
  fi
}

# Exit status 0 when a MongoDB server at $1 answers a ping within a second.
_mongo_ping () {
  node -e '
    const { MongoClient } = require(require.resolve("mongodb", { paths: [process.argv[2]] }))
    const client = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 1000 })
    client.db("admin").command({ ping: 1 })
      .then(() => client.close(), () => { process.exitCode = 1; return client.close() })
  ' "$1" "$_mongo_repo/packages/kit" 2>/dev/null
}

# The port FerretDB reports it listens on; it is started on port 0 so the
# kernel picks a free one and no other process can take it first.
_mongo_port () {
  sed -n 's/.*"msg":"Listening on TCP 127\.0\.0\.1:\([0-9]*\)\.\.\.".*/\1/p' "$_mongo_dir/ferretdb.log" | head -n 1
}

mongo_start () {
  if [[ -n "${MONGO_URL:-}" ]]; then
    return 0
  fi
  if [[ ! -x "$FERRETDB_BIN" ]]; then
    _mongo_say "FerretDB is not built: run mongo_install first"
    return 1
  fi
  if ! node -e 'require.resolve("mongodb", { paths: [process.argv[1]] })' "$_mongo_repo/packages/kit" 2>/dev/null; then
    _mongo_say "the mongodb driver is needed for the readiness ping: run pnpm install"
    return 1
  fi

  _mongo_dir="$(mktemp -d "${TMPDIR:-/tmp}/twofa-ferretdb.XXXXXX")" || return 1
  DO_NOT_TRACK=1 "$FERRETDB_BIN" \
    --handler=sqlite --sqlite-url="file:$_mongo_dir/" --state-dir="$_mongo_dir" \
    --listen-addr=127.0.0.1:0 --debug-addr=127.0.0.1:0 \
    --telemetry=disable --log-format=json \
    < /dev/null > "$_mongo_dir/ferretdb.log" 2>&1 &
  _mongo_pid=$!

  # `ferretdb ping` cannot serve here: without --setup-database it reports
  # success without connecting, and that flag requires authentication.
  local port="" deadline=$((SECONDS + MONGO_START_TIMEOUT + 1))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$_mongo_pid" 2>/dev/null; then
      _mongo_say "FerretDB exited at start; its log:"
      tail -n 20 "$_mongo_dir/ferretdb.log" >&2
      mongo_stop
      return 1
    fi
    [[ -n "$port" ]] || port="$(_mongo_port)"
    if [[ -n "$port" ]] && _mongo_ping "mongodb://127.0.0.1:$port/"; then
      export MONGO_URL="mongodb://127.0.0.1:$port/"
      return 0
    fi
    sleep 0.2
  done

  _mongo_say "FerretDB did not answer a ping within ${MONGO_START_TIMEOUT}s; its log:"
  tail -n 20 "$_mongo_dir/ferretdb.log" >&2
  mongo_stop
  return 1
}

# Stops the server mongo_start started (by its PID, nothing else) and removes
# its data. Waits up to ten seconds for a clean exit before killing it.
mongo_stop () {
  if [[ -n "$_mongo_pid" ]]; then
    kill "$_mongo_pid" 2>/dev/null || true
    local waited=0
    while kill -0 "$_mongo_pid" 2>/dev/null && ((waited < 50)); do
      sleep 0.2
      waited=$((waited + 1))
    done
    kill -9 "$_mongo_pid" 2>/dev/null || true
    wait "$_mongo_pid" 2>/dev/null || true
    _mongo_pid=""
    unset MONGO_URL
  fi

  if [[ -n "$_mongo_dir" ]]; then
    rm -rf "$_mongo_dir"
    _mongo_dir=""
  fi
  return 0
}
