#!/usr/bin/env bash
# Build the molecule base image (Debian trixie with systemd as PID 1) from Debian packages:
# no container registry is reachable here, so the image is bootstrapped with mmdebstrap.
set -euo pipefail
image="${DVOPS_TESTBED_IMAGE:-local/debian-systemd:trixie}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "testbed image $image present"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mmdebstrap --quiet --variant=minbase \
  --include=python3,python3-venv,systemd,systemd-sysv,sudo,ca-certificates,iproute2,dbus,procps \
  trixie "$work/rootfs.tar"
docker import --change 'CMD ["/sbin/init"]' "$work/rootfs.tar" "$image" >/dev/null
echo "testbed image $image built"
