#!/usr/bin/env python3
"""Make the LUT cases the pydicom test files lack, from real files, with pydicom:
VOI LUT Sequence, Modality LUT Sequence, SIGMOID and LINEAR_EXACT windows, a segmented palette.
usage: make_cases.py TEST_FILES_DIR OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

src, out = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)

# VOI LUT Sequence: a gamma curve over MR_small's value range, 12-bit entries
ds = pydicom.dcmread(src / "MR_small.dcm")
del ds.WindowCenter, ds.WindowWidth
item = Dataset()
n, first = 2048, 0
item.LUTDescriptor = [n, first, 12]
x = np.arange(n) / (n - 1)
item.LUTData = [int(v) for v in np.rint((x**0.6) * 4095)]
item["LUTData"].VR = "US"
ds.VOILUTSequence = Sequence([item])
ds.save_as(out / "mr_voilut.dcm")

# Modality LUT Sequence instead of Rescale Slope/Intercept, then a file window
ds = pydicom.dcmread(src / "CT_small.dcm")
arr = ds.pixel_array
lo = int(arr.min())
n = int(arr.max()) - lo + 1
item = Dataset()
item.LUTDescriptor = [n, lo & 0xFFFF, 16]
item["LUTDescriptor"].VR = "US"
item.ModalityLUTType = "HU"
# a non-linear map (square root), so a wrong Modality LUT cannot pass by accident
item.LUTData = [int(v) for v in np.rint(np.sqrt(np.arange(n) / (n - 1)) * 4000)]
item["LUTData"].VR = "US"
ds.ModalityLUTSequence = Sequence([item])
del ds.RescaleSlope, ds.RescaleIntercept
if "RescaleType" in ds:
    del ds.RescaleType
ds.WindowCenter, ds.WindowWidth = 2500, 2000
ds.save_as(out / "ct_modlut.dcm")

for fn in ("SIGMOID", "LINEAR_EXACT"):
    ds = pydicom.dcmread(src / "MR_small.dcm")
    ds.WindowCenter, ds.WindowWidth = 500, 900
    ds.VOILUTFunction = fn
    ds.save_as(out / f"mr_{fn.lower()}.dcm")

# The palette of examples_palette as segmented data: the first half of each table as a
# discrete segment, the rest as linear segments every 16 entries (exact where linear), plus
# an indirect segment copying the first discrete segment when the table repeats.
ds = pydicom.dcmread(src / "examples_palette.dcm")
for c in ("Red", "Green", "Blue"):
    desc = ds[f"{c}PaletteColorLookupTableDescriptor"].value
    data = np.frombuffer(ds[f"{c}PaletteColorLookupTableData"].value, dtype="<u2")
    n = desc[0] or 65536
    half = n // 2
    seg = [0, half] + [int(v) for v in data[:half]]
    for start in range(half, n, 16):
        end = min(start + 16, n)
        seg += [1, end - start, int(data[end - 1])]
    del ds[f"{c}PaletteColorLookupTableData"]
    ds[f"Segmented{c}PaletteColorLookupTableData"] = pydicom.DataElement(
        {"Red": 0x00281221, "Green": 0x00281222, "Blue": 0x00281223}[c], "OW", np.array(seg, dtype="<u2").tobytes()
    )
ds.save_as(out / "palette_segmented.dcm")

# YBR_FULL native (planar configuration 1) from an RGB ultrasound image
from pydicom.pixels import convert_color_space

ds = pydicom.dcmread(src / "examples_rgb_color.dcm")
ybr = convert_color_space(ds.pixel_array, "RGB", "YBR_FULL")
ds.PhotometricInterpretation = "YBR_FULL"
ds.PlanarConfiguration = 1
ds.PixelData = np.ascontiguousarray(ybr.transpose(2, 0, 1)).tobytes()
ds.save_as(out / "ybr_full_planar.dcm")

# JPEG 2000 irreversible with the multi-component transform: YBR_ICT
from pydicom.uid import JPEG2000

ds = pydicom.dcmread(src / "examples_rgb_color.dcm")
ds.compress(JPEG2000, ds.pixel_array, encoding_plugin="pylibjpeg", j2k_cr=[20], use_mct=True)
ds.PhotometricInterpretation = "YBR_ICT"
ds.save_as(out / "rgb_j2k_ict.dcm")

# 8-bit palette entries, two to a 16-bit OW word
ds = pydicom.dcmread(src / "examples_palette.dcm")
for c in ("Red", "Green", "Blue"):
    desc = ds[f"{c}PaletteColorLookupTableDescriptor"].value
    data = np.frombuffer(ds[f"{c}PaletteColorLookupTableData"].value, dtype="<u2")
    ds[f"{c}PaletteColorLookupTableDescriptor"].value = [desc[0], desc[1], 8]
    ds[f"{c}PaletteColorLookupTableData"].value = (data >> 8).astype(np.uint8).tobytes()
ds.save_as(out / "palette_8bit.dcm")
