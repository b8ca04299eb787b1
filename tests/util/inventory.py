#!/usr/bin/env python3
"""Independent inventory of a folder of would-be DICOM files, by pydicom.

Usage: inventory.py ROOT  ->  JSON on stdout: {"files": [...]}, one entry per regular file:
  path               relative to ROOT, with '/'
  sha256, size
  status             "clean":   pydicom reads it without force= and without any warning
                     "warned":  pydicom reads it without force=, but warns (e.g. truncated data)
                     "forced":  only readable with force=True (no Part 10 header, or damaged)
                     "unreadable"
  sop_instance_uid   (0008,0018) if present
  sop_class_uid      (0008,0016) if present
  media_class        (0002,0002) if present
  study_instance_uid, series_instance_uid, patient_id   if present
  is_directory       true for Media Storage Directory Storage (DICOMDIR-like) objects
  error / warnings   what pydicom said
"""
import hashlib
import json
import pathlib
import sys
import warnings

import pydicom

DIRECTORY_CLASS = "1.2.840.10008.1.3.10"


def main():
    root = pathlib.Path(sys.argv[1])
    out = []
    for p in sorted(root.rglob("*")):
        if not p.is_file():
            continue
        data = p.read_bytes()
        entry = {
            "path": p.relative_to(root).as_posix(),
            "sha256": hashlib.sha256(data).hexdigest(),
            "size": len(data),
        }
        ds = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = pydicom.dcmread(p)
                # Touch every element so deferred/lazy problems surface now.
                for elem in ds.iterall():
                    _ = elem.value
                entry["status"] = "clean"
            except Exception as e:  # noqa: BLE001
                entry["error"] = f"{type(e).__name__}: {e}"
                ds = None
        if caught:
            entry["warnings"] = [str(w.message)[:200] for w in caught]
            if entry.get("status") == "clean":
                entry["status"] = "warned"
        if ds is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ds = pydicom.dcmread(p, force=True)
                    for elem in ds.iterall():
                        _ = elem.value
                entry["status"] = "forced"
            except Exception as e:  # noqa: BLE001
                entry["status"] = "unreadable"
                entry.setdefault("error", f"{type(e).__name__}: {e}")
                ds = None
        if ds is not None:
            for key, kw in (("sop_instance_uid", "SOPInstanceUID"), ("sop_class_uid", "SOPClassUID"),
                            ("study_instance_uid", "StudyInstanceUID"),
                            ("series_instance_uid", "SeriesInstanceUID"), ("patient_id", "PatientID")):
                try:
                    v = ds.get(kw)
                    if v:
                        entry[key] = str(v).strip("\0 ")
                except Exception:  # noqa: BLE001
                    pass
            meta = getattr(ds, "file_meta", None)
            if meta is not None and "MediaStorageSOPClassUID" in meta:
                entry["media_class"] = str(meta.MediaStorageSOPClassUID)
            entry["is_directory"] = DIRECTORY_CLASS in (entry.get("media_class"), entry.get("sop_class_uid")) or "DirectoryRecordSequence" in ds
        out.append(entry)
    json.dump({"files": out}, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
