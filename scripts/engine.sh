#!/usr/bin/env bash
# The local container engine for okd-build's `local` backend and its tests, on Debian/Ubuntu:
# a Podman API service (Docker-compatible; bollard speaks to it), a plain-HTTP distribution
# registry on 127.0.0.1:5000, and the base image localhost/okd-mini/busybox:1.36 that
# examples/okd-mini builds on. Nothing is pulled: the base image is made from busybox-static
# with scripts/engine/busybox.Dockerfile.
#
#   scripts/engine.sh install  the one-time root work, as root or with sudo: apt-installs what is
#                              missing of podman runc buildah docker-registry busybox-static (and
#                              curl), writes /etc/containers/registries.conf.d/50-okd-build.conf,
#                              and stops and disables the packaged docker-registry service (it
#                              holds 127.0.0.1:5000 and asks for auth). Idempotent; a quick no-op
#                              when everything is in place.
#   scripts/engine.sh start    start what is not running, build the base image if it is missing;
#                              idempotent. It installs nothing: if something `install` provides
#                              is missing it fails and says to run `install` first. Its last line
#                              (stdout) is `export CONTAINER_HOST=unix://SOCK`:
#                                eval "$(scripts/engine.sh start | tail -1)"
#   scripts/engine.sh env      print that export line if the service answers (exit 1 if not)
#   scripts/engine.sh status   what runs, where, and whether the base image exists
#   scripts/engine.sh stop     stop what `start` started; packages, images and pushed data stay
#   scripts/engine.sh multiarch  (after start) what two-arch local builds need, where the machine
#                              allows it: binfmt_misc mounted, qemu-user-static's arm64 handler,
#                              busybox-static for arm64 (dpkg --add-architecture arm64), and the
#                              base image for amd64 and arm64 pushed as one manifest list,
#                              127.0.0.1:5000/okd-mini/busybox:1.36. Exits 1, saying why, where
#                              the machine cannot (no privilege to mount binfmt_misc, ...).
#
# As root (CI) the service is rootful: socket /run/okd-build/podman.sock, registry data under
# /var/lib/okd-build/registry. As another user it is rootless: socket
# $XDG_RUNTIME_DIR/okd-build/podman.sock, registry data under ~/.local/share/okd-build; there
# `install` runs apt and writes the file under /etc/containers through sudo, and `start` needs
# no root. Run through `sudo`, `start` hands the socket to the invoking user so their tests can
# use the rootful service.
#
# Debian 12 facts this relies on (see ../shared/reference/local-engine.md): crun fails to start
# containers there, so every podman call uses `--runtime runc`; RUN steps need
# BUILDAH_ISOLATION=chroot; the service reads registries.conf only when it starts (so `start`
# restarts the service it started when that file is newer than the service).
#
# Overrides: OKD_ENGINE_SOCK (socket path), OKD_ENGINE_STATE (pid, log and env files),
# OKD_ENGINE_REGISTRY_DIR (registry config and data), OKD_ENGINE_TIMEOUT (seconds to wait for
# each service, default 60).
set -euo pipefail

REGISTRY=127.0.0.1:5000
BASE_IMAGE=localhost/okd-mini/busybox:1.36
REGISTRIES_CONF=/etc/containers/registries.conf.d/50-okd-build.conf
PACKAGES=(podman runc buildah docker-registry busybox-static)
BASE_DOCKERFILE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/engine/busybox.Dockerfile"
TIMEOUT="${OKD_ENGINE_TIMEOUT:-60}"

if [ "$(id -u)" -eq 0 ]; then
  ROOTFUL=1
  STATE="${OKD_ENGINE_STATE:-/run/okd-build}"
  REGDIR="${OKD_ENGINE_REGISTRY_DIR:-/var/lib/okd-build/registry}"
  SUDO=()
else
  ROOTFUL=0
  STATE="${OKD_ENGINE_STATE:-${XDG_RUNTIME_DIR:-/tmp/okd-build-$(id -u)}/okd-build}"
  REGDIR="${OKD_ENGINE_REGISTRY_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/okd-build/registry}"
  SUDO=(sudo)
