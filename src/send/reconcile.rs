//! Import reconciliation (IHE RAD TF-1 IRWF): the receiving hospital's identity for the patient
//! put into every object sent, the outside values kept where the standard says.
//!
//! The values replaced go into a new item of Original Attributes Sequence (PS3.3 C.12.1.1.9:
//! the Modified Attributes Sequence with the values as they were, when, by which system, from
//! which source, reason COERCE); the outside Patient ID and its issuer also go into Other Patient
//! IDs Sequence (C.7.1.1), so that the hospital's PACS can still be searched by them. Items
//! already in either sequence are kept. The data set is rewritten with dicom-object, which
//! computes every length anew; the package itself is never touched.

use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the software calls itself in Modifying System (0400,0563).
const MODIFYING_SYSTEM: &str = "dicompack";

/// The receiving hospital's identity for one patient.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewIdentity {
    pub patient_id: String,
    /// Issuer of Patient ID (0010,0021), the hospital's assigning authority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `FAMILY^GIVEN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_name: Option<String>,
    /// `YYYYMMDD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
}

/// The identities to give, by the outside Patient ID the files carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub by_patient_id: BTreeMap<String, NewIdentity>,
}

/// Why the reconciliation asked for does not fit the source.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MappingError {
    #[error(
        "these images belong to {} patients ({}); give one --map OLD_ID=NEW_ID for each instead of --patient-id",
        .0.len(), .0.join(", ")
    )]
    SeveralPatients(Vec<String>),
    #[error("no patient {0:?} in the source (--map {0}=…)")]
    UnknownPatient(String),
    #[error("patient {0:?} has no --map: every patient needs one, or none")]
    Unmapped(String),
    #[error("--map {0:?} is not OLD_ID=NEW_ID")]
    BadMap(String),
    #[error("--patient-name and --birth-date describe one person: use them with one patient")]
    DetailsForSeveral,
    #[error("{0:?} is not a date: give YYYYMMDD")]
    BadDate(String),
    #[error(
        "{0:?} is not a usable Patient ID: 1 to 64 characters, no backslash or control characters"
    )]
    BadId(String),
}

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub patient_id: Option<String>,
    pub issuer: Option<String>,
    pub patient_name: Option<String>,
    pub birth_date: Option<String>,
    /// `OLD_ID=NEW_ID`, as given.
    pub maps: Vec<String>,
}

impl Asked {
    pub fn is_empty(&self) -> bool {
        self.patient_id.is_none()
            && self.maps.is_empty()
            && self.issuer.is_none()
            && self.patient_name.is_none()
            && self.birth_date.is_none()
    }

    /// The reconciliation for a source holding `patients` (their Patient IDs); `None` when
    /// nothing was asked.
    pub fn resolve(&self, patients: &[String]) -> Result<Option<Reconciliation>, MappingError> {
        if self.is_empty() {
            return Ok(None);
        }
        if let Some(d) = &self.birth_date
            && !(d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(MappingError::BadDate(d.clone()));
        }
        let identity = |id: &str| -> Result<NewIdentity, MappingError> {
            check_id(id)?;
            Ok(NewIdentity {
                patient_id: id.to_string(),
                issuer: self.issuer.clone(),
                patient_name: self.patient_name.clone(),
                birth_date: self.birth_date.clone(),
            })
        };
        let mut by_patient_id = BTreeMap::new();
        if self.maps.is_empty() {
            match (patients, &self.patient_id) {
                ([one], Some(id)) => {
                    by_patient_id.insert(one.clone(), identity(id)?);
                }
                ([one], None) => {
                    // Name or birth date only: the ID stays.
                    by_patient_id.insert(one.clone(), identity(one)?);
                }
                (several, _) => return Err(MappingError::SeveralPatients(several.to_vec())),
            }
        } else {
            if patients.len() > 1 && (self.patient_name.is_some() || self.birth_date.is_some()) {
                return Err(MappingError::DetailsForSeveral);
            }
            for m in &self.maps {
                let Some((old, new)) = m.split_once('=') else {
                    return Err(MappingError::BadMap(m.clone()));
                };
                if !patients.iter().any(|p| p == old) {
                    return Err(MappingError::UnknownPatient(old.to_string()));
                }
                by_patient_id.insert(old.to_string(), identity(new)?);
            }
            if let Some(p) = patients.iter().find(|p| !by_patient_id.contains_key(*p)) {
                return Err(MappingError::Unmapped(p.clone()));
            }
        }
        Ok(Some(Reconciliation { by_patient_id }))
    }
}

