#!/usr/bin/env bash
# Make this machine a test bed: Docker engine running, mmdebstrap present, molecule base image built,
# the node stack's images built locally (build-images.sh: real charon/geth, Debian's monitoring, FAKEs).
# Idempotent: a no-op when everything is there. Installs with apt as root on a fresh Debian machine
# (the project's machines have no systemd, so dockerd is started in the background by hand).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

need_apt=()
# The engine, not just a client: some images ship the docker CLI without dockerd.
command -v dockerd >/dev/null 2>&1 || need_apt+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || need_apt+=(mmdebstrap)
# ansible-test sanity lints the shell scripts only when shellcheck is present.
command -v shellcheck >/dev/null 2>&1 || need_apt+=(shellcheck)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "testbed: missing ${need_apt[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "testbed: apt-get install ${need_apt[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "testbed: the Docker engine is not reachable and only root can start it" >&2
    exit 1
  fi
  if [ -d /run/systemd/system ]; then
    systemctl start docker
  else
    echo "testbed: starting dockerd (log: /var/log/dvops-dockerd.log)"
    nohup dockerd >/var/log/dvops-dockerd.log 2>&1 &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "testbed: dockerd did not come up" >&2; tail -20 /var/log/dvops-dockerd.log >&2 || true; exit 1; }
fi
echo "testbed: docker $(docker version --format '{{.Server.Version}}') running"

bash "$here/build-image.sh"
bash "$here/build-images.sh"
