//! Plain-words text for people: the Patient ▸ Study ▸ Series tree with the short numbers that
//! `--study` and `--series` accept, what was left out and why, and one-line summaries.
//! Also the JSON view of a survey for scripts.

use crate::catalog::{self, Catalog};
use crate::commands::{self, CommandError, Exit, Packed, Scanned};
use crate::extract::{ExtractError, Extracted};
use crate::scan::Unused;
use crate::survey::Survey;
use crate::verify::{Verdict, group_thousands, plural};
use serde::Serialize;
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
        "Not used (DICOM files that could not be read or used)",
        &s.skipped,
    );
    // Not only files that are not DICOM: copies of files already included, directory files.
    list(
        &mut out,
        "Ignored (not DICOM images, or already included)",
        &s.ignored,
    );
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

/// The survey for scripts: one JSON document, borrowing from the survey so that 100,000
/// instances are never copied into a JSON tree. Keys are in alphabetical order.
pub fn survey_json<'a>(s: &'a Survey, left_out: &'a [String]) -> impl Serialize + 'a {
    let c = &s.catalog;
    SurveyJson {
        duplicates: &c.duplicates,
        ignored: &s.ignored,
        left_out,
        patients: c.patients.iter().map(patient_json).collect(),
        skipped: &s.skipped,
        summary: SummaryJson {
            bytes: c.instances().map(|i| i.object.size).sum(),
            files_seen: s.files_seen,
            ignored: s.ignored.len(),
            instances: c.instance_count(),
            patients: c.patients.len(),
            series: c.series_count(),
            skipped: s.skipped.len(),
            studies: c.study_count(),
        },
        warnings: &s.warnings,
    }
}

#[derive(Serialize)]
struct SurveyJson<'a> {
    duplicates: &'a [catalog::Duplicate],
    ignored: &'a [Unused],
    left_out: &'a [String],
    patients: Vec<PatientJson<'a>>,
    skipped: &'a [Unused],
    summary: SummaryJson,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct SummaryJson {
    bytes: u64,
    files_seen: usize,
    ignored: usize,
    instances: usize,
    patients: usize,
    series: usize,
    skipped: usize,
    studies: usize,
}

#[derive(Serialize)]
struct PatientJson<'a> {
    birth_dates: &'a [String],
    issuer_of_patient_id: &'a str,
    names: &'a [String],
    patient_id: &'a str,
    sex: &'a str,
    studies: Vec<StudyJson<'a>>,
}

#[derive(Serialize)]
struct StudyJson<'a> {
    accession_number: &'a str,
    date: &'a str,
    description: &'a str,
    index: usize,
    modalities: Vec<&'a str>,
    series: Vec<SeriesJson<'a>>,
    study_instance_uid: &'a str,
    time: &'a str,
}

#[derive(Serialize)]
struct SeriesJson<'a> {
    body_part: &'a str,
    bytes: u64,
    description: &'a str,
    frame_count: u64,
    index: String,
    instance_count: usize,
    instances: Vec<InstanceJson<'a>>,
    missing_from_source: usize,
    missing_instance_numbers: &'a [i32],
    modality: &'a str,
    number: Option<i32>,
    series_instance_uid: &'a str,
}

#[derive(Serialize)]
struct InstanceJson<'a> {
    format: crate::dicom::SourceFormat,
    frames: u32,
    instance_number: Option<i32>,
    #[serde(serialize_with = "crate::manifest::lossy_path")]
    path: &'a std::path::Path,
    sha256: Option<crate::checksum::Digest>,
    size: u64,
    sop_class_uid: &'a str,
    sop_instance_uid: &'a str,
    transfer_syntax_uid: &'a str,
}

fn patient_json(p: &catalog::Patient) -> PatientJson<'_> {
    PatientJson {
        birth_dates: &p.birth_dates,
        issuer_of_patient_id: &p.key.issuer,
        names: &p.names,
        patient_id: &p.key.patient_id,
        sex: &p.sex,
        studies: p
            .studies
            .iter()
            .map(|st| StudyJson {
                accession_number: &st.accession_number,
                date: &st.date,
                description: &st.description,
                index: st.index,
                modalities: st.modalities(),
                series: st
                    .series
                    .iter()
                    .enumerate()
                    .map(|(i, se)| series_json(st.index, i, se))
                    .collect(),
                study_instance_uid: &st.uid,
                time: &st.time,
            })
            .collect(),
    }
}

