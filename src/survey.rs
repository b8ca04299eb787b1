//! The front half of the pipeline, shared by `scan` and `pack`: discover → scan → catalog, and
//! the cross-check of what a disc's DICOMDIR promises against what is really there.
//!
//! Every input file ends in exactly one place: an instance of the catalog, a duplicate kept
//! once, `ignored` (not DICOM, by content), or `skipped` (DICOM that cannot be used, with the
//! reason). Nothing is dropped silently.

use crate::cancel::Cancel;
use crate::catalog::{self, Catalog};
use crate::checksum::Digest;
use crate::dicomdir;
use crate::discover::{self, InputError};
use crate::read_plan::{self, Spool};
use crate::scan::{self, Instance, Pass, Reason, Scanned, Unused};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Default)]
pub struct Survey {
    pub catalog: Catalog,
    /// DICOM input that cannot be used (the reason for exit code 3).
    pub skipped: Vec<Unused>,
    /// Not DICOM, or deliberately not used (directory files, special files).
    pub ignored: Vec<Unused>,
    pub warnings: Vec<String>,
    /// How many files were looked at.
    pub files_seen: usize,
}

impl Survey {
    /// True when some DICOM input could not be used.
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty()
    }
}

/// Runs discover, scan and catalog over the inputs. `tick` is called once per file scanned
/// (with what it was, so a front end can show what is found while the rest is read), after
/// `total` is called with the number of files.
pub fn survey(
    inputs: &[PathBuf],
    pass: Pass,
    total: &dyn Fn(usize),
    tick: &(dyn Fn(&Scanned) + Sync),
) -> Result<Survey, InputError> {
    survey_on(inputs, pass, &How::Fast, total, tick)
}

/// How a survey reads the files (see [`crate::medium`] and [`crate::read_plan`]).
pub enum How<'a> {
    /// In parallel, as `pass` says.
    Fast,
    /// Each byte once, in disc order, one file at a time (every file whole, whatever `pass`).
    Slow {
        /// Where the bytes go to be read again by the later stages.
        spool: Option<&'a Spool>,
        /// Told how far the reading of the disc got.
        show: &'a (dyn Fn(read_plan::Reading) + Sync),
        cancel: &'a Cancel,
    },
}

/// [`survey`], reading the files as `how` says.
pub fn survey_on(
    inputs: &[PathBuf],
    pass: Pass,
    how: &How<'_>,
    total: &dyn Fn(usize),
    tick: &(dyn Fn(&Scanned) + Sync),
) -> Result<Survey, InputError> {
    let found = discover::discover(inputs)?;
    total(found.candidates.len());
    let scanned = match how {
        How::Fast => scan::scan_all(&found.candidates, pass, tick),
        How::Slow {
            spool,
            show,
            cancel,
        } => {
            let plan = read_plan::disc_order(&found.candidates);
            let meter = read_plan::Meter::new(plan.iter().map(|s| s.len).sum(), *show);
            read_plan::scan_in_order(
                &found.candidates,
                &plan,
                *spool,
                read_plan::Retry::default(),
                &meter,
                tick,
                cancel,
            )
        }
    };

    let mut s = Survey {
        files_seen: found.candidates.len() + found.ignored.len(),
        ignored: found
            .ignored
            .into_iter()
            .map(|(path, why)| Unused {
                path,
                reason: Reason::NotOpened(why),
            })
            .collect(),
        skipped: found
            .unreadable
            .into_iter()
            .map(|(path, why)| Unused {
                path,
                reason: Reason::Folder(why),
            })
            .collect(),
        ..Survey::default()
    };
    let mut instances = Vec::new();
    let mut directories = Vec::new();
    for outcome in scanned {
        match outcome {
            Scanned::Instance(i) => instances.push(*i),
            Scanned::Directory(d) => directories.push(*d),
            Scanned::Ignored(u) => s.ignored.push(u),
            Scanned::Skipped(u) => s.skipped.push(u),
        }
    }
    for inst in &instances {
        for w in &inst.object.warnings {
            s.warnings.push(format!("{}: {w}", inst.source.display()));
        }
    }
    hash_namesakes(&mut instances, &mut s.skipped);
    let missing_by_series = cross_check(&directories, &instances, &found.roots, &mut s);
    for d in &directories {
        s.ignored.push(Unused {
            path: d.source.clone(),
            reason: Reason::DirectoryFile,
        });
    }
    s.catalog = catalog::build(instances, &missing_by_series);
    s.skipped.extend(s.catalog.conflicts.iter().cloned());
    for d in &s.catalog.duplicates {
        s.ignored.push(Unused {
            path: d.dropped.clone(),
            reason: Reason::IdenticalCopy {
                kept: d.kept.clone(),
            },
        });
    }
    s.warnings
        .extend(s.catalog.identity_warnings.iter().cloned());
    s.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    s.ignored.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(s)
}

