//! Select stage: catalog + the user's filters → the catalog to pack, and what was left out.
//!
//! Studies and series keep the short numbers `scan` printed for the whole input (`--study 2`,
//! `--series 2.3`), so a clerk can type what they saw. A filter that names something that does
//! not exist is an error, never an empty package. Also decides whether a selection mixes
//! patients, which `pack` refuses unless the user confirms it on purpose.

use crate::catalog::{self, Catalog, Patient};
use serde::Serialize;

/// The filters, as given on the command line. Empty lists mean "no filter".
#[derive(Debug, Clone, Default, Serialize)]
pub struct Filters {
    pub patients: Vec<String>,
    /// Study Instance UIDs or the short numbers `scan` prints.
    pub studies: Vec<String>,
    /// Series Instance UIDs or `study.series` numbers (`2.3`).
    pub series: Vec<String>,
    pub modalities: Vec<String>,
    pub exclude_modalities: Vec<String>,
    /// Inclusive, as given (`2020-03-04`, `20200304`, …): see [`parse_date`].
    pub since: Option<String>,
    pub until: Option<String>,
    pub accessions: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.patients.is_empty()
            && self.studies.is_empty()
            && self.series.is_empty()
            && self.modalities.is_empty()
            && self.exclude_modalities.is_empty()
            && self.since.is_none()
            && self.until.is_none()
            && self.accessions.is_empty()
    }

    /// The date bounds, normalised to `YYYYMMDD`; an error for one that is not a date. Checked
    /// before anything is read, so a typo costs no survey of a whole disc.
    pub fn dates(&self) -> Result<(Option<String>, Option<String>), SelectError> {
        let since = self.since.as_deref().map(parse_date).transpose()?;
        let until = self.until.as_deref().map(parse_date).transpose()?;
        Ok((since, until))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("there is no study {0} here; `dicompack scan` lists the studies with their numbers")]
    NoSuchStudy(String),
    #[error("there is no series {0} here; `dicompack scan` lists the series with their numbers")]
    NoSuchSeries(String),
    #[error("no patient has the ID {0}; `dicompack scan` lists the patients")]
    NoSuchPatient(String),
    #[error("{0:?} is not a date; write it as YYYY-MM-DD")]
    BadDate(String),
    #[error("nothing matches the selection")]
    Nothing,
}

/// Normalises `2020-03-04`, `2020.03.04` or `20200304` to `20200304`.
pub fn parse_date(s: &str) -> Result<String, SelectError> {
    let digits: String = s.chars().filter(|c| c.is_ascii_digit()).collect();
    let plausible = digits.len() == 8
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '-' | '.' | '/'))
        && matches!(
            digits.get(4..6).and_then(|m| m.parse::<u8>().ok()),
            Some(1..=12)
        )
        && matches!(
            digits.get(6..8).and_then(|d| d.parse::<u8>().ok()),
            Some(1..=31)
        );
    if plausible {
        Ok(digits)
    } else {
        Err(SelectError::BadDate(s.to_string()))
    }
}

/// The outcome: the catalog to pack and, in plain words, what the filters left out.
#[derive(Debug, Clone)]
pub struct Selection {
    pub catalog: Catalog,
    pub left_out: Vec<String>,
}

/// Applies the filters. Study and series numbers refer to the unfiltered catalog.
pub fn select(catalog: &Catalog, f: &Filters) -> Result<Selection, SelectError> {
    check_references(catalog, f)?;
    let (since, until) = f.dates()?;
    let upper = |v: &[String]| {
        v.iter()
            .map(|s| s.trim().to_ascii_uppercase())
            .collect::<Vec<_>>()
    };
    let modalities = upper(&f.modalities);
    let excluded = upper(&f.exclude_modalities);
    let mut out = catalog.clone();
    let mut left_out = Vec::new();

    out.patients.retain(|p| {
        let keep = f.patients.is_empty() || f.patients.iter().any(|id| patient_matches(p, id));
        if !keep {
            left_out.push(format!(
                "patient {} (ID {}): {} studies",
                p.name(),
                catalog::display_id(&p.key),
                p.studies.len()
            ));
        }
        keep
    });
    for p in &mut out.patients {
        p.studies.retain_mut(|st| {
            let by_study = f.studies.is_empty()
                || f.studies
                    .iter()
                    .any(|s| s == &st.uid || s == &st.index.to_string());
            let by_accession =
                f.accessions.is_empty() || f.accessions.iter().any(|a| a == &st.accession_number);
            let by_date = (since.is_none() && until.is_none())
                || (!st.date.is_empty()
                    && since
                        .as_ref()
                        .is_none_or(|d| st.date.as_str() >= d.as_str())
                    && until
                        .as_ref()
                        .is_none_or(|d| st.date.as_str() <= d.as_str()));
            if !(by_study && by_accession && by_date) {
                left_out.push(format!(
                    "study [{}] {} {}",
                    st.index,
                    crate::report::date(&st.date),
                    st.description
                ));
                return false;
            }
            let index = st.index;
            let mut position = 0;
            st.series.retain(|se| {
                position += 1;
                let number = format!("{index}.{position}");
                let modality = se.modality.to_ascii_uppercase();
                let keep = (f.series.is_empty()
                    || f.series.iter().any(|s| s == &se.uid || s == &number))
                    && (modalities.is_empty() || modalities.contains(&modality))
                    && !excluded.contains(&modality);
                if !keep {
                    left_out.push(format!(
                        "series {number} {} {} ({} images)",
                        se.modality,
                        se.description,
                        se.instances.len()
                    ));
                }
                keep
            });
            !st.series.is_empty()
        });
    }
    out.patients.retain(|p| !p.studies.is_empty());
    if out.patients.is_empty() {
        return Err(SelectError::Nothing);
    }
    out.identity_warnings = catalog
        .identity_warnings
        .iter()
        .filter(|w| {
            out.patients
                .iter()
                .any(|p| w.contains(&catalog::display_id(&p.key)))
        })
        .cloned()
        .collect();
    Ok(Selection {
        catalog: out,
        left_out,
    })
}

