#!/usr/bin/env bash
# Step 1 of the flowaudit action: install flowaudit from the action's own checkout into a venv.
# flowaudit is not on the package index, and installing by name could fetch someone else's package,
# so the code that runs is exactly the commit the caller pinned in `uses:`.
set -euo pipefail

fail() { echo "::error title=flowaudit::$1"; exit 2; }

python="${FA_PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 \
  || fail "python input: '$python' not found (run actions/setup-python first, or name an interpreter)"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "flowaudit needs Python 3.10 or newer; '$python' is $("$python" -c 'import platform; print(platform.python_version())')"

source_dir="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is set by the runner for a composite action}"
venv="${RUNNER_TEMP:?}/flowaudit-venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$source_dir"

# PDF needs Pango and HarfBuzz from the system (WeasyPrint); install only what is missing, and only
# when PDF was asked for. Without them flowaudit itself says what to install (exit 2).
case ",${FA_FORMATS// /}," in
  *,pdf,*)
    pdf_libs=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core)
    if [ "$(uname -s)" = Linux ] && command -v dpkg-query >/dev/null 2>&1; then
      missing=()
      for lib in "${pdf_libs[@]}"; do
        dpkg-query -W -f='${Status}' "$lib" 2>/dev/null | grep -q 'install ok installed' || missing+=("$lib")
      done
      if [ "${#missing[@]}" -gt 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
          sudo apt-get update -qq
          sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        else
          echo "::warning title=flowaudit::PDF asked for but ${missing[*]} missing and no sudo to install them"
        fi
      fi
    fi
    ;;
esac

{
  echo "python=$venv/bin/python"
  echo "flowaudit=$venv/bin/flowaudit"
} >>"${GITHUB_OUTPUT:?}"
"$venv/bin/flowaudit" --version
