#!/usr/bin/env bash
# Run engine.io-client's own Node mocha suite (socket.io monorepo, packages/engine.io-client/test)
# against tether (tests/conformance/eio_client_suite_server.py, the server its hooks.js starts).
#
#   tests/conformance/run_eio_client_suite.sh SUITE_SRC [REF] [-- MOCHA_ARG...]
#
# SUITE_SRC: a git directory of github.com/socketio/socket.io (bare is fine); also read from
#   the environment. REF: the commit or tag whose test/ is run; by default the tag of the
#   client's release at HEAD (engine.io-client@X.Y.Z).
# The client under test is the npm-published engine.io-client of the version REF's package.json
# declares (its build/ is what the tests require as ".."), so the official client is tested
# with the official tests of the same release. Arguments after -- go to mocha (e.g.
# -- --grep maxHttpBufferSize).
#
# Environment:
#   PYTHON      interpreter for the fixture (default: .venv/bin/python, else python3)
#   VARIANT     default | fetch | builtin-ws (the package's test:node, test:node-fetch and
#               test:node-builtin-ws scripts; builtin-ws adds --experimental-websocket on Node 20)
#   KEEP_TMP=1  keep the temporary directory (its path is printed)
#
# Everything fetched goes to a temporary directory outside the repository. Done there:
# - test/support/hooks.js is not loaded: it starts Node's engine.io server (and a rollup build
#   for the browser tests); our fixture is started instead, on a free 127.0.0.1 port;
# - the suite's hard-coded port 3000 is replaced by $EIO_PORT (test/support/env.js,
#   test/node.js, test/fixtures/*.js); nothing else in the suite is changed;
# - mocha runs without --bail (every failure is reported) and with --exit (Node's afterAll
#   closed the server, and so the sockets some tests leave open; ours outlives mocha);
# - test/webtransport.mjs is not run: it starts its own Node engine.io server over HTTP/3 and
#   never contacts the server under test (tether has no WebTransport); browser runs (zuul,
#   test/blob, the worker and beforeunload tests) need a browser and are skipped by the suite
#   itself under Node.
# Exits with mocha's status (non-zero when a test fails).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SUITE_SRC=${SUITE_SRC:-}
REF=
if [[ $# -gt 0 && "$1" != -- ]]; then SUITE_SRC=$1; shift; fi
if [[ $# -gt 0 && "$1" != -- ]]; then REF=$1; shift; fi
if [[ $# -gt 0 ]]; then
    [[ "$1" == -- ]] || { echo "unexpected argument $1" >&2; exit 2; }
    shift
fi
mocha_args=("$@")
VARIANT=${VARIANT:-default}

if [[ -z "$SUITE_SRC" ]]; then
    echo "usage: $0 SUITE_SRC [REF] [-- MOCHA_ARG...]   (SUITE_SRC: a git dir of socketio/socket.io)" >&2
    exit 2
fi
git_src() { git --git-dir="$SUITE_SRC" "$@"; }
PKG=packages/engine.io-client

if [[ -z "$REF" ]]; then
    head_version=$(git_src show "HEAD:$PKG/package.json" | node -e \
        'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')
    REF="engine.io-client@$head_version"
    if ! git_src rev-parse -q --verify "refs/tags/$REF" >/dev/null; then
        echo "no tag $REF: using HEAD" >&2
        REF=HEAD
    fi
fi

if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$REPO/.venv/bin/python" ]]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
fi
if [[ "$PYTHON" == */* ]]; then # made absolute (a venv's python is kept as the link it is)
    PYTHON="$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")"
fi

case "$VARIANT" in
    default) variant_env=() ;;
    fetch) variant_env=(USE_FETCH=1) ;;
    builtin-ws)
        variant_env=(USE_BUILTIN_WS=1)
        # Node 20 has its WebSocket behind a flag (on by default from Node 22).
        if ! node -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)'; then
            variant_env+=(NODE_OPTIONS="--experimental-websocket ${NODE_OPTIONS:-}")
        fi
        ;;
    *) echo "VARIANT must be default, fetch or builtin-ws" >&2; exit 2 ;;
esac

TMP=$(mktemp -d "${TMPDIR:-/tmp}/eio-client-suite.XXXXXX")
case "$TMP/" in "$REPO"/*) echo "temporary dir $TMP is inside the repository" >&2; exit 2 ;; esac
SERVER_PID=
cleanup() {
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ "${KEEP_TMP:-}" == 1 ]]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

# -- the suite and the published client -------------------------------------------------------
commit=$(git_src rev-parse "$REF^{commit}")
echo "suite: $SUITE_SRC $REF ($commit)"
# A snapshot may lack blobs elsewhere in the tree (git archive then complains about them yet
# succeeds), so what was extracted is checked against the listing of the suite's files.
git_src archive "$commit" "$PKG/test" "$PKG/package.json" 2>"$TMP/archive.err" |
    tar -x -C "$TMP" --strip-components=2
listed=$(git_src ls-tree -r --name-only "$commit" -- "$PKG/test" "$PKG/package.json" | wc -l)
extracted=$(cd "$TMP" && find test package.json -type f | wc -l)
if [[ "$listed" != "$extracted" ]]; then
    echo "extracted $extracted of the suite's $listed files:" >&2
    cat "$TMP/archive.err" >&2
    exit 1
fi
git_src show "$commit:package.json" >"$TMP/monorepo-package.json"

cd "$TMP"
read_json() { node -p "require('./$1')$2"; }
version=$(read_json package.json .version)
dev_version() { read_json monorepo-package.json ".devDependencies['$1']"; }

tarball=$(npm pack "engine.io-client@$version" --silent --no-audit --no-fund)
mkdir published
tar -xzf "$tarball" -C published
packed=$(read_json published/package/package.json .version)
[[ "$packed" == "$version" ]] || { echo "npm gave engine.io-client $packed, not $version" >&2; exit 1; }
mv published/package/build build
echo "client: engine.io-client@$version from npm ($tarball)"

npm install --no-save --no-audit --no-fund --no-package-lock --silent \
    "mocha@$(dev_version mocha)" \
    "expect.js@$(dev_version expect.js)" \
    "@sinonjs/fake-timers@$(dev_version @sinonjs/fake-timers)"

# -- point the suite at our port --------------------------------------------------------------
patch_file() { # file, sed expression, expected number of changed lines
    local before
    before=$(cat "$1")
    sed -i -e "$2" "$1"
    local changed
    changed=$(diff <(echo "$before") "$1" | grep -c '^>' || true)
    if [[ "$changed" != "$3" ]]; then
        echo "patching $1 changed $changed lines, expected $3: the suite moved on" >&2
        exit 1
    fi
}
patch_file test/support/env.js 's/port: 3000,/port: Number(process.env.EIO_PORT),/' 1
url='s#"http://localhost:3000"#"http://localhost:" + process.env.EIO_PORT#'
patch_file test/node.js "$url" 2
for fixture in test/fixtures/*.js; do patch_file "$fixture" "$url" 1; done

# -- our server -------------------------------------------------------------------------------
PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}" PORT=0 \
    "$PYTHON" "$REPO/tests/conformance/eio_client_suite_server.py" >server.log 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -qx READY server.log && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat server.log >&2; exit 1; }
    sleep 0.1
done
grep -qx READY server.log || { echo "the fixture did not print READY" >&2; cat server.log >&2; exit 1; }
port=$(sed -n 's/^PORT //p' server.log)
echo "server: tether fixture on 127.0.0.1:$port (pid $SERVER_PID), variant $VARIANT"

# -- the suite --------------------------------------------------------------------------------
status=0
env "${variant_env[@]}" EIO_PORT="$port" ./node_modules/.bin/mocha --exit --reporter spec \
    "${mocha_args[@]}" test/index.js || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- server log (last 40 lines)" >&2
    tail -n 40 server.log >&2
fi
exit $status
