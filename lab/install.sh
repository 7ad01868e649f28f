#!/usr/bin/env bash
# lab/install.sh: prepares this machine (Debian 12, as root) for the fleetdock lab tests.
#
# Owns: the Debian packages the lab runs (dockerd 20.10, registry, tinyproxy, sshd, nspawn, ...),
# the cache dir with dockerd 26 (from Debian trixie, extracted, never installed) and the debootstrapped
# build-server rootfs, and the inotify limit that many booted build servers need.
# Must not: touch the checkout, start any daemon, or change the machine's apt sources.
# Idempotent: a second run only checks and takes seconds. FLEETDOCK_LAB_CACHE overrides the cache dir.
set -euo pipefail

CACHE=${FLEETDOCK_LAB_CACHE:-/var/cache/fleetdock-lab}
PACKAGES=(docker.io docker-registry tinyproxy openssh-server busybox-static iproute2 debootstrap openssl
  systemd-container curl)
# What the build-server rootfs holds. Changing this list (or the daemon.json) rebuilds the rootfs,
# because the stamp records it. sudo: `fleetdock bootstrap` logs in as an unprivileged user too.
BASE_INCLUDE=systemd,systemd-sysv,dbus,docker.io,procps,openssh-server,ca-certificates,iproute2,curl,sudo
BASE_DAEMON_JSON='{"storage-driver":"vfs","iptables":false,"bridge":"none"}'
BASE_RECIPE="bookworm minbase include=$BASE_INCLUDE daemon.json=$BASE_DAEMON_JSON ssh=disabled hostname=machine v2"

say() { printf '[lab/install] %s\n' "$*" >&2; }
t0=$(date +%s)

if [ "$(id -u)" != 0 ]; then
  say "must run as root (it installs packages and runs debootstrap)"
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive

# The Debian mirror this machine already uses (deb822 sources first, then the classic list).
debian_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

# 1. Packages -----------------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  say "packages: all present"
else
  say "packages: installing ${missing[*]}"
  # Keep package scripts from starting daemons (dockerd, tinyproxy, sshd) on this machine: the lab
  # starts its own, on free ports, and stops them. policy-rc.d 101 = "action forbidden".
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  trap - EXIT
fi

mkdir -p "$CACHE"

# 2. dockerd 26 from Debian trixie --------------------------------------------------------------
D26="$CACHE/docker26"
if [ -x "$D26/usr/sbin/dockerd" ] && "$D26/usr/sbin/dockerd" --version 2>/dev/null | grep -q 'version 26\.'; then
  say "dockerd 26: present ($("$D26/usr/sbin/dockerd" --version))"
else
  say "dockerd 26: fetching docker.io from Debian trixie (download only, not installed)"
  T=$(mktemp -d /tmp/fdl-install-XXXXXX)
  chmod 755 "$T"   # apt drops to user _apt for downloads
  mirror=$(debian_mirror)
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$T/sources.list"
  o=(-o "Dir::Etc::SourceList=$T/sources.list" -o Dir::Etc::SourceParts=/dev/null
     -o "Dir::State::Lists=$T/lists" -o "Dir::Cache=$T/cache")
  mkdir -p "$T/lists/partial" "$T/cache/archives/partial"
  apt-get "${o[@]}" update -q
  (cd "$T" && apt-get "${o[@]}" download docker.io)
  dpkg -x "$T"/docker.io_*.deb "$T/root"
  "$T/root/usr/sbin/dockerd" --version | grep -q 'version 26\.' || {
    say "dockerd 26: the trixie package holds $("$T/root/usr/sbin/dockerd" --version), not 26.x"
    exit 1
  }
  rm -rf "$D26"
  mv "$T/root" "$D26"
  rm -rf "$T"
  say "dockerd 26: $("$D26/usr/sbin/dockerd" --version)"
fi

# 3. Build-server rootfs ------------------------------------------------------------------------
BASE="$CACHE/base"
STAMP="$CACHE/base.stamp"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$BASE_RECIPE" ] && [ -x "$BASE/usr/sbin/dockerd" ]; then
  say "build-server rootfs: present ($BASE)"
else
  # No stamp (or an old recipe) means a half-built or stale rootfs: start over.
  rm -f "$STAMP"
  rm -rf "$BASE"
  mirror=$(debian_mirror)
  say "build-server rootfs: debootstrap bookworm into $BASE from $mirror (about a minute)"
  debootstrap --variant=minbase --include="$BASE_INCLUDE" bookworm "$BASE" "$mirror" > "$CACHE/debootstrap.log" 2>&1 || {
    say "debootstrap failed; last lines of $CACHE/debootstrap.log:"
    tail -n 20 "$CACHE/debootstrap.log" >&2
    exit 1
  }
  mkdir -p "$BASE/etc/docker"
  echo "$BASE_DAEMON_JSON" > "$BASE/etc/docker/daemon.json"
  # Build servers share the machine's network, so sshd on port 22 in each would collide with the
  # next one (and with the machine's own). Tests that want sshd start it on a port of their own.
  rm -f "$BASE/etc/systemd/system/multi-user.target.wants/ssh.service" \
        "$BASE/etc/systemd/system/sshd.service" \
        "$BASE/etc/systemd/system/sockets.target.wants/ssh.socket"
  # debootstrap copies this machine's /etc/hostname; without it each server is named by nspawn's -M.
  rm -f "$BASE/etc/hostname"
  # Empty machine-id: systemd makes a fresh one per boot, so servers booted from one rootfs differ.
  : > "$BASE/etc/machine-id"
  rm -rf "$BASE/var/cache/apt/archives/"*.deb
  echo "$BASE_RECIPE" > "$STAMP"
  say "build-server rootfs: built ($(du -sh "$BASE" | cut -f1))"
fi

# 4. Kernel limits ------------------------------------------------------------------------------
# The 17th booted build server hangs on the default of 128 inotify instances.
cur=$(sysctl -n fs.inotify.max_user_instances)
if [ "$cur" -lt 1024 ]; then
  sysctl -q -w fs.inotify.max_user_instances=1024
  say "fs.inotify.max_user_instances: $cur -> 1024"
else
  say "fs.inotify.max_user_instances: $cur"
fi

say "done in $(( $(date +%s) - t0 )) s (cache: $CACHE)"
