# shellcheck shell=bash
# Sourced by scripts/test_debian13.sh and scripts/cuda_compile_check.sh: a Debian 13 (trixie) root
# made with debootstrap from the mirror this machine's apt sources name, cached outside the repo
# (DCGAN_DEBIAN13_ROOT, default ~/.cache/dcgan/debian13) and reused while complete.
# Needs root: debootstrap, mount and chroot. Mounts are made in a private mount namespace
# (unshare), so they vanish with the script even when it is killed; a trap also unmounts them.

debian13_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
debian13_root=${DCGAN_DEBIAN13_ROOT:-$HOME/.cache/dcgan/debian13}
debian13_suite=trixie
debian13_mounts=()

die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# Re-runs the calling script as root (sudo) in its own mount namespace, once.
debian13_enter() {
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "needs root (debootstrap, mount, chroot) and sudo is missing"
    # The caller's DCGAN_* settings go along; the root's default path is this user's $HOME.
    export DCGAN_DEBIAN13_ROOT=$debian13_root
    exec sudo --preserve-env="$(compgen -e | grep '^DCGAN_' | paste -sd, -)" "$0" "$@"
  fi
  if [[ -z ${DCGAN_IN_MOUNT_NAMESPACE:-} ]]; then
    exec env DCGAN_IN_MOUNT_NAMESPACE=1 unshare --mount --propagation private "$0" "$@"
  fi
}

# The Debian mirror of this machine's apt sources (deb822 .sources first, then sources.list);
# DCGAN_DEBIAN_MIRROR overrides it. Security mirrors carry no full suite, so they are skipped.
debian13_mirror() {
  if [[ -n ${DCGAN_DEBIAN_MIRROR:-} ]]; then
    echo "$DCGAN_DEBIAN_MIRROR"
    return
  fi
  local uri
  uri=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' |
    grep -v -- '-security' | head -n 1 || true)
  if [[ -z $uri ]]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -e 's/#.*//' -e 's/\[[^]]*\]//' |
      awk '$1 == "deb" { print $2 }' | grep -v -- '-security' | head -n 1 || true)
  fi
  [[ -n $uri ]] || die "no Debian mirror in /etc/apt/sources.list*; set DCGAN_DEBIAN_MIRROR"
  echo "${uri%/}"
}

debian13_unmount_under() {
  local dir=$1 target
  # Deepest first; /proc/self/mounts escapes spaces as \040, which our paths don't contain.
  awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r target; do umount -l "$target" || true; done
}

# Makes the root with debootstrap unless a complete one is cached (the marker is written last).
debian13_make_root() {
  local marker=$debian13_root/.dcgan-debootstrap-complete
  if [[ -f $marker ]]; then
    echo "Debian 13 root: reusing $debian13_root"
    return
  fi
  if ! command -v debootstrap >/dev/null; then
    echo "Installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap ||
      { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends debootstrap; }
  fi
  [[ -e /usr/share/debootstrap/scripts/$debian13_suite ]] || die "debootstrap knows no $debian13_suite"
  local mirror partial=$debian13_root.partial
  mirror=$(debian13_mirror)
  echo "Debian 13 root: debootstrap $debian13_suite from $mirror into $debian13_root"
  mkdir -p "$(dirname "$debian13_root")"
  debian13_unmount_under "$partial"
  rm -rf --one-file-system "$partial"
  # contrib and non-free: scripts/cuda_compile_check.sh downloads libtorch-cuda-dev and
  # nvidia-cuda-dev from them.
  debootstrap --variant=minbase --include=ca-certificates --components=main,contrib,non-free \
    "$debian13_suite" "$partial" "$mirror" >"$partial.log" 2>&1 ||
    { tail -n 20 "$partial.log" >&2; die "debootstrap failed (log: $partial.log)"; }
  rm -f "$partial.log"
  touch "$partial/.dcgan-debootstrap-complete"
  debian13_unmount_under "$debian13_root"
  rm -rf --one-file-system "$debian13_root"
  mv "$partial" "$debian13_root"
}

debian13_cleanup() {
  local i
  for ((i = ${#debian13_mounts[@]} - 1; i >= 0; i--)); do
    umount -l "${debian13_mounts[i]}" 2>/dev/null || true
  done
  debian13_mounts=()
}

debian13_mount() {  # debian13_mount <mount args...> <target inside the root>
  local target=$debian13_root${*: -1}
  mkdir -p "$target"
  mount "${@:1:$#-1}" "$target"
  debian13_mounts+=("$target")
}

# Locks the root against a concurrent run, makes it if needed and mounts what apt and the build need.
debian13_prepare() {
  mkdir -p "$(dirname "$debian13_root")"
  exec 9>"$debian13_root.lock"
  flock -n 9 || { echo "Waiting for another run using $debian13_root"; flock 9; }
  debian13_make_root
  trap debian13_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  debian13_mount -t proc proc /proc
  debian13_mount -t sysfs sysfs /sys
  debian13_mount --bind /dev /dev
  debian13_mount --bind /dev/pts /dev/pts
  debian13_mount -t tmpfs tmpfs /dev/shm
  cp -L /etc/resolv.conf "$debian13_root/etc/resolv.conf" 2>/dev/null || true
}

# Runs a command in the root with a clean environment.
debian13_run() {
  chroot "$debian13_root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    "$@"
}

# Installs the build dependencies with the repo's own scripts/install_deps.sh (one package list).
debian13_install_deps() {
  install -D -m 755 "$debian13_repo/scripts/install_deps.sh" "$debian13_root/tmp/install_deps.sh"
  debian13_run /tmp/install_deps.sh
  rm -f "$debian13_root/tmp/install_deps.sh"
}
