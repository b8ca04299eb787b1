#!/usr/bin/env bash
# `dicompack send` against DCMTK's dcmsend and storescu, sending the same files to the same
# local Orthanc (C-STORE), alternating, ROUNDS rounds; medians of instances/s and MB/s.
#
#   benches/send.sh [COUNT] [ROUNDS]     COUNT: instances (default 500), ROUNDS (default 3)
#   BENCH_DICOMPACK=path/to/dicompack    a given build instead of a fresh release build
#   BENCH_SOURCE=file.dcm                the image to copy (default: a 2 KB MR image of the sample disc)
#
# The files are one MR image of the sample disc copied COUNT times with new SOP Instance UIDs
# (dcmodify -gin), in BENCH_WORK (default target/bench-work/send). Orthanc runs as a plain process
# on free ports with its storage in that folder, and is started afresh (empty) before every run,
# outside the timing. dicompack runs with its defaults (--jobs 2) and with --jobs 1, the way
# dcmsend and storescu send: one association.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-500}
rounds=${2:-3}
work=${BENCH_WORK:-target/bench-work/send}
target=${CARGO_TARGET_DIR:-target}
for t in dcmsend storescu dcmodify /usr/sbin/Orthanc python3; do
    command -v "$t" >/dev/null || { echo "missing: $t (apt-get install dcmtk orthanc)" >&2; exit 2; }
done
# BENCH_DICOMPACK=path: that binary instead of a fresh release build.
dp=${BENCH_DICOMPACK:-}
if [ -z "$dp" ]; then
    cargo build --release --quiet
    dp="$target/release/dicompack"
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
files="$work/files-$count-$(basename "${BENCH_SOURCE:-disc1}")"
if [ "$(find "$files" -type f 2>/dev/null | wc -l)" -ne "$count" ]; then
    rm -rf "$files" && mkdir -p "$files"
    src=${BENCH_SOURCE:-testdata/disc1/DICOM/ST000000/SE000001/IM000000}
    for i in $(seq -w 1 "$count"); do cp "$src" "$files/IM$i"; done
    dcmodify -q -nb -gin "$files"/IM* 
fi
bytes=$(du -cb "$files"/IM* | tail -1 | cut -f1)
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pid=""
start_orthanc() {
    stop_orthanc
    rm -rf "$work/orthanc" && mkdir -p "$work/orthanc"
    dport=$(port); hport=$(port)
    cat >"$work/orthanc/config.json" <<EOF
{"Name":"bench","StorageDirectory":"$work/orthanc/storage","IndexDirectory":"$work/orthanc/index",
 "DicomAet":"BENCHPACS","DicomPort":$dport,"HttpPort":$hport,"RemoteAccessAllowed":false,
 "AuthenticationEnabled":false,"StorageCompression":false,"Plugins":[],"LuaScripts":[]}
EOF
    /usr/sbin/Orthanc "$work/orthanc/config.json" >"$work/orthanc/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$hport/system" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "Orthanc did not start" >&2; exit 1
}
stop_orthanc() { if [ -n "$pid" ]; then kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; fi; }
trap stop_orthanc EXIT
stored() { curl -sf "http://127.0.0.1:$hport/statistics" | python3 -c 'import json,sys; print(json.load(sys.stdin)["CountInstances"])'; }

declare -A times
tools=(dicompack dicompack_jobs1 dcmsend storescu)
for r in $(seq "$rounds"); do
    for tool in "${tools[@]}"; do
        start_orthanc
        rm -f "$work/receipt.json"
        case $tool in
            dicompack) cmd=("$dp" send "$files" --to "BENCHPACS@127.0.0.1:$dport" --receipt "$work/receipt.json") ;;
            dicompack_jobs1) cmd=("$dp" send "$files" --to "BENCHPACS@127.0.0.1:$dport" --receipt "$work/receipt.json" --jobs 1) ;;
            dcmsend) cmd=(dcmsend -aec BENCHPACS 127.0.0.1 "$dport" "$files" --scan-directories) ;;
            storescu) cmd=(storescu -aec BENCHPACS 127.0.0.1 "$dport" --scan-directories "$files") ;;
        esac
        t0=$(date +%s.%N)
        "${cmd[@]}" >"$work/$tool.out" 2>&1 || { echo "$tool failed:"; tail "$work/$tool.out"; exit 1; }
        t1=$(date +%s.%N)
        n=$(stored)
        [ "$n" -eq "$count" ] || { echo "$tool: Orthanc holds $n of $count" >&2; exit 1; }
        times[$tool]+="$(echo "$t1 - $t0" | bc) "
    done
done
printf '%-18s %10s %12s %10s   (%d instances, %.1f MB, medians of %d)\n' tool seconds instances/s MB/s "$count" "$(echo "$bytes/1000000" | bc -l)" "$rounds"
for tool in "${tools[@]}"; do
    med=$(echo "${times[$tool]}" | tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    printf '%-18s %10.2f %12.1f %10.2f   rounds: %s\n' "$tool" "$med" "$(echo "$count/$med" | bc -l)" "$(echo "$bytes/1000000/$med" | bc -l)" "${times[$tool]}"
done
