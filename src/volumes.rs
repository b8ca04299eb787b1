//! Volumes: a selection too large for one medium → several catalogs, each packed as a complete
//! file-set of its own (its own DICOMDIR, pages, checksums and README), all sharing one set
//! identifier.
//!
//! A study stays on one volume unless it alone is larger than a volume; then it is split by
//! series, and a series by instances only if it alone is larger. Volumes are filled in catalog
//! order, so a set reads like the disc it came from. What a volume costs is estimated from the
//! instances' sizes plus what every file and series adds (checksum line, manifest entry,
//! DICOMDIR record, preview, disc sectors); the report says when a volume came out larger.

use crate::catalog::Catalog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// What each volume holds besides the images: README, pages, manifest head, DICOMDIR head.
const VOLUME_OVERHEAD: u64 = 16 * 1024;
/// What each image adds: its lines in the manifest, DICOMDIR and checksum list, its ZIP
/// headers.
const PER_INSTANCE: u64 = 3 * 1024;
/// What each series adds: its preview and its part of the pages.
const PER_SERIES: u64 = 12 * 1024;
/// On a disc: the system area, volume descriptors, path tables and folders, and every small
/// file's last sector.
const DISC_OVERHEAD: u64 = 64 * 1024;
/// On a disc, each file ends on a sector boundary: its last sector, at worst.
const SECTOR: u64 = 2048;

/// The media a person names, with their capacity in bytes.
pub const MEDIA: &[(&str, u64, &str)] = &[
    ("cd", 700 * 1000 * 1000, "a CD-R, 700 MB"),
    ("dvd", 4_700 * 1000 * 1000, "a DVD±R, 4.7 GB"),
    ("dvd-dl", 8_500 * 1000 * 1000, "a dual-layer DVD, 8.5 GB"),
    ("bd", 25_000 * 1000 * 1000, "a Blu-ray disc, 25 GB"),
    ("email", 20 * 1000 * 1000, "an e-mail attachment, 20 MB"),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VolumeError {
    #[error(
        "{0:?} is not a size: give bytes with K, M or G (e.g. 650M), or one of cd, dvd, dvd-dl, bd, email"
    )]
    NotASize(String),
    #[error("a volume of {0} bytes cannot hold even one image with its README and pages")]
    TooSmall(u64),
}

/// `650M`, `4.7G`, `50K`, `1000000`, or a medium's name. K, M and G are powers of 1000, as
/// disc and mail sizes are given.
pub fn parse_size(s: &str) -> Result<u64, VolumeError> {
    let t = s.trim().to_ascii_lowercase();
    if let Some((_, bytes, _)) = MEDIA.iter().find(|(name, _, _)| *name == t) {
        return Ok(*bytes);
    }
    let not = || VolumeError::NotASize(s.to_string());
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (number, unit) = match t.char_indices().last() {
        Some((i, 'k')) => (t.get(..i), 1e3),
        Some((i, 'm')) => (t.get(..i), 1e6),
        Some((i, 'g')) => (t.get(..i), 1e9),
        _ => (Some(t), 1.0),
    };
    let n: f64 = number.ok_or_else(not)?.trim().parse().map_err(|_| not())?;
    let bytes = n * unit;
    if !bytes.is_finite() || !(1.0..=1e15).contains(&bytes) {
        return Err(not());
    }
    Ok(bytes as u64)
}

/// Which volume of which set a package is, as its manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeEntry {
    /// The set's identifier, shared by every volume (a UUID-derived UID, `2.25.…`).
    pub set: String,
    pub number: usize,
    pub count: usize,
    /// Images in the whole set.
    pub set_instances: usize,
    /// What each volume of the set holds, in plain words, volume 1 first.
    pub holds: Vec<String>,
}

/// The planned volumes: one catalog each, and what each holds in plain words.
pub struct Plan {
    pub volumes: Vec<Catalog>,
    pub holds: Vec<String>,
}

