#!/usr/bin/env bash
# Build time of the test bed's real programs (tests/testbed/build-programs.sh), each beside a
# baseline measured in the same run on the same machine:
#   cold    charon + geth with an EMPTY Go build cache (a temp GOCACHE) into a temp tool dir.
#           The Go MODULE cache is left as it is (warm here: no download time is included; a
#           fresh CI machine also downloads the modules once).
#           baseline: `go build` of a one-file hello module with its own empty GOCACHE
#           (the cost of compiling the standard library and linking, nothing else).
#   cached  the same command again: the no-op a second `make test` pays.
#           baseline: `go version` run 6 times (the no-op runs the go command 3 times per program:
#           mod edit, list -m, env) plus `python3 -c pass` twice (pins.py, once per program).
#   images  build-images.sh when every image is up to date (the no-op of `make testbed`),
#           baseline: `docker image inspect` of one image.
#
#   bash bench/programs.sh            all three
#   bash bench/programs.sh --cached   skip the cold build (seconds instead of minutes)
# Plain output, one line per measurement: name, seconds, what it measured.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cold=1
[ "${1:-}" = "--cached" ] && cold=0

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# seconds with millisecond resolution
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
row() { printf '%-34s %9s s   %s\n' "$1" "$2" "$3"; }

echo "bench/programs.sh  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(go env GOVERSION)  $(nproc) cores  load $(cut -d' ' -f1-3 /proc/loadavg)"

if [ "$cold" = 1 ]; then
  mkdir -p "$work/hello"
  printf 'module hello\n\ngo 1.26\n' >"$work/hello/go.mod"
  printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
  t="$(now)"
  (cd "$work/hello" && GOCACHE="$work/gocache-hello" GOFLAGS=-trimpath go build -o "$work/hello/hello" .)
  row "baseline: hello, cold GOCACHE" "$(since "$t")" "go build of a hello module, empty build cache"

  t="$(now)"
  GOCACHE="$work/gocache" DVOPS_TOOLS_DIR="$work/tools" bash "$root/tests/testbed/build-programs.sh" >"$work/cold.log"
  row "programs: cold GOCACHE" "$(since "$t")" "charon + geth, empty build cache, module cache warm"
  sed 's/^/    /' "$work/cold.log"
else
  # The cached case needs a built cache: use the shared one (built by make tools).
  mkdir -p "$work/tools"
  ln -s "${DVOPS_TOOLS_DIR:-$root/.cache/tools}/programs" "$work/tools/programs"
fi

t="$(now)"
for _ in 1 2 3 4 5 6; do go version >/dev/null; done
python3 -c pass
python3 -c pass
row "baseline: go version x6, python3 x2" "$(since "$t")" "start-up of the commands the no-op runs"

t="$(now)"
DVOPS_TOOLS_DIR="$work/tools" bash "$root/tests/testbed/build-programs.sh" >"$work/cached.log"
row "programs: cached (no-op)" "$(since "$t")" "$(grep -c 'nothing to build' "$work/cached.log") of 2 cached, $(grep -c 'built in' "$work/cached.log" || true) built"

if docker info >/dev/null 2>&1 && docker image inspect "$(python3 "$root/tests/testbed/programs/pins.py" images | sed -n 1p | cut -d' ' -f2)" >/dev/null 2>&1; then
  ref="$(python3 "$root/tests/testbed/programs/pins.py" images | sed -n 1p | cut -d' ' -f2)"
  t="$(now)"
  docker image inspect "$ref" >/dev/null
  row "baseline: docker image inspect" "$(since "$t")" "one image ($ref)"
  t="$(now)"
  DVOPS_TOOLS_DIR="${DVOPS_TOOLS_DIR:-$root/.cache/tools}" bash "$root/tests/testbed/build-images.sh" >"$work/images.log"
  row "images: up to date (no-op)" "$(since "$t")" "$(grep -c 'up to date' "$work/images.log") up to date, $(grep -c 'built in' "$work/images.log" || true) built"
fi