fn series_json(study: usize, i: usize, se: &catalog::Series) -> SeriesJson<'_> {
    SeriesJson {
        body_part: &se.body_part,
        bytes: se.size(),
        description: &se.description,
        frame_count: se.frame_count(),
        index: format!("{study}.{}", i + 1),
        instance_count: se.instances.len(),
        instances: se
            .instances
            .iter()
            .map(|i| InstanceJson {
                format: i.object.format,
                frames: i.object.attrs.number_of_frames,
                instance_number: i.object.attrs.instance_number,
                path: &i.source,
                sha256: i.object.sha256,
                size: i.object.size,
                sop_class_uid: &i.object.attrs.sop_class_uid,
                sop_instance_uid: &i.object.attrs.sop_instance_uid,
                transfer_syntax_uid: &i.object.transfer_syntax_uid,
            })
            .collect(),
        missing_from_source: se.missing_from_source,
        missing_instance_numbers: &se.missing_instance_numbers,
        modality: &se.modality,
        number: se.number,
        series_instance_uid: &se.uid,
    }
}

/// What `scan` prints: the tree, what could not be used, what the selection left out, and
/// the summary line.
pub fn scanned(s: &Scanned) -> String {
    let mut out = String::new();
    if s.survey.catalog.instance_count() == 0 {
        out.push_str("No DICOM images were found.\n");
    }
    out.push_str(&tree(&s.survey.catalog));
    let left = leftovers(&s.survey);
    if !left.is_empty() {
        out.push('\n');
        out.push_str(&left);
    }
    if !s.left_out.is_empty() {
        let _ = writeln!(out, "\nLeft out by the selection: {}", s.left_out.len());
        for l in &s.left_out {
            let _ = writeln!(out, "  {l}");
        }
    }
    let _ = writeln!(out, "\n{}", survey_summary(&s.survey));
    out
}

/// After "these images may belong to N different people": who they are, and what to do.
pub fn several_patients(catalog: &Catalog) -> String {
    let mut out = String::new();
    for p in &catalog.patients {
        let born: Vec<String> = p.birth_dates.iter().map(|b| date(b)).collect();
        let _ = writeln!(
            out,
            "  {}  ID {}  born {}",
            p.name(),
            catalog::display_id(&p.key),
            born.join(" and ")
        );
        for st in &p.studies {
            let _ = writeln!(
                out,
                "      [{}] {}  {}  {}",
                st.index,
                date(&st.date),
                st.modalities().join("/"),
                st.description
            );
        }
    }
    for w in &catalog.identity_warnings {
        let _ = writeln!(out, "  note: {w}");
    }
    out.push_str(
        "Choose one with --patient ID (or --study N), or add --allow-multiple-patients if they must travel together.\n",
    );
    out
}

/// How an outcome is shown: text for people (stdout, and stderr for what went wrong or was
/// left out) or one JSON document for scripts, and the exit code it comes to.
pub trait Shown {
    /// For people, on stdout.
    fn text(&self) -> String;
    /// For people, on stderr; `json`: the outcome itself went out as JSON.
    fn notes(&self, _json: bool) -> String {
        String::new()
    }
    /// For scripts, on stdout instead of the text; `None`: there is none (the error goes to
    /// stderr only).
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>>;
    fn exit(&self) -> Exit;
}

/// Writes an outcome as the command line shows it: JSON (when asked and the outcome has a
/// JSON form) or text on `out`, and on `err` what went wrong or was left out.
pub fn show(
    shown: &dyn Shown,
    json: bool,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    use std::io::Write as _;
    // A scan of 100,000 files is tens of megabytes of JSON: streamed, not built whole.
    let mut out = std::io::BufWriter::new(out);
    let as_json = match json.then(|| shown.write_json(&mut out)).flatten() {
        Some(written) => {
            written?;
            writeln!(out)?;
            true
        }
        None => {
            out.write_all(shown.text().as_bytes())?;
            false
        }
    };
    out.flush()?;
    err.write_all(shown.notes(as_json).as_bytes())
}