fi
SOCK="${OKD_ENGINE_SOCK:-$STATE/podman.sock}"
PODMAN_PID="$STATE/podman.pid"
PODMAN_LOG="$STATE/podman.log"
REGISTRY_PID="$STATE/registry.pid"
REGISTRY_LOG="$STATE/registry.log"
ENV_FILE="$STATE/env"
EXPORT_LINE="export CONTAINER_HOST=unix://$SOCK"

say() { echo "engine: $*" >&2; }
die() { echo "engine: error: $*" >&2; exit 1; }

usage() {
  echo "usage: scripts/engine.sh {install|start|stop|status|env|multiarch}" >&2
  exit 2
}

# --- small helpers -------------------------------------------------------------------------

INSTALL_HINT="run scripts/engine.sh install (as root or with sudo) first"

need_cmd() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $INSTALL_HINT"; }

as_root() {
  if [ ${#SUDO[@]} -gt 0 ] && ! command -v sudo >/dev/null 2>&1; then
    die "this step needs root and sudo is not installed: $*"
  fi
  "${SUDO[@]}" "$@"
}

service_answers() {
  [ -S "$SOCK" ] && [ "$(curl -s --max-time 3 --unix-socket "$SOCK" http://d/_ping 2>/dev/null)" = "OK" ]
}

# The HTTP status of GET /v2/ on the registry address: 200 (ours or open), 401 (auth), 000 (none).
registry_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null || true
}

# pid_alive PIDFILE PATTERN: the pid in PIDFILE is alive and its command line contains PATTERN
# (so a recycled pid is never taken for ours).
pid_alive() {
  local pid
  [ -f "$1" ] || return 1
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# stop_pid PIDFILE PATTERN NAME: TERM, wait up to 15s, then KILL; only the pid we recorded.
stop_pid() {
  local pid
  if pid_alive "$1" "$2"; then
    pid="$(cat "$1")"
    say "stopping $3 (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do
      pid_alive "$1" "$2" || break
      sleep 0.5
    done
    if pid_alive "$1" "$2"; then
      say "$3 (pid $pid) did not exit after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
    fi
  fi
  rm -f "$1"
}

log_tail() {
  if [ -s "$1" ]; then
    echo "engine: last lines of $1:" >&2
    tail -n 20 "$1" | sed 's/^/engine:   /' >&2
  fi
}

# --- what install provides ----------------------------------------------------------------

# The packages install would install, one a line: those of PACKAGES dpkg does not have
# installed, and curl when there is no curl.
missing_packages() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
  command -v curl >/dev/null 2>&1 || echo curl
}

registries_conf_text() {
  printf '%s\n' \
    '# Written by okd-build scripts/engine.sh: the local registry speaks plain HTTP.' \
    '[[registry]]' \
    "location = \"$REGISTRY\"" \
    'insecure = true'
}

registries_conf_ok() {
  [ -f "$REGISTRIES_CONF" ] && [ "$(cat "$REGISTRIES_CONF")" = "$(registries_conf_text)" ]
}

# start's check: everything install provides is in place, or one line saying what is missing.
require_installed() {
  local missing
  missing="$(missing_packages | tr '\n' ' ')"
  registries_conf_ok || missing+="$REGISTRIES_CONF "
  [ -z "$missing" ] || die "missing ${missing% }: $INSTALL_HINT"
}

# --- install steps -------------------------------------------------------------------------

install_packages() {
  local missing=()
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and apt-get is not available; install them by hand"
  say "installing ${missing[*]} with apt"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 \
    || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null \
    || die "apt-get install ${missing[*]} failed"
}

# Returns 0 when the file was (re)written, 1 when it was already right.
write_registries_conf() {
  registries_conf_ok && return 1
  say "writing $REGISTRIES_CONF ($REGISTRY is insecure: plain HTTP)"
  local tmp
  tmp="$(mktemp)"
  registries_conf_text >"$tmp"
  as_root mkdir -p "$(dirname "$REGISTRIES_CONF")"
  as_root install -m 0644 "$tmp" "$REGISTRIES_CONF"
  rm -f "$tmp"
  return 0
}

# The packaged docker-registry service (htpasswd auth on :5000) takes the port the registry of
# `start` needs: stop it and keep it from starting at boot. Only the packaged service is touched
# (systemd's unit, or the init script's pidfile), never the registry `start` started.
disable_packaged_registry() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    if systemctl is-active --quiet docker-registry 2>/dev/null \
      || systemctl is-enabled --quiet docker-registry 2>/dev/null; then
      say "the packaged docker-registry systemd service takes $REGISTRY and asks for auth: stopping and disabling it"
      as_root systemctl disable --now docker-registry >&2 || die "could not stop the docker-registry systemd service"
    fi
  elif [ -x /etc/init.d/docker-registry ] && as_root /etc/init.d/docker-registry status >/dev/null 2>&1; then
    say "the packaged docker-registry init service holds $REGISTRY and asks for auth: stopping and disabling it"
    as_root /etc/init.d/docker-registry stop >&2 || die "could not stop the docker-registry init service"
    if command -v update-rc.d >/dev/null 2>&1; then
      as_root update-rc.d docker-registry disable >/dev/null 2>&1 || true
    fi
  fi
  [ "$(registry_code)" = 401 ] || return 0
  for _ in $(seq 1 20); do
    sleep 0.25
    [ "$(registry_code)" = 401 ] || return 0
  done
  say "warning: something on $REGISTRY asks for authentication and it is not the packaged docker-registry service; stop it before scripts/engine.sh start (see: ss -ltnp 'sport = :${REGISTRY##*:}')"
}

