#!/usr/bin/env bash
# Build the node stack's images locally, under exactly the names and tags the roles render
# (read from roles/*/defaults by tests/testbed/programs/pins.py), so `docker compose up` on a
# test host needs no registry:
#   real:  charon, geth            binaries from build-programs.sh (the pinned Go modules)
#   real:  prometheus, node-exporter   Debian's packages (another version than the tag: labelled)
#   FAKE:  lighthouse (bn + vc), teku, lodestar, grafana   tests/testbed/images/fake/fake.py
# No registry is reachable: each base is a Debian rootfs made by mmdebstrap and `docker import`ed;
# the images are built FROM it with the legacy builder (BuildKit would try to resolve the base).
# An image is rebuilt only when its inputs changed (binary, Dockerfile, base: a digest in the
# label org.dvops.testbed.inputs); a second run builds nothing.
#
#   bash tests/testbed/build-images.sh                 every image (charon first)
#   bash tests/testbed/build-images.sh charon geth     only these kinds (see pins.py images)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
here="$root/tests/testbed"
tools="${DVOPS_TOOLS_DIR:-$root/.cache/tools}"
pins="$here/programs/pins.py"
suite=trixie
mirror="${DVOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when this script changes what goes into a base / an image (forces one rebuild of those).
base_recipe=3
recipe=2
label=org.dvops.testbed.inputs
packages_label=org.dvops.testbed.packages

log() { echo "images: $*"; }
die() { echo "images: $*" >&2; exit 1; }
sha() { sha256sum | cut -c1-64; }

# Base rootfs per kind: the packages upstream's image carries for it (charon: ca-certificates fio
# wget, from charon's Dockerfile), the Debian packages that are the program (monitoring), python3
# for the FAKEs.
flavour_of() {
  case "$1" in
    charon | geth) echo runtime ;;
    prometheus | node-exporter) echo monitoring ;;
    lighthouse | teku | lodestar | grafana) echo fake ;;
    *) return 1 ;;
  esac
}
packages_of() {
  case "$1" in
    runtime) echo ca-certificates,wget,fio ;;
    monitoring) echo ca-certificates,wget,prometheus,prometheus-node-exporter ;;
    fake) echo ca-certificates,wget,python3 ;;
  esac
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

old_bases=()
image_label() { docker image inspect --format "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }

# local/dvops-testbed-base:<flavour>, rebuilt when its package list changes.
ensure_base() {
  local flavour="$1" tag="local/dvops-testbed-base:$1" packages digest start
  packages="$(packages_of "$flavour")"
  digest="$(printf 'recipe %s\nsuite %s\npackages %s\n' "$base_recipe" "$suite" "$packages" | sha)"
  if [ "$(image_label "$tag")" = "$digest" ]; then
    return 0
  fi
  old_bases+=("$(docker image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)")
  log "base $tag: mmdebstrap $suite + $packages"
  start=$SECONDS
  # No docs, man pages or locales: the images are for tests; no Recommends (as upstream's apt-get).
  # The versions Debian gave us, recorded as a label (read back without starting a container):
  # "pkg=version,pkg=version," (no spaces: LABEL would split there).
  mmdebstrap --quiet --variant=minbase --include="$packages" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package}=\${Version},' ${packages//,/ } >$work/$flavour.versions" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    "$suite" "$work/$flavour.tar" "$mirror"
  docker import --change "LABEL $label=$digest" --change "LABEL $packages_label=$(cat "$work/$flavour.versions")" \
    "$work/$flavour.tar" "$tag" >/dev/null
  rm -f "$work/$flavour.tar"
  log "base $tag: built in $((SECONDS - start))s"
}