fn json_to(out: &mut dyn std::io::Write, value: &impl Serialize) -> Option<serde_json::Result<()>> {
    Some(serde_json::to_writer_pretty(out, value))
}

impl Shown for Scanned {
    fn text(&self) -> String {
        scanned(self)
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(out, &survey_json(&self.survey, &self.left_out))
    }
    fn exit(&self) -> Exit {
        Scanned::exit(self)
    }
}

impl Shown for Packed {
    fn text(&self) -> String {
        packed(self)
    }
    /// The JSON lists what could not be used: no need to say it again.
    fn notes(&self, json: bool) -> String {
        if json {
            String::new()
        } else {
            not_packed(self)
        }
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(out, &packed_json(self))
    }
    fn exit(&self) -> Exit {
        Packed::exit(self)
    }
}

impl Shown for Verdict {
    fn text(&self) -> String {
        verdict(self)
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(out, self)
    }
    fn exit(&self) -> Exit {
        commands::verdict_exit(self)
    }
}

impl Shown for Extracted {
    fn text(&self) -> String {
        format!(
            "{}\nExtracted {} files into {}.\n",
            self.verdict.headline(),
            self.files,
            self.dest.display()
        )
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(
            out,
            &serde_json::json!({
                "extracted": self.dest.to_string_lossy(),
                "files": self.files,
                "verdict": self.verdict,
            }),
        )
    }
    fn exit(&self) -> Exit {
        Exit::Ok
    }
}

impl Shown for CommandError {
    /// A package that failed verification before extraction: the verdict.
    fn text(&self) -> String {
        match self {
            CommandError::Extract(ExtractError::NotVerified(v)) => verdict(v),
            CommandError::Send(crate::send::SendError::Package(
                crate::send::items::PackageError::NotVerified(v),
            )) => verdict(v),
            _ => String::new(),
        }
    }
    /// The error, with what explains it: what was found instead of images, who the several
    /// patients are. Said whether or not JSON went out too.
    fn notes(&self, _json: bool) -> String {
        let mut out = match self {
            CommandError::NoImages(s) => leftovers(s),
            _ => String::new(),
        };
        let _ = writeln!(out, "dicompack: {self}");
        if let CommandError::SeveralPatients { catalog, .. } = self {
            out.push_str(&several_patients(catalog));
        }
        out
    }
    /// Only `extract` answers an error in JSON (with the verdict when that was the reason).
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        let CommandError::Extract(e) = self else {
            return None;
        };
        let verdict = match e {
            ExtractError::NotVerified(v) => Some(v.as_ref()),
            _ => None,
        };
        json_to(
            out,
            &serde_json::json!({ "error": self.to_string(), "verdict": verdict }),
        )
    }
    fn exit(&self) -> Exit {
        CommandError::exit(self)
    }
}

/// What `pack` says on stderr: what could not be used, and what failed to copy.
pub fn not_packed(p: &Packed) -> String {
    let mut out = leftovers(&p.survey);
    for f in &p.report.failed {
        let _ = writeln!(out, "Not packed: {}: {}", f.path.display(), f.reason);
    }
    out
}

