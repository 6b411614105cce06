#!/bin/sh
# flowaudit nightly run: one directory per night under the state directory, holding that night's
# snapshot and reports; the previous night's result.json is the baseline. Used by
# flowaudit-nightly.service, by the cron line in flowaudit.cron and, as `flowaudit-nightly`, by
# the container image (Kubernetes CronJob, Azure Container Apps job).
#
# Settings (environment): STATE_DIRECTORY (set by systemd's StateDirectory=), FLOWAUDIT_CONFIG
# (format, fail-on, waivers, ...), FLOWAUDIT_AUTH (managed-identity; `default` for Kubernetes
# workload identity), FLOWAUDIT_KEEP_NIGHTS, FLOWAUDIT_KEEP_SNAPSHOTS, and FLOWAUDIT, the program:
# an absolute path, because cron's PATH (/usr/bin:/bin) does not hold the venv.
set -u
umask 077   # snapshots and reports hold personal data: readable by the flowaudit user only

flowaudit="${FLOWAUDIT:-/opt/flowaudit/bin/flowaudit}"
auth="${FLOWAUDIT_AUTH:-managed-identity}"
state="${STATE_DIRECTORY:-/var/lib/flowaudit}"
keep="${FLOWAUDIT_KEEP_NIGHTS:-30}"
keep_snapshots="${FLOWAUDIT_KEEP_SNAPSHOTS:-7}"
today="$(date -u +%Y-%m-%d)"
night="$state/nights/$today"

if [ ! -x "$flowaudit" ]; then
  echo "flowaudit-nightly: $flowaudit is not an executable (set FLOWAUDIT to the venv's flowaudit)" >&2
  exit 2
fi
mkdir -p "$night" || exit 2

# latest earlier night that produced a result (directory names sort by date)
baseline=""
for dir in "$state"/nights/*/; do
  case "$dir" in "$night/") continue ;; esac
  if [ -f "${dir}result.json" ]; then baseline="${dir}result.json"; fi
done
set --
if [ -n "$baseline" ]; then set -- --baseline "$baseline"; fi

# Format, fail-on and waivers come from the config file ($FLOWAUDIT_CONFIG); its format list must
# keep json, since result.json is tomorrow's baseline.
"$flowaudit" audit --auth "$auth" \
  --save-snapshot "$night/snapshot.zip" --output-dir "$night" "$@"
code=$?

# Keep the last $keep nights of reports, and snapshots (every sign-in, every guest) for fewer.
# A night's age is that of its files (deleting its snapshot changes the directory's own time).
find "$state/nights" -mindepth 2 -maxdepth 2 -name snapshot.zip -mtime +"$keep_snapshots" -delete
for dir in "$state"/nights/*/; do
  case "$dir" in "$night/") continue ;; esac
  if [ -d "$dir" ] && [ -z "$(find "$dir" -type f -mtime -"$keep" | head -n 1)" ]; then rm -rf "$dir"; fi
done

exit "$code"
