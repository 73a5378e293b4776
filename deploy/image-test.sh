#!/usr/bin/env bash
# The image and the compose stack on a real Docker engine, checked the way an operator would
# (docs/operations.md, section 3 and 4): `make image-test`, also run by .ci/run.
#
#  1. the engine: Debian's docker.io + docker-compose (v1) + debootstrap when missing; dockerd
#     started (overlay2) when not running; `docker compose` (v2) is used where installed;
#  2. the base image debian:bookworm-slim, built locally by deploy/base-image.sh when absent;
#  3. rotor's image (`docker build`, no useradd warning), the Python it ships (= the tests');
#  4. `docker run ... version`, a bind-mounted data directory owned by uid 10001;
#  5. the offline stack (rotor + PostgreSQL built from Debian's package + `rotor sim serve`):
#     healthy, ready, trading, its tables in PostgreSQL, uid 10001 under tini; `docker kill -s
#     USR2` flattens and HALTs; state survives `down` + `up`; `docker stop` exits 0 in < 30 s;
#  6. the replay demo (`docker run rotor:0.1.0 run --mode replay`) to its summary line.
# No registry but Debian's archive and PyPI is used. Every wait is bounded. Images are kept
# (the second run reuses the base image and the build cache); containers and volumes are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
WORK="${IMAGE_TEST_DIR:-/tmp/rotor-image-test}"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)"
TAG="rotor:$VERSION"
T0=$(date +%s)