# --- start steps ---------------------------------------------------------------------------

# launch_service [EXTRA PODMAN OPTIONS...]: start `podman system service` in its own session and
# record its pid. The pid is written by the process that execs podman (not taken from $!): when
# the caller runs with job control, setsid forks and $! would be a parent that exits at once.
launch_service() {
  rm -f "$SOCK" "$PODMAN_PID"
  mkdir -p "$(dirname "$SOCK")"
  # 9>&-: it must not inherit the lock this script holds.
  BUILDAH_ISOLATION=chroot setsid nohup sh -c 'echo $$ >"$0"; exec "$@"' "$PODMAN_PID" \
    podman --runtime runc "$@" system service --time=0 "unix://$SOCK" \
    </dev/null >"$PODMAN_LOG" 2>&1 9>&- &
  for _ in $(seq 1 40); do
    [ -s "$PODMAN_PID" ] && break
    sleep 0.05
  done
}

# wait_service: 0 once the service answers; 1 if it exits first (or never writes its pid); 2 on
# timeout.
wait_service() {
  for _ in $(seq 1 $((TIMEOUT * 4))); do
    service_answers && return 0
    pid_alive "$PODMAN_PID" "system service" || { sleep 0.25; service_answers && return 0; return 1; }
    sleep 0.25
  done
  service_answers && return 0
  return 2
}

# Everything that helps to see why the service would not run, on stderr.
service_diagnostics() {
  if [ -s "$PODMAN_LOG" ]; then
    echo "engine: $PODMAN_LOG:" >&2
    tail -n 40 "$PODMAN_LOG" | sed 's/^/engine:   /' >&2
  else
    echo "engine: $PODMAN_LOG is empty" >&2
  fi
  echo "engine: podman $(podman --version 2>&1 | sed 's/^podman version //'); podman info says:" >&2
  podman --runtime runc info 2>&1 | grep -E -i 'error|warn|cgroupManager|cgroupVersion|graphDriverName|^ *version: [0-9]' \
    | head -n 20 | sed 's/^/engine:   /' >&2 || true
}

