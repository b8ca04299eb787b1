#!/usr/bin/env python3
"""Make the series tests/render_series.rs draws, from real pixel data (pydicom's MR_small),
with pydicom. usage: make_series.py TEST_FILES_DIR OUT_DIR

  mixed/   one series of five instances by Instance Number: 1, 2, 4, 5 are MR images (each a
           different flip of MR_small, so drawing the wrong one shows), 3 — the middle one — is
           a Basic Text SR without pixels.
  seg/     a segmentation, 1 bit per pixel, frames 61 x 63 (3843 bits: no frame but the first
           starts on a byte boundary), frames 1 to 3 empty (the middle one too), 4 and 5 the MR's
           bright parts.
  cine/    a multi-frame MR of 5 frames (flips again): the middle frame is drawn.
  undrawable/  an MPEG-4 AVC object (no decoder here): its tile and pack say why.
"""
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

src, out = Path(sys.argv[1]), Path(sys.argv[2])
mr = pydicom.dcmread(src / "MR_small.dcm")
pixels = mr.pixel_array
study, series = generate_uid(), generate_uid()


def flips(a):
    return [a, a[::-1], a[:, ::-1], a[::-1, ::-1], a.T]


def save(ds, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)


# mixed: images around a text report in the middle
for number, img in zip((1, 2, 4, 5), flips(pixels)):
    ds = pydicom.dcmread(src / "MR_small.dcm")
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()
    ds.InstanceNumber = number
    ds.PixelData = np.ascontiguousarray(img).astype("<i2").tobytes()
    save(ds, out / "mixed" / f"im{number}.dcm")
sr = pydicom.Dataset()
for kw in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
           "StudyID", "AccessionNumber", "ReferringPhysicianName"):
    setattr(sr, kw, mr.get(kw, ""))
sr.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
sr.SOPInstanceUID = generate_uid()
sr.StudyInstanceUID, sr.SeriesInstanceUID = study, series
sr.Modality, sr.InstanceNumber, sr.SeriesNumber = "MR", 3, mr.get("SeriesNumber", 1)
sr.ValueType, sr.CompletionFlag, sr.VerificationFlag = "CONTAINER", "COMPLETE", "UNVERIFIED"
sr.ContinuityOfContent = "SEPARATE"
save(sr, out / "mixed" / "sr3.dcm")

# seg: 1-bit frames packed back to back
h, w = 61, 63
masks = [np.zeros((h, w), np.uint8) for _ in range(3)]
for img in flips(pixels)[:2]:
    masks.append((img[:h, :w] > np.percentile(img, 60)).astype(np.uint8))
ds = pydicom.dcmread(src / "MR_small.dcm")
for kw in ("WindowCenter", "WindowWidth", "RescaleSlope", "RescaleIntercept"):
    if kw in ds:
        del ds[kw]
ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.66.4"
ds.SOPInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.Modality = "SEG"
ds.Rows, ds.Columns, ds.NumberOfFrames = h, w, len(masks)
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
ds.PhotometricInterpretation = "MONOCHROME2"
ds.PixelData = pack_bits(np.stack(masks))
ds["PixelData"].VR = "OB"
save(ds, out / "seg" / "seg.dcm")

# cine: five frames, the middle one drawn
ds = pydicom.dcmread(src / "MR_small.dcm")
ds.SOPInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.NumberOfFrames = 5
ds.PixelData = np.stack(flips(pixels)).astype("<i2").tobytes()
save(ds, out / "cine" / "cine.dcm")

# undrawable: an MPEG-4 AVC video object (no decoder here), 8-bit grey
from pydicom.encaps import encapsulate
from pydicom.uid import MPEG4HP41

ds = pydicom.dcmread(src / "MR_small.dcm")
ds.SOPInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
ds.PixelData = encapsulate([b"\x00\x00\x00\x01\x67" + bytes(range(200))])
ds["PixelData"].VR = "OB"
save(ds, out / "undrawable" / "video.dcm")
ds.file_meta.TransferSyntaxUID = MPEG4HP41
ds.save_as(out / "undrawable" / "video.dcm", enforce_file_format=True)