# The real Debian version of the program a monitoring image runs (for its label).
debian_version() {
  local versions
  versions="$(docker image inspect --format "{{ index .Config.Labels \"$packages_label\" }}" "local/dvops-testbed-base:monitoring")"
  tr ',' '\n' <<<"$versions" | sed -n "s/^$1=//p" | grep . || die "no version of $1 recorded on the monitoring base"
}

build_image() {
  local kind="$1" ref="$2" flavour base ctx version real="" digest old start program
  flavour="$(flavour_of "$kind")" || die "no image recipe for kind $kind ($ref)"
  base="local/dvops-testbed-base:$flavour"
  ensure_base "$flavour"
  version="${ref##*:}"
  ctx="$work/ctx-$kind"
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp "$here/images/$kind/Dockerfile" "$ctx/"
  case "$kind" in
    charon | geth)
      # The tag is the version the role pins (charon_image:charon_version), so it names the binary.
      program="$tools/programs/$kind-$version/$kind"
      [ -x "$program" ] || die "$program is missing for $ref: run tests/testbed/build-programs.sh (the roles pin $kind $version?)"
      cp "$program" "$ctx/$kind"
      ;;
    prometheus) real="prometheus $(debian_version prometheus)" ;;
    node-exporter) real="prometheus-node-exporter $(debian_version prometheus-node-exporter)" ;;
    *) cp "$here/images/fake/fake.py" "$ctx/" ;;
  esac
  digest="$( { printf 'recipe %s\nref %s\nbase %s\nreal %s\n' "$recipe" "$ref" \
      "$(docker image inspect --format '{{.Id}}' "$base")" "$real"
    (cd "$ctx" && find . -type f | LC_ALL=C sort | xargs sha256sum); } | sha)"
  if [ "$(image_label "$ref")" = "$digest" ]; then
    log "$ref: up to date ($kind, nothing to build)"
    return 0
  fi
  old="$(docker image inspect --format '{{.Id}}' "$ref" 2>/dev/null || true)"
  log "$ref: building ($kind)"
  start=$SECONDS
  # (The legacy builder's deprecation notice is noise here: shown only with a failure.)
  DOCKER_BUILDKIT=0 docker build --force-rm --build-arg "BASE=$base" --build-arg "REF=$ref" --build-arg "VERSION=$version" \
    --build-arg "REAL=$real" --label "$label=$digest" -t "$ref" "$ctx" >"$work/build.log" 2>&1 \
    || { cat "$work/build.log" >&2; die "$ref: docker build failed"; }
  # Drop the image this one replaces unless a container still uses it (the daemon refuses then).
  if [ -n "$old" ] && [ "$old" != "$(docker image inspect --format '{{.Id}}' "$ref")" ]; then
    docker rmi "$old" >/dev/null 2>&1 || true
  fi
  log "$ref: built in $((SECONDS - start))s ($kind, $(docker image inspect --format '{{.Size}}' "$ref" \
    | awk '{printf "%d MB", $1/1000000}'))${real:+, runs Debian $real}"
}

command -v docker >/dev/null 2>&1 || die "docker is missing: bash tests/testbed/ensure.sh"
command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap is missing: bash tests/testbed/ensure.sh"
want=("$@")
selected() {
  [ "${#want[@]}" = 0 ] && return 0
  local w
  for w in "${want[@]}"; do [ "$w" = "$1" ] && return 0; done
  return 1
}
# The real programs first (no-op when cached); pins.py lists charon first, so its image comes first.
programs=()
for p in charon geth; do
  if selected "$p"; then programs+=("$p"); fi
done
[ "${#programs[@]}" = 0 ] || bash "$here/build-programs.sh" "${programs[@]}"
mapfile -t images < <(python3 "$pins" images)
[ "${#images[@]}" -gt 0 ] || die "pins.py listed no images"
for line in "${images[@]}"; do
  read -r kind ref <<<"$line"
  if selected "$kind"; then
    build_image "$kind" "$ref"
  fi
done
# Replaced bases go once no image is built on them any more (the daemon refuses otherwise).
for id in "${old_bases[@]}"; do
  [ -z "$id" ] || docker rmi "$id" >/dev/null 2>&1 || true
done
