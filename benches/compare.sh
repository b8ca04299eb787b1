#!/usr/bin/env bash
# Side by side: dicompack vs the floor (cat, openssl) vs the tools people use today (DCMTK
# dcmmkdir + sha256sum + zip, pydicom), on one generated benchmark set, in one run, alternating.
#
#   benches/compare.sh SIZE [ROUNDS]      SIZE: small | medium | large | many (default ROUNDS: 5)
#
# Environment: CARGO_TARGET_DIR (default ./target), BENCH_WORK (scratch for the peer's links and
# the packages, default $CARGO_TARGET_DIR/bench-work/SIZE; put it on tmpfs to leave the disk
# out), BENCH_ONLY=tool,tool (a subset, for a quick look), BENCH_BASELINE=path/to/dicompack (an
# earlier build, run in the same rounds, for before/after ratios). See benches/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:?usage: benches/compare.sh small|medium|large|many [ROUNDS]}
rounds=${2:-5}

# --- tools the comparison needs (installed only when missing) ---------------------------------
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v zip >/dev/null || need_apt+=(zip)
command -v openssl >/dev/null || need_apt+=(openssl)
command -v dcmmkdir >/dev/null || need_apt+=(dcmtk)
if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing: ${need_apt[*]}" >&2
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
    $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq "${need_apt[@]}"
fi
# tools/test's venv (pinned pydicom and numpy) when it is there.
[ -x target/interop-venv/bin/python3 ] && PATH="$PWD/target/interop-venv/bin:$PATH"
python3 -c 'import pydicom, numpy' 2>/dev/null || python3 -m pip install --quiet 'pydicom==3.0.2' numpy

# --- inputs -------------------------------------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
tools/fetch-test-files
cargo build --release --quiet
tools/make-bench-set "$size" "$CARGO_TARGET_DIR/bench-sets/$size"

# Room for the packages (two at most at a time, each about the set's size) and the zips.
set_mb=$(du -sm "$CARGO_TARGET_DIR/bench-sets/$size" | cut -f1)
work=${BENCH_WORK:-$CARGO_TARGET_DIR/bench-work/$size}
mkdir -p "$work"
free_mb=$(df -Pm "$work" | awk 'NR==2 {print $4}')
if [ "$free_mb" -lt $((set_mb * 3)) ]; then
    echo "need about $((set_mb * 3)) MB free for $work, have $free_mb MB" >&2
    exit 2
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
python3 benches/compare.py \
    --set "$CARGO_TARGET_DIR/bench-sets/$size" \
    --summary "$CARGO_TARGET_DIR/bench-sets/$size.json" \
    --bin "$CARGO_TARGET_DIR/release/dicompack" \
    --rounds "$rounds" \
    --work "$work" \
    --json "$CARGO_TARGET_DIR/bench-results/$size-$stamp.json" \
    ${BENCH_ONLY:+--only "$BENCH_ONLY"} \
    ${BENCH_BASELINE:+--baseline "$BENCH_BASELINE"}
rm -rf "$work"
