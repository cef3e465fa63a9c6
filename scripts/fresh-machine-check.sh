#!/usr/bin/env bash
# Runs the README's two commands on a fresh Debian bookworm machine: builds a clean root
# with debootstrap (from the Debian archive that apt on this machine uses), copies a clean
# clone of this repository's HEAD into it, and runs, as root in a chroot,
#   scripts/run-main.sh    then    scripts/test.sh
# printing each command's wall time, exit status and closing lines. The root holds only
# Debian's minimal base system: no compiler, no CUDA toolkit, no Python, no LibTorch; the
# two commands must install everything they need themselves.
#
# Carried in from this machine, because the chroot shares its network: the resolver
# (/etc/resolv.conf), the certificate authorities (/etc/ssl/certs/ca-certificates.crt
# and /usr/local/share/ca-certificates) and the proxy and pip variables of the
# environment. Nothing else.
#
# Usage: scripts/fresh-machine-check.sh [ROOT] [LOG-FOLDER]
#   ROOT: where the root is built (default /var/tmp/mapinverse-fresh-root; removed first)
#   LOG-FOLDER: where the logs and the summary go (default docs/results/fresh_machine)
# Needs root (debootstrap, chroot, mounts). Takes about an hour on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
root=${1:-/var/tmp/mapinverse-fresh-root}
logs=${2:-docs/results/fresh_machine}
[ "$(id -u)" -eq 0 ] || { echo "fresh-machine-check: needs root (debootstrap, chroot)" >&2; exit 2; }
case $root in /|/usr|/var|/tmp|"") echo "fresh-machine-check: refusing root folder '$root'" >&2; exit 2 ;; esac
mkdir -p "$logs"
logs=$(cd "$logs" && pwd)
summary=$logs/summary.md

unmount_all() {
  for mount in dev/pts dev/shm dev proc sys; do
    mountpoint -q "$root/$mount" && umount -l "$root/$mount" || true
  done
}
trap unmount_all EXIT

command -v debootstrap >/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/*$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}

unmount_all
rm -rf "$root"
start=$(date +%s)
echo "fresh-machine-check: debootstrap bookworm (minbase) from $mirror into $root"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$logs/debootstrap.log" 2>&1 || {
  tail -n 20 "$logs/debootstrap.log" >&2
  exit 1
}
bootstrap_seconds=$(($(date +%s) - start))

# The same archive suites as this machine (bookworm, -updates, -security).
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
  cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
  rm -f "$root/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/etc/ssl/certs" "$root/usr/local/share/ca-certificates"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
cp -r /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/" 2>/dev/null || true

mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount -t devpts devpts "$root/dev/pts" 2>/dev/null || true
mount -t tmpfs tmpfs "$root/dev/shm"

# A clean clone of HEAD: what CI checks out, without this checkout's build folders.
git clone --quiet --no-hardlinks "$repo" "$root/root/mapinverse"
commit=$(git -C "$root/root/mapinverse" rev-parse --short HEAD)

environment=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8)
for name in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_CERT \
  PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_DEFAULT_TIMEOUT REQUESTS_CA_BUNDLE SSL_CERT_FILE; do
  [ -n "${!name:-}" ] && environment+=("$name=${!name}")
done

# run_in_root NAME COMMAND: runs COMMAND in the clone inside the root, logs it, times it.
results=()
run_in_root() {
  local name=$1 command=$2 started seconds rc
  echo "fresh-machine-check: $command"
  started=$(date +%s)
  set +e
  chroot "$root" /usr/bin/env -i "${environment[@]}" /bin/bash -c "cd /root/mapinverse && $command" \
    >"$logs/$name.log" 2>&1
  rc=$?
  set -e
  seconds=$(($(date +%s) - started))
  results+=("$name|$command|$rc|$seconds")
  echo "  exit $rc after ${seconds} s; last lines:"
  tail -n 8 "$logs/$name.log" | sed 's/^/    /'
}

run_in_root run-main scripts/run-main.sh
run_in_root test scripts/test.sh

{
  echo "# Fresh-machine check"
  echo
  echo "\`scripts/fresh-machine-check.sh\` on $(date -u +%Y-%m-%d), commit $commit: Debian bookworm"
  echo "minbase root from $mirror (debootstrap: ${bootstrap_seconds} s), $(nproc) cores, the"
  echo "README's two commands as root in a chroot, one after the other."
  echo
  echo "| command | exit | wall time | closing lines |"
  echo "|---|---|---|---|"
  for result in "${results[@]}"; do
    IFS='|' read -r name command rc seconds <<<"$result"
    closing=$(tail -n 3 "$logs/$name.log" | sed 's/|/\\|/g' | tr '\n' '\r' | sed 's/\r$//; s/\r/<br>/g')
    echo "| \`$command\` | $rc | $((seconds / 60)) min $((seconds % 60)) s | $closing |"
  done
  echo
  echo "Full logs: \`run-main.log\`, \`test.log\` and \`debootstrap.log\` next to this file."
} >"$summary"
echo "fresh-machine-check: summary in $summary"

status=0
for result in "${results[@]}"; do
  IFS='|' read -r _ _ rc _ <<<"$result"
  [ "$rc" -eq 0 ] || status=1
done
exit $status