/// Splits `catalog` into volumes of at most `size` bytes (estimated); `disc`: each volume is a
/// disc image (whole sectors).
pub fn plan(catalog: &Catalog, size: u64, disc: bool) -> Result<Plan, VolumeError> {
    let (overhead, per_instance, per_series) = if disc {
        (
            VOLUME_OVERHEAD + DISC_OVERHEAD,
            PER_INSTANCE + SECTOR,
            PER_SERIES + 3 * SECTOR,
        )
    } else {
        (VOLUME_OVERHEAD, PER_INSTANCE, PER_SERIES)
    };
    let budget = size
        .checked_sub(overhead)
        .filter(|b| *b > per_instance + per_series)
        .ok_or(VolumeError::TooSmall(size))?;
    // Each unit: the SOP Instance UIDs that go together, and their cost.
    let mut units: Vec<(Vec<&str>, u64)> = Vec::new();
    for (_, study) in catalog.studies() {
        let cost = |n: usize, bytes: u64, series: u64| bytes + n as u64 * per_instance + series;
        let study_cost = study
            .series
            .iter()
            .map(|se| cost(se.instances.len(), se.size(), per_series))
            .sum::<u64>();
        if study_cost <= budget {
            units.push((
                study
                    .series
                    .iter()
                    .flat_map(|se| se.instances.iter())
                    .map(|i| i.object.attrs.sop_instance_uid.as_str())
                    .collect(),
                study_cost,
            ));
            continue;
        }
        for se in &study.series {
            let series_cost = cost(se.instances.len(), se.size(), per_series);
            if series_cost <= budget {
                units.push((
                    se.instances
                        .iter()
                        .map(|i| i.object.attrs.sop_instance_uid.as_str())
                        .collect(),
                    series_cost,
                ));
                continue;
            }
            let mut part: (Vec<&str>, u64) = (Vec::new(), per_series);
            for i in &se.instances {
                let c = cost(1, i.object.size, 0);
                if !part.0.is_empty() && part.1 + c > budget {
                    units.push(std::mem::replace(&mut part, (Vec::new(), per_series)));
                }
                part.0.push(i.object.attrs.sop_instance_uid.as_str());
                part.1 += c;
            }
            if !part.0.is_empty() {
                units.push(part);
            }
        }
    }
    let mut groups: Vec<(BTreeSet<&str>, u64)> = Vec::new();
    for (uids, cost) in units {
        match groups.last_mut() {
            Some(g) if g.1 + cost <= budget => {
                g.0.extend(uids);
                g.1 += cost;
            }
            _ => groups.push((uids.into_iter().collect(), cost)),
        }
    }
    let volumes: Vec<Catalog> = groups.iter().map(|(g, _)| keep(catalog, g)).collect();
    let holds = volumes
        .iter()
        .enumerate()
        .map(|(n, v)| describe(catalog, v, n + 1))
        .collect();
    Ok(Plan { volumes, holds })
}

/// The catalog with only the instances in `uids` (and the series, studies and patients that
/// still hold one).
fn keep(catalog: &Catalog, uids: &BTreeSet<&str>) -> Catalog {
    let mut out = catalog.clone();
    out.patients.retain_mut(|p| {
        p.studies.retain_mut(|st| {
            st.series.retain_mut(|se| {
                se.instances
                    .retain(|i| uids.contains(i.object.attrs.sop_instance_uid.as_str()));
                !se.instances.is_empty()
            });
            !st.series.is_empty()
        });
        !p.studies.is_empty()
    });
    out
}

/// `Volume 2: study 1 (2004-08-26, CT CHEST), 40 of 120 images; study 2 …`.
fn describe(whole: &Catalog, volume: &Catalog, number: usize) -> String {
    let parts: Vec<String> = volume
        .studies()
        .map(|(_, st)| {
            let all = whole
                .studies()
                .find(|(_, w)| w.uid == st.uid)
                .map_or(0, |(_, w)| w.instance_count());
            let here = st.instance_count();
            let what = if here == all && all == 1 {
                "its one image".to_string()
            } else if here == all {
                format!("all {here} images")
            } else {
                format!("{here} of its {all} images")
            };
            format!(
                "study {} ({}{}{}), {what}",
                st.index,
                pretty_date(&st.date),
                if st.description.is_empty() { "" } else { ", " },
                st.description
            )
        })
        .collect();
    format!("Volume {number}: {}", parts.join("; "))
}

fn pretty_date(d: &str) -> String {
    match (d.get(..4), d.get(4..6), d.get(6..8)) {
        (Some(y), Some(m), Some(day)) if d.len() == 8 => format!("{y}-{m}-{day}"),
        _ if d.is_empty() => "no date".to_string(),
        _ => d.to_string(),
    }
}

/// A new set identifier: a UID under `2.25` (PS3.5 B.2) from 128 random bits.
pub fn new_set_uid() -> String {
    let mut b = [0u8; 16];
    // Without the OS's random source, the time still keeps sets apart.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        b = t.to_le_bytes();
    }
    format!("2.25.{}", u128::from_be_bytes(b))
}

/// `NAME.zip` → `NAME-2-of-3.zip`.
pub fn volume_path(path: &std::path::Path, number: usize, count: usize) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{number}-of-{count}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{number}-of-{count}"),
    };
    path.with_file_name(name)
}