/// Two files with one SOP Instance UID are the same image twice or a conflict, and only their
/// bytes can tell which. A header pass leaves files without a digest: hash just these (rare)
/// files now. One that cannot be read whole is skipped with the reason.
fn hash_namesakes(instances: &mut Vec<Instance>, skipped: &mut Vec<Unused>) {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for inst in instances.iter() {
        *count
            .entry(inst.object.attrs.sop_instance_uid.as_str())
            .or_default() += 1;
    }
    let namesake: BTreeSet<String> = count
        .into_iter()
        .filter(|&(_, n)| n > 1)
        .map(|(uid, _)| uid.to_string())
        .collect();
    if namesake.is_empty() {
        return;
    }
    let failed: Vec<Option<Reason>> = instances
        .par_iter_mut()
        .map(|inst| {
            if inst.object.sha256.is_some()
                || !namesake.contains(&inst.object.attrs.sop_instance_uid)
            {
                return None;
            }
            match crate::platform::open_source(inst.bytes_path()).and_then(Digest::of_reader) {
                Ok((digest, total)) if total == inst.object.size => {
                    inst.object.sha256 = Some(digest);
                    None
                }
                Ok(_) => Some(Reason::Changed),
                Err(e) => Some(Reason::CannotReadToEnd(std::sync::Arc::new(e))),
            }
        })
        .collect();
    let mut failed = failed.into_iter();
    instances.retain(|inst| match failed.next().flatten() {
        None => true,
        Some(reason) => {
            skipped.push(Unused {
                path: inst.source.clone(),
                reason,
            });
            false
        }
    });
}

/// Folds a path component the way discs mangle them: case, ISO 9660 `;1` versions, a
/// trailing dot.
fn fold(component: &str) -> String {
    let mut c = component.to_ascii_uppercase();
    if let Some(pos) = c.rfind(';')
        && c[pos + 1..].bytes().all(|b| b.is_ascii_digit())
    {
        c.truncate(pos);
    }
    while c.ends_with('.') {
        c.pop();
    }
    c
}

fn folded(path: &Path) -> Vec<String> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(fold(&s.to_string_lossy())),
            _ => None,
        })
        .collect()
}

/// Checks each directory file against the files found: what it lists must be there (and be
/// the same object); what is there should be listed. A file named DICOMDIR is the disc's
/// table of contents and a missing file it lists is lost data; other directory files (such
/// as Philips' DIRFILE) are hints, and their gaps are warnings.
///
/// Vendors do not agree on what a Referenced File ID is relative to (testdata/LAYOUTS.md):
/// Philips' per-folder DIRFILEs name files from `DICOM/`, a DICOMDIR copied into `DICOM/`
/// still names them from the disc's root. So each reference is read against the directory
/// file's own folder and then every folder above it up to the input it was found in; it is
/// "missing" only when no reading finds a file. References are looked up among the files
/// discover found inside the inputs, never opened: a reference cannot bring in a file from
/// outside, and one that tries (`..`, absolute, a drive) is refused with a warning.
/// Returns, per Series Instance UID, how many files the DICOMDIR lists that are not usable.
fn cross_check(
    directories: &[Instance],
    instances: &[Instance],
    roots: &[PathBuf],
    s: &mut Survey,
) -> BTreeMap<String, usize> {
    if directories.is_empty() {
        return BTreeMap::new();
    }
    let mut check = CrossCheck {
        by_path: instances.iter().map(|i| (folded(&i.source), i)).collect(),
        unusable: s
            .skipped
            .iter()
            .chain(s.ignored.iter())
            .map(|u| folded(&u.path))
            .collect(),
        directory_files: directories.iter().map(|d| folded(&d.source)).collect(),
        roots: roots.iter().map(|r| folded(r)).collect(),
        referenced: BTreeSet::new(),
        reported_missing: BTreeSet::new(),
        primary_roots: Vec::new(),
        missing_by_series: BTreeMap::new(),
    };
    let (primary, secondary): (Vec<&Instance>, Vec<&Instance>) =
        directories.iter().partition(|d| is_primary(d));
    for d in primary.into_iter().chain(secondary) {
        check.directory(d, s);
    }
    for i in instances {
        let key = folded(&i.source);
        if check.primary_roots.iter().any(|r| key.starts_with(r))
            && !check.referenced.contains(&key)
        {
            s.warnings.push(format!(
                "{}: a DICOM file the DICOMDIR does not list; included anyway",
                i.source.display()
            ));
        }
    }
    check.missing_by_series
}