start_service() {
  need_cmd podman
  need_cmd runc
  if pid_alive "$PODMAN_PID" "system service"; then
    # Ours, but it does not answer (hung or still starting long ago): replace it.
    stop_pid "$PODMAN_PID" "system service" "the Podman service that does not answer"
  fi
  say "starting the Podman API service on unix://$SOCK (runtime runc, BUILDAH_ISOLATION=chroot; log $PODMAN_LOG)"
  launch_service
  local rc=0
  wait_service || rc=$?
  if [ "$rc" -eq 1 ]; then
    # Seen once on a fresh CI machine: the service exited at once. Say why, then try once more
    # the way that needs the least of the host: storage migrated to this podman, cgroupfs
    # instead of systemd, events to a file instead of journald.
    say "the Podman service exited during start; diagnostics follow, then one retry"
    service_diagnostics
    podman --runtime runc system migrate >&2 2>&1 || true
    say "retrying with --cgroup-manager cgroupfs --events-backend file"
    launch_service --cgroup-manager cgroupfs --events-backend file
    rc=0
    wait_service || rc=$?
  fi
  case "$rc" in
    0) say "Podman service ready (pid $(cat "$PODMAN_PID"))" ;;
    1) service_diagnostics; rm -f "$PODMAN_PID"; die "the Podman service exited during start (log: $PODMAN_LOG)" ;;
    *) service_diagnostics; die "the Podman service did not answer on $SOCK within ${TIMEOUT}s (pid $(cat "$PODMAN_PID" 2>/dev/null), log: $PODMAN_LOG)" ;;
  esac
}

ensure_service() {
  if service_answers; then
    # The service reads registries.conf only when it starts: one started before `install`
    # (re)wrote the file would not know the registry speaks plain HTTP.
    if pid_alive "$PODMAN_PID" "system service" && [ "$REGISTRIES_CONF" -nt "$PODMAN_PID" ]; then
      say "restarting the Podman service so it reads $REGISTRIES_CONF (written after it started)"
      stop_pid "$PODMAN_PID" "system service" "the Podman service"
      start_service
    else
      say "Podman service already answers on $SOCK"
    fi
  else
    start_service
  fi
}

start_registry() {
  need_cmd docker-registry
  local code
  code="$(registry_code)"
  if [ "$code" = 200 ]; then
    if pid_alive "$REGISTRY_PID" docker-registry; then
      say "registry already answers on http://$REGISTRY (pid $(cat "$REGISTRY_PID"))"
    else
      say "a registry not started by engine.sh already answers on http://$REGISTRY without auth; using it"
    fi
    return 0
  fi
  if [ "$code" = 401 ]; then
    die "something on $REGISTRY asks for authentication: if it is the packaged docker-registry service, $INSTALL_HINT (it stops and disables it); otherwise stop it (see: ss -ltnp 'sport = :${REGISTRY##*:}')"
  elif [ "$code" != 000 ]; then
    die "something on $REGISTRY answers GET /v2/ with HTTP $code; it is not a usable registry (see: ss -ltnp 'sport = :${REGISTRY##*:}')"
  fi
  stop_pid "$REGISTRY_PID" docker-registry "the registry that does not answer"

  mkdir -p "$REGDIR/data"
  local cfg="$REGDIR/config.yml"
  cat >"$cfg.tmp" <<EOF
# Written by okd-build scripts/engine.sh: a plain-HTTP registry on loopback, no auth.
version: 0.1
log:
  level: info
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $REGDIR/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  mv "$cfg.tmp" "$cfg"
  say "starting the registry on http://$REGISTRY (config $cfg, log $REGISTRY_LOG)"
  rm -f "$REGISTRY_PID"
  setsid nohup sh -c 'echo $$ >"$0"; exec "$@"' "$REGISTRY_PID" docker-registry serve "$cfg" \
    </dev/null >"$REGISTRY_LOG" 2>&1 9>&- &
  for _ in $(seq 1 40); do
    [ -s "$REGISTRY_PID" ] && break
    sleep 0.05
  done
  for _ in $(seq 1 $((TIMEOUT * 4))); do
    curl -sf --max-time 2 -o /dev/null "http://$REGISTRY/v2/" && break
    if ! pid_alive "$REGISTRY_PID" docker-registry; then
      log_tail "$REGISTRY_LOG"
      rm -f "$REGISTRY_PID"
      die "the registry exited during start (log: $REGISTRY_LOG)"
    fi
    sleep 0.25
  done
  curl -sf --max-time 2 -o /dev/null "http://$REGISTRY/v2/" || {
    log_tail "$REGISTRY_LOG"
    die "the registry did not answer on http://$REGISTRY/v2/ within ${TIMEOUT}s (log: $REGISTRY_LOG)"
  }
  say "registry ready (pid $(cat "$REGISTRY_PID"))"
}

