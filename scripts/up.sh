#!/usr/bin/env bash
# Quick start: install what is missing, then run a single-node rudder server on the embedded
# store in the foreground. Flags are passed to `rudder server` (see `bin/rudder server --help`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
exec "$root/bin/rudder" server "$@"