/// What `pack` says on stdout: what went in, where, and the fingerprint.
pub fn packed(p: &Packed) -> String {
    let r = &p.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Packed {} {}, {} series, {} {} into {} ({}).",
        r.summary.studies,
        plural(r.summary.studies, "study", "studies"),
        r.summary.series,
        group_thousands(r.summary.instances),
        plural(r.summary.instances, "image", "images"),
        r.path.display(),
        size(r.package_size)
    );
    if p.incomplete() {
        let _ = writeln!(
            out,
            "Some DICOM files could not be included: {} (listed above and in MANIFEST.JSN).",
            p.survey.skipped.len() + r.failed.len()
        );
    }
    if r.previews + r.placeholders > 0 {
        let _ = writeln!(
            out,
            "Previews: {} series drawn, {} shown as a labelled tile (not an image, or could not be drawn).",
            r.previews, r.placeholders
        );
    }
    for f in &r.render_failures {
        let _ = writeln!(out, "  {f}");
    }
    let _ = writeln!(out, "Fingerprint: {}", r.fingerprint);
    if !p.more_volumes.is_empty() {
        let _ = writeln!(
            out,
            "Split into {} volumes, each complete on its own:",
            p.more_volumes.len() + 1
        );
        for v in std::iter::once(r).chain(&p.more_volumes) {
            let _ = writeln!(
                out,
                "  {} ({}, {} {}), fingerprint {}",
                v.path.display(),
                size(v.package_size),
                group_thousands(v.summary.instances),
                plural(v.summary.instances, "image", "images"),
                v.fingerprint
            );
        }
    }
    if let Some(p) = &p.generated_passphrase {
        let _ = writeln!(
            out,
            "Passphrase: {}\n  Give it to the recipient by phone or in person, not with the package. It is shown\n  only this once and is not stored anywhere.",
            p.as_str()
        );
    }
    out
}

/// `pack --json`.
pub fn packed_json(p: &Packed) -> impl Serialize + '_ {
    let r = &p.report;
    let s = &p.survey;
    serde_json::json!({
        "package": r.path.to_string_lossy(),
        "fingerprint": r.fingerprint,
        "size": r.package_size,
        "summary": r.summary,
        "previews": r.previews,
        "placeholders": r.placeholders,
        "render_failures": r.render_failures,
        "skipped": s.skipped.iter().chain(r.failed.iter()).collect::<Vec<_>>(),
        "ignored": s.ignored,
        "warnings": s.warnings,
        "passphrase": p.generated_passphrase.as_ref().map(|p| p.as_str()),
        "volumes": std::iter::once(r).chain(&p.more_volumes).filter(|_| !p.more_volumes.is_empty()).map(|v| serde_json::json!({
            "package": v.path.to_string_lossy(),
            "fingerprint": v.fingerprint,
            "size": v.package_size,
            "instances": v.summary.instances,
        })).collect::<Vec<_>>(),
    })
}

impl Shown for crate::volumes::SetVerdict {
    fn text(&self) -> String {
        let mut out = String::new();
        for v in &self.volumes {
            let _ = write!(out, "{}: {}", v.path, verdict(&v.verdict));
        }
        for p in &self.problems {
            let _ = writeln!(out, "  {p}");
        }
        let set = self.set.as_deref().unwrap_or("unknown");
        if self.ok {
            let _ = writeln!(
                out,
                "SET COMPLETE: {} volumes, {} images (set {set})",
                self.volumes.len(),
                group_thousands(self.instances)
            );
        } else {
            let _ = writeln!(out, "SET NOT COMPLETE OR NOT INTACT (set {set})");
        }
        out
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(out, self)
    }
    fn exit(&self) -> Exit {
        if self.ok { Exit::Ok } else { Exit::Failed }
    }
}

/// A verdict for people: the headline, then one line per problem.
pub fn verdict(v: &Verdict) -> String {
    let mut out = v.headline();
    out.push('\n');
    if let Some(vol) = &v.volume {
        let _ = writeln!(
            out,
            "  Volume {} of {} of set {}; `dicompack verify` of every volume checks the set.",
            vol.number, vol.count, vol.set
        );
    }
    for p in &v.problems {
        let _ = writeln!(out, "  {p}");
    }
    out
}

impl Shown for crate::ui::Closed {
    fn text(&self) -> String {
        String::new()
    }
    fn notes(&self, _json: bool) -> String {
        match self {
            crate::ui::Closed::PageClosed => "The page was closed; dicompack has stopped.\n",
            crate::ui::Closed::NeverOpened => "Nobody opened the page; dicompack has stopped.\n",
            crate::ui::Closed::Interrupted => "Stopped.\n",
        }
        .to_string()
    }
    fn write_json(&self, _out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        None
    }
    fn exit(&self) -> Exit {
        Exit::Ok
    }
}

