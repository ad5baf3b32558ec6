#!/usr/bin/env bash
# Build the molecule base image (Debian trixie with systemd as PID 1) from Debian packages:
# no container registry is reachable here, so the image is bootstrapped with mmdebstrap.
# Then its variant with the Docker engine already installed (Debian's docker.io and docker-compose with
# their recommends, as the docker role's `docker_source: distribution` installs them: the docker CLI is
# only a recommend of docker.io on trixie), for the real-charon bed (molecule/realbed): installing the
# engine on four nested hosts at once took 9-15 min of its prepare under load, and that scenario tests
# the programs, not the install (molecule/stack tests the install).
set -euo pipefail
image="${DVOPS_TESTBED_IMAGE:-local/debian-systemd:trixie}"
engine_image="${DVOPS_REALBED_IMAGE:-local/debian-systemd-docker:trixie}"
if docker image inspect "$image" >/dev/null 2>&1; then
  echo "testbed image $image present"
else
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  mmdebstrap --quiet --variant=minbase \
    --include=python3,python3-venv,systemd,systemd-sysv,sudo,ca-certificates,iproute2,dbus,procps \
    trixie "$work/rootfs.tar"
  docker import --change 'CMD ["/sbin/init"]' "$work/rootfs.tar" "$image" >/dev/null
  echo "testbed image $image built"
fi
if docker image inspect "$engine_image" >/dev/null 2>&1; then
  echo "testbed image $engine_image present"
else
  docker build -q -t "$engine_image" - >/dev/null <<DOCKERFILE
FROM $image
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      docker.io docker-compose ca-certificates curl >/dev/null && rm -rf /var/lib/apt/lists/*
DOCKERFILE
  echo "testbed image $engine_image built"
fi
