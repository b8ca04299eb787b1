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

# High bit depths, signed and unsigned, from CT_small's real values stretched over the range
# (issue 13: 16-bit JPEG 2000 drew white, 14-bit JPEG-LS a thresholded blob). Native files here;
# tests/render_compare.rs compresses them with DCMTK's JPEG-LS and JPEG Lossless encoders, and
# JPEG 2000 is compressed here with pylibjpeg-openjpeg.
from pydicom.uid import JPEG2000Lossless


def depth_case(name, bits, signed):
    ds = pydicom.dcmread(src / "CT_small.dcm")
    a = ds.pixel_array.astype(np.float64)
    t = (a - a.min()) / (a.max() - a.min())
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    v = np.rint(lo + t * (hi - lo)).astype(np.int32)
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, int(signed)
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    for kw in ("WindowCenter", "WindowWidth", "SmallestImagePixelValue", "LargestImagePixelValue"):
        if kw in ds:
            del ds[kw]
    # stored in 16-bit cells, two's complement for signed values (bits above Bits Stored
    # sign-extended, as encoders write them)
    ds.PixelData = (v & 0xFFFF).astype("<u2").tobytes()
    ds.save_as(out / name)
    return ds, v


for bits in (12, 14, 16):
    for signed in (False, True):
        depth_case(f"ct_{'s' if signed else 'u'}{bits}.dcm", bits, signed)
for bits, signed in ((16, False), (16, True), (14, False)):
    ds, v = depth_case(f"j2k_{'s' if signed else 'u'}{bits}_native.dcm", bits, signed)
    arr = v.astype(np.int16 if signed else np.uint16)
    ds.compress(JPEG2000Lossless, arr, encoding_plugin="pylibjpeg")
    ds.save_as(out / f"j2k_{'s' if signed else 'u'}{bits}.dcm")

# Presentation LUT Shape INVERSE: on MONOCHROME2 it inverts; on MONOCHROME1 it is what DICOM
# requires there (one inversion, not two)
ds = pydicom.dcmread(src / "MR_small.dcm")
ds.PresentationLUTShape = "INVERSE"
ds.save_as(out / "mr_plut_inverse.dcm")
ds = pydicom.dcmread(src / "dicomdirtests/77654033/CR1/6154")
ds.PresentationLUTShape = "INVERSE"
ds.save_as(out / "cr_plut_inverse.dcm")

# A 16-bit JPEG-LS stream in an unsigned image that says "14 bits stored": values over 2^14 are
# shown as they are (pydicom does; masking them drew a thresholded blob)
import subprocess

for enc, args in (("jls", ["dcmcjpls", "+el"]),):
    subprocess.run([*args, str(out / "ct_u16.dcm"), str(out / f"u16_{enc}.dcm")], check=True)
    ds = pydicom.dcmread(out / f"u16_{enc}.dcm")
    ds.BitsStored, ds.HighBit = 14, 13
    ds.save_as(out / f"u16_as_bs14_{enc}.dcm")