ensure_base_image() {
  if podman --url "unix://$SOCK" image exists "$BASE_IMAGE"; then
    say "base image $BASE_IMAGE present"
    return 0
  fi
  local busybox
  busybox="$(dpkg -L busybox-static 2>/dev/null | grep -E '/bin/busybox$' | head -n 1 || true)"
  if [ -z "$busybox" ] || [ ! -x "$busybox" ]; then
    die "busybox-static's /bin/busybox not found: $INSTALL_HINT"
  fi
  [ -f "$BASE_DOCKERFILE" ] || die "$BASE_DOCKERFILE, the base image's Dockerfile, is missing"
  local ctx
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  cp "$busybox" "$ctx/busybox"
  mkdir -p "$ctx/etc"
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$ctx/etc/passwd"
  printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$ctx/etc/group"
  cp "$BASE_DOCKERFILE" "$ctx/Dockerfile"
  say "building $BASE_IMAGE from $busybox with $BASE_DOCKERFILE (FROM scratch, no network)"
  if ! BUILDAH_ISOLATION=chroot podman --runtime runc build --pull=never --quiet \
    -t "$BASE_IMAGE" "$ctx" >"$STATE/base-image.log" 2>&1; then
    log_tail "$STATE/base-image.log"
    die "building $BASE_IMAGE failed (log: $STATE/base-image.log)"
  fi
  rm -rf "$ctx"
  trap - EXIT
  # The build used this process's storage; the service must see the same image.
  podman --url "unix://$SOCK" image exists "$BASE_IMAGE" \
    || die "$BASE_IMAGE was built but the service on $SOCK does not see it (different storage?)"
  say "base image $BASE_IMAGE built ($(podman --url "unix://$SOCK" image inspect --format '{{.Id}}' "$BASE_IMAGE" | cut -c1-12))"
}

lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  if ! flock -n 9; then
    say "another engine.sh holds $STATE/lock; waiting (up to 15 minutes)"
    flock -w 900 9 || die "timed out waiting for $STATE/lock"
  fi
}

# --- commands ------------------------------------------------------------------------------

cmd_install() {
  local t0=$SECONDS
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is not installed"
  lock
  install_packages
  if write_registries_conf && service_answers; then
    if pid_alive "$PODMAN_PID" "system service"; then
      say "the Podman service on $SOCK started before $REGISTRIES_CONF was written; scripts/engine.sh start restarts it so it reads the file"
    else
      say "warning: a Podman service that engine.sh did not start answers on $SOCK; restart it so it reads $REGISTRIES_CONF (pushes to $REGISTRY fail until then)"
    fi
  fi
  disable_packaged_registry
  say "installed in $((SECONDS - t0))s: ${PACKAGES[*]}, $REGISTRIES_CONF; next: scripts/engine.sh start"
}

cmd_start() {
  local t0=$SECONDS
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is not installed"
  lock
  require_installed
  ensure_service
  start_registry
  ensure_base_image
  echo "$EXPORT_LINE" >"$ENV_FILE"
  if [ "$ROOTFUL" -eq 1 ] && [ -n "${SUDO_UID:-}" ] && [ "${SUDO_UID}" != 0 ]; then
    # Run through sudo: let the invoking user reach the rootful service (they have root anyway).
    chown "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$SOCK" "$ENV_FILE" 2>/dev/null || true
    say "socket $SOCK handed to uid $SUDO_UID (run through sudo)"
  fi
  say "ready in $((SECONDS - t0))s: service unix://$SOCK, registry http://$REGISTRY, base image $BASE_IMAGE"
  echo "$EXPORT_LINE"
}

