//! The bytes that go on the wire for one instance: its data set as it is whenever possible
//! (so the PACS stores exactly what the package holds), converted to another transfer syntax
//! only where that loses nothing, and rewritten when its patient identity is reconciled.

use super::items::Loaded;
use super::reconcile::{self, NewIdentity};
use super::status::{NotSent, Status};
use crate::dicom::syntax::TransferSyntax;
use crate::dicom::syntax::{Codec, EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use std::borrow::Cow;

/// How an instance is to be sent through a presentation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// In its own transfer syntax.
    AsIs,
    /// Re-encoded without loss in Explicit VR Little Endian.
    Explicit,
    /// Re-encoded without loss in Implicit VR Little Endian.
    Implicit,
}

/// How a file in `own` can go through a context accepted with `accepted`, if it can.
pub fn target(own: &str, accepted: &str) -> Option<Target> {
    if own == accepted {
        return Some(Target::AsIs);
    }
    // Only element encodings change here: native pixel data (little or big endian, deflated
    // or not) re-encodes losslessly. Compressed pixel data would need decoding first.
    let convertible = TransferSyntax::of(own).codec == Codec::Native;
    match accepted {
        EXPLICIT_VR_LITTLE_ENDIAN if convertible => Some(Target::Explicit),
        IMPLICIT_VR_LITTLE_ENDIAN if convertible => Some(Target::Implicit),
        _ => None,
    }
}

/// A data set ready to send.
pub struct Prepared<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// The transfer syntax it is in.
    pub sent_as: String,
}

/// The data set of `loaded` (in `own`) for `target`, with the identity replaced when asked.
pub fn dataset<'a>(
    loaded: &'a Loaded,
    own: &str,
    target: Target,
    identity: Option<&NewIdentity>,
    now: &str,
) -> Result<Prepared<'a>, Status> {
    let own = own.trim_end_matches(['\0', ' ']);
    let out_uid = match target {
        Target::AsIs => own,
        Target::Explicit => EXPLICIT_VR_LITTLE_ENDIAN,
        Target::Implicit => IMPLICIT_VR_LITTLE_ENDIAN,
    };
    if target == Target::AsIs && identity.is_none() {
        return Ok(Prepared {
            bytes: Cow::Borrowed(loaded.dataset()),
            sent_as: own.to_string(),
        });
    }
    let reason = if identity.is_some() {
        NotSent::CannotCoerce
    } else {
        NotSent::TransferSyntaxNotAccepted
    };
    let fail = |what: String| Status::not_sent(reason, what);
    let (Some(from), Some(to)) = (
        TransferSyntaxRegistry.get(own),
        TransferSyntaxRegistry.get(out_uid),
    ) else {
        return Err(fail(format!("transfer syntax {own} is not known")));
    };
    let mut obj = InMemDicomObject::read_dataset_with_ts(loaded.dataset(), from)
        .map_err(|e| fail(format!("cannot read the data set: {e}")))?;
    if let Some(new) = identity {
        reconcile::apply(&mut obj, new, now);
    }
    let mut bytes = Vec::with_capacity(loaded.dataset().len() + 1024);
    obj.write_dataset_with_ts(&mut bytes, to)
        .map_err(|e| fail(format!("cannot write the data set: {e}")))?;
    Ok(Prepared {
        bytes: Cow::Owned(bytes),
        sent_as: out_uid.to_string(),
    })
}

/// The whole Part 10 file for STOW-RS: the file as it is, or with a File Meta group made for a
/// bare data set, or rewritten with the identity replaced.
pub fn part10<'a>(
    loaded: &'a Loaded,
    item: &super::items::Item,
    identity: Option<&NewIdentity>,
    now: &str,
) -> Result<Prepared<'a>, Status> {
    let own = item.transfer_syntax_uid.trim_end_matches(['\0', ' ']);
    let has_head = loaded.head().len() >= 132;
    if has_head && identity.is_none() {
        return Ok(Prepared {
            bytes: Cow::Borrowed(&loaded.bytes),
            sent_as: own.to_string(),
        });
    }
    let data = dataset(loaded, own, Target::AsIs, identity, now)?;
    let mut out = Vec::with_capacity(data.bytes.len() + 512);
    if has_head {
        // The meta group says nothing the coercion changed (class, instance, syntax).
        out.extend_from_slice(loaded.head());
    } else {
        let meta = FileMetaTableBuilder::new()
            .media_storage_sop_class_uid(item.sop_class_uid.trim_end_matches(['\0', ' ']))
            .media_storage_sop_instance_uid(item.sop_instance_uid.trim_end_matches(['\0', ' ']))
            .transfer_syntax(own)
            .build()
            .map_err(|e| Status::not_sent(NotSent::Unreadable, e.to_string()))?;
        out.extend_from_slice(&[0u8; 128]);
        out.extend_from_slice(b"DICM");
        meta.write(&mut out)
            .map_err(|e| Status::not_sent(NotSent::Unreadable, e.to_string()))?;
    }
    out.extend_from_slice(&data.bytes);
    Ok(Prepared {
        bytes: Cow::Owned(out),
        sent_as: own.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_native_pixel_data_is_converted() {
        let jpeg = "1.2.840.10008.1.2.4.70";
        assert_eq!(target(jpeg, jpeg), Some(Target::AsIs));
        assert_eq!(target(jpeg, EXPLICIT_VR_LITTLE_ENDIAN), None);
        assert_eq!(
            target(IMPLICIT_VR_LITTLE_ENDIAN, EXPLICIT_VR_LITTLE_ENDIAN),
            Some(Target::Explicit)
        );
        assert_eq!(
            target(EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN),
            Some(Target::Implicit)
        );
    }
}
