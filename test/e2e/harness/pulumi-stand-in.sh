#!/bin/sh
# Stands in for the Pulumi CLI, which this machine does not have: `npm run rollback` reads the
# stack's outputs and its deploy key through the Automation API, which runs these commands. The
# answers are files the test writes in $CLAWDBOT_E2E_STACK_DIR; anything else is an error.
set -eu
dir=${CLAWDBOT_E2E_STACK_DIR:?CLAWDBOT_E2E_STACK_DIR is not set}
case "$*" in
  version) echo v3.248.0 ;;
  "stack select --stack "*) ;;
  "stack output --json --show-secrets --stack "*) cat "$dir/outputs.json" ;;
  "stack output --json --stack "*) cat "$dir/outputs-masked.json" ;;
  "config get "*" --json --stack "*) cat "$dir/config/$3.json" ;;
  *)
    echo "pulumi stand-in: unexpected command: pulumi $*" >&2
    exit 1
    ;;
esac
