#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, run and test rudder: the Debian packages listed in
# scripts/packages.txt and the npm dependencies (Node 24 among them). Idempotent; prints what it does.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root to run: $*" >&2; exit 1; fi
}

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' scripts/packages.txt)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts the packaged etcd service on install; rudder's tests run their own etcd on free
# ports, and the default one must not hold port 2379 or /var/lib/etcd.
if command -v systemctl >/dev/null && systemctl is-active --quiet etcd 2>/dev/null; then
  as_root systemctl disable --now etcd >/dev/null 2>&1 || true
fi

if ! command -v kubectl >/dev/null; then
  echo "setup: kubectl is not on PATH; rudder's tests and 'rudder kubectl' need it (v1.32 or v1.33)" >&2
fi

if [ ! -x node_modules/node/bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi
# The kubelet's test images (OCI tarballs under build/images); a no-op when they are up to date.
scripts/images/build.sh
echo "setup: done (Node $(node_modules/node/bin/node --version))"
