#!/usr/bin/env bash
# Build what the Kubernetes test cluster (scripts/local_kubernetes.py) runs: kube-apiserver,
# kube-controller-manager, kube-scheduler, kubelet, kube-proxy and kubectl from the Go module proxy,
# helm v3, and the Debian packages of the node (etcd, containerd, runc, CNI plugins, ...).
# Idempotent: a second run only checks. Binaries are cached by version under $CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/versions.env
CACHE="${RTCSTACK_CACHE:-$HOME/.cache/rtcstack}"
mkdir -p "$CACHE"

bash scripts/apt-install.sh build-kubernetes etcd-server containerd runc containernetworking-plugins conntrack iptables socat ethtool nftables podman
# The packaged services are not used: the harness starts its own etcd and containerd.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  for s in etcd containerd; do
    if systemctl is-active -q "$s" 2>/dev/null; then systemctl stop "$s"; fi
  done
fi

k8s_version="$KUBERNETES_VERSION"
k8s_dir="$CACHE/kubernetes-$k8s_version"
k8s_binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

build_kubernetes() {
  local staging="v0.${k8s_version#v1.}" minor gomod mod
  minor=$(echo "$k8s_version" | cut -d. -f2)
  mod=$(mktemp -d "$CACHE/kubernetes-mod.XXXXXX")
  trap 'rm -rf "$mod"' RETURN
  export GOPATH="$CACHE/go" GOFLAGS=-mod=mod CGO_ENABLED=0
  # k8s.io/kubernetes replaces its staging modules with local paths, so it cannot be built as a
  # dependency as it is: a wrapper module requires it and points each staging module at its release.
  gomod=$(go mod download -json "k8s.io/kubernetes@$k8s_version" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')
  (
    cd "$mod"
    go mod init rtcstack.local/kubernetes-build >/dev/null 2>&1
    go mod edit -require "k8s.io/kubernetes@$k8s_version"
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" | while read -r m; do
      go mod edit -replace "$m=$m@$staging"
    done
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for p in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do
        printf '\t_ "k8s.io/kubernetes/cmd/%s/app"\n' "$p"
      done
      printf '\t_ "k8s.io/kubectl/pkg/cmd"\n)\n'
    } > tools.go
    go mod tidy >/dev/null
    local v=k8s.io/component-base/version
    local ldflags="-s -w -X $v.gitVersion=$k8s_version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$k8s_version -X k8s.io/client-go/pkg/version.gitMajor=1"
    ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitMinor=$minor"
    mkdir -p "$k8s_dir.tmp"
    for b in "${k8s_binaries[@]}"; do
      echo "build-kubernetes: go build $b $k8s_version"
      go build -trimpath -ldflags "$ldflags" -o "$k8s_dir.tmp/$b" "k8s.io/kubernetes/cmd/$b"
    done
  )
  rm -rf "$k8s_dir" && mv "$k8s_dir.tmp" "$k8s_dir"
}

need_k8s=0
for b in "${k8s_binaries[@]}"; do
  [ -x "$k8s_dir/$b" ] || need_k8s=1
done
if [ "$need_k8s" = 1 ]; then
  echo "build-kubernetes: building Kubernetes $k8s_version (about 10 minutes on two cores)"
  # One build at a time per cache (two checkouts bootstrapping at once); a lock of its own, never a team's.
  exec 9>"$CACHE/build-kubernetes.lock"
  flock 9
  build_kubernetes
  flock -u 9
fi
"$k8s_dir/kubectl" version --client | sed -n 1p

helm_dir="$CACHE/helm-$HELM_VERSION"
if [ ! -x "$helm_dir/helm" ]; then
  echo "build-kubernetes: building helm $HELM_VERSION with go install"
  # helm's version string comes from ldflags too (go install leaves it empty otherwise).
  flock "$CACHE/build-kubernetes.lock" env GOPATH="$CACHE/go" GOBIN="$helm_dir" CGO_ENABLED=0 \
    go install -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi
"$helm_dir/helm" version --short

# Images: the pod sandbox (a static binary that waits for a signal) and livekit-server, each FROM
# scratch, built with podman and saved as docker-archive tarballs that the harness imports into
# its containerd (`ctr images import`) on every start.
images_dir="$CACHE/k8s-images"
mkdir -p "$images_dir"
build_image() {
  local image=$1 binary=$2 tar ctx
  tar="$images_dir/$(echo "$image" | tr '/:' '__').tar"
  if [ -s "$tar" ]; then
    return
  fi
  echo "build-kubernetes: building image $image"
  ctx=$(mktemp -d)
  cp "$binary" "$ctx/entrypoint"
  printf 'FROM scratch\nCOPY entrypoint /entrypoint\nENTRYPOINT ["/entrypoint"]\n' > "$ctx/Containerfile"
  podman build -q -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
  podman save -q --format docker-archive -o "$tar.tmp" "$image"
  mv "$tar.tmp" "$tar"
}
pause_bin="$CACHE/k8s-images/pause-$(sha256sum scripts/k8s/pause.go | cut -c1-12)"
if [ ! -x "$pause_bin" ]; then
  GOPATH="$CACHE/go" CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$pause_bin" scripts/k8s/pause.go
fi
build_image "$K8S_PAUSE_IMAGE" "$pause_bin"
livekit_bin="$CACHE/livekit-$LIVEKIT_SERVER_VERSION/server"
if [ ! -x "$livekit_bin" ]; then
  echo "build-kubernetes: $livekit_bin is missing: run scripts/bootstrap.sh first" >&2
  exit 1
fi
build_image "$K8S_LIVEKIT_IMAGE_NAME:$LIVEKIT_SERVER_VERSION" "$livekit_bin"
# The previous release, for the rolling-upgrade test, where bootstrap.sh built it.
previous_bin="$CACHE/livekit-$LIVEKIT_SERVER_PREVIOUS_VERSION/server"
if [ -x "$previous_bin" ]; then
  build_image "$K8S_LIVEKIT_IMAGE_NAME:$LIVEKIT_SERVER_PREVIOUS_VERSION" "$previous_bin"
fi
# Redis and coturn from Debian's packages, on the test-host base image (scripts/testhosts.sh prepare builds it).
TESTHOST_IMAGE="${RTCSTACK_HOST_IMAGE:-localhost/rtcstack-debian12:2}"
build_debian_image() {
  local image=$1 packages=$2 tar ctx
  tar="$images_dir/$(echo "$image" | tr '/:' '__').tar"
  if [ -s "$tar" ]; then
    return
  fi
  podman image exists "$TESTHOST_IMAGE" || bash scripts/testhosts.sh prepare
  echo "build-kubernetes: building image $image"
  ctx=$(mktemp -d)
  printf '%s\n' "FROM $TESTHOST_IMAGE" \
    "RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null && rm -rf /var/lib/apt/lists/*" \
    > "$ctx/Containerfile"
  podman build -q -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
  podman save -q --format docker-archive -o "$tar.tmp" "$image"
  mv "$tar.tmp" "$tar"
}
build_debian_image "$K8S_REDIS_IMAGE" "redis-server redis-tools"
build_debian_image "$K8S_COTURN_IMAGE" "coturn"
ls "$images_dir"/*.tar