cmd_env() {
  if service_answers; then
    echo "$EXPORT_LINE"
  else
    say "no Podman service answers on $SOCK (run scripts/engine.sh start)"
    exit 1
  fi
}

cmd_status() {
  local ok=0 v code missing
  if service_answers; then
    v="$(curl -s --max-time 3 --unix-socket "$SOCK" http://d/version | sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p')"
    if pid_alive "$PODMAN_PID" "system service"; then
      echo "service:    running, unix://$SOCK (pid $(cat "$PODMAN_PID"), API $v, log $PODMAN_LOG)"
    else
      echo "service:    answering on unix://$SOCK (API $v; not started by engine.sh)"
    fi
  else
    echo "service:    not running (socket $SOCK)"
    ok=1
  fi
  code="$(registry_code)"
  case "$code" in
    200)
      if pid_alive "$REGISTRY_PID" docker-registry; then
        echo "registry:   running, http://$REGISTRY (pid $(cat "$REGISTRY_PID"), data $REGDIR/data, log $REGISTRY_LOG)"
      else
        echo "registry:   answering on http://$REGISTRY (not started by engine.sh)"
      fi ;;
    401) echo "registry:   http://$REGISTRY asks for auth (the packaged docker-registry service? scripts/engine.sh install stops it)"; ok=1 ;;
    000) echo "registry:   not running (http://$REGISTRY)"; ok=1 ;;
    *) echo "registry:   http://$REGISTRY answers HTTP $code"; ok=1 ;;
  esac
  if service_answers; then
    if podman --url "unix://$SOCK" image exists "$BASE_IMAGE" 2>/dev/null; then
      echo "base image: $BASE_IMAGE ($(podman --url "unix://$SOCK" image inspect --format '{{.Id}}' "$BASE_IMAGE" | cut -c1-12))"
    else
      echo "base image: $BASE_IMAGE missing"
      ok=1
    fi
  else
    echo "base image: unknown (no service)"
  fi
  if registries_conf_ok; then
    echo "config:     $REGISTRIES_CONF"
  elif [ -f "$REGISTRIES_CONF" ]; then
    echo "config:     $REGISTRIES_CONF out of date (run scripts/engine.sh install)"
    ok=1
  else
    echo "config:     $REGISTRIES_CONF missing (run scripts/engine.sh install; until then pushes to $REGISTRY need --tls-verify=false)"
    ok=1
  fi
  missing="$(missing_packages | tr '\n' ' ')"
  if [ -n "$missing" ]; then
    echo "packages:   missing ${missing% } (run scripts/engine.sh install)"
    ok=1
  fi
  [ "$ok" -eq 0 ] && echo "$EXPORT_LINE"
  return "$ok"
}

MULTIARCH_BASE="$REGISTRY/okd-mini/busybox:1.36"

