#!/usr/bin/env bash
# One entry point for a fresh checkout: it bootstraps .venv, then runs what you ask.
#
#   ./run.sh demo [--ui|--keep]  set up, then run the demo sync against local sandboxes (kept up with --ui/--keep)
#   ./run.sh test [ARGS]    set up (venv, PostgreSQL and Redis running, nmap, chromium and a test Home Assistant installed), then the whole test suite
#   ./run.sh ui             open the Dagster UI (http://127.0.0.1:$DAGSTER_PORT, default 3000) on the persistent .dagster_home
#   ./run.sh setup          only set up
#   ./run.sh cli ARGS       run `netbox-pipeline ARGS` inside the venv
#
# Environment: PYTHON (interpreter to build the venv with, default python3), DAGSTER_PORT (UI port, default 3000).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
VENV="$ROOT/.venv"
BIN="$VENV/bin"

log() { printf '[run.sh] %s\n' "$*" >&2; }

setup_venv() {
    local python=${PYTHON:-python3}
    command -v "$python" >/dev/null || { log "error: $python not found; Python 3.11+ is needed"; exit 2; }
    "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        log "error: $($python --version 2>&1) is too old; Python 3.11+ is needed"; exit 2; }
    local stamp="$VENV/.installed"
    if [ ! -x "$BIN/python" ]; then
        log "creating virtual environment in .venv"
        "$python" -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        log "installing netbox_pipeline and its dependencies into .venv (first time: about a minute)"
        "$BIN/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
        "$BIN/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        touch "$stamp"
    fi
}

setup_dagster_home() {
    # A persistent DAGSTER_HOME so run history survives restarts of the UI; the dagster CLIs read
    # .env from the working directory, so plain `dagster dev` / `dg dev` here use it too.
    mkdir -p "$ROOT/.dagster_home"
    ln -sf "$ROOT/dagster.yaml" "$ROOT/.dagster_home/dagster.yaml"
    if ! grep -qs "^DAGSTER_HOME=$ROOT/.dagster_home\$" "$ROOT/.env"; then
        grep -vs '^DAGSTER_HOME=' "$ROOT/.env" > "$ROOT/.env.tmp" || true
        echo "DAGSTER_HOME=$ROOT/.dagster_home" >> "$ROOT/.env.tmp"
        mv "$ROOT/.env.tmp" "$ROOT/.env"
    fi
    export DAGSTER_HOME="$ROOT/.dagster_home"
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

apt_install() {
    command -v apt-get >/dev/null || return 1
    if [ -z "${APT_UPDATED:-}" ]; then as_root apt-get update -qq >/dev/null && APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_postgres() {
    if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
    if ! command -v pg_ctlcluster >/dev/null; then
        log "installing PostgreSQL (Debian package)"
        apt_install postgresql || { log "warning: PostgreSQL is not installed and could not be installed"; return 0; }
    fi
    local version
    for version in $(ls /etc/postgresql 2>/dev/null); do
        log "starting PostgreSQL $version"
        as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
    log "warning: PostgreSQL is still not answering on 127.0.0.1:5432"
}

ensure_redis() {
    # The real NetBox of the end-to-end tests keeps its task queue and cache in Redis.
    if command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then return 0; fi
    if ! command -v redis-server >/dev/null; then
        log "installing Redis (Debian package, for the real NetBox tests)"
        apt_install redis-server || { log "warning: Redis is not installed and could not be installed"; return 0; }
    fi
    log "starting Redis on 127.0.0.1:6379"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes >/dev/null || log "warning: Redis did not start"
}

ensure_nmap() {
    command -v nmap >/dev/null && return 0
    log "installing nmap (Debian package)"
    apt_install nmap iproute2 || log "warning: nmap is not installed and could not be installed"
}

ensure_chromium() {
    # The UI test drives the real Dagster webserver in a headless browser (Debian's chromium).
    command -v chromium >/dev/null && return 0
    log "installing chromium (Debian package, for the browser test of the Dagster UI)"
    apt_install chromium || log "warning: chromium is not installed and could not be installed"
}

ensure_home_assistant() {
    # The Home Assistant tests run a real HA 2024.3.3 from PyPI in its own venv (cached under
    # ~/.cache/netbox_pipeline; about 700 MB, a few minutes the first time).
    "$BIN/python" -m netbox_pipeline_tests.sources.real_ha.install >/dev/null \
        || log "warning: Home Assistant could not be installed for the tests"
}

cmd=${1:-help}
shift || true
case "$cmd" in
    setup)
        setup_venv; setup_dagster_home ;;
    demo)
        setup_venv; setup_dagster_home
        exec "$BIN/netbox-pipeline" demo "$@" ;;
    test)
        setup_venv; setup_dagster_home
        ensure_postgres; ensure_redis; ensure_nmap; ensure_chromium; ensure_home_assistant
        exec "$BIN/python" -m pytest "$@" ;;
    ui)
        setup_venv; setup_dagster_home
        port=${DAGSTER_PORT:-3000}
        log "Dagster UI on http://127.0.0.1:$port (Ctrl-C to stop); DAGSTER_HOME=$DAGSTER_HOME"
        exec "$BIN/dagster" dev -w workspace.yaml -h 127.0.0.1 -p "$port" ;;
    cli)
        setup_venv; setup_dagster_home
        exec "$BIN/netbox-pipeline" "$@" ;;
    *)
        sed -n '2,10p' "$0"; exit 2 ;;
esac
