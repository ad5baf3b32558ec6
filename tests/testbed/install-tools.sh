#!/usr/bin/env bash
# Controller-side validators for the node stack, without installing anything system-wide:
#   docker-compose  Compose v2 (trixie's docker-compose package: a static Go binary; bookworm only
#                   has Compose v1), used as `docker-compose config` to validate rendered projects;
#   promtool        from Debian's promtool package (trixie splits it out of prometheus), for `promtool check config`
#                   and `promtool test rules` (the monitoring role's alert rules);
#   prometheus, alertmanager, amtool  Debian's builds, for the alerting tests (real Prometheus scraping real
#                   charon; `amtool check-config` on the rendered Alertmanager config).
# Both are fetched with apt-get download (Debian mirrors are reachable, registries are not) and
# unpacked with dpkg -x into $DVOPS_TOOLS_DIR (default ./.cache/tools/bin).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tools="${DVOPS_TOOLS_DIR:-$root/.cache/tools}"
bin="$tools/bin"
mkdir -p "$bin"
if [ -x "$bin/docker-compose" ] && [ -x "$bin/promtool" ] && [ -x "$bin/prometheus" ] && [ -x "$bin/amtool" ]; then
  echo "stack tools present in $bin"; exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mirror="${DVOPS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# A private apt state for trixie, so the host's sources and lists stay untouched.
mkdir -p "$work/state/lists/partial" "$work/cache/archives/partial" "$work/etc/preferences.d"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" > "$work/etc/sources.list"
apt_opts=(-o "Dir::State=$work/state" -o "Dir::Cache=$work/cache" -o "Dir::Etc::SourceList=$work/etc/sources.list"
          -o "Dir::Etc::SourceParts=-" -o "Dir::Etc::PreferencesParts=$work/etc/preferences.d" -o "APT::Get::List-Cleanup=0"
          -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
apt-get "${apt_opts[@]}" -qq update
cd "$work"
apt-get "${apt_opts[@]}" -qq download docker-compose promtool prometheus prometheus-alertmanager
for deb in ./*.deb; do dpkg -x "$deb" "$work/x"; done
install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$bin/docker-compose"
install -m 0755 "$work/x/usr/bin/promtool" "$bin/promtool"
install -m 0755 "$work/x/usr/bin/prometheus" "$bin/prometheus"
install -m 0755 "$work/x/usr/bin/prometheus-alertmanager" "$bin/alertmanager"
install -m 0755 "$work/x/usr/bin/amtool" "$bin/amtool"
"$bin/docker-compose" version
"$bin/promtool" --version | head -1