fn check_id(id: &str) -> Result<(), MappingError> {
    if id.is_empty() || id.len() > 64 || id.chars().any(|c| c == '\\' || c.is_control()) {
        Err(MappingError::BadId(id.to_string()))
    } else {
        Ok(())
    }
}

/// Replaces the patient's identity in `obj`, keeping the old values as PS3.3 asks.
/// `now` is the modification's date-time, DT (`YYYYMMDDHHMMSS.FFFFFF+ZZXX`).
pub fn apply(obj: &mut InMemDicomObject, new: &NewIdentity, now: &str) {
    let text = |obj: &InMemDicomObject, tag| -> Option<String> {
        obj.get(tag)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim_end_matches([' ', '\0']).to_string())
    };
    let old_id = text(obj, tags::PATIENT_ID).unwrap_or_default();
    let old_issuer = text(obj, tags::ISSUER_OF_PATIENT_ID).unwrap_or_default();
    let changes: Vec<(dicom_core::Tag, VR, &str)> = [
        (tags::PATIENT_ID, VR::LO, Some(new.patient_id.as_str())),
        (tags::ISSUER_OF_PATIENT_ID, VR::LO, new.issuer.as_deref()),
        (tags::PATIENT_NAME, VR::PN, new.patient_name.as_deref()),
        (tags::PATIENT_BIRTH_DATE, VR::DA, new.birth_date.as_deref()),
    ]
    .into_iter()
    .filter_map(|(tag, vr, v)| v.map(|v| (tag, vr, v)))
    .filter(|(tag, _, v)| text(obj, *tag).as_deref() != Some(*v))
    .collect();
    if changes.is_empty() {
        return;
    }
    // The values as they were; an attribute that was absent is recorded empty.
    let mut modified = InMemDicomObject::new_empty();
    for (tag, vr, _) in &changes {
        let was = obj
            .get(*tag)
            .cloned()
            .unwrap_or_else(|| DataElement::new(*tag, *vr, PrimitiveValue::Empty));
        modified.put(was);
    }
    let mut original = InMemDicomObject::new_empty();
    original.put(DataElement::new(
        tags::MODIFIED_ATTRIBUTES_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![modified]),
    ));
    original.put(DataElement::new(
        tags::ATTRIBUTE_MODIFICATION_DATE_TIME,
        VR::DT,
        PrimitiveValue::from(now),
    ));
    original.put(DataElement::new(
        tags::MODIFYING_SYSTEM,
        VR::LO,
        PrimitiveValue::from(MODIFYING_SYSTEM),
    ));
    // Type 2: the outside assigning authority when the files name one.
    original.put(DataElement::new(
        tags::SOURCE_OF_PREVIOUS_VALUES,
        VR::LO,
        if old_issuer.is_empty() {
            PrimitiveValue::Empty
        } else {
            PrimitiveValue::from(old_issuer.as_str())
        },
    ));
    original.put(DataElement::new(
        tags::REASON_FOR_THE_ATTRIBUTE_MODIFICATION,
        VR::CS,
        PrimitiveValue::from("COERCE"),
    ));
    append_item(obj, tags::ORIGINAL_ATTRIBUTES_SEQUENCE, original);

    if changes.iter().any(|(t, _, _)| *t == tags::PATIENT_ID) && !old_id.is_empty() {
        let mut other = InMemDicomObject::new_empty();
        other.put(DataElement::new(
            tags::PATIENT_ID,
            VR::LO,
            PrimitiveValue::from(old_id.as_str()),
        ));
        other.put(DataElement::new(
            tags::ISSUER_OF_PATIENT_ID,
            VR::LO,
            if old_issuer.is_empty() {
                PrimitiveValue::Empty
            } else {
                PrimitiveValue::from(old_issuer.as_str())
            },
        ));
        other.put(DataElement::new(
            tags::TYPE_OF_PATIENT_ID,
            VR::CS,
            PrimitiveValue::from("TEXT"),
        ));
        append_item(obj, tags::OTHER_PATIENT_I_DS_SEQUENCE, other);
    }
    for (tag, vr, value) in changes {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }
}

