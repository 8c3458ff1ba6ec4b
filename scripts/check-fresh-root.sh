#!/usr/bin/env bash
# Proves that scripts/setup.sh installs every system package a build needs.
#
# Builds a minimal Debian root (mmdebstrap --variant=minbase: no compiler, no
# -dev headers, no fonts), copies the committed tree of this clone into it,
# bind-mounts the host's Rust toolchain (rustup and cargo homes), and runs,
# inside it as a new user would: scripts/setup.sh, then scripts/build.sh (the
# release binaries and the WASM front end). Any package setup.sh forgot makes
# a build step fail, and so this script.
#
# Usage: scripts/check-fresh-root.sh [--keep] [--reuse-tools]
#   --keep         leave the root in place (its path is printed)
#   --reuse-tools  bind-mount the host's built broker and wasm-bindgen
#                  (~/.cache/pmoc/tools) instead of building them in the root:
#                  minutes instead of about half an hour, but it then does not
#                  prove their own build dependencies.
# Needs root (mmdebstrap, chroot, bind mounts) and Debian's mirror.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

keep=0 reuse_tools=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    --reuse-tools) reuse_tools=1 ;;
    *) die "unknown option $arg (see the header of $0)" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || die "run as root: it builds a chroot and bind-mounts into it"

if ! command -v mmdebstrap >/dev/null; then
  step "installing mmdebstrap"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mmdebstrap
fi

rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
[[ -d $rustup_home && -x $cargo_home/bin/cargo ]] || die "no Rust toolchain at $rustup_home / $cargo_home"

work="$(mktemp -d "${TMPDIR:-/tmp}/pmoc-fresh-root.XXXXXX")"
root="$work/root"
log="$work/check.log"
mounts=()
cleanup() {
  local status=$?
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
  if ((keep)); then
    step "root kept in $root (log $log)"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$status"
}
trap cleanup EXIT

codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
# The host's own Debian sources when it has deb822 ones, else the default mirror.
mirror=()
[[ -f /etc/apt/sources.list.d/debian.sources ]] && mirror=(/etc/apt/sources.list.d/debian.sources)
step "building a minimal Debian $codename root in $root"
mmdebstrap --variant=minbase --include=ca-certificates "$codename" "$root" "${mirror[@]}" >"$log" 2>&1 \
  || { tail -20 "$log"; die "mmdebstrap failed"; }

bind() { # bind SRC DEST [ro]
  mkdir -p "$2"
  mount --bind "$1" "$2"
  mounts+=("$2")
  [[ ${3:-} == ro ]] && mount -o remount,bind,ro "$2"
  return 0
}
bind /proc "$root/proc"
bind /sys "$root/sys"
bind /dev "$root/dev"
bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The host's network, which is not a package: the CA of a TLS-inspecting
# egress proxy (/usr/local/share/ca-certificates), the registries' client
# settings that point at it, and proxy variables. A fresh machine on the
# same network has them as well; without them npm and pip fail on TLS.
if compgen -G "/usr/local/share/ca-certificates/*" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates >>"$log" 2>&1
fi
for f in /etc/npmrc /etc/pip.conf; do
  if [[ -f $f ]]; then cp "$f" "$root$f"; fi
done
network_env=()
for v in SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE NODE_EXTRA_CA_CERTS PIP_CERT REQUESTS_CA_BUNDLE \
  GIT_SSL_CAINFO http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
  if [[ -n ${!v:-} ]]; then network_env+=("$v=${!v}"); fi
done
bind "$rustup_home" "$root/root/.rustup"
bind "$cargo_home" "$root/root/.cargo"
if ((reuse_tools)); then
  bind "$PMOC_CACHE/tools" "$root/root/.cache/pmoc/tools"
fi

step "copying the committed tree (HEAD $(git -C "$PMOC_ROOT" rev-parse --short HEAD)) into the root"
mkdir -p "$root/root/pmoc"
git -C "$PMOC_ROOT" archive HEAD | tar -x -C "$root/root/pmoc"

step "running scripts/setup.sh and scripts/build.sh inside the root (log: $log)"
start=$SECONDS
if chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 "${network_env[@]}" \
    PATH=/root/.cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    /bin/bash -c 'cd /root/pmoc && bash scripts/setup.sh && bash scripts/build.sh' >>"$log" 2>&1; then
  step "fresh root: setup and release build passed in $(((SECONDS - start) / 60)) min"
else
  tail -40 "$log"
  die "fresh root: a build step failed after $(((SECONDS - start) / 60)) min (log above; --keep keeps the root)"
fi
