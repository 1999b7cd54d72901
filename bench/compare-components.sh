#!/bin/bash
# Validation of two compiled components side by side on the hosts table (the runner, Spin when
# SCIM_OTP_BENCH_SPIN names a Spin CLI, sqld when SCIM_OTP_BENCH_SQLD names one; the native host
# is the control: the same binary for both), alternating runs so that a machine's drift hits both.
#
#   bench/compare-components.sh BEFORE.wasm AFTER.wasm [ROUNDS] [OUT_DIR]
#
# Needs the `bench-host` binaries (`cargo xtask bench` builds them, or
# `cargo build --workspace --exclude frontend --bins --locked --profile bench-host`). A
# component of another commit: `git worktree add /tmp/old REV`, then in it
# `cargo build -p edge-api --release --target wasm32-wasip2 --locked` with the same
# CARGO_TARGET_DIR, and copy `wasm32-wasip2/release/edge_api.wasm` before building this one again.
# Each run writes OUT_DIR/<before|after>-<round>.md: the hosts table, as BENCHMARKS.md shows it.
# BENCH_ARGS adds arguments of scim-otp-bench, e.g. BENCH_ARGS="--host Spin" for Spin's rows only.
set -euo pipefail
before=$(realpath "$1") after=$(realpath "$2") rounds=${3:-5} out=${4:-bench-compare}
target=${CARGO_TARGET_DIR:-$HOME/.cache/scim-otp/target}
export SCIM_OTP_RUNNER=$target/bench-host/scim-otp-runner
mkdir -p "$out"
for round in $(seq 1 "$rounds"); do
  # Odd rounds start with before, even ones with after.
  order="before after"; [ $((round % 2)) -eq 0 ] && order="after before"
  for which in $order; do
    wasm=$before; [ "$which" = after ] && wasm=$after
    echo "round $round: $which ($(date -u +%H:%M:%S))" >&2
    SCIM_OTP_COMPONENT=$wasm "$target/bench-host/scim-otp-bench" --hosts-only --validations 1000 ${BENCH_ARGS:-} \
      > "$out/$which-$round.md"
  done
done