/// What the cross-check knows, keyed by folded paths (see [`folded`]).
struct CrossCheck<'a> {
    by_path: BTreeMap<Vec<String>, &'a Instance>,
    /// Files already skipped or ignored, with their own reason.
    unusable: BTreeSet<Vec<String>>,
    /// Directory files themselves: a DICOMDIR may list a secondary one (a DIRFILE), which is
    /// not an image and not missing.
    directory_files: BTreeSet<Vec<String>>,
    /// The inputs: no reading of a reference climbs above the one a directory file is in.
    roots: Vec<Vec<String>>,
    referenced: BTreeSet<Vec<String>>,
    /// Every reading of each reference already reported missing.
    reported_missing: BTreeSet<Vec<String>>,
    /// Folders that hold a DICOMDIR: every file below should be listed.
    primary_roots: Vec<Vec<String>>,
    missing_by_series: BTreeMap<String, usize>,
}

/// A file named DICOMDIR (in any case, with any ISO 9660 suffix) is a table of contents; other
/// directory files are hints.
fn is_primary(d: &Instance) -> bool {
    d.source
        .file_name()
        .is_some_and(|n| fold(&n.to_string_lossy()) == "DICOMDIR")
}

/// What one reference of a directory file turned out to be.
enum Found<'a> {
    Instance(&'a Instance, Vec<String>),
    DirectoryFile(Vec<String>),
    Unusable(Vec<String>),
    Nothing,
}

/// A Referenced File ID as path components: the reader splits at `\`, the standard
/// separator; some burners write `/`, so each value is split again there. `None` when a
/// component could lead out of the folder it is read from: `.`/`..`, empty (a leading
/// separator makes the path absolute), a drive or stream colon, a NUL.
fn reference_components(values: &[String]) -> Option<Vec<String>> {
    let parts: Vec<String> = values
        .iter()
        .flat_map(|v| v.split('/'))
        .map(str::to_string)
        .collect();
    let bad = |c: &String| c.is_empty() || c == "." || c == ".." || c.contains([':', '\0']);
    (!parts.is_empty() && !parts.iter().any(bad)).then_some(parts)
}

impl<'a> CrossCheck<'a> {
    fn directory(&mut self, d: &Instance, s: &mut Survey) {
        let is_primary = is_primary(d);
        let base = d.source.parent().unwrap_or(Path::new(""));
        let bytes = match read_limited(d.bytes_path()) {
            Ok(b) => b,
            Err(e) => {
                s.warnings
                    .push(format!("{}: cannot be read again: {e}", d.source.display()));
                return;
            }
        };
        let dir = match dicomdir::read(&bytes) {
            Ok(dir) => dir,
            Err(e) => {
                s.warnings.push(format!(
                    "{}: this DICOM directory cannot be read ({e}); the disc is read without it",
                    d.source.display()
                ));
                return;
            }
        };
        if is_primary {
            self.primary_roots.push(folded(base));
        }
        for w in &dir.warnings {
            s.warnings.push(format!("{}: {w}", d.source.display()));
        }
        for rec in &dir.records {
            if let Some(components) = &rec.file_id {
                self.record(d, base, is_primary, rec, components, s);
            }
        }
    }

    /// The keys `parts` may stand for: read against `base` and each folder above it, as far
    /// up as the outermost input that holds `base`, nearest first. [`CrossCheck::resolve`]
    /// prefers a file holding the SOP Instance the record names, then the nearest file, then a
    /// directory file, then a file already left out with its own reason.
    fn readings(&self, base: &[String], parts: &[String]) -> Vec<Vec<String>> {
        let floor = self
            .roots
            .iter()
            .filter(|r| base.starts_with(r))
            .map(Vec::len)
            .min()
            .unwrap_or(base.len());
        let folded_parts: Vec<String> = parts.iter().map(|c| fold(c)).collect();
        (floor..=base.len())
            .rev()
            .map(|depth| {
                let mut key: Vec<String> = base.iter().take(depth).cloned().collect();
                key.extend(folded_parts.iter().cloned());
                key
            })
            .collect()
    }