step() { printf '\n== [%4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
fail() {
    echo "image-test: FAIL: $*" >&2
    if [ -n "${COMPOSE_DIR:-}" ]; then
        (cd "$COMPOSE_DIR" && compose "${STACK[@]}" logs --tail 40 >&2 2>&1) || true
    fi
    exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 2 s until it succeeds.
wait_for() {
    local limit=$1 what=$2 deadline=$(($(date +%s) + $1))
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "$what: not within ${limit}s"
        sleep 2
    done
}

# ------------------------------------------------------------------ 1. the engine
step "Docker engine"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    missing+=(docker-compose)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} from Debian's packages"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (log: /tmp/rotor-dockerd.log)"
    nohup dockerd --storage-driver=overlay2 >/tmp/rotor-dockerd.log 2>&1 &
    wait_for 60 "dockerd answering" docker info
fi
if docker compose version >/dev/null 2>&1; then
    compose() { docker compose "$@"; }
else
    compose() { docker-compose "$@"; }
fi
docker version --format 'engine {{.Server.Version}}, API {{.Server.APIVersion}}'
compose version | sed -n 1p

# ------------------------------------------------------------------ 2-3. images
step "base image"
deploy/base-image.sh debian:bookworm-slim

mkdir -p "$WORK"
step "docker build -t $TAG ."
docker build -t "$TAG" . >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log"; fail "build"; }
if grep -Ei "(useradd|groupadd).*warning" "$WORK/build.log"; then fail "useradd warned"; fi
echo "built $(docker image inspect --format '{{.Id}} {{.Size}}' "$TAG") bytes"

step "the image's Python is the tests' Python"
image_py=$(docker run --rm --entrypoint python3 "$TAG" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
test_py=$("${PYTHON:-$([ -x .venv/bin/python ] && echo .venv/bin/python || echo python3)}" \
    -c 'import sys; print("%d.%d" % sys.version_info[:2])')
echo "image $image_py, tests $test_py"
[ "$image_py" = "$test_py" ] || fail "image ships Python $image_py, tests run $test_py"

# ------------------------------------------------------------------ 4. docker run
step "docker run $TAG version"
out=$(docker run --rm "$TAG" version)
echo "$out"
[ "$out" = "rotor $VERSION" ] || fail "version printed '$out'"

step "the replay demo starts in the background (checked at the end)"
docker rm -f rotor-image-test-replay >/dev/null 2>&1 || true
docker run -d --name rotor-image-test-replay -e ROTOR__CONTROL__TOKEN=image-test "$TAG" \
    run --mode replay --preset rsi-reversion >/dev/null

step "a bind-mounted data directory must belong to uid 10001"
data="$WORK/bind-data"
rm -rf "$data" && mkdir -p "$data"
if docker run --rm -v "$data:/var/lib/rotor" -e ROTOR__CONTROL__TOKEN=image-test "$TAG" \
    db upgrade >"$WORK/bind-root.log" 2>&1; then
    fail "a root-owned bind mount was writable: the documented chown would be pointless"
fi
grep -qi "permission denied\|unable to open" "$WORK/bind-root.log" ||
    { cat "$WORK/bind-root.log"; fail "a root-owned bind mount failed for another reason"; }
chown 10001:10001 "$data"
docker run --rm -v "$data:/var/lib/rotor" -e ROTOR__CONTROL__TOKEN=image-test "$TAG" \
    db upgrade >"$WORK/bind.log" 2>&1 ||
    { cat "$WORK/bind.log"; fail "db upgrade on a bind mount owned by 10001"; }
[ -f "$data/var/rotor.db" ] || fail "no SQLite file in the bind mount"
echo "root-owned directory refused, owned by 10001: $data/var/rotor.db created"

# ------------------------------------------------------------------ 5. the offline stack
step "offline compose stack: rotor + PostgreSQL + rotor sim serve"
src="$WORK/src"
rm -rf "$src" && mkdir -p "$src"
# A copy of the checkout as an operator has it (without local state or secrets).
tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./var --exclude=./tests \
    --exclude=./deploy/secrets --exclude=./deploy/.env -cf - . | tar -C "$src" -xf -
COMPOSE_DIR="$src/deploy"
cd "$COMPOSE_DIR"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CONTROL_PORT=$(free_port)
SIM_PORT=$(free_port)
cp .env.example .env
# The simulator's manual clock (speed 0): the test moves it bar by bar, as fast as rotor cycles.
# It starts two days into the bundled sample (served to rotor as history): the demo preset's
# first entry on the sample comes a few bars later.
sim_start=$(docker run --rm --entrypoint /opt/rotor/bin/python "$TAG" -c 'import json, datetime as d, importlib.resources as r
m = json.loads(r.files("bot.data.sample_data").joinpath("sample_manifest.json").read_text())
print(d.datetime.fromtimestamp(m["start_ms"] / 1000 + 2 * 86400, d.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))')
echo "simulator: manual clock from $sim_start"
sed -i "s/^ROTOR_CONTROL_PORT=.*/ROTOR_CONTROL_PORT=$CONTROL_PORT/; s/^SIM_PORT=.*/SIM_PORT=$SIM_PORT/; s/^SIM_SPEED=.*/SIM_SPEED=0/; s/^SIM_START=.*/SIM_START=$sim_start/" .env
./make-secrets.sh >/dev/null
printf '%s' sim-key >secrets/exchange_api_key
printf '%s' sim-secret-123 >secrets/exchange_api_secret
# An operator's override file: the preset that trades on the bundled sample, a poll interval
# to match the fast simulated clock, and data counted fresh for 20 s (40 polls) since the
# clock only moves when the test advances it.
cat >docker-compose.override.yml <<'EOF'
services:
  rotor:
    environment:
      ROTOR__STRATEGY__PRESET: rsi-reversion
      ROTOR__EXCHANGE__POLL_INTERVAL_S: "0.5"
      ROTOR__RISK__STALE_AFTER_POLLS: "40"
EOF
STACK=(-f docker-compose.yml -f docker-compose.sim.yml -f docker-compose.override.yml)
compose "${STACK[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
compose "${STACK[@]}" build postgres >"$WORK/build-postgres.log" 2>&1 ||
    { tail -n 30 "$WORK/build-postgres.log"; fail "PostgreSQL image build"; }
compose "${STACK[@]}" up -d rotor >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "up"; }

status_json() { docker exec rotor rotor status --json; }
state_is() { status_json | python3 -c "import json,sys; sys.exit(json.load(sys.stdin)['state'] != '$1')"; }
psql_rotor() { docker exec rotor-postgres psql -U rotor -d rotor -tAc "$1"; }

wait_for 120 "rotor's control API answering" docker exec rotor rotor status --health
phase_is_running() { status_json | python3 -c "import json,sys; sys.exit(json.load(sys.stdin).get('phase') != 'running')"; }
wait_for 240 "rotor started (reconciled, backfilled)" phase_is_running
echo "started after $(($(date +%s) - T0))s"
wait_for 120 "HEALTHCHECK healthy" sh -c '[ "$(docker inspect -f "{{.State.Health.Status}}" rotor)" = healthy ]'
echo "health: $(docker inspect -f '{{.State.Health.Status}}' rotor)"

step "rotor runs as uid 10001 under tini (PID 1)"
pid1=$(docker exec rotor cat /proc/1/cmdline | tr '\0' ' ')
child=$(docker exec rotor cat /proc/1/task/1/children | awk '{print $1}')
child_cmd=$(docker exec rotor cat "/proc/$child/cmdline" | tr '\0' ' ')
child_uid=$(docker exec rotor awk '/^Uid:/ {print $2}' "/proc/$child/status")
echo "PID 1: $pid1; PID $child: $child_cmd(uid $child_uid)"
case "$pid1" in /usr/bin/tini\ --\ rotor\ run*) ;; *) fail "PID 1 is not tini: $pid1" ;; esac
case "$child_cmd" in *rotor\ run*) ;; *) fail "tini's child is not rotor run" ;; esac
[ "$child_uid" = 10001 ] || fail "rotor runs as uid $child_uid"

