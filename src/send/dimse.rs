//! DICOM C-STORE over the upper layer protocol (PS3.7 9.1.1, PS3.8), with dicom-rs's
//! `dicom-ul` for the association and the PDUs.
//!
//! Each association proposes, for every SOP class to send, one presentation context per
//! transfer syntax the files of that class are in (so that the PACS can accept each one as it
//! is) and one more with Explicit and Implicit VR Little Endian (the fallback every PACS takes).
//! Several instances go through one association; an association that breaks is set up again
//! and the instance in flight is tried once more; a PACS that cannot be reached or refuses the
//! association stops that worker with a plain reason.

use super::items::{Item, Loaded};
use super::prepare::{self, Target};
use super::status::{NotSent, Status};
use super::{Attempt, Fatal, Link};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::entries::IMPLICIT_VR_LITTLE_ENDIAN;
use dicom_ul::association::Error as UlError;
use dicom_ul::pdu::{
    AssociationRJServiceUserReason, AssociationRJSource, PDataValue, PDataValueType,
    PresentationContextResultReason,
};
use dicom_ul::{ClientAssociation, ClientAssociationOptions, Pdu};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use crate::dicom::syntax::{EXPLICIT_VR_LITTLE_ENDIAN, IMPLICIT_VR_LITTLE_ENDIAN as IMPLICIT};

/// A presentation context ID is an odd number from 1 to 255: at most 128 per association.
const MAX_CONTEXTS: usize = 128;
/// C-STORE-RQ (PS3.7 E.1).
const C_STORE_RQ: u16 = 0x0001;
/// C-STORE-RSP.
const C_STORE_RSP: u16 = 0x8001;
/// Command Data Set Type: a data set follows.
const DATA_SET_PRESENT: u16 = 0x0000;

/// How to reach the PACS.
#[derive(Debug, Clone)]
pub struct Peer {
    pub called_aet: String,
    pub calling_aet: String,
    pub host: String,
    pub port: u16,
    pub connect_timeout: Duration,
    /// For the association and for each store: how long the PACS may stay silent.
    pub timeout: Duration,
    /// The largest PDU we accept.
    pub max_pdu: u32,
}

/// The presentation contexts to propose for `items`: (abstract syntax, transfer syntaxes).
pub fn contexts(items: &[&Item]) -> Vec<(String, Vec<String>)> {
    let mut by_class: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for i in items {
        by_class
            .entry(trim_uid(&i.sop_class_uid))
            .or_default()
            .insert(trim_uid(&i.transfer_syntax_uid));
    }
    let mut out = Vec::new();
    for (class, syntaxes) in by_class {
        // Its own syntax alone, even an uncompressed one: offered a choice, a PACS may pick
        // another, and the file would then be re-encoded for nothing.
        for ts in syntaxes {
            out.push((class.to_string(), vec![ts.to_string()]));
        }
        out.push((
            class.to_string(),
            vec![EXPLICIT_VR_LITTLE_ENDIAN.to_string(), IMPLICIT.to_string()],
        ));
    }
    out.truncate(MAX_CONTEXTS);
    out
}

fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

/// One association with the PACS.
pub struct Association {
    scu: ClientAssociation<TcpStream>,
    message_id: u16,
}

impl Association {
    /// Connects and negotiates.
    pub fn open(peer: &Peer, contexts: &[(String, Vec<String>)]) -> Result<Association, Link> {
        let mut opts = ClientAssociationOptions::new()
            .calling_ae_title(peer.calling_aet.clone())
            .called_ae_title(peer.called_aet.clone())
            .max_pdu_length(peer.max_pdu)
            .connection_timeout(peer.connect_timeout)
            .read_timeout(peer.timeout)
            .write_timeout(peer.timeout);
        for (class, syntaxes) in contexts {
            opts = opts.with_presentation_context(class.clone(), syntaxes.clone());
        }
        let address = format!("{}:{}", peer.host, peer.port);
        let mut scu = opts
            .establish(address.as_str())
            .map_err(|e| link_error(e, peer))?;
        // The last PDU of an instance is small, and the next step waits for the answer: with
        // Nagle's algorithm on, it would wait for the delayed ACK (40 ms an instance).
        let _ = scu.inner_stream().set_nodelay(true);
        Ok(Association { scu, message_id: 0 })
    }

    /// What the PACS accepted: (presentation context ID, abstract syntax, transfer syntax).
    fn accepted(&self) -> impl Iterator<Item = (u8, &str, &str)> {
        self.scu
            .presentation_contexts()
            .iter()
            .filter(|pc| pc.reason == PresentationContextResultReason::Acceptance)
            .map(|pc| {
                (
                    pc.id,
                    trim_uid(&pc.abstract_syntax),
                    trim_uid(&pc.transfer_syntax),
                )
            })
    }

