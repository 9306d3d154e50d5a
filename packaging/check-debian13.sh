#!/usr/bin/env bash
# Builds and tests this tree on Debian 13 (trixie: LibTorch 2.6, Qt 6.8, ImGui 1.91) in a
# chroot, so a change can be checked against both Debian releases from a Debian 12 machine.
# Not part of CI: the first run downloads the root and every package and builds from scratch
# (25+ minutes on 2 cores); later runs reuse both and rebuild only what changed.
#
#   packaging/check-debian13.sh            # root in $HEADLAB_DEBIAN13_ROOT (default below)
#   HEADLAB_DEBIAN13_ROOT=/srv/trixie packaging/check-debian13.sh
#
# Inside the root it runs the README's `make test` on a clean copy of the tracked and
# untracked-but-not-ignored files, with its build folder kept outside that copy (so a stale
# file never survives a deletion, and the build stays incremental). The last line says
# PASS or FAIL with ctest's summary; the exit status is make's. Needs root: like
# install-deps.sh it uses sudo when not root (for debootstrap, mount and chroot).
set -euo pipefail

root="${HEADLAB_DEBIAN13_ROOT:-/var/tmp/headlab-trixie}"
mirror="${HEADLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
jobs="${JOBS:-$(nproc)}"
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ "$(id -u)" -ne 0 ]]; then
  exec sudo env HEADLAB_DEBIAN13_ROOT="$root" HEADLAB_DEBIAN_MIRROR="$mirror" JOBS="$jobs" \
    "$0" "$@"
fi

say() { echo "check-debian13: $*"; }
complete_marker="$root/.headlab-root-complete"
log="$root/srv/headlab/last-run.log"

# --- the root: made once, reused while its marker says debootstrap finished --------------
if [[ ! -e "$complete_marker" ]]; then
  if [[ -d "$root" && -n "$(ls -A "$root")" && ! -d "$root/debootstrap" ]]; then
    # Not ours to delete: a non-empty folder that is neither a finished nor a partial root.
    say "$root exists, is not empty and is not a Debian root this script started; choose" \
        "another HEADLAB_DEBIAN13_ROOT" >&2
    exit 2
  fi
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap
  fi
  if [[ -d "$root/debootstrap" ]]; then
    say "removing the partial root an interrupted run left in $root"
    # Nothing may be mounted below it, and --one-file-system keeps rm out of any mount anyway.
    if grep -q " $root/" /proc/mounts; then
      say "something is still mounted under $root; unmount it first" >&2
      exit 2
    fi
    rm -rf --one-file-system "$root"
  fi
  say "making the Debian 13 root in $root (minbase, from $mirror; several minutes)"
  mkdir -p "$root"
  # make: the README's commands start with it (build-essential, which has it, comes later).
  debootstrap --variant=minbase --include=make trixie "$root" "$mirror"
  # No daemon may start inside the chroot when apt installs a package that ships one.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  touch "$complete_marker"
fi

# --- mounts, undone on any exit ---------------------------------------------------------
mounted=()
cleanup() {
  local i
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Mounts only what is not mounted yet (a second, concurrent run is refused by the lock below,
# but a run killed with -9 may have left mounts behind: they are reused, not stacked).
bind() {
  local from="$1" to="$root$1"
  [[ -e "$from" ]] || return 0
  mkdir -p "$to"
  if ! mountpoint -q "$to"; then
    mount --bind "$from" "$to"
    mounted+=("$to")
  fi
}

exec 9>"$root/.headlab-lock"
if ! flock -n 9; then
  say "another check is running in $root" >&2
  exit 2
fi

if ! mountpoint -q "$root/proc"; then
  mount -t proc proc "$root/proc"
  mounted+=("$root/proc")
fi
bind /sys
bind /dev
bind /dev/pts
bind /dev/shm
cp -L /etc/resolv.conf "$root/etc/resolv.conf"  # apt inside needs the host's resolver

# A root made by an older version of this script may lack make.
if ! chroot "$root" sh -c 'command -v make' >/dev/null; then
  chroot "$root" apt-get update -qq
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends make
fi

# --- a clean copy of the tree -----------------------------------------------------------
# Tracked files plus untracked ones git does not ignore (build folders are ignored). tar keeps
# the files' times, so an unchanged file is not rebuilt although the copy is new.
say "copying $src into $root/srv/headlab/src"
rm -rf --one-file-system "$root/srv/headlab/src"
mkdir -p "$root/srv/headlab/src" "$root/srv/headlab/build"
git -c safe.directory="$src" -C "$src" ls-files -z -co --exclude-standard --deduplicate |
  (cd "$src" && while IFS= read -r -d '' f; do [[ -e "$f" ]] && printf '%s\0' "$f"; done) |
  tar -C "$src" --null -T - -cf - | tar -C "$root/srv/headlab/src" -xf -
# A check stopped mid-build leaves objects newer than the sources they were made from; if a
# source then changes, its kept time can still be older than that object, and the build would
# keep it. A file whose content differs from the last copy's is therefore dated now.
sums="$root/srv/headlab/build/.headlab-source-sums"
(cd "$root/srv/headlab/src" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$sums.new"
if [[ -f "$sums" ]]; then
  comm -23 <(sort "$sums.new") <(sort "$sums") | cut -c67- |
    (cd "$root/srv/headlab/src" && while IFS= read -r f; do touch -- "$f"; done)
fi
mv "$sums.new" "$sums"

# --- make test inside -------------------------------------------------------------------
say "running make test inside the Debian 13 root (log: $log)"
status=0
chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HEADLAB_SCREENSHOT_STEPS="${HEADLAB_SCREENSHOT_STEPS:-150}" \
  bash -c "cd /srv/headlab/src && make test BUILD=/srv/headlab/build JOBS=$jobs" 2>&1 |
  tee "$log" || status=$?

versions="$(chroot "$root" dpkg-query -W -f='${Package} ${Version}\n' libtorch-dev qt6-base-dev \
  libimgui-dev 2>/dev/null | awk '{printf "%s%s %s", sep, $1, $2; sep=", "}' || true)"
summary="$(grep -E '^[0-9]+% tests passed' "$log" | tail -n 1 || true)"
[[ -n "$summary" ]] || summary="no ctest summary (the build or the set-up failed; see $log)"
if [[ $status -eq 0 ]]; then
  say "PASS on Debian 13 ($versions): $summary"
else
  say "FAIL (exit $status) on Debian 13 ($versions): $summary"
fi
exit "$status"
