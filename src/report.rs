//! Plain-words text for people: the Patient ▸ Study ▸ Series tree with the short numbers that
//! `--study` and `--series` accept, what was left out and why, and one-line summaries.
//! Also the JSON view of a survey for scripts.

use crate::catalog::{self, Catalog};
use crate::scan::Unused;
use crate::survey::Survey;
use crate::verify::{group_thousands, plural};
use serde_json::json;
use std::fmt::Write as _;

/// `20200304` → `2020-03-04`; anything else is shown as it is.
pub fn date(d: &str) -> String {
    if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &d[0..4], &d[4..6], &d[6..8])
    } else if d.is_empty() {
        "(no date)".to_string()
    } else {
        d.to_string()
    }
}

/// Bytes in the unit people read.
pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{v:.1} {}", UNITS.get(unit).unwrap_or(&"TB"))
    }
}

fn or_dash(s: &str) -> &str {
    if s.is_empty() { "-" } else { s }
}

/// The tree as `scan` prints it.
pub fn tree(catalog: &Catalog) -> String {
    let mut out = String::new();
    for p in &catalog.patients {
        let _ = writeln!(
            out,
            "Patient {}  ID {}  born {}  sex {}",
            or_dash(p.name()),
            catalog::display_id(&p.key),
            date(p.birth_date()),
            or_dash(&p.sex)
        );
        for st in &p.studies {
            let _ = writeln!(
                out,
                "  [{}] {}  {}  {}  accession {}  ({} series, {} {})",
                st.index,
                date(&st.date),
                st.modalities().join("/"),
                or_dash(&st.description),
                or_dash(&st.accession_number),
                st.series.len(),
                group_thousands(st.instance_count()),
                plural(st.instance_count(), "image", "images"),
            );
            for (i, se) in st.series.iter().enumerate() {
                let frames = se.frame_count();
                let frames_note = if frames > se.instances.len() as u64 {
                    format!(", {frames} frames")
                } else {
                    String::new()
                };
                let gaps = if se.missing_from_source > 0 {
                    format!(
                        "  INCOMPLETE: {} image(s) listed in the disc's DICOMDIR are missing",
                        se.missing_from_source
                    )
                } else if se.missing_instance_numbers.is_empty() {
                    String::new()
                } else {
                    format!(
                        "  INCOMPLETE: image numbers missing: {}",
                        se.missing_instance_numbers
                            .iter()
                            .map(i32::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let _ = writeln!(
                    out,
                    "      {}.{}  {:<3} {}  ({} {}{}, {}){}{}",
                    st.index,
                    i + 1,
                    or_dash(&se.modality),
                    or_dash(&se.description),
                    se.instances.len(),
                    plural(se.instances.len(), "image", "images"),
                    frames_note,
                    size(se.size()),
                    if se.body_part.is_empty() {
                        String::new()
                    } else {
                        format!("  body part {}", se.body_part)
                    },
                    gaps
                );
            }
        }
    }
    out
}

/// What was left out and what deserves a look.
pub fn leftovers(s: &Survey) -> String {
    let mut out = String::new();
    list(
        &mut out,
        "Not used (DICOM that could not be read)",
        &s.skipped,
    );
    list(&mut out, "Ignored (not DICOM images)", &s.ignored);
    if !s.warnings.is_empty() {
        let _ = writeln!(out, "Warnings:");
        for w in &s.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

fn list(out: &mut String, title: &str, items: &[Unused]) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title}: {}", items.len());
    for u in items {
        let _ = writeln!(out, "  {}: {}", u.path.display(), u.reason);
    }
}

/// One line: how much was found.
pub fn survey_summary(s: &Survey) -> String {
    let c = &s.catalog;
    let bytes: u64 = c.instances().map(|i| i.object.size).sum();
    let mut line = format!(
        "{} {}, {} {}, {} series, {} {} ({})",
        c.patients.len(),
        plural(c.patients.len(), "patient", "patients"),
        c.study_count(),
        plural(c.study_count(), "study", "studies"),
        c.series_count(),
        group_thousands(c.instance_count()),
        plural(c.instance_count(), "image", "images"),
        size(bytes)
    );
    if !s.skipped.is_empty() {
        let _ = write!(
            line,
            "; {} {} could not be used",
            s.skipped.len(),
            plural(s.skipped.len(), "file", "files")
        );
    }
    if !s.ignored.is_empty() {
        let _ = write!(line, "; {} other files ignored", s.ignored.len());
    }
    line
}

/// The survey for scripts: one JSON document.
pub fn survey_json(s: &Survey) -> serde_json::Value {
    let c = &s.catalog;
    json!({
        "summary": {
            "patients": c.patients.len(),
            "studies": c.study_count(),
            "series": c.series_count(),
            "instances": c.instance_count(),
            "bytes": c.instances().map(|i| i.object.size).sum::<u64>(),
            "files_seen": s.files_seen,
            "skipped": s.skipped.len(),
            "ignored": s.ignored.len(),
        },
        "patients": c.patients.iter().map(|p| json!({
            "patient_id": p.key.patient_id,
            "issuer_of_patient_id": p.key.issuer,
            "names": p.names,
            "birth_dates": p.birth_dates,
            "sex": p.sex,
            "studies": p.studies.iter().map(|st| json!({
                "index": st.index,
                "study_instance_uid": st.uid,
                "date": st.date,
                "time": st.time,
                "description": st.description,
                "accession_number": st.accession_number,
                "modalities": st.modalities(),
                "series": st.series.iter().enumerate().map(|(i, se)| json!({
                    "index": format!("{}.{}", st.index, i + 1),
                    "series_instance_uid": se.uid,
                    "number": se.number,
                    "modality": se.modality,
                    "description": se.description,
                    "body_part": se.body_part,
                    "instance_count": se.instances.len(),
                    "frame_count": se.frame_count(),
                    "bytes": se.size(),
                    "missing_instance_numbers": se.missing_instance_numbers,
                    "missing_from_source": se.missing_from_source,
                    "instances": se.instances.iter().map(|i| json!({
                        "path": i.source,
                        "sop_instance_uid": i.object.attrs.sop_instance_uid,
                        "sop_class_uid": i.object.attrs.sop_class_uid,
                        "instance_number": i.object.attrs.instance_number,
                        "transfer_syntax_uid": i.object.transfer_syntax_uid,
                        "format": i.object.format,
                        "frames": i.object.attrs.number_of_frames,
                        "size": i.object.size,
                        "sha256": i.object.sha256,
                    })).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "duplicates": c.duplicates,
        "skipped": s.skipped,
        "ignored": s.ignored,
        "warnings": s.warnings,
    })
}
