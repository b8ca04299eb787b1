//! Catalog stage: scanned instances → Patient ▸ Study ▸ Series ▸ Instance, in display order.
//!
//! Also where sameness is decided: the same SOP Instance UID twice is one image kept once when
//! the bytes are identical, and a conflict (reported, second copy not used) when they differ.
//! Patients are grouped by Patient ID *and* issuer; spellings and birth dates that differ under
//! one ID, and one name and birth date under several IDs, are flagged as identity variants.

use crate::scan::{Instance, Reason, Unused};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The identity a patient is grouped by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PatientKey {
    pub patient_id: String,
    pub issuer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Patient {
    pub key: PatientKey,
    /// Every spelling seen under this identity, most frequent first.
    pub names: Vec<String>,
    pub birth_dates: Vec<String>,
    pub sex: String,
    pub studies: Vec<Study>,
}

impl Patient {
    pub fn name(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }
    pub fn birth_date(&self) -> &str {
        self.birth_dates.first().map_or("", String::as_str)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Study {
    /// Short number shown by `scan` and accepted by `--study`, 1-based over the whole catalog.
    pub index: usize,
    pub uid: String,
    pub date: String,
    pub time: String,
    pub description: String,
    pub study_id: String,
    pub accession_number: String,
    pub series: Vec<Series>,
}

impl Study {
    pub fn modalities(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self.series.iter().map(|s| s.modality.as_str()).collect();
        set.into_iter().filter(|m| !m.is_empty()).collect()
    }
    pub fn instance_count(&self) -> usize {
        self.series.iter().map(|s| s.instances.len()).sum()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub uid: String,
    pub number: Option<i32>,
    pub description: String,
    pub modality: String,
    pub body_part: String,
    pub instances: Vec<Instance>,
    /// Instance numbers missing between the lowest and highest present (at most 100 listed).
    pub missing_instance_numbers: Vec<i32>,
    /// Images of this series that the disc's DICOMDIR lists but that are missing or unusable.
    pub missing_from_source: usize,
}

impl Series {
    pub fn frame_count(&self) -> u64 {
        self.instances
            .iter()
            .map(|i| u64::from(i.object.attrs.number_of_frames))
            .sum()
    }
    pub fn size(&self) -> u64 {
        self.instances.iter().map(|i| i.object.size).sum()
    }
    /// Whether the source itself lacked images of this series.
    pub fn is_incomplete(&self) -> bool {
        !self.missing_instance_numbers.is_empty() || self.missing_from_source > 0
    }
}

/// Two copies of one SOP Instance with identical bytes: one is kept.
#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    #[serde(serialize_with = "crate::manifest::lossy_path")]
    pub kept: std::path::PathBuf,
    #[serde(serialize_with = "crate::manifest::lossy_path")]
    pub dropped: std::path::PathBuf,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    pub patients: Vec<Patient>,
    pub duplicates: Vec<Duplicate>,
    /// Copies not used because another file has the same SOP Instance UID and other bytes.
    pub conflicts: Vec<Unused>,
    /// Identity variants worth a person's attention, in plain words.
    pub identity_warnings: Vec<String>,
}

impl Catalog {
    pub fn studies(&self) -> impl Iterator<Item = (&Patient, &Study)> {
        self.patients
            .iter()
            .flat_map(|p| p.studies.iter().map(move |s| (p, s)))
    }
    pub fn series(&self) -> impl Iterator<Item = (&Patient, &Study, &Series)> {
        self.studies()
            .flat_map(|(p, st)| st.series.iter().map(move |se| (p, st, se)))
    }
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.series().flat_map(|(_, _, se)| se.instances.iter())
    }
    pub fn study_count(&self) -> usize {
        self.studies().count()
    }
    pub fn series_count(&self) -> usize {
        self.series().count()
    }
    pub fn instance_count(&self) -> usize {
        self.instances().count()
    }
}

/// Builds the catalog. `instances` should be in a stable order (the discovery order): the first
/// of two copies is the one kept. `missing_from_source` counts, per Series Instance UID, the
/// files a disc's DICOMDIR lists that are not usable.
pub fn build(instances: Vec<Instance>, missing_from_source: &BTreeMap<String, usize>) -> Catalog {
    let mut catalog = Catalog::default();
    let tree = group(instances, &mut catalog);
    catalog.patients = tree
        .into_iter()
        .map(|(key, studies)| build_patient(key, studies, missing_from_source))
        .collect();
    catalog
        .patients
        .sort_by(|a, b| (a.name(), &a.key).cmp(&(b.name(), &b.key)));
    let mut index = 0;
    for p in &mut catalog.patients {
        for s in &mut p.studies {
            index += 1;
            s.index = index;
        }
    }
    catalog.identity_warnings = identity_warnings(&catalog.patients);
    catalog
}

/// Patient ▸ Study UID ▸ Series UID ▸ instances.
type Tree = BTreeMap<PatientKey, BTreeMap<String, BTreeMap<String, Vec<Instance>>>>;

/// Groups the instances by patient, study and series, each SOP Instance UID once: a second
/// copy is a duplicate (same bytes) or a conflict (other bytes), noted in `catalog`.
fn group(instances: Vec<Instance>, catalog: &mut Catalog) -> Tree {
    let mut by_uid: HashMap<String, (std::path::PathBuf, Option<crate::checksum::Digest>)> =
        HashMap::new();
    let mut tree = Tree::new();
    for inst in instances {
        let a = &inst.object.attrs;
        if let Some((kept, digest)) = by_uid.get(&a.sop_instance_uid) {
            // Without both digests, sameness is unknown: treat as a conflict (the survey
            // hashes every file that shares a UID, so this only happens to a caller that
            // did not).
            if digest.is_some() && *digest == inst.object.sha256 {
                catalog.duplicates.push(Duplicate {
                    kept: kept.clone(),
                    dropped: inst.source.clone(),
                });
            } else {
                catalog.conflicts.push(Unused {
                    path: inst.source.clone(),
                    reason: Reason::Conflict {
                        kept: kept.clone(),
                        uid: a.sop_instance_uid.clone(),
                    },
                });
            }
            continue;
        }
        by_uid.insert(
            a.sop_instance_uid.clone(),
            (inst.source.clone(), inst.object.sha256),
        );
        let key = PatientKey {
            patient_id: a.patient.patient_id.clone(),
            issuer: a.patient.issuer_of_patient_id.clone(),
        };
        tree.entry(key)
            .or_default()
            .entry(a.study.study_instance_uid.clone())
            .or_default()
            .entry(a.series.series_instance_uid.clone())
            .or_default()
            .push(inst);
    }
    tree
}

/// One patient of the catalog: its studies and series in order, its names, birth dates and sex
/// as its instances give them (most frequent first).
fn build_patient(
    key: PatientKey,
    studies: BTreeMap<String, BTreeMap<String, Vec<Instance>>>,
    missing_from_source: &BTreeMap<String, usize>,
) -> Patient {
    let mut names = Tally::default();
    let mut births = Tally::default();
    let mut sexes = Tally::default();
    let mut built_studies = Vec::new();
    for (uid, series_map) in studies {
        let mut series = Vec::new();
        for (series_uid, mut instances) in series_map {
            for i in &instances {
                names.add(&i.object.attrs.patient.patient_name);
                births.add(&i.object.attrs.patient.patient_birth_date);
                sexes.add(&i.object.attrs.patient.patient_sex);
            }
            instances.sort_by(|a, b| {
                let (a, b) = (&a.object.attrs, &b.object.attrs);
                (
                    a.instance_number.is_none(),
                    a.instance_number,
                    &a.sop_instance_uid,
                )
                    .cmp(&(
                        b.instance_number.is_none(),
                        b.instance_number,
                        &b.sop_instance_uid,
                    ))
            });
            let missing = missing_from_source.get(&series_uid).copied().unwrap_or(0);
            series.push(build_series(series_uid, instances, missing));
        }
        series.sort_by(|a, b| {
            (a.number.is_none(), a.number, &a.uid).cmp(&(b.number.is_none(), b.number, &b.uid))
        });
        built_studies.push(build_study(uid, series));
    }
    built_studies.sort_by(|a, b| (&a.date, &a.time, &a.uid).cmp(&(&b.date, &b.time, &b.uid)));
    Patient {
        key,
        names: names.ranked(),
        birth_dates: births.ranked(),
        sex: sexes.ranked().into_iter().next().unwrap_or_default(),
        studies: built_studies,
    }
}

fn first_nonempty<'a>(instances: &'a [Instance], f: impl Fn(&'a Instance) -> &'a str) -> String {
    instances
        .iter()
        .map(f)
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_string()
}

fn build_series(uid: String, instances: Vec<Instance>, missing_from_source: usize) -> Series {
    let numbers: BTreeSet<i32> = instances
        .iter()
        .filter_map(|i| i.object.attrs.instance_number)
        .collect();
    let missing_instance_numbers = match (numbers.first(), numbers.last()) {
        (Some(&lo), Some(&hi)) if numbers.len() == instances.len() => (lo..=hi)
            .filter(|n| !numbers.contains(n))
            .take(100)
            .collect(),
        _ => Vec::new(),
    };
    Series {
        number: instances
            .iter()
            .find_map(|i| i.object.attrs.series.series_number),
        description: first_nonempty(&instances, |i| &i.object.attrs.series.series_description),
        modality: first_nonempty(&instances, |i| &i.object.attrs.series.modality),
        body_part: first_nonempty(&instances, |i| &i.object.attrs.series.body_part_examined),
        uid,
        instances,
        missing_instance_numbers,
        missing_from_source,
    }
}

fn build_study(uid: String, series: Vec<Series>) -> Study {
    let all: Vec<&Instance> = series.iter().flat_map(|s| s.instances.iter()).collect();
    let pick = |f: &dyn Fn(&Instance) -> &str| {
        all.iter()
            .map(|i| f(i))
            .find(|s| !s.is_empty())
            .unwrap_or_default()
            .to_string()
    };
    Study {
        index: 0,
        date: pick(&|i| &i.object.attrs.study.study_date),
        time: pick(&|i| &i.object.attrs.study.study_time),
        description: pick(&|i| &i.object.attrs.study.study_description),
        study_id: pick(&|i| &i.object.attrs.study.study_id),
        accession_number: pick(&|i| &i.object.attrs.study.accession_number),
        uid,
        series,
    }
}

/// Counts values, ignoring empty ones.
#[derive(Default)]
struct Tally(BTreeMap<String, usize>);

impl Tally {
    fn add(&mut self, v: &str) {
        if !v.is_empty() {
            *self.0.entry(v.to_string()).or_default() += 1;
        }
    }
    fn ranked(self) -> Vec<String> {
        let mut v: Vec<(String, usize)> = self.0.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.into_iter().map(|(s, _)| s).collect()
    }
}

/// Folds a name for comparison: case, spacing and DICOM component separators do not count.
fn fold_name(name: &str) -> String {
    name.split(['^', ' ', ',', '='])
        .filter(|p| !p.is_empty())
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn identity_warnings(patients: &[Patient]) -> Vec<String> {
    let mut out = Vec::new();
    for p in patients {
        let shown = display_id(&p.key);
        if p.names.len() > 1 {
            out.push(format!(
                "patient ID {shown} appears with different names: {}",
                p.names.join(" / ")
            ));
        }
        if p.birth_dates.len() > 1 {
            out.push(format!(
                "patient ID {shown} appears with different birth dates: {}",
                p.birth_dates.join(" / ")
            ));
        }
    }
    let mut by_person: BTreeMap<(String, String), Vec<&PatientKey>> = BTreeMap::new();
    for p in patients {
        by_person
            .entry((fold_name(p.name()), p.birth_date().to_string()))
            .or_default()
            .push(&p.key);
    }
    for ((name, birth), keys) in by_person {
        if keys.len() > 1 && !name.is_empty() {
            let ids: Vec<String> = keys.iter().map(|k| display_id(k)).collect();
            out.push(format!(
                "the same name and birth date ({name}, {}) appear under different patient IDs: {}",
                if birth.is_empty() {
                    "no birth date"
                } else {
                    &birth
                },
                ids.join(", ")
            ));
        }
    }
    out
}

/// A patient identity as people read it: the ID, with its issuer when there is one.
pub fn display_id(key: &PatientKey) -> String {
    match (key.patient_id.is_empty(), key.issuer.is_empty()) {
        (true, _) => "(no ID)".to_string(),
        (false, true) => key.patient_id.clone(),
        (false, false) => format!("{} ({})", key.patient_id, key.issuer),
    }
}