    /// How an item can go through this association: the context, and the syntax to send in.
    pub fn choose(&self, item: &Item) -> Result<(u8, Target), Status> {
        let class = trim_uid(&item.sop_class_uid);
        let own = trim_uid(&item.transfer_syntax_uid);
        let mut offered: Vec<(u8, &str)> = self
            .accepted()
            .filter(|(_, a, _)| *a == class)
            .map(|(id, _, ts)| (id, ts))
            .collect();
        if offered.is_empty() {
            return Err(Status::not_sent(NotSent::SopClassNotAccepted, class));
        }
        // Its own syntax first (sent as it is), then what it can be converted to without loss.
        offered.sort_by_key(|(_, ts)| *ts != own);
        for (id, ts) in offered {
            if let Some(target) = prepare::target(own, ts) {
                return Ok((id, target));
            }
        }
        Err(Status::not_sent(
            NotSent::TransferSyntaxNotAccepted,
            crate::dicom::syntax::describe(own),
        ))
    }

    /// Stores one prepared data set, and returns what the PACS answered.
    pub fn store(&mut self, item: &Item, context: u8, dataset: &[u8]) -> Result<Status, Link> {
        self.message_id = self.message_id.wrapping_add(1).max(1);
        let command = store_command(item, self.message_id).map_err(Link::Protocol)?;
        let max = self.scu.acceptor_max_pdu_length() as usize;
        // A small instance goes in one PDU with its command; a large one is cut by the writer
        // to the PACS's maximum PDU length.
        let lost = |e: UlError| Link::Lost(e.to_string());
        if max == 0 || command.len() + dataset.len() + 64 < max {
            let pdu = Pdu::PData {
                data: vec![
                    PDataValue {
                        presentation_context_id: context,
                        value_type: PDataValueType::Command,
                        is_last: true,
                        data: command,
                    },
                    PDataValue {
                        presentation_context_id: context,
                        value_type: PDataValueType::Data,
                        is_last: true,
                        data: dataset.to_vec(),
                    },
                ],
            };
            self.scu.send(&pdu).map_err(lost)?;
        } else {
            let pdu = Pdu::PData {
                data: vec![PDataValue {
                    presentation_context_id: context,
                    value_type: PDataValueType::Command,
                    is_last: true,
                    data: command,
                }],
            };
            self.scu.send(&pdu).map_err(lost)?;
            let mut w = self.scu.send_pdata(context);
            w.write_all(dataset)
                .and_then(|_| w.finish())
                .map_err(|e| Link::Lost(e.to_string()))?;
        }
        self.response()
    }

    /// Reads the C-STORE-RSP: the command fragments up to the last one.
    fn response(&mut self) -> Result<Status, Link> {
        let mut command = Vec::new();
        loop {
            match self.scu.receive().map_err(|e| Link::Lost(e.to_string()))? {
                Pdu::PData { data } => {
                    let mut last = false;
                    for v in data {
                        if v.value_type == PDataValueType::Command {
                            command.extend_from_slice(&v.data);
                            last |= v.is_last;
                        }
                    }
                    if last {
                        break;
                    }
                }
                Pdu::AbortRQ { .. } => {
                    return Err(Link::Lost("the PACS aborted the association".into()));
                }
                other => {
                    return Err(Link::Protocol(format!(
                        "unexpected answer from the PACS: {}",
                        pdu_name(&other)
                    )));
                }
            }
        }
        let rsp = InMemDicomObject::read_dataset_with_ts(
            command.as_slice(),
            &IMPLICIT_VR_LITTLE_ENDIAN.erased(),
        )
        .map_err(|e| Link::Protocol(format!("unreadable answer from the PACS: {e}")))?;
        let int = |tag| rsp.get(tag).and_then(|e| e.to_int::<u16>().ok());
        if int(tags::COMMAND_FIELD) != Some(C_STORE_RSP) {
            return Err(Link::Protocol(
                "the PACS answered with something other than a C-STORE response".into(),
            ));
        }
        let status = int(tags::STATUS)
            .ok_or_else(|| Link::Protocol("the PACS's answer has no status".into()))?;
        let comment = rsp
            .get(tags::ERROR_COMMENT)
            .and_then(|e| e.to_str().ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        Ok(Status::from_dimse(status, comment))
    }

    /// Ends the association politely.
    pub fn release(self) {
        let _ = self.scu.release();
    }

    /// Ends the association at once (the send was stopped).
    pub fn abort(self) {
        let _ = self.scu.abort();
    }
}

/// Sends one item through `assoc`: chooses the context, prepares the bytes (converted or
/// coerced when needed), stores.
pub fn send_one(
    assoc: &mut Association,
    item: &Item,
    loaded: &Loaded,
    identity: Option<&super::reconcile::NewIdentity>,
    now: &str,
) -> Attempt {
    let (context, target) = match assoc.choose(item) {
        Ok(c) => c,
        Err(status) => return Attempt::Done(status, String::new()),
    };
    let prepared = match prepare::dataset(loaded, &item.transfer_syntax_uid, target, identity, now)
    {
        Ok(p) => p,
        Err(status) => return Attempt::Done(status, String::new()),
    };
    match assoc.store(item, context, &prepared.bytes) {
        Ok(status) => Attempt::Done(status, prepared.sent_as),
        Err(link) => Attempt::Broken(link),
    }
}

/// The C-STORE-RQ command set, encoded in Implicit VR Little Endian as PS3.7 6.3.1 requires.
fn store_command(item: &Item, message_id: u16) -> Result<Vec<u8>, String> {
    let uid = |s: &str| {
        let mut s = trim_uid(s).to_string();
        if s.len() % 2 == 1 {
            s.push('\0');
        }
        PrimitiveValue::from(s)
    };
    let elements = [
        DataElement::new(
            tags::AFFECTED_SOP_CLASS_UID,
            VR::UI,
            uid(&item.sop_class_uid),
        ),
        DataElement::new(
            tags::COMMAND_FIELD,
            VR::US,
            PrimitiveValue::from(C_STORE_RQ),
        ),
        DataElement::new(tags::MESSAGE_ID, VR::US, PrimitiveValue::from(message_id)),
        DataElement::new(tags::PRIORITY, VR::US, PrimitiveValue::from(0u16)),
        DataElement::new(
            tags::COMMAND_DATA_SET_TYPE,
            VR::US,
            PrimitiveValue::from(DATA_SET_PRESENT),
        ),
        DataElement::new(
            tags::AFFECTED_SOP_INSTANCE_UID,
            VR::UI,
            uid(&item.sop_instance_uid),
        ),
    ];
    let mut obj = InMemDicomObject::from_element_iter(elements);
    let ts = IMPLICIT_VR_LITTLE_ENDIAN.erased();
    let mut body = Vec::with_capacity(160);
    obj.write_dataset_with_ts(&mut body, &ts)
        .map_err(|e| e.to_string())?;
    // Command Group Length counts the bytes after its own element.
    let length = u32::try_from(body.len()).map_err(|e| e.to_string())?;
    obj.put(DataElement::new(
        tags::COMMAND_GROUP_LENGTH,
        VR::UL,
        PrimitiveValue::from(length),
    ));
    let mut out = Vec::with_capacity(body.len() + 12);
    obj.write_dataset_with_ts(&mut out, &ts)
        .map_err(|e| e.to_string())?;
    Ok(out)
}

fn pdu_name(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::ReleaseRQ => "a release request",
        Pdu::ReleaseRP => "a release reply",
        Pdu::AssociationRQ(_) => "an association request",
        Pdu::AssociationAC(_) => "an association acceptance",
        Pdu::AssociationRJ(_) => "an association rejection",
        _ => "an unknown message",
    }
}

