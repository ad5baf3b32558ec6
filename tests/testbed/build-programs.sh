#!/usr/bin/env bash
# Build the real programs the roles pin, from their Go modules, into the test bed's cache:
#   $DVOPS_TOOLS_DIR/programs/<name>-<version>/<name>      (default ./.cache/tools)
# A no-op when the cached binary was built from the same inputs (version, wrapper module, Go,
# flags: recorded beside it in <name>.inputs). Versions come only from the role defaults
# (charon_version, geth_version), read by tests/testbed/programs/pins.py.
#
#   bash tests/testbed/build-programs.sh              charon and geth
#   bash tests/testbed/build-programs.sh mev-boost    explains why it cannot be built here
#
# Each program has a wrapper module in tests/testbed/programs/<name>/ (go.mod + committed go.sum;
# charon's replace lines are repeated there because `go install pkg@version` refuses them). The
# build runs in a temporary copy, so the checkout is never modified, and the binary reaches the
# cache by rename (a reader never sees half a file). A lock serialises concurrent runs that share
# the cache (several worktrees, one DVOPS_TOOLS_DIR).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${DVOPS_TOOLS_DIR:-$root/.cache/tools}"
pins="$root/tests/testbed/programs/pins.py"
# Bump when the recipe below changes in a way that changes the binary (forces one rebuild).
recipe=3

log() { echo "programs: $*"; }
die() { echo "programs: $*" >&2; exit 1; }

# name -> module, main package
module_of() {
  case "$1" in
    charon) echo "github.com/obolnetwork/charon github.com/obolnetwork/charon" ;;
    geth) echo "github.com/ethereum/go-ethereum github.com/ethereum/go-ethereum/cmd/geth" ;;
    mev-boost) echo "github.com/flashbots/mev-boost github.com/flashbots/mev-boost" ;;
    *) return 1 ;;
  esac
}

# Release metadata the upstream builds set with -ldflags, from the module's origin when the
# proxy reports it (charon: tag commit; geth's proxy entry has none, so geth says so itself).
ldflags_of() {
  local name="$1" version="$2" hash="$3" time="$4"
  case "$name" in
    charon)
      # app/version: `var version = "v1.10"` is overwritten by charon's release build (Makefile:
      # -X .../app/version.version=<tag>); vcsRevision/vcsTime likewise (7-char hash, as it prints).
      printf '%s' "-s -w -buildid= -X github.com/obolnetwork/charon/app/version.version=$version"
      [ -z "$hash" ] || printf ' %s' "-X github.com/obolnetwork/charon/app/version.vcsRevision=${hash:0:7}" \
        "-X github.com/obolnetwork/charon/app/version.vcsTime=$time"
      ;;
    geth)
      # version/version.go holds 1.16.7-stable already; build/ci.go adds the commit and date.
      printf '%s' "-s -w -buildid="
      [ -z "$hash" ] || printf ' %s' "-X github.com/ethereum/go-ethereum/internal/version.gitCommit=$hash" \
        "-X github.com/ethereum/go-ethereum/internal/version.gitDate=$(date -u -d "$time" +%Y%m%d)"
      ;;
  esac
}

# The line of `<program> version` that names the version.
# (Read whole, then filter: an early-exiting grep would SIGPIPE the program under pipefail.)
version_line() {
  local text
  text="$("$2" version)" || return 1
  case "$1" in
    charon) sed -n 1p <<<"$text" ;;
    geth) grep -m1 '^Version:' <<<"$text" ;;
  esac
}

# The version a built binary must report, checked before it enters the cache.
expect_version() {
  case "$1" in
    charon) version_line "$1" "$2" | grep -q "^$3 " ;;
    geth) version_line "$1" "$2" | grep -qx "Version: ${3#v}-stable" ;;
  esac
}

