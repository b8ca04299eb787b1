#!/usr/bin/env python3
"""Inputs for the render timing test, made from real pydicom test files:
a large CR-sized image (2904x1800, 12-bit, MONOCHROME1), the same as JPEG 2000 lossless,
and a 100-frame ultrasound cine (the 30 JPEG frames of examples_ybr_color, repeated).
usage: make_timing.py TEST_FILES_DIR OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import encapsulate, generate_frames
from pydicom.uid import JPEG2000Lossless

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)

ds = pydicom.dcmread(src / "examples_overlay.dcm")
big = np.repeat(np.repeat(ds.pixel_array, 6, axis=0), 6, axis=1).astype(np.uint16)
ds.Rows, ds.Columns = big.shape
ds.PhotometricInterpretation = "MONOCHROME1"
ds.Modality = "CR"
for tag in [t for t in ds.keys() if t.group & 0xFF00 == 0x6000]:
    del ds[tag]
ds.PixelData = big.tobytes()
ds.save_as(out / "large_cr.dcm")
ds.compress(JPEG2000Lossless, big, encoding_plugin="pylibjpeg")
ds.save_as(out / "large_cr_j2k.dcm")

ds = pydicom.dcmread(src / "examples_ybr_color.dcm")
frames = list(generate_frames(ds.PixelData, number_of_frames=ds.NumberOfFrames))
frames = (frames * 4)[:100]
ds.PixelData = encapsulate(frames, has_bot=True)
ds.NumberOfFrames = 100
ds.save_as(out / "us_cine_100.dcm")
