#!/usr/bin/env python3
"""Side-by-side runner behind benches/compare.sh (see benches/README.md).

Runs dicompack and the tools people use today on the same generated set, in one run, in
alternating rounds (every round runs every tool once; the order rotates from round to round),
and reports medians and ratios. Each command runs under /usr/bin/time for its peak memory.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sh(cmd, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, **kw)


def timed(cmd, cwd=None):
    """Runs cmd (argv list or shell string) under /usr/bin/time; returns wall s, max RSS KiB, cpu s."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        argv = cmd if isinstance(cmd, list) else ["bash", "-c", "set -o pipefail; " + cmd]
        full = ["/usr/bin/time", "-f", "%M %U %S", "-o", tf.name] + argv
        t0 = time.perf_counter()
        p = subprocess.run(full, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
        if p.returncode not in (0,):
            sys.stderr.write(p.stderr.decode(errors="replace")[-2000:])
            raise SystemExit(f"command failed ({p.returncode}): {cmd}")
        last = [l for l in tf.read().splitlines() if l.strip()][-1].split()
        return dict(wall=wall, rss_kib=int(last[0]), cpu=float(last[1]) + float(last[2]))


def cpu_model():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def cpu_flags():
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", required=True, type=Path)
    ap.add_argument("--summary", type=Path, help="the generator's SET.json")
    ap.add_argument("--bin", required=True, type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--work", required=True, type=Path, help="scratch: peer copy, packages")
    ap.add_argument("--json", required=True, type=Path)
    ap.add_argument("--only", help="comma-separated tool names (for a quick look)")
    ap.add_argument("--baseline", type=Path,
                    help="another dicompack binary (an earlier commit) run in the same rounds: "
                         "each dicompack row gets a base_ twin and a new/base ratio")
    a = ap.parse_args()

    setdir = a.set.resolve()
    files = sorted(p for p in setdir.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    nfiles = len(files)
    dp = str(a.bin.resolve())
    pack_help = subprocess.run([dp, "pack", "--help"], capture_output=True, text=True).stdout
    thumbnails = "--no-thumbnails" in pack_help
    no_thumbs = ["--no-thumbnails"] if thumbnails else []

    work = a.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    out = work / "out"
    out.mkdir(parents=True)
    listfile = work / "files.txt"
    listfile.write_text("\n".join(map(str, files)) + "\n")

    # The peer needs PS3.10 file IDs (<= 8 uppercase characters per component): link each file
    # to DICOM/Dnnnn/Innnnnnn, one folder per source folder. Hard links, made once before any
    # timing: the bytes (and their page cache) are the very same as the set's, so the peer reads
    # exactly what dicompack reads. (A real copy would only add an untimed copy step.)
    peer = work / "peer"
    folders = {}
    linked = copied = 0
    for f in files:
        d = folders.setdefault(f.parent, peer / "DICOM" / f"D{len(folders) + 1:04d}")
        d.mkdir(parents=True, exist_ok=True)
        dst = d / f"I{sum(1 for _ in d.iterdir()) + 1:07d}"
        try:
            os.link(f, dst)
            linked += 1
        except OSError:
            shutil.copy2(f, dst)
            copied += 1
    series_dirs = sorted(folders.values())

    # One representative file per series (the middle one) for the peer's thumbnails.
    thumb_inputs = []
    for d in series_dirs:
        members = sorted(d.iterdir())
        thumb_inputs.append(members[len(members) // 2])

    passfile = work / "passphrase.txt"
    passfile.write_text("bench-passphrase-not-secret\n")
    sha_cmd = ("cd '{p}' && find DICOM -type f -print0 | sort -z | xargs -0 sha256sum > SHA256.TXT"
               .format(p=peer))
    tools = {
        # the floor: read + hash the same files in two processes; and read alone
        "floor_openssl": f"find '{setdir}' -type f -print0 | xargs -0 -P2 -n100 openssl dgst -sha256 > /dev/null",
        "floor_cat": f"find '{setdir}' -type f -print0 | xargs -0 cat > /dev/null",
        # dicompack
        "dp_scan": [dp, "scan", str(setdir), "--json"],
        "dp_pack_none": [dp, "pack", str(setdir), "-o", str(out / "dp-none.zip"), "--force",
                         "--compression", "none"] + no_thumbs,
        "dp_pack_default": [dp, "pack", str(setdir), "-o", str(out / "dp-default.zip"), "--force"],
        # issue 16: the same package as a disc image, and encrypted (goal: within 1.3x of dp_pack_none)
        "dp_pack_iso": [dp, "pack", str(setdir), "-o", str(out / "dp-disc.iso"), "--force"] + no_thumbs,
        "dp_pack_encrypted": [dp, "pack", str(setdir), "-o", str(out / "dp-sealed.zip"), "--force",
                              "--compression", "none", "--encrypt", "--passphrase-file",
                              str(passfile)] + no_thumbs,
        "dp_verify": [dp, "verify", str(work / "verify.zip")],
        # pydicom, header only, one process
        "pydicom_headers": [sys.executable, "-c",
                            "import sys, pydicom\n"
                            "for p in open(sys.argv[1]).read().split('\\n'):\n"
                            "    p and pydicom.dcmread(p, stop_before_pixels=True)\n",
                            str(listfile)],
        # the peer pipeline, step by step (all over the linked copy)
        "peer_dcmmkdir": f"cd '{peer}' && rm -f DICOMDIR && dcmmkdir -q +r +I -Pmi DICOM",
        "peer_sha256sum": sha_cmd,
        # zip then fsync the archive: dicompack fsyncs its package, so the peer does too
        "peer_zip0": f"cd '{peer}' && zip -q -r -0 '{out}/peer0.zip' . && sync '{out}/peer0.zip'",
        "peer_zip6": f"cd '{peer}' && zip -q -r -6 '{out}/peer6.zip' . && sync '{out}/peer6.zip'",
        # one thumbnail per series, scaled to 128 px wide (informational until dicompack renders)
        # (DCMTK reads JPEG, JPEG-LS and RLE but not JPEG 2000: those series get no thumbnail)
        "peer_thumbs": "; ".join(
            f"dcmj2pnm -q +oj +Sxv 128 +Wm '{f}' '{out}/thumb{i:04d}.jpg'" for i, f in enumerate(thumb_inputs))
        + "; true",
    }
    if a.baseline:
        base = str(a.baseline.resolve())
        for n in [n for n in tools if n.startswith("dp_")]:
            argv = [base if x == dp else x for x in tools[n]]
            tools["base_" + n[3:]] = [x.replace("dp-", "base-") if x.endswith(".zip") and "dp-" in x else x
                                      for x in argv]
    if a.only:
        keep = set(a.only.split(","))
        keep |= {"base_" + k[3:] for k in keep if k.startswith("dp_")}
        tools = {k: v for k, v in tools.items() if k in keep}
    cleanup = {
        "dp_pack_none": [out / "dp-none.zip"], "dp_pack_default": [out / "dp-default.zip"],
        "dp_pack_iso": [out / "dp-disc.iso"], "dp_pack_encrypted": [out / "dp-sealed.zip"],
        "peer_zip0": [out / "peer0.zip"], "peer_zip6": [out / "peer6.zip"],
        "base_pack_none": [out / "base-none.zip"], "base_pack_default": [out / "base-default.zip"],
    }

    # Untimed: warm the page cache (and dentries) with one read of everything, make the package
    # verify reads, and give the peer its DICOMDIR and SHA256.TXT so every zip round zips the same.
    print(f"set: {setdir} ({nfiles} files, {total / 1e6:.0f} MB); warming the page cache…", file=sys.stderr)
    sh(f"find '{setdir}' -type f -print0 | xargs -0 cat > /dev/null")
    sh([dp, "pack", str(setdir), "-o", str(work / "verify.zip"), "--force"], stdout=subprocess.DEVNULL)
    if any(n.startswith("peer_") for n in tools):  # dcmmkdir takes hours on 100,000 files
        sh(f"cd '{peer}' && dcmmkdir -q +r +I -Pmi DICOM", stderr=subprocess.DEVNULL)
        sh(sha_cmd)
    load_before = os.getloadavg()

    names = list(tools)
    runs = {n: [] for n in names}
    for r in range(a.rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for n in order:
            res = timed(tools[n])
            runs[n].append(res)
            for p in cleanup.get(n, []):
                p.unlink(missing_ok=True)
            print(f"round {r + 1}/{a.rounds} {n:17s} {res['wall']:8.2f} s {res['rss_kib'] / 1024:8.1f} MB",
                  file=sys.stderr)
    load_after = os.getloadavg()

    def stats(rs):
        walls = [x["wall"] for x in rs]
        med = statistics.median(walls)
        return dict(median_s=med, min_s=min(walls), max_s=max(walls),
                    mb_per_s=total / 1e6 / med, files_per_s=nfiles / med,
                    cpu_percent=100 * statistics.median(x["cpu"] / x["wall"] for x in rs),
                    max_rss_mb=max(x["rss_kib"] for x in rs) / 1024, rounds_s=walls)

    result = {n: stats(rs) for n, rs in runs.items()}

    def combined(parts):
        """A pipeline of steps, timed per round: the median of the per-round sums."""
        if not all(p in runs for p in parts):
            return None
        sums = [sum(runs[p][i]["wall"] for p in parts) for i in range(a.rounds)]
        cpus = [sum(runs[p][i]["cpu"] for p in parts) for i in range(a.rounds)]
        rss = [max(runs[p][i]["rss_kib"] for p in parts) for i in range(a.rounds)]
        return stats([dict(wall=w, cpu=c, rss_kib=m) for w, c, m in zip(sums, cpus, rss)])

    peer_store = combined(["peer_dcmmkdir", "peer_sha256sum", "peer_zip0"])
    peer_deflate_parts = ["peer_dcmmkdir", "peer_sha256sum", "peer_zip6"] + (["peer_thumbs"] if thumbnails else [])
    peer_deflate = combined(peer_deflate_parts)
    if peer_store:
        result["PEER_store"] = peer_store
    if peer_deflate:
        result["PEER_deflate"] = peer_deflate

    # Against the baseline: the median of the per-round ratios (both ran in the same round,
    # minutes apart at most, so a burst of load elsewhere hits both), and the ratio of medians.
    for n in list(result):
        b = "base_" + n[3:]
        if n.startswith("dp_") and b in runs:
            ratios = [x["wall"] / y["wall"] for x, y in zip(runs[n], runs[b])]
            result[n]["vs_baseline"] = dict(
                median_round_ratio=statistics.median(ratios),
                ratio_of_medians=result[n]["median_s"] / result[b]["median_s"],
                rounds=ratios)

    floor = result.get("floor_openssl")
    for n, s in result.items():
        s["vs_floor"] = s["mb_per_s"] / floor["mb_per_s"] if floor else None
    vs_peer = {"dp_pack_none": ("PEER_store", "dp_pack_none"), "dp_pack_default": ("PEER_deflate", "dp_pack_default"),
               "dp_scan": ("pydicom_headers", "dp_scan")}
    for n, (peer_name, _) in vs_peer.items():
        if n in result and peer_name in result:
            result[n]["vs_peer"] = result[peer_name]["median_s"] / result[n]["median_s"]
            result[n]["peer"] = peer_name

    def goal(name, desc, value, target, fmt="{:.2f}x"):
        if value is None:
            return None
        return dict(goal=name, description=desc, value=value, target=target, met=value >= target,
                    text=f"{fmt.format(value)} (target {fmt.format(target)})")

    g = []
    r = result
    if "dp_pack_none" in r:
        g.append(goal("pack_none_vs_floor", "pack --no-thumbnails --compression none vs floor throughput",
                      r["dp_pack_none"]["vs_floor"], 0.5))
        if "vs_peer" in r["dp_pack_none"]:
            g.append(goal("pack_none_vs_peer", "pack --compression none speed-up over dcmmkdir + sha256sum + zip -0",
                          r["dp_pack_none"]["vs_peer"], 10))
    if "dp_pack_default" in r and "vs_peer" in r["dp_pack_default"]:
        g.append(goal("pack_default_vs_peer",
                      "pack (default) speed-up over dcmmkdir + sha256sum + zip -6" + (" + dcmj2pnm" if thumbnails else ""),
                      r["dp_pack_default"]["vs_peer"], 5))
    if "dp_scan" in r and "vs_peer" in r["dp_scan"]:
        g.append(goal("scan_vs_pydicom", "scan speed-up over pydicom header-only reads", r["dp_scan"]["vs_peer"], 5))
    if "dp_verify" in r:
        g.append(goal("verify_vs_floor", "verify vs floor throughput", r["dp_verify"]["vs_floor"], 0.5))
    dp_rss = max((s["max_rss_mb"] for n, s in r.items() if n.startswith("dp_")), default=None)
    if dp_rss is not None:
        g.append(dict(goal="peak_rss", description="largest max RSS of any dicompack command",
                      value=dp_rss, target=300, met=dp_rss < 300, text=f"{dp_rss:.0f} MB (target < 300 MB)"))
    g = [x for x in g if x]

    report = dict(
        machine=dict(cpu=cpu_model(), cores=os.cpu_count(), sha_ni="sha_ni" in cpu_flags(),
                     kernel=platform.release(), loadavg_before=load_before, loadavg_after=load_after),
        set=dict(path=str(setdir), files=nfiles, bytes=total,
                 generator=json.loads(a.summary.read_text()) if a.summary and a.summary.exists() else None),
        dicompack=dict(binary=dp, thumbnails=thumbnails,
                       baseline=str(a.baseline.resolve()) if a.baseline else None),
        peer=dict(copy=f"hard links into DICOM/Dnnnn/Innnnnnn ({linked} linked, {copied} copied), made before timing",
                  dcmmkdir="dcmmkdir +r +I -Pmi (General Purpose MIME: the profile that accepts every transfer syntax of the set)",
                  zip="zip -r -0 / -6 of the linked tree with DICOMDIR and SHA256.TXT, then sync of the archive",
                  thumbnails_in_peer_total=thumbnails),
        rounds=a.rounds, results=result, goals=g)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    print(f"\nJSON: {a.json}")


LABELS = {
    "floor_openssl": "floor: openssl dgst -sha256, 2 procs",
    "floor_cat": "floor: cat > /dev/null",
    "dp_scan": "dicompack scan",
    "dp_pack_none": "dicompack pack --compression none",
    "dp_pack_default": "dicompack pack (default)",
    "dp_pack_iso": "dicompack pack -o x.iso",
    "dp_pack_encrypted": "dicompack pack --encrypt (store)",
    "dp_verify": "dicompack verify",
    "base_scan": "baseline scan",
    "base_pack_none": "baseline pack --compression none",
    "base_pack_default": "baseline pack (default)",
    "base_verify": "baseline verify",
    "pydicom_headers": "pydicom dcmread(stop_before_pixels)",
    "peer_dcmmkdir": "  dcmmkdir +r +I -Pmi",
    "peer_sha256sum": "  sha256sum",
    "peer_zip0": "  zip -r -0 (+ sync)",
    "peer_zip6": "  zip -r -6 (+ sync)",
    "peer_thumbs": "  dcmj2pnm, 1 thumbnail/series",
    "PEER_store": "PEER: dcmmkdir+sha256sum+zip -0",
    "PEER_deflate": "PEER: dcmmkdir+sha256sum+zip -6",
}


def print_table(rep):
    m, s = rep["machine"], rep["set"]
    print(f"\nCPU: {m['cpu']} ({m['cores']} cores, SHA-NI: {'yes' if m['sha_ni'] else 'no'}); "
          f"load avg {m['loadavg_before'][0]:.1f} -> {m['loadavg_after'][0]:.1f}")
    print(f"Set: {s['path']}: {s['files']} files, {s['bytes'] / 1e6:.0f} MB; {rep['rounds']} alternating rounds, "
          f"medians; thumbnails in dicompack: {'yes' if rep['dicompack']['thumbnails'] else 'not yet'}")
    hdr = f"{'command':38s} {'median s':>9s} {'MB/s':>8s} {'files/s':>9s} {'CPU %':>6s} {'vs floor':>9s} {'vs peer':>13s} {'max RSS MB':>11s}"
    print(hdr)
    print("-" * len(hdr))
    for n, r in rep["results"].items():
        vp = f"{r['vs_peer']:.2f}x {'pyd' if r['peer'] == 'pydicom_headers' else r['peer'][5:]}" if "vs_peer" in r else ""
        vf = f"{r['vs_floor']:.2f}x" if r.get("vs_floor") is not None else ""
        print(f"{LABELS.get(n, n):38s} {r['median_s']:9.2f} {r['mb_per_s']:8.0f} {r['files_per_s']:9.0f} "
              f"{r['cpu_percent']:6.0f} {vf:>9s} {vp:>13s} {r['max_rss_mb']:11.1f}")
    against = {n: r["vs_baseline"] for n, r in rep["results"].items() if "vs_baseline" in r}
    if against:
        print(f"\nAgainst the baseline ({rep['dicompack'].get('baseline')}): new time / baseline time, "
              "per-round ratios' median (ratio of medians); < 1 is faster")
        for n, v in against.items():
            print(f"  {LABELS.get(n, n):38s} {v['median_round_ratio']:6.3f}  ({v['ratio_of_medians']:.3f})")
    print("\nGoals (issue 6):")
    for g in rep["goals"]:
        print(f"  [{'met' if g['met'] else 'MISSED'}] {g['description']}: {g['text']}")


if __name__ == "__main__":
    main()