step "tables in PostgreSQL, trades against the simulator"
tables=$(psql_rotor "select count(*) from information_schema.tables where table_schema = 'public'")
echo "PostgreSQL: $tables tables in database rotor"
[ "$tables" -ge 5 ] || fail "rotor's tables are not in PostgreSQL"
# Advance the simulator one bar at a time; after rotor has cycled on it (its control API from
# the host, with the token), check readiness (/readyz: data fresh, database and venue
# reachable) and look for a filled order in PostgreSQL.
CONTROL_TOKEN="$(cat secrets/control_token)" python3 -u - "$SIM_PORT" "$CONTROL_PORT" <<'PY' ||
import json, os, subprocess, sys, time, urllib.error, urllib.request

sim, control = sys.argv[1:3]
token = os.environ["CONTROL_TOKEN"]
base = f"http://127.0.0.1:{control}"

def last_cycle():
    req = urllib.request.Request(f"{base}/status", headers={"Authorization": f"Bearer {token}"})
    return json.load(urllib.request.urlopen(req, timeout=10)).get("last_cycle") or 0

def ready():
    try:
        return urllib.request.urlopen(f"{base}/readyz", timeout=10).status == 200
    except urllib.error.HTTPError:
        return False

def filled():
    sql = "select count(*) from orders where status = 'FILLED'"
    out = subprocess.run(["docker", "exec", "rotor-postgres", "psql", "-U", "rotor", "-d",
                          "rotor", "-tAc", sql], capture_output=True, text=True, check=True)
    return int(out.stdout.strip() or 0)

started, was_ready = time.monotonic(), False
for bar in range(1, 301):
    req = urllib.request.Request(f"http://127.0.0.1:{sim}/sim/advance", data=b'{"bars": 1}',
                                 headers={"Content-Type": "application/json"}, method="POST")
    now = json.load(urllib.request.urlopen(req, timeout=30))["time"]
    deadline = time.monotonic() + 60
    while last_cycle() < now:
        if time.monotonic() > deadline:
            sys.exit(f"rotor did not cycle on the bar at {now} within 60 s")
        time.sleep(0.1)
    if not was_ready and ready():
        was_ready = True
        print(f"ready (GET /readyz 200) after {bar} bars")
    if was_ready and filled():
        print(f"first filled order after {bar} bars ({time.monotonic() - started:.0f} s)")
        sys.exit(0)
sys.exit(f"within 300 bars: ready {was_ready}, no filled order")
PY
    fail "no trade"
echo "orders by status: $(psql_rotor "select string_agg(status || '=' || n, ' ') from (select status, count(*) n from orders group by status) s")"

step "docker kill -s USR2 rotor: flatten, then HALTED"
docker kill -s USR2 rotor >/dev/null
wait_for 90 "HALTED after the kill switch" state_is HALTED
positions=$(status_json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["positions"]))')
echo "state HALTED, open positions: $positions"
[ "$positions" = 0 ] || fail "not flat after the kill switch"
orders_before=$(psql_rotor "select count(*) from orders")

step "state survives docker compose down && up"
compose "${STACK[@]}" down >/dev/null 2>&1
compose "${STACK[@]}" up -d rotor >"$WORK/up2.log" 2>&1 || { cat "$WORK/up2.log"; fail "second up"; }
wait_for 120 "rotor answering after up" docker exec rotor rotor status --health
wait_for 60 "HALTED kept across down/up" state_is HALTED
orders_after=$(psql_rotor "select count(*) from orders")
echo "HALTED kept; orders $orders_before before, $orders_after after"
[ "$orders_after" -ge "$orders_before" ] || fail "orders lost across down/up"

step "docker stop rotor: exit 0 within 30 s"
t=$(date +%s)
docker stop -t 45 rotor >/dev/null
took=$(($(date +%s) - t))
code=$(docker inspect -f '{{.State.ExitCode}}' rotor)
echo "stopped in ${took}s, exit code $code"
[ "$code" = 0 ] && [ "$took" -le 30 ] || fail "docker stop: exit $code after ${took}s"
compose "${STACK[@]}" down -v >/dev/null 2>&1
COMPOSE_DIR=""
cd "$ROOT"

# ------------------------------------------------------------------ 6. the replay demo
step "replay demo: its summary line; the image's own HEALTHCHECK while it ran"
wait_for 420 "replay demo finished" sh -c '[ "$(docker inspect -f "{{.State.Running}}" rotor-image-test-replay)" = false ]'
# Docker keeps the last results of the image's HEALTHCHECK (rotor status --health): one
# passing check is what turns a container healthy.
checks="$(docker inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{end}}' rotor-image-test-replay)"
echo "image HEALTHCHECK exit codes while the demo ran: $checks"
case " $checks" in *" 0 "*) ;; *) fail "the image's HEALTHCHECK never passed" ;; esac
summary=$(docker logs rotor-image-test-replay 2>&1 | grep '"replay_summary"' || true)
code=$(docker inspect -f '{{.State.ExitCode}}' rotor-image-test-replay)
docker rm rotor-image-test-replay >/dev/null
echo "$summary"
[ -n "$summary" ] && [ "$code" = 0 ] || fail "replay demo: exit $code, no summary line"

step "image test passed in $(($(date +%s) - T0))s"
