#!/bin/sh
# flowaudit nightly run: one directory per night under the state directory, holding that night's
# snapshot and reports; the previous night's result.json is the baseline. Used by
# flowaudit-nightly.service and by the cron line in flowaudit.cron.
set -u

state="${STATE_DIRECTORY:-/var/lib/flowaudit}"
keep="${FLOWAUDIT_KEEP_NIGHTS:-90}"
today="$(date -u +%Y-%m-%d)"
night="$state/nights/$today"
mkdir -p "$night"

# latest earlier night that produced a result (directory names sort by date)
baseline=""
for dir in "$state"/nights/*/; do
  case "$dir" in "$night/") continue ;; esac
  if [ -f "${dir}result.json" ]; then baseline="${dir}result.json"; fi
done
set --
if [ -n "$baseline" ]; then set -- --baseline "$baseline"; fi

flowaudit audit --auth managed-identity \
  --save-snapshot "$night/snapshot.zip" --output-dir "$night" \
  --format json,html,pdf,md --fail-on high "$@"
code=$?

# keep the last $keep nights
find "$state/nights" -mindepth 1 -maxdepth 1 -type d -mtime +"$keep" -exec rm -rf {} +

exit "$code"