    /// What the first fitting reading (see [`CrossCheck::readings`]) finds.
    fn resolve(&self, readings: &[Vec<String>], sop_instance: Option<&str>) -> Found<'a> {
        let mut nearest: Option<Found<'a>> = None;
        let mut directory_file = None;
        let mut unusable = None;
        for key in readings.iter().cloned() {
            if let Some(&inst) = self.by_path.get(&key) {
                if sop_instance.is_none_or(|uid| uid == inst.object.attrs.sop_instance_uid) {
                    return Found::Instance(inst, key);
                }
                if nearest.is_none() {
                    nearest = Some(Found::Instance(inst, key));
                }
            } else if self.directory_files.contains(&key) {
                directory_file.get_or_insert(key);
            } else if self.unusable.contains(&key) {
                unusable.get_or_insert(key);
            }
        }
        nearest
            .or(directory_file.map(Found::DirectoryFile))
            .or(unusable.map(Found::Unusable))
            .unwrap_or(Found::Nothing)
    }

    fn record(
        &mut self,
        d: &Instance,
        base: &Path,
        is_primary: bool,
        rec: &dicomdir::DirRecord,
        components: &[String],
        s: &mut Survey,
    ) {
        let Some(parts) = reference_components(components) else {
            s.warnings.push(format!(
                "{}: lists {:?}, a path leading outside the disc; not followed",
                d.source.display(),
                components.join("\\")
            ));
            return;
        };
        let shown = base.join(parts.join("/"));
        let readings = self.readings(&folded(base), &parts);
        match self.resolve(&readings, rec.sop_instance_uid.as_deref()) {
            Found::Instance(inst, key) => {
                self.referenced.insert(key);
                if let Some(uid) = &rec.sop_instance_uid
                    && *uid != inst.object.attrs.sop_instance_uid
                {
                    s.warnings.push(format!(
                        "{}: the DICOMDIR expects SOP Instance UID {uid}, the file has {}",
                        inst.source.display(),
                        inst.object.attrs.sop_instance_uid
                    ));
                }
            }
            Found::DirectoryFile(key) => {
                self.referenced.insert(key);
            }
            Found::Unusable(key) => {
                self.referenced.insert(key);
                if let Some(series) = &rec.series_instance_uid {
                    *self.missing_by_series.entry(series.clone()).or_default() += 1;
                }
                // Already reported with its own reason; say that the DICOMDIR expected it.
                s.warnings.push(format!(
                    "{}: listed in the DICOMDIR as an image, but not usable (see above)",
                    shown.display()
                ));
            }
            // A file several directory files list (Philips: two DICOMDIRs and two DIRFILEs) is
            // reported once: primaries are read first, so a DICOMDIR's gap is the one kept.
            Found::Nothing if readings.iter().any(|r| self.reported_missing.contains(r)) => {}
            Found::Nothing if is_primary => {
                self.reported_missing.extend(readings);
                if let Some(series) = &rec.series_instance_uid {
                    *self.missing_by_series.entry(series.clone()).or_default() += 1;
                }
                s.skipped.push(Unused {
                    path: shown,
                    reason: Reason::MissingFromDisc,
                });
            }
            Found::Nothing => {
                self.reported_missing.extend(readings);
                s.warnings.push(format!(
                    "{}: listed in {} but missing (looked for from that folder up)",
                    shown.display(),
                    d.source.display()
                ));
            }
        }
    }
}

fn read_limited(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    crate::platform::open_source(path)?
        .take(512 * 1024 * 1024)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(values: &[&str]) -> Option<Vec<String>> {
        let v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        reference_components(&v)
    }

    #[test]
    fn reference_components_split_at_slashes_and_refuse_escapes() {
        assert_eq!(
            parts(&["DICOM", "ST1/SE1", "IM1;1"]),
            Some(vec![
                "DICOM".into(),
                "ST1".into(),
                "SE1".into(),
                "IM1;1".into()
            ])
        );
        for escape in [
            &["..", "X"][..],
            &["DICOM/../../X"],
            &["", "X"],
            &["/tmp/X"],
            &["C:", "X"],
            &["DICOM", "X:stream"],
            &["DICOM", "", "X"],
            &["DICOM", "."],
            &["A\0B"],
            &[],
        ] {
            assert_eq!(parts(escape), None, "{escape:?}");
        }
    }
}