/// What `send` says: one line of how many were stored where, the instances not stored with
/// their reason, what stopped the send, and where the receipt is.
pub fn sent(o: &commands::SendOutcome) -> String {
    let s = &o.sent;
    let total = s.outcomes.len();
    let stored = s.stored();
    let mut out = String::new();
    let _ = write!(
        out,
        "{} of {} {} stored in {}",
        group_thousands(stored),
        group_thousands(total),
        plural(total, "image", "images"),
        o.destination.name()
    );
    if s.already_stored > 0 {
        let _ = write!(
            out,
            " ({} already stored by an earlier send, not sent again)",
            group_thousands(s.already_stored)
        );
    }
    out.push_str(".\n");
    let secs = s.elapsed.as_secs_f64();
    if s.attempted > 0 && secs > 0.0 {
        let _ = writeln!(
            out,
            "Sent {} {} ({}) in {:.1} s: {:.1} images/s, {:.1} MB/s.",
            group_thousands(s.attempted),
            plural(s.attempted, "image", "images"),
            size(s.bytes),
            secs,
            s.attempted as f64 / secs,
            s.bytes as f64 / 1e6 / secs
        );
    }
    let warned: Vec<_> = s
        .outcomes
        .iter()
        .filter(|(_, st)| matches!(st, crate::send::Status::Warning { .. }))
        .collect();
    if !warned.is_empty() {
        let _ = writeln!(out, "Stored with a warning from the PACS: {}", warned.len());
        for (item, st) in warned.iter().take(50) {
            let _ = writeln!(out, "  {}: {st}", item.file);
        }
    }
    out
}

/// What `send` says on stderr: the instances not stored, and why the send stopped.
pub fn not_sent(o: &commands::SendOutcome) -> String {
    let s = &o.sent;
    let mut out = String::new();
    let missing: Vec<_> = s
        .outcomes
        .iter()
        .filter(|(_, st)| !st.is_stored())
        .collect();
    if !missing.is_empty() {
        let _ = writeln!(out, "Not stored: {}", group_thousands(missing.len()));
        for (item, st) in &missing {
            let _ = writeln!(out, "  {}: {st}", item.file);
        }
    }
    if let Some(f) = &s.stopped {
        let _ = writeln!(out, "The send stopped: {f}");
    }
    if s.cancelled {
        let _ = writeln!(out, "The send was stopped before the end.");
    }
    if !missing.is_empty() {
        let _ = writeln!(
            out,
            "Sending again with the same receipt sends only what is not stored yet."
        );
    }
    let _ = writeln!(out, "Receipt: {}", o.receipt.display());
    out
}

/// `send --json`.
pub fn sent_json(o: &commands::SendOutcome) -> impl Serialize + '_ {
    let s = &o.sent;
    let instances: Vec<_> = s
        .outcomes
        .iter()
        .map(|(item, st)| {
            let mut v = serde_json::to_value(st).unwrap_or_default();
            if let Some(m) = v.as_object_mut() {
                m.insert("file".into(), item.file.clone().into());
                m.insert(
                    "sop_instance_uid".into(),
                    item.sop_instance_uid.clone().into(),
                );
                m.insert("sop_class_uid".into(), item.sop_class_uid.clone().into());
            }
            v
        })
        .collect();
    serde_json::json!({
        "destination": o.destination,
        "receipt": o.receipt.to_string_lossy(),
        "total": s.outcomes.len(),
        "stored": s.stored(),
        "already_stored": s.already_stored,
        "sent": s.attempted,
        "bytes": s.bytes,
        "seconds": s.elapsed.as_secs_f64(),
        "stopped": s.stopped.as_ref().map(ToString::to_string),
        "cancelled": s.cancelled,
        "fingerprint": o.verdict.as_ref().and_then(|v| v.fingerprint),
        "instances": instances,
    })
}

impl Shown for commands::SendOutcome {
    fn text(&self) -> String {
        sent(self)
    }
    fn notes(&self, _json: bool) -> String {
        not_sent(self)
    }
    fn write_json(&self, out: &mut dyn std::io::Write) -> Option<serde_json::Result<()>> {
        json_to(out, &sent_json(self))
    }
    fn exit(&self) -> Exit {
        commands::SendOutcome::exit(self)
    }
}
