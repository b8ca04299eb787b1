#!/usr/bin/env python3
"""Check an extracted package's DICOMDIR with pydicom's FileSet, a reader we did not write.

Usage: fileset_check.py PACKAGE_DIR  ->  JSON on stdout, exit 1 if any problem:
  {"instances": [{"path", "sop_instance_uid", "patient_id", "study_instance_uid",
                  "series_instance_uid", "transfer_syntax"}], "problems": [...],
   "meta_mismatches": [{"path", "meta", "dataset"}],   (not counted as problems: see below)
   "inherited_invalid_values": [...]}  (invalid values the DICOMDIR copies from a packed file)
Checks: the DICOMDIR loads as a FileSet; every instance record points to an existing file that
pydicom reads; the file's SOP Instance UID, SOP Class, transfer syntax, Study/Series UIDs and
Patient ID equal the DICOMDIR's; every file under DICOM/ is referenced by exactly one record.
"""
import json
import re
import pathlib
import sys
import warnings

import pydicom
from pydicom.fileset import FileSet


def main():
    root = pathlib.Path(sys.argv[1]).resolve()
    problems, found, meta_mismatches = [], [], []
    try:
        dicomdir = pydicom.dcmread(root / "DICOMDIR")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fs = FileSet(dicomdir)
        # pydicom drops records whose file is missing, with only a warning: count those as problems.
        # A warning about an invalid value (a broken source's UID, which a packer must copy, not
        # rewrite) is checked below against the files the package holds.
        invalid_values = []
        for w in caught:
            m = re.match(r"Invalid value for VR \w\w: '(.*)'\.", str(w.message))
            if m:
                invalid_values.append(m.group(1))
            else:
                problems.append(f"pydicom FileSet warns: {w.message}")
    except Exception as e:  # noqa: BLE001
        json.dump({"instances": [], "problems": [f"DICOMDIR does not load as a FileSet: {e}"]}, sys.stdout)
        sys.exit(1)
    # Independently of FileSet: every Referenced File ID in any record must exist.
    for rec in dicomdir.DirectoryRecordSequence:
        if "ReferencedFileID" in rec:
            fid = rec.ReferencedFileID
            parts = [fid] if isinstance(fid, str) else list(fid)
            if not (root.joinpath(*parts)).is_file():
                problems.append(f"{'/'.join(parts)}: referenced by the DICOMDIR ({rec.DirectoryRecordType}) but missing")
    referenced = set()
    for inst in fs:
        rel = pathlib.Path(inst.path).resolve().relative_to(root).as_posix()
        if rel in referenced:
            problems.append(f"{rel}: referenced twice")
        referenced.add(rel)
        if not pathlib.Path(inst.path).is_file():
            problems.append(f"{rel}: referenced by the DICOMDIR but missing")
            continue
        try:
            ds = inst.load()
        except Exception as e:  # noqa: BLE001
            problems.append(f"{rel}: pydicom cannot read it: {e}")
            continue
        checks = [
            ("SOP Instance UID", ds.SOPInstanceUID, inst.ReferencedSOPInstanceUIDInFile),
            ("SOP Class UID", ds.SOPClassUID, inst.ReferencedSOPClassUIDInFile),
            ("Transfer Syntax", ds.file_meta.TransferSyntaxUID, inst.ReferencedTransferSyntaxUIDInFile),
            ("Series Instance UID", ds.SeriesInstanceUID, inst.SeriesInstanceUID),
            ("Study Instance UID", ds.StudyInstanceUID, inst.StudyInstanceUID),
            ("Patient ID", ds.get("PatientID", ""), inst.PatientID),
        ]
        for what, in_file, in_dir in checks:
            if str(in_file) != str(in_dir):
                problems.append(f"{rel}: {what} is {in_file!r} in the file but {in_dir!r} in the DICOMDIR")
        # PS3.10 wants (0002,0003) = (0008,0018). Some real files break this; whether the packer
        # introduced it or copied it is for the caller to judge, so it is reported on its own.
        if str(ds.file_meta.get("MediaStorageSOPInstanceUID", "")) != str(ds.SOPInstanceUID):
            meta_mismatches.append({"path": rel, "meta": str(ds.file_meta.get("MediaStorageSOPInstanceUID", "")),
                                    "dataset": str(ds.SOPInstanceUID)})
        found.append({
            "path": rel,
            "sop_instance_uid": str(ds.SOPInstanceUID),
            "patient_id": str(ds.get("PatientID", "")),
            "study_instance_uid": str(ds.StudyInstanceUID),
            "series_instance_uid": str(ds.SeriesInstanceUID),
            "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        })
    on_disk = {p.relative_to(root).as_posix() for p in (root / "DICOM").rglob("*") if p.is_file()}
    # An invalid value in the DICOMDIR is the source's when a packed file holds it too.
    contents = [(root / rel).read_bytes() for rel in sorted(on_disk)]
    inherited_invalid = []
    for v in invalid_values:
        if any(v.encode() in c for c in contents):
            inherited_invalid.append(v)
        else:
            problems.append(f"pydicom FileSet warns: invalid value {v!r}, which no packed file holds")
    for rel in sorted(on_disk - referenced):
        problems.append(f"{rel}: in the package but not referenced by the DICOMDIR")
    json.dump({"instances": found, "problems": problems, "meta_mismatches": meta_mismatches,
               "inherited_invalid_values": inherited_invalid}, sys.stdout, indent=1)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
