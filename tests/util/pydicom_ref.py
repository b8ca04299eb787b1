#!/usr/bin/env python3
"""Independent reference renderer for tests/render_compare.rs, built on pydicom 3 + numpy
(+ pylibjpeg/openjpeg plug-ins for JPEG 2000). Writes one frame as an 8-bit binary PPM.

usage: pydicom_ref.py FILE OUT.ppm FRAME [CENTER WIDTH]
   or: pydicom_ref.py -   (one job per line on stdin: FILE<TAB>OUT<TAB>FRAME[<TAB>CENTER<TAB>WIDTH];
       a job that fails writes its error to OUT.err instead)
FRAME is zero-based. With CENTER WIDTH, that LINEAR window replaces the file's; without, the
file's first window is used (grey-scale). Colour images ignore the window.
"""
import sys

import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut, pixel_array


def main():
    if sys.argv[1:] == ["-"]:
        for line in sys.stdin:
            args = line.rstrip("\n").split("\t")
            try:
                render(args)
            except Exception as e:  # reported per job, the batch goes on
                with open(args[1] + ".err", "w") as f:
                    f.write(f"{type(e).__name__}: {e}")
    else:
        render(sys.argv[1:])


def render(args):
    path, out, frame = args[0], args[1], int(args[2])
    window = (float(args[3]), float(args[4])) if len(args) > 4 else None
    ds = pydicom.dcmread(path)
    arr = pixel_array(path, index=frame)  # decodes only that frame
    pi = ds.PhotometricInterpretation
    if pi == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds).astype(np.float64)
        bits = ds.RedPaletteColorLookupTableDescriptor[2]
        top = 255.0 if bits == 8 or rgb.max() <= 255 else 65535.0
        rgb = np.rint(rgb * 255.0 / top)
    elif ds.get("SamplesPerPixel", 1) == 3:
        # pixel_array already converted YBR_* to RGB (as_rgb default)
        bits = ds.BitsStored
        rgb = arr.astype(np.float64)
        if bits > 8:
            rgb = np.floor(rgb / 2 ** (bits - 8))
    else:
        m = apply_modality_lut(arr, ds).astype(np.float64)
        if window is not None:
            ds.WindowCenter, ds.WindowWidth = window
            ds.VOILUTFunction = "LINEAR"
            if "VOILUTSequence" in ds:
                del ds.VOILUTSequence
        # pydicom maps the window onto an output range that depends on the data (this mirrors
        # pydicom.pixels.processing.apply_windowing); rescale that range to 0..255 (LINEAR is
        # affine, so this is exact)
        y = apply_voi_lut(m, ds, index=0, prefer_lut=False).astype(np.float64)
        bs = ds.BitsStored
        if ds.get("ModalityLUTSequence"):
            lo, hi = 0, 2 ** ds.ModalityLUTSequence[0].LUTDescriptor[2] - 1
        elif ds.PixelRepresentation == 0:
            lo, hi = 0, 2**bs - 1
        else:
            lo, hi = -(2 ** (bs - 1)), 2 ** (bs - 1) - 1
        if ds.get("RescaleSlope") is not None and ds.get("RescaleIntercept") is not None:
            lo = lo * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
            hi = hi * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
        g = np.rint((y - lo) * 255.0 / (hi - lo))
        if pi == "MONOCHROME1":
            g = 255 - g
        rgb = np.repeat(g[..., None], 3, axis=2)
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    with open(out, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(rgb.tobytes())


if __name__ == "__main__":
    main()