fn patient_matches(p: &Patient, id: &str) -> bool {
    p.key.patient_id == id || catalog::display_id(&p.key) == id
}

fn check_references(catalog: &Catalog, f: &Filters) -> Result<(), SelectError> {
    for s in &f.studies {
        if !catalog
            .studies()
            .any(|(_, st)| s == &st.uid || s == &st.index.to_string())
        {
            return Err(SelectError::NoSuchStudy(s.clone()));
        }
    }
    for s in &f.series {
        let found = catalog.studies().any(|(_, st)| {
            st.series
                .iter()
                .enumerate()
                .any(|(i, se)| s == &se.uid || *s == format!("{}.{}", st.index, i + 1))
        });
        if !found {
            return Err(SelectError::NoSuchSeries(s.clone()));
        }
    }
    for id in &f.patients {
        if !catalog.patients.iter().any(|p| patient_matches(p, id)) {
            return Err(SelectError::NoSuchPatient(id.clone()));
        }
    }
    Ok(())
}

/// One person as far as the images can tell: a patient ID with one name and one birth date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    /// As `scan` shows it (with the issuer when there is one).
    pub id: String,
    /// `YYYYMMDD` as recorded (may be empty).
    pub birth_date: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (ID {}, born {})",
            self.name,
            self.id,
            crate::report::date(&self.birth_date)
        )
    }
}

/// The distinct identities a selection covers, for the mixed-patient rule. A patient ID seen
/// with two birth dates counts as two people: sending a stranger's images is the worst thing
/// this tool could do, so the doubt stops the run until a person decides.
pub fn identities(catalog: &Catalog) -> Vec<Identity> {
    let mut out = Vec::new();
    for p in &catalog.patients {
        let id = catalog::display_id(&p.key);
        let identity = |birth_date: &str| Identity {
            name: p.name().to_string(),
            id: id.clone(),
            birth_date: birth_date.to_string(),
        };
        if p.birth_dates.len() > 1 {
            out.extend(p.birth_dates.iter().map(|b| identity(b)));
        } else {
            out.push(identity(p.birth_date()));
        }
    }
    out
}

/// The mixed-patient rule: more than one identity is refused unless the user allowed it on
/// purpose. Returns the identities when the selection may be packed.
pub fn check_one_patient(
    catalog: &Catalog,
    allow_several: bool,
) -> Result<Vec<Identity>, SeveralPatients> {
    let identities = identities(catalog);
    if identities.len() > 1 && !allow_several {
        Err(SeveralPatients { identities })
    } else {
        Ok(identities)
    }
}

/// The selection covers more than one person and the user did not say that is intended.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "these images may belong to {} different people; nothing was written.",
    .identities.len()
)]
pub struct SeveralPatients {
    pub identities: Vec<Identity>,
}

/// A package name from the patient and the study dates: ASCII letters, digits, `_` and `-`
/// only, safe on every file system and in every shell; never an existing file.
pub fn default_package_name(catalog: &Catalog, dir: &std::path::Path) -> std::path::PathBuf {
    let who = match catalog.patients.as_slice() {
        [one] => {
            let words: Vec<String> = one
                .name()
                .split(['^', ' ', ',', '='])
                .map(|w| {
                    w.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .collect::<String>()
                        .to_ascii_uppercase()
                })
                .filter(|w| !w.is_empty())
                .take(3)
                .collect();
            if words.is_empty() {
                "PATIENT".to_string()
            } else {
                words.join("_")
            }
        }
        _ => "PATIENTS".to_string(),
    };
    let dates: Vec<&str> = catalog
        .studies()
        .map(|(_, s)| s.date.as_str())
        .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    let span = match (dates.iter().min(), dates.iter().max()) {
        (Some(a), Some(b)) if a == b => format!("_{a}"),
        (Some(a), Some(b)) => format!("_{a}-{b}"),
        _ => String::new(),
    };
    // Windows reserves device names (`CON.zip` is the console): the name must travel too.
    let stem = crate::platform::portable::holdable_stem(&format!("{who}{span}"));
    let mut candidate = dir.join(format!("{stem}.zip"));
    let mut n = 2;
    while candidate.exists() {
        candidate = dir.join(format!("{stem}_{n}.zip"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_one_windows_holds() {
        use crate::catalog::{Patient, PatientKey};
        let dir = tempfile::tempdir().unwrap();
        let catalog = |name: &str| Catalog {
            patients: vec![Patient {
                key: PatientKey {
                    patient_id: "1".into(),
                    issuer: String::new(),
                },
                names: vec![name.into()],
                birth_dates: vec![],
                sex: String::new(),
                studies: vec![],
            }],
            duplicates: vec![],
            conflicts: vec![],
            identity_warnings: vec![],
        };
        let name = |n: &str| default_package_name(&catalog(n), dir.path());
        assert_eq!(name("Con"), dir.path().join("CON_.zip"));
        assert_eq!(name("com1"), dir.path().join("COM1_.zip"));
        assert_eq!(name("Doe^Jane"), dir.path().join("DOE_JANE.zip"));
    }

    #[test]
    fn dates_are_normalised_or_refused() {
        assert_eq!(parse_date("2020-03-04").unwrap(), "20200304");
        assert_eq!(parse_date("20200304").unwrap(), "20200304");
        assert!(parse_date("2020-13-04").is_err());
        assert!(parse_date("March 4").is_err());
        assert!(parse_date("2020-03-4").is_err());
    }
}
