#!/usr/bin/env python3
"""Independent judge of series previews for tests/render_collections.rs, built on pydicom 3 +
numpy + Pillow (+ the pylibjpeg plug-ins for JPEG, JPEG-LS and JPEG 2000).

One job per line on stdin, tab-separated:
    KEY  PREVIEW.jpg|-  CHOSEN.dcm|-  FRAME  INSTANCE1|INSTANCE2|...
KEY names the series; PREVIEW is the JPEG our pack made for it, CHOSEN the instance and FRAME
(zero-based) it says it drew ("-": it drew none); the INSTANCES are every file of the series.
One JSON object per line on stdout:
    key, images (how many instances pydicom finds pixel data in), chosen_is_image,
    decodable (pydicom rendered CHOSEN/FRAME), spearman, ref_constant, ours_constant, error,
    colour (no VOI on either side) and mad (mean absolute luminance difference at 64x64);
    for a series of at most 8 instances, expected_path and expected_frame: what the issue's
    rule picks
Rendering, as a viewer would show the stored image: Modality LUT, the first VOI (window or LUT)
or none, MONOCHROME1 inverted; palette and colour through their LUTs to RGB; luminance
0.299 R + 0.587 G + 0.114 B. Both pictures are reduced to 64x64 (box filter) and compared by
Spearman's rank correlation, which a different but monotonic window does not change.
"""
import json
import sys
import warnings

import numpy as np
import pydicom
from PIL import Image
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array

SIDE = 64


def ranks(a):
    """Average ranks (ties share their mean rank), as scipy.stats.rankdata does."""
    a = np.asarray(a, dtype=np.float64).ravel()
    order = np.argsort(a, kind="mergesort")
    inv = np.empty(a.size, dtype=np.intp)
    inv[order] = np.arange(a.size)
    s = a[order]
    first = np.r_[True, s[1:] != s[:-1]]
    dense = first.cumsum()[inv]
    count = np.r_[np.nonzero(first)[0], a.size]
    return 0.5 * (count[dense] + count[dense - 1] + 1)


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    d = np.sqrt((rx * rx).sum() * (ry * ry).sum())
    return float((rx * ry).sum() / d) if d > 0 else None


def small(lum):
    img = Image.fromarray(np.ascontiguousarray(lum, dtype=np.float32), mode="F")
    return np.asarray(img.resize((SIDE, SIDE), Image.Resampling.BOX), dtype=np.float64)


def luminance(rgb):
    rgb = rgb.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def reference(path, frame):
    ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.file_meta:
        # no File Meta: the encoding pydicom read the data set in
        implicit, little = ds.original_encoding
        ds.file_meta.TransferSyntaxUID = (
            pydicom.uid.ImplicitVRLittleEndian if implicit else
            pydicom.uid.ExplicitVRLittleEndian if little else pydicom.uid.ExplicitVRBigEndian
        )
    try:
        arr = pixel_array(path, index=frame)  # decodes only that frame
    except Exception:  # noqa: BLE001 - e.g. a deflated data set: decode it whole
        arr = ds.pixel_array
        if int(ds.get("NumberOfFrames", 1) or 1) > 1:
            arr = arr[frame]
    pi = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds).astype(np.float64)
        bits = ds.RedPaletteColorLookupTableDescriptor[2]
        return luminance(rgb * 255.0 / (255.0 if bits == 8 or rgb.max() <= 255 else 65535.0)), True
    if ds.get("SamplesPerPixel", 1) == 3:
        # pixel_array converts YBR_* to RGB itself
        rgb = arr.astype(np.float64) / 2 ** (int(ds.BitsStored) - 8)
        return luminance(rgb), True
    m = apply_modality_lut(arr, ds)
    # a window narrower than 1 is not a window (PS3.3 C.11.2.1.2): a viewer ignores it
    width = ds.get("WindowWidth")
    width = width[0] if isinstance(width, pydicom.multival.MultiValue) else width
    has_window = "WindowCenter" in ds and width is not None and float(width) >= 1
    if "WindowCenter" in ds and not has_window:
        del ds.WindowCenter
    has_voi = "VOILUTSequence" in ds or has_window
    y = apply_voi_lut(m, ds, index=0) if has_voi else m
    y = np.asarray(y, dtype=np.float64)
    return (-y if pi == "MONOCHROME1" else y), False


def has_pixels(path):
    try:
        ds = pydicom.dcmread(path, force=True)
        return any(t in ds for t in ("PixelData", "FloatPixelData", "DoubleFloatPixelData"))
    except Exception:  # noqa: BLE001 - not readable: not an image pydicom could show
        return False


SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"


def expected_choice(instances):
    """The issue's rule, on pydicom's reading: the middle image by Instance Number among the
    instances with pixels; in it the middle frame (a segmentation: the first), or when that
    frame is flat the next that is not (then from the start)."""
    images = []
    for p in instances:
        if has_pixels(p):
            ds = pydicom.dcmread(p, stop_before_pixels=True, force=True)
            images.append((int(ds.get("InstanceNumber") or 0), p))
    if not images:
        return None, None
    images.sort(key=lambda t: t[0])
    path = images[len(images) // 2][1]
    ds = pydicom.dcmread(path, force=True)
    n = int(ds.get("NumberOfFrames", 1) or 1)
    if n <= 1:
        return path, 0
    start = 0 if ds.get("SOPClassUID") == SEGMENTATION else n // 2
    try:
        arr = ds.pixel_array
    except Exception:  # noqa: BLE001 - cannot tell which frame shows something
        return path, start
    for f in list(range(start, n)) + list(range(0, start)):
        if np.ptp(arr[f]) != 0:
            return path, f
    return path, start


def judge(key, preview, chosen, frame, instances):
    out = {"key": key, "images": sum(has_pixels(p) for p in instances)}
    if len(instances) <= 8:
        try:
            out["expected_path"], out["expected_frame"] = expected_choice(instances)
        except Exception as e:  # noqa: BLE001 - pydicom cannot read what the rule needs
            out["expected_error"] = f"{type(e).__name__}: {e}"[:300]
    if chosen == "-":
        return out
    out["chosen_is_image"] = has_pixels(chosen)
    try:
        lum, colour = reference(chosen, frame)
        theirs = small(lum)
    except Exception as e:  # noqa: BLE001 - the reference cannot draw it: not decodable
        out["decodable"] = False
        out["error"] = f"{type(e).__name__}: {e}"[:300]
        return out
    out["decodable"] = bool(np.isfinite(theirs).all())
    ours = small(luminance(np.asarray(Image.open(preview).convert("RGB"))))
    out["ref_constant"] = bool(np.ptp(theirs) == 0)
    out["ours_constant"] = bool(np.ptp(ours) == 0)
    out["spearman"] = spearman(ours, theirs)
    out["mad"] = float(np.abs(ours - theirs).mean())
    out["colour"] = colour
    return out


def main():
    warnings.simplefilter("ignore")
    for line in sys.stdin:
        key, preview, chosen, frame, instances = line.rstrip("\n").split("\t")
        try:
            r = judge(key, preview, chosen, int(frame), instances.split("|"))
        except Exception as e:  # noqa: BLE001 - reported per series, the batch goes on
            r = {"key": key, "error": f"{type(e).__name__}: {e}"[:300]}
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
