#!/bin/sh
# Export the small preset once (STASHTAG_RANDOM_WEIGHTS=1 for offline tests), then serve it.
set -eu
preset="${STASHTAG_PRESET:-small}"
random=""
if [ "${STASHTAG_RANDOM_WEIGHTS:-0}" = "1" ]; then random="--random-weights"; fi
stashtag repo build --preset "$preset" --target python-ort --repo /models --if-missing $random
exec stashtag serve --repo /models --address 0.0.0.0 "$@"