/// An association that could not be set up, in plain words; whether trying again may help.
fn link_error(e: UlError, peer: &Peer) -> Link {
    let at = format!("{}:{}", peer.host, peer.port);
    match e {
        UlError::Rejected { association_rj, .. } => {
            let why = match &association_rj.source {
                AssociationRJSource::ServiceUser(
                    AssociationRJServiceUserReason::CalledAETitleNotRecognized,
                ) => format!(
                    "the PACS at {at} does not answer to the AE title {} (check the title after --to)",
                    peer.called_aet
                ),
                AssociationRJSource::ServiceUser(
                    AssociationRJServiceUserReason::CallingAETitleNotRecognized,
                ) => format!(
                    "the PACS at {at} does not know us as {} (ask its administrator to add this AE title, or give --calling-aet)",
                    peer.calling_aet
                ),
                other => format!("the PACS at {at} refused the association: {other}"),
            };
            Link::Fatal(Fatal::Refused(why))
        }
        UlError::NoAcceptedPresentationContexts { .. } => Link::Fatal(Fatal::Refused(format!(
            "the PACS at {at} accepts none of the kinds of object to send"
        ))),
        UlError::Connect { source, .. } | UlError::ToAddress { source, .. } => {
            Link::Unreachable(format!("cannot connect to {at}: {source}"))
        }
        other => Link::Unreachable(format!("no association with {at}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_set_counts_its_own_length() {
        let item = Item::for_test("1.2.840.10008.5.1.4.1.1.7", "1.2.3", IMPLICIT);
        let cmd = store_command(&item, 7).unwrap();
        // (0000,0000) UL, implicit: tag, length 4, value = everything after it.
        assert_eq!(&cmd[0..4], &[0, 0, 0, 0]);
        let len = u32::from_le_bytes(cmd[8..12].try_into().unwrap()) as usize;
        assert_eq!(len, cmd.len() - 12);
        assert_eq!(len % 2, 0);
    }

    #[test]
    fn each_syntax_gets_its_own_context_and_the_fallback_one() {
        let a = Item::for_test("1.1", "1", "1.2.840.10008.1.2.4.70");
        let b = Item::for_test("1.1", "2", EXPLICIT_VR_LITTLE_ENDIAN);
        let c = Item::for_test("1.2", "3", IMPLICIT);
        let ctx = contexts(&[&a, &b, &c]);
        assert_eq!(ctx.len(), 5);
        assert_eq!(ctx[0].1, vec!["1.2.840.10008.1.2.1".to_string()]);
        assert_eq!(ctx[1].1, vec!["1.2.840.10008.1.2.4.70".to_string()]);
        assert_eq!(ctx[2].1.len(), 2);
        assert_eq!(ctx[3], ("1.2".to_string(), vec![IMPLICIT.to_string()]));
    }
}
