#!/usr/bin/env bash
# Builds rudder's test images as OCI image-layout tarballs from Debian packages only (no registry is
# reachable here): each tarball's index.json names its image in the `io.containerd.image.name`
# annotation, so `ctr -n k8s.io images import FILE` (or `rudder images import FILE`) tags it.
#
#   registry.k8s.io/pause:3.10            pause.tar       a static pause (scripts/images/pause.c, gcc -static)
#   docker.io/library/busybox:1.36        busybox.tar     Debian's busybox-static, applets linked in /bin
#   registry.rudder.test/testserver:1     testserver.tar  scripts/images/testserver.c and fetch.c (static, with
#                                                         Debian's static OpenSSL for `testserver fetch`) + busybox
#
# Output: $RUDDER_IMAGES_DIR or <repo>/build/images (not committed). The tarballs are reproducible
# (fixed mtimes, owners and order; gzip -n), so digests only change when an input changes. A re-run
# whose inputs (this script, the C sources, /bin/busybox) are unchanged does nothing. Concurrent runs
# (parallel test files) serialize on a lock. Needs: gcc, libc6-dev, libssl-dev, busybox-static, tar, gzip.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${RUDDER_IMAGES_DIR:-$root/build/images}
busybox=/bin/busybox

for tool in gcc tar gzip sha256sum flock; do
  command -v "$tool" >/dev/null || { echo "images: $tool is missing: install with: apt-get install gcc libc6-dev tar gzip coreutils util-linux" >&2; exit 1; }
done
if [ ! -f /usr/include/openssl/ssl.h ]; then
  echo "images: OpenSSL's headers and static libraries are missing: install with: apt-get install libssl-dev" >&2
  exit 1
fi
if [ ! -x "$busybox" ] || ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
  echo "images: a static $busybox is needed: install with: apt-get install busybox-static" >&2
  exit 1
fi

mkdir -p "$out"
exec 9>"$out/.lock"
flock 9

stamp=$(cat "$0" "$here/pause.c" "$here/testserver.c" "$here/fetch.c" "$busybox" | sha256sum | cut -d' ' -f1)
if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] &&
  [ -f "$out/pause.tar" ] && [ -f "$out/busybox.tar" ] && [ -f "$out/testserver.tar" ]; then
  exit 0
fi

arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
work=$(mktemp -d "$out/.work.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Reproducible tar of the contents of a directory.
repro_tar() { # dir file
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu -C "$1" -cf "$2" .
}

add_busybox() { # rootfs
  local r=$1 applet
  mkdir -p "$r/bin" "$r/etc" "$r/tmp" "$r/root" "$r/var" "$r/home" "$r/proc" "$r/sys" "$r/dev"
  chmod 1777 "$r/tmp"
  cp "$busybox" "$r/bin/busybox"
  for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$r/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$r/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\n' >"$r/etc/group"
}

# Writes an OCI image layout of one single-layer image for $arch and tars it to $out/$file.
# config_extra is the JSON members of the image config's "config" object.
image() { # name file rootfs config_extra
  local name=$1 file=$2 rootfs=$3 config=$4
  local lay="$work/layout-$file" blobs
  blobs="$lay/blobs/sha256"
  mkdir -p "$blobs"
  repro_tar "$rootfs" "$work/layer.tar"
  local diff_id layer layer_size
  diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
  gzip -n -9 -c "$work/layer.tar" >"$work/layer.tar.gz"
  layer=$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)
  layer_size=$(stat -c %s "$work/layer.tar.gz")
  mv "$work/layer.tar.gz" "$blobs/$layer"
  rm -f "$work/layer.tar"

  printf '{"architecture":"%s","os":"linux","config":{%s},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"history":[{"created_by":"rudder scripts/images/build.sh"}]}' \
    "$arch" "$config" "$diff_id" >"$work/config.json"
  local cfg cfg_size
  cfg=$(sha256sum "$work/config.json" | cut -d' ' -f1)
  cfg_size=$(stat -c %s "$work/config.json")
  mv "$work/config.json" "$blobs/$cfg"

  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]}' \
    "$cfg" "$cfg_size" "$layer" "$layer_size" >"$work/manifest.json"
  local man man_size
  man=$(sha256sum "$work/manifest.json" | cut -d' ' -f1)
  man_size=$(stat -c %s "$work/manifest.json")
  mv "$work/manifest.json" "$blobs/$man"

  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"},"platform":{"architecture":"%s","os":"linux"}}]}' \
    "$man" "$man_size" "$name" "${name##*:}" "$arch" >"$lay/index.json"
  printf '{"imageLayoutVersion":"1.0.0"}' >"$lay/oci-layout"
  repro_tar "$lay" "$work/$file"
  mv "$work/$file" "$out/$file"
  echo "images: $name -> $out/$file (manifest sha256:$man)"
}

path_env='"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]'

mkdir -p "$work/pause/etc"
gcc -static -O2 -s -o "$work/pause/pause" "$here/pause.c"
image registry.k8s.io/pause:3.10 pause.tar "$work/pause" "$path_env,\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\",\"WorkingDir\":\"/\""

add_busybox "$work/busybox"
image docker.io/library/busybox:1.36 busybox.tar "$work/busybox" "$path_env,\"Cmd\":[\"sh\"]"

add_busybox "$work/testserver"
# (the linker's warnings about getaddrinfo and OpenSSL's dlopen in a static binary are expected:
# glibc 2.36 has its DNS backend built in, and OpenSSL loads no modules here)
gcc -static -O2 -s -o "$work/testserver/testserver" "$here/testserver.c" "$here/fetch.c" -lssl -lcrypto 2>&1 |
  { grep -v -e 'statically linked applications requires at runtime' -e 'in function' || true; } >&2
image registry.rudder.test/testserver:1 testserver.tar "$work/testserver" \
  "$path_env,\"Entrypoint\":[\"/testserver\"],\"Cmd\":[\"serve\"],\"ExposedPorts\":{\"8080/tcp\":{},\"9090/tcp\":{}},\"WorkingDir\":\"/\""

echo "$stamp" >"$out/.stamp"