cmd_multiarch() {
  local t0=$SECONDS arch busybox ctx
  command -v flock >/dev/null 2>&1 || die "flock (util-linux) is not installed"
  lock
  service_answers || die "no Podman service answers on $SOCK: run scripts/engine.sh start first"
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    "${SUDO[@]}" mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
      || die "binfmt_misc is not mounted and cannot be (needs root and a kernel with binfmt_misc): no cross-arch builds here"
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    say "installing qemu-user-static and binfmt-support (the arm64 handler)"
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q qemu-user-static binfmt-support >"$STATE/multiarch-apt.log" 2>&1 \
      || { log_tail "$STATE/multiarch-apt.log"; die "apt-get install qemu-user-static binfmt-support failed"; }
    "${SUDO[@]}" update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
  fi
  grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
    || die "/proc/sys/fs/binfmt_misc/qemu-aarch64 is missing or disabled: arm64 binaries cannot run here"
  ctx="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" EXIT
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    "${SUDO[@]}" dpkg --add-architecture arm64
  fi
  if ! (cd "$ctx" && apt-get download -q busybox-static:arm64 >/dev/null 2>&1); then
    "${SUDO[@]}" apt-get update -q >"$STATE/multiarch-apt.log" 2>&1 \
      || { log_tail "$STATE/multiarch-apt.log"; die "apt-get update (for arm64 packages) failed"; }
    (cd "$ctx" && apt-get download -q busybox-static:arm64 >"$STATE/multiarch-apt.log" 2>&1) \
      || { log_tail "$STATE/multiarch-apt.log"; die "apt-get download busybox-static:arm64 failed"; }
  fi
  dpkg-deb -x "$ctx"/busybox-static_*_arm64.deb "$ctx/arm64"
  busybox="$(dpkg -L busybox-static 2>/dev/null | grep -E '/bin/busybox$' | head -n 1 || true)"
  [ -x "$busybox" ] || die "busybox-static's /bin/busybox not found: $INSTALL_HINT"
  for arch in amd64 arm64; do
    mkdir -p "$ctx/$arch-ctx/etc"
    if [ "$arch" = amd64 ]; then cp "$busybox" "$ctx/$arch-ctx/busybox"; else cp "$ctx/arm64/bin/busybox" "$ctx/$arch-ctx/busybox"; fi
    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >"$ctx/$arch-ctx/etc/passwd"
    printf '%s\n' 'root:x:0:' 'nobody:x:65534:' >"$ctx/$arch-ctx/etc/group"
    cp "$BASE_DOCKERFILE" "$ctx/$arch-ctx/Dockerfile"
    # --no-cache: Podman 4.3's layer cache does not key on the platform.
    podman --url "unix://$SOCK" build --no-cache --pull=never --quiet --platform "linux/$arch" \
      -t "$MULTIARCH_BASE-$arch" "$ctx/$arch-ctx" >"$STATE/multiarch-$arch.log" 2>&1 \
      || { log_tail "$STATE/multiarch-$arch.log"; die "building the $arch base image failed"; }
    podman --url "unix://$SOCK" push --quiet "$MULTIARCH_BASE-$arch" >>"$STATE/multiarch-$arch.log" 2>&1 \
      || { log_tail "$STATE/multiarch-$arch.log"; die "pushing $MULTIARCH_BASE-$arch failed"; }
  done
  podman --url "unix://$SOCK" manifest rm "$MULTIARCH_BASE" >/dev/null 2>&1 || true
  podman --url "unix://$SOCK" manifest create "$MULTIARCH_BASE" >/dev/null
  for arch in amd64 arm64; do
    podman --url "unix://$SOCK" manifest add "$MULTIARCH_BASE" "docker://$MULTIARCH_BASE-$arch" >/dev/null
  done
  podman --url "unix://$SOCK" manifest push --all "$MULTIARCH_BASE" "docker://$MULTIARCH_BASE" >"$STATE/multiarch-list.log" 2>&1 \
    || { log_tail "$STATE/multiarch-list.log"; die "pushing the manifest list $MULTIARCH_BASE failed"; }
  # Builds pull the list by platform; a local copy would shadow it.
  podman --url "unix://$SOCK" manifest rm "$MULTIARCH_BASE" >/dev/null 2>&1 || true
  rm -rf "$ctx"
  trap - EXIT
  say "multi-arch ready in $((SECONDS - t0))s: qemu-aarch64 handler, base list $MULTIARCH_BASE (amd64, arm64)"
}

cmd_stop() {
  lock
  stop_pid "$PODMAN_PID" "system service" "the Podman service"
  [ -S "$SOCK" ] && ! service_answers && rm -f "$SOCK"
  stop_pid "$REGISTRY_PID" docker-registry "the registry"
  rm -f "$ENV_FILE"
  service_answers && say "note: a Podman service not started by engine.sh still answers on $SOCK"
  [ "$(registry_code)" = 000 ] || say "note: something not started by engine.sh still listens on $REGISTRY"
  say "stopped (packages, images and registry data under $REGDIR are kept)"
}

[ $# -eq 1 ] || usage
case "$1" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  multiarch) cmd_multiarch ;;
  -h | --help | help) usage ;;
  *) usage ;;
esac