unavailable() {
  # No silent stand-in: name the exact reason (no pin, or the proxy's refusal) and fail.
  local name="$1" module="$2" err
  err="$(cd "${TMPDIR:-/tmp}" && GOFLAGS="" go list -m -versions "$module" 2>&1)" || true
  die "$name cannot be built here: no role pins a version of it (no ${name//-/_}_version in roles/*/defaults),
and the Go module proxy refuses the module: $err"
}

build_one() {
  local name="$1" version module pkg wrapper dir out work inputs flags took start hash time
  read -r module pkg < <(module_of "$name") || die "unknown program $name (charon, geth, mev-boost)"
  version="$(python3 "$pins" version "$name" 2>/dev/null)" || unavailable "$name" "$module"
  wrapper="$root/tests/testbed/programs/$name"
  [ -f "$wrapper/go.mod" ] || die "no wrapper module $wrapper/go.mod"
  dir="$tools/programs/$name-$version"
  out="$dir/$name"
  mkdir -p "$dir"
  exec 9>"$dir/.lock"
  flock 9

  work="$(mktemp -d)"
  work_dirs+=("$work")
  cp "$wrapper/go.mod" "$wrapper/go.sum" "$work/"
  if ! grep -q "^require $module $version\$" "$wrapper/go.mod"; then
    log "NOTE: $wrapper/go.mod pins another $module than the role ($version); building $version." \
        "Update the wrapper (require, replace lines, go.sum) to match."
  fi
  (cd "$work" && go mod edit -require="$module@$version")
  export GOFLAGS=-mod=mod GOTOOLCHAIN=local
  # The origin (tag commit) and time the proxy reports for the version ("-" when it has none).
  read -r hash time < <(cd "$work" && go list -m -f \
    '{{with .Origin}}{{.Hash}}{{else}}-{{end}} {{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$module@$version") \
    || die "the Go module proxy has no $module@$version: $(cd "$work" && go list -m "$module@$version" 2>&1)"
  [ "$hash" != - ] || hash=""
  flags="$(ldflags_of "$name" "$version" "$hash" "$time")"
  inputs="$(printf 'recipe %s\nprogram %s %s\npackage %s\ngo %s\nldflags %s\nwrapper %s\n' \
    "$recipe" "$name" "$version" "$pkg" "$(go env GOVERSION GOOS GOARCH CGO_ENABLED | paste -sd' ')" "$flags" \
    "$(cat "$work/go.mod" "$wrapper/go.sum" | sha256sum | cut -c1-64)")"

  if [ -x "$out" ] && [ -f "$out.inputs" ] && [ "$(cat "$out.inputs")" = "$inputs" ]; then
    log "$name $version: cached, nothing to build ($out)"
    return 0
  fi
  log "$name $version: building $pkg (go $(go env GOVERSION); a cold Go cache takes minutes)"
  start=$SECONDS
  (cd "$work" && go build -trimpath -ldflags "$flags" -o "$work/$name" "$pkg")
  took=$((SECONDS - start))
  expect_version "$name" "$work/$name" "$version" \
    || die "$name built but does not report version $version: $("$work/$name" version 2>&1 | head -3)"
  # Same filesystem as the cache (rename is atomic there; $work may be on another one).
  install -m 0755 "$work/$name" "$dir/.$name.new"
  mv -f "$dir/.$name.new" "$out"
  printf '%s\n' "$inputs" >"$dir/.$name.inputs.new"
  mv -f "$dir/.$name.inputs.new" "$out.inputs"
  log "$name $version: built in ${took}s -> $out ($(du -h "$out" | cut -f1)): $(version_line "$name" "$out")"
}

work_dirs=()
trap 'rm -rf "${work_dirs[@]}"' EXIT
command -v go >/dev/null 2>&1 || die "Go is not installed (Go >= 1.26 builds charon v1.10.3 and geth)"
# charon links herumi's BLS library and geth its secp256k1 through cgo.
command -v gcc >/dev/null 2>&1 || die "gcc is missing (cgo): apt-get install gcc libc6-dev"
[ "$#" -gt 0 ] || set -- charon geth
for program in "$@"; do
  build_one "$program"
done
