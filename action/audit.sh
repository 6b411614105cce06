#!/usr/bin/env bash
# Step 2 of the flowaudit action: run `flowaudit audit` with the action's inputs (FA_* variables,
# mapped in action.yml so no input is ever pasted into shell code), then publish the counts and the
# verdict as step outputs. This step records the exit code and succeeds; the gate step after the
# SARIF upload turns it into the job's result, so code scanning gets the findings of a failing run.
set -euo pipefail

fail() { echo "::error title=flowaudit::$1"; echo "exit-code=2" >>"$GITHUB_OUTPUT"; echo "verdict=invalid-input" >>"$GITHUB_OUTPUT"; exit 2; }
flag() {  # GitHub passes boolean inputs as the strings true/false
  case "$2" in
    true | false) ;;
    *) fail "input $1 must be true or false, not '$2'" ;;
  esac
}

: "${GITHUB_OUTPUT:?}" "${FA_BIN:?}" "${FA_PYTHON:?}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${FA_OUTPUT_DIR:-flowaudit-out}"
flag fail-on-new "${FA_FAIL_ON_NEW:=false}"
flag require-complete "${FA_REQUIRE_COMPLETE:=false}"
flag baseline-required "${FA_BASELINE_REQUIRED:=false}"
flag upload-sarif "${FA_UPLOAD_SARIF:=false}"
flag job-summary "${FA_JOB_SUMMARY:=true}"

# Formats: the caller's, plus json (the counts below come from result.json), sarif when it is to be
# uploaded and md for the job summary. flowaudit appends summary.md to $GITHUB_STEP_SUMMARY itself.
formats=()
add_format() {
  local f
  for f in ${formats[@]+"${formats[@]}"}; do [ "$f" = "$1" ] && return 0; done
  formats+=("$1")
}
IFS=', ' read -r -a requested <<<"${FA_FORMATS:-}"
for f in ${requested[@]+"${requested[@]}"}; do [ -n "$f" ] && add_format "$f"; done
add_format json
[ "$FA_UPLOAD_SARIF" = true ] && add_format sarif
[ "$FA_JOB_SUMMARY" = true ] && add_format md
format_list="$(IFS=,; echo "${formats[*]}")"

args=(audit --format "$format_list" --output-dir "$out" --fail-on "${FA_FAIL_ON:-high}")
[ "$FA_FAIL_ON_NEW" = true ] && args+=(--fail-on-new)
[ "$FA_REQUIRE_COMPLETE" = true ] && args+=(--require-complete)
[ -n "${FA_CONFIG:-}" ] && args+=(--config "$FA_CONFIG")
[ -n "${FA_WAIVERS:-}" ] && args+=(--waivers "$FA_WAIVERS")
if [ -n "${FA_BASELINE:-}" ]; then
  if [ -f "$FA_BASELINE" ]; then
    args+=(--baseline "$FA_BASELINE")
  elif [ "$FA_BASELINE_REQUIRED" = true ]; then
    fail "baseline $FA_BASELINE does not exist"
  else  # the first run has no previous result: audit without one rather than fail
    echo "::notice title=flowaudit::no baseline at $FA_BASELINE (first run?): auditing without one"
  fi
fi

# Where the data comes from: a snapshot or bundled sample offline, else Graph.
run_env=()
token_refresher=""
if [ -n "${FA_SNAPSHOT:-}" ]; then
  args+=(--snapshot "$FA_SNAPSHOT")
elif [ -n "${FA_SAMPLE:-}" ]; then
  args+=(--sample "$FA_SAMPLE")