/// `verify` of several volumes: each volume's verdict, and what is wrong with the set.
#[derive(Debug, Serialize)]
pub struct SetVerdict {
    /// Every volume intact, and together the whole set.
    pub ok: bool,
    pub set: Option<String>,
    pub volumes: Vec<VolumeVerdict>,
    pub problems: Vec<SetProblem>,
    /// Images in all the volumes together.
    pub instances: usize,
}

#[derive(Debug, Serialize)]
pub struct VolumeVerdict {
    pub path: String,
    pub verdict: crate::verify::Verdict,
}

/// What is wrong with a set of volumes as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetProblem {
    #[error("{path}: not a volume of a set")]
    NotAVolume { path: String },
    #[error("{path}: a volume of another set ({set})")]
    OtherSet { path: String, set: String },
    #[error("volume {number} of {count} is missing")]
    Missing { number: usize, count: usize },
    #[error("volume {number} is given twice")]
    Twice { number: usize },
    #[error("the volumes disagree on how many the set has")]
    CountDisagrees,
    #[error("the volumes hold {found} images; the set has {expected}")]
    InstancesDisagree { found: usize, expected: usize },
}

impl SetProblem {
    pub fn code(&self) -> &'static str {
        match self {
            SetProblem::NotAVolume { .. } => "not_a_volume",
            SetProblem::OtherSet { .. } => "other_set",
            SetProblem::Missing { .. } => "volume_missing",
            SetProblem::Twice { .. } => "volume_twice",
            SetProblem::CountDisagrees => "volume_count_disagrees",
            SetProblem::InstancesDisagree { .. } => "set_instances_disagree",
        }
    }
}

impl Serialize for SetProblem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut o = s.serialize_struct("SetProblem", 2)?;
        o.serialize_field("code", self.code())?;
        o.serialize_field("message", &self.to_string())?;
        o.end()
    }
}

/// Checks verified volumes as one set: one set identifier, every number from 1 to the count
/// exactly once, and together as many images as the set has.
pub fn check_set(volumes: Vec<VolumeVerdict>) -> SetVerdict {
    let mut problems = Vec::new();
    let mut set: Option<(String, usize, usize)> = None;
    let mut numbers = BTreeSet::new();
    for v in &volumes {
        let Some(vol) = &v.verdict.volume else {
            problems.push(SetProblem::NotAVolume {
                path: v.path.clone(),
            });
            continue;
        };
        match &set {
            None => set = Some((vol.set.clone(), vol.count, vol.set_instances)),
            Some((id, count, _)) => {
                if *id != vol.set {
                    problems.push(SetProblem::OtherSet {
                        path: v.path.clone(),
                        set: vol.set.clone(),
                    });
                    continue;
                }
                if *count != vol.count && !problems.contains(&SetProblem::CountDisagrees) {
                    problems.push(SetProblem::CountDisagrees);
                }
            }
        }
        if !numbers.insert(vol.number) {
            problems.push(SetProblem::Twice { number: vol.number });
        }
    }
    let instances = volumes.iter().map(|v| v.verdict.instances).sum();
    if let Some((_, count, expected)) = &set {
        for number in 1..=*count {
            if !numbers.contains(&number) {
                problems.push(SetProblem::Missing {
                    number,
                    count: *count,
                });
            }
        }
        if instances != *expected && problems.is_empty() {
            problems.push(SetProblem::InstancesDisagree {
                found: instances,
                expected: *expected,
            });
        }
    }
    SetVerdict {
        ok: problems.is_empty() && volumes.iter().all(|v| v.verdict.ok),
        set: set.map(|s| s.0),
        volumes,
        problems,
        instances,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_media() {
        assert_eq!(parse_size("50K").unwrap(), 50_000);
        assert_eq!(parse_size("4.7G").unwrap(), 4_700_000_000);
        assert_eq!(parse_size("650MB").unwrap(), 650_000_000);
        assert_eq!(parse_size("cd").unwrap(), 700_000_000);
        assert_eq!(parse_size("email").unwrap(), 20_000_000);
        assert_eq!(parse_size("123").unwrap(), 123);
        for bad in ["", "K", "-5M", "lots", "1e40"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(
            volume_path(std::path::Path::new("a/B.zip"), 2, 3),
            std::path::Path::new("a/B-2-of-3.zip")
        );
        assert!(new_set_uid().starts_with("2.25."));
        assert_ne!(new_set_uid(), new_set_uid());
    }
}
