#!/usr/bin/env python3
"""dicompack over simulated slow media, side by side with `cp -r` over the same mount (issue 14).

    benches/drive.py --bin target/release/dicompack [--baseline OLD_BIN] [--rounds 3]
                     [--media cd,dvd,usb,net] [--scale 1] SET_DIR [SET_DIR ...]

Each SET_DIR (a disc-like folder: tools/make-bench-set cd-ct / cd-many) is shown through
../shared/tools/optical-drive-fs (a FUSE view with one head, a transfer rate, a cost per seek and
a 128 KiB read-ahead cache), mounted afresh for every single run so that no run profits from the
one before. Each round runs `cp -r`, `dicompack scan --json` and `dicompack pack` (and the
baseline's scan and pack), in an order that rotates; the table shows medians, with the drive's
count of seeks and bytes read (÷ the disc's content) and the peak RSS.

Media (rate, cost per seek): cd 7.8 MB/s, 100 ms; dvd 22 MB/s, 110 ms; usb 35 MB/s, 0.5 ms; net
110 MB/s, 2 ms per request that does not follow the last one. --scale N divides every time by N
(rate × N, seek ÷ N): the drive's share keeps its ratios, the CPU's grows N times, so a scaled
run is the harder test.

Needs fusepy (the venv of tools/test has it: target/interop-venv) and libfuse2, and /dev/fuse.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT.parent / "shared" / "tools" / "optical-drive-fs"
MEDIA = {
    "cd": (7.8, 100.0),
    "dvd": (22.0, 110.0),
    "usb": (35.0, 0.5),
    "net": (110.0, 2.0),
}


def python_with_fuse():
    for py in (ROOT / "target/interop-venv/bin/python3", Path(sys.executable)):
        if py.exists() and subprocess.run([str(py), "-c", "import fuse"],
                                          capture_output=True).returncode == 0:
            return str(py)
    sys.exit("fusepy is missing: run tools/test once (it makes target/interop-venv), "
             "or pip install fusepy==3.0.1")


def mount(py, src, mnt, mbps, seek_ms, log):
    child = subprocess.Popen([py, str(TOOL), str(src), str(mnt), "--mbps", str(mbps),
                              "--seek-ms", str(seek_ms), "--log", str(log)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.ismount(mnt):
            return child
        time.sleep(0.05)
    child.kill()
    sys.exit(f"the FUSE view of {src} did not come up")


def unmount(child, mnt, log):
    # fusermount comes with fuse3 or fuse; umount does it as root.
    unmounter = shutil.which("fusermount") or shutil.which("fusermount3")
    subprocess.run([unmounter, "-u", str(mnt)] if unmounter else ["umount", str(mnt)], check=False)
    child.wait(timeout=60)
    line = Path(log).read_text().strip().splitlines()[-1]
    # "disc 80.1 MB, read 80.2 MB (1.00x), seeks 3, drive time 10.3 s"
    words = line.replace(",", "").replace("(", "").replace(")", "").split()
    return {"disc_mb": float(words[1]), "read_mb": float(words[4]),
            "seeks": int(words[8]), "drive_s": float(words[11])}


def run_once(py, src, medium, scale, argv, work):
    mbps, seek = MEDIA[medium]
    mnt = Path(tempfile.mkdtemp(dir=work, prefix="mnt-"))
    log = work / "drive.log"
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    child = mount(py, src, mnt, mbps * scale, seek / scale, log)
    cmd = [a.replace("{MNT}", str(mnt)).replace("{OUT}", str(out)) for a in argv]
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", *cmd], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    drive = unmount(child, mnt, log)
    mnt.rmdir()
    shutil.rmtree(out, ignore_errors=True)
    if r.returncode not in (0, 3):
        sys.exit(f"{cmd} failed ({r.returncode}): {r.stderr[-2000:]}")
    rss_kb = int(r.stderr.strip().splitlines()[-1])
    return dict(wall=wall, rss_mb=rss_kb / 1024, **drive)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sets", nargs="+", type=Path)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--baseline")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--media", default="cd,dvd,usb,net")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--only", default="", help="cp,scan,pack,base_scan,base_pack")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    py = python_with_fuse()
    work = Path(tempfile.mkdtemp(prefix="dicompack-drive-", dir=ROOT / "target"))
    commands = {
        "cp": ["cp", "-r", "{MNT}", "{OUT}/copy"],
        "scan": [a.bin, "scan", "{MNT}", "--json"],
        "pack": [a.bin, "pack", "{MNT}", "-o", "{OUT}/p.zip"],
    }
    if a.baseline:
        commands["base_scan"] = [a.baseline, "scan", "{MNT}", "--json"]
        commands["base_pack"] = [a.baseline, "pack", "{MNT}", "-o", "{OUT}/p.zip"]
    if a.only:
        commands = {k: v for k, v in commands.items() if k in a.only.split(",")}
    results = []
    for src in a.sets:
        for medium in a.media.split(","):
            names = list(commands)
            runs = {n: [] for n in names}
            for rnd in range(a.rounds):
                order = names[rnd % len(names):] + names[:rnd % len(names)]
                for n in order:
                    runs[n].append(run_once(py, src.resolve(), medium, a.scale, commands[n], work))
            for n in names:
                rs = runs[n]
                results.append(dict(set=src.name, medium=medium, command=n, runs=rs,
                                    wall=statistics.median(r["wall"] for r in rs),
                                    seeks=statistics.median(r["seeks"] for r in rs),
                                    read_x=statistics.median(r["read_mb"] / r["disc_mb"] for r in rs),
                                    rss_mb=max(r["rss_mb"] for r in rs)))
            cp = next((r["wall"] for r in results
                       if r["set"] == src.name and r["medium"] == medium and r["command"] == "cp"), None)
            for r in results:
                if r["set"] == src.name and r["medium"] == medium:
                    r["vs_cp"] = r["wall"] / cp if cp else None
            print_table([r for r in results if r["set"] == src.name and r["medium"] == medium],
                        header=(src is a.sets[0] and medium == a.media.split(",")[0]))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(dict(scale=a.scale, rounds=a.rounds, results=results), indent=1))
    shutil.rmtree(work, ignore_errors=True)


def print_table(rows, header):
    if header:
        print(f"| set | medium | command | wall (median) | ÷ cp -r | seeks | bytes read ÷ disc | peak RSS |")
        print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        vs = f"{r['vs_cp']:.2f}×" if r.get("vs_cp") else "–"
        print(f"| {r['set']} | {r['medium']} | {r['command']} | {r['wall']:.1f} s | {vs} | "
              f"{r['seeks']:.0f} | {r['read_x']:.2f}× | {r['rss_mb']:.0f} MB |", flush=True)


if __name__ == "__main__":
    main()