else
  [ -n "${FA_TENANT:-}" ] || fail "input tenant is required for a live audit (or give snapshot)"
  cloud="${FA_CLOUD:-global}"
  args+=(--tenant "$FA_TENANT" --cloud "$cloud")
  [ -n "${FA_SAVE_SNAPSHOT:-}" ] && args+=(--save-snapshot "$FA_SAVE_SNAPSHOT")
  case "${FA_AUTH:-workload-identity}" in
    workload-identity)
      # No azure/login and no secret: GitHub's OIDC token is the client assertion for the app
      # registration's federated credential, read by azure-identity from AZURE_FEDERATED_TOKEN_FILE.
      client_id="${FA_CLIENT_ID:-${AZURE_CLIENT_ID:-}}"
      [ -n "$client_id" ] || fail "auth workload-identity needs the client-id input (the app registration's client id)"
      [ -n "${ACTIONS_ID_TOKEN_REQUEST_URL:-}" ] \
        || fail "auth workload-identity needs 'permissions: id-token: write' on the job"
      token_dir="${RUNNER_TEMP:?}/flowaudit-oidc"
      install -d -m 700 "$token_dir"
      token_file="$token_dir/token"
      oidc=("$FA_PYTHON" "$here/github_oidc_token.py" --out "$token_file" --cloud "$cloud" --audience "${FA_AUDIENCE:-}")
      "${oidc[@]}" || { echo "exit-code=3" >>"$GITHUB_OUTPUT"; echo "verdict=incomplete" >>"$GITHUB_OUTPUT"; exit 3; }
      "${oidc[@]}" --refresh 240 &
      token_refresher=$!
      run_env=(AZURE_CLIENT_ID="$client_id" AZURE_TENANT_ID="$FA_TENANT" AZURE_FEDERATED_TOKEN_FILE="$token_file")
      args+=(--auth default)
      ;;
    default | cli | managed-identity | token | client-secret | certificate)
      args+=(--auth "$FA_AUTH")
      ;;
    *) fail "input auth must be workload-identity, cli, default, managed-identity, token, client-secret or certificate" ;;
  esac
fi
cleanup() {
  if [ -n "$token_refresher" ]; then kill "$token_refresher" 2>/dev/null || true; fi
  if [ -n "${token_dir:-}" ]; then rm -rf "$token_dir"; fi
}
trap cleanup EXIT

# flowaudit writes the job summary once, when md is among the formats. Without job-summary it must
# not see $GITHUB_STEP_SUMMARY at all.
summary_file="${GITHUB_STEP_SUMMARY:-}"
summary_size_before=0
if [ -n "$summary_file" ] && [ -f "$summary_file" ]; then summary_size_before=$(wc -c <"$summary_file"); fi
unset_summary=()
[ "$FA_JOB_SUMMARY" = true ] || unset_summary=(-u GITHUB_STEP_SUMMARY)
started="$(mktemp)"

echo "flowaudit ${args[*]}"
set +e
# ${a[@]+"${a[@]}"}: an empty array under set -u, also in the bash 3.2 of macOS
env ${unset_summary[@]+"${unset_summary[@]}"} ${run_env[@]+"${run_env[@]}"} "$FA_BIN" "${args[@]}"
code=$?
set -e

case "$code" in
  0) verdict=pass ;;
  1) verdict=findings ;;
  2) verdict=invalid-input ;;
  3) verdict=incomplete ;;
  130 | 143) verdict=interrupted ;;
  *) verdict=error ;;
esac
{
  echo "exit-code=$code"
  echo "verdict=$verdict"
  echo "output-dir=$out"
} >>"$GITHUB_OUTPUT"

# Counts only from a result this run wrote (an output directory may hold an older one).
if [ -f "$out/result.json" ] && [ "$out/result.json" -nt "$started" ]; then
  echo "result-file=$out/result.json" >>"$GITHUB_OUTPUT"
  "$FA_PYTHON" "$here/outputs.py" "$out/result.json" >>"$GITHUB_OUTPUT"
fi
if [ -f "$out/results.sarif" ] && [ "$out/results.sarif" -nt "$started" ]; then
  echo "sarif-file=$out/results.sarif" >>"$GITHUB_OUTPUT"
fi
rm -f "$started"

# A run that stopped before its outputs (exit 2/3) wrote no summary: say so in one line, so the
# summary never stays empty, and never repeats what flowaudit already appended.
if [ "$FA_JOB_SUMMARY" = true ] && [ -n "$summary_file" ]; then
  summary_size_after=0
  if [ -f "$summary_file" ]; then summary_size_after=$(wc -c <"$summary_file"); fi
  if [ "$summary_size_after" -eq "$summary_size_before" ]; then
    printf '### flowaudit\n\nThe audit stopped with exit code %s (%s) before writing its summary; the job log says why.\n' \
      "$code" "$verdict" >>"$summary_file"
  fi
fi
echo "flowaudit exit code $code ($verdict)"