/// Adds an item at the end of a sequence, creating it when absent.
fn append_item(obj: &mut InMemDicomObject, tag: dicom_core::Tag, item: InMemDicomObject) {
    let mut items: Vec<InMemDicomObject> = obj
        .get(tag)
        .and_then(|e| e.items())
        .map(<[_]>::to_vec)
        .unwrap_or_default();
    items.push(item);
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(id: Option<&str>, maps: &[&str]) -> Asked {
        Asked {
            patient_id: id.map(String::from),
            maps: maps.iter().map(|s| s.to_string()).collect(),
            ..Asked::default()
        }
    }

    #[test]
    fn one_id_for_one_patient_a_map_for_several() {
        let one = vec!["A".to_string()];
        let two = vec!["A".to_string(), "B".to_string()];
        let r = asked(Some("H1"), &[]).resolve(&one).unwrap().unwrap();
        assert_eq!(r.by_patient_id["A"].patient_id, "H1");
        assert!(matches!(
            asked(Some("H1"), &[]).resolve(&two),
            Err(MappingError::SeveralPatients(_))
        ));
        assert!(matches!(
            asked(None, &["A=H1"]).resolve(&two),
            Err(MappingError::Unmapped(p)) if p == "B"
        ));
        assert!(matches!(
            asked(None, &["C=H1"]).resolve(&two),
            Err(MappingError::UnknownPatient(_))
        ));
        let r = asked(None, &["A=H1", "B=H2"])
            .resolve(&two)
            .unwrap()
            .unwrap();
        assert_eq!(r.by_patient_id["B"].patient_id, "H2");
        assert_eq!(asked(None, &[]).resolve(&two), Ok(None));
    }

    #[test]
    fn old_values_are_kept_in_the_sequences() {
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from("OUT1")),
            DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("DOE^JANE")),
        ]);
        let new = NewIdentity {
            patient_id: "H1".into(),
            issuer: Some("HOSP".into()),
            patient_name: None,
            birth_date: None,
        };
        apply(&mut obj, &new, "20261201120000.000000+0000");
        assert_eq!(obj.get(tags::PATIENT_ID).unwrap().to_str().unwrap(), "H1");
        let orig = obj.get(tags::ORIGINAL_ATTRIBUTES_SEQUENCE).unwrap();
        let item = &orig.items().unwrap()[0];
        let modified = &item
            .get(tags::MODIFIED_ATTRIBUTES_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()[0];
        assert_eq!(
            modified.get(tags::PATIENT_ID).unwrap().to_str().unwrap(),
            "OUT1"
        );
        assert!(modified.get(tags::ISSUER_OF_PATIENT_ID).is_some());
        assert!(modified.get(tags::PATIENT_NAME).is_none());
        let other = obj.get(tags::OTHER_PATIENT_I_DS_SEQUENCE).unwrap();
        assert_eq!(
            other.items().unwrap()[0]
                .get(tags::PATIENT_ID)
                .unwrap()
                .to_str()
                .unwrap(),
            "OUT1"
        );
    }
}
