//! What became of one instance: the status the PACS returned (PS3.4 B.2.3 for C-STORE, PS3.18
//! 10.5.3 for STOW-RS), or why it was never sent. Decided on the enum; the sentence is for
//! people.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The outcome of one instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Stored (status 0000H).
    Stored { code: u16 },
    /// Stored, with a warning: B000H coercion of data elements, B007H data set does not match
    /// the SOP class, B006H elements discarded, or a STOW-RS Warning Reason.
    Warning {
        code: u16,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        comment: String,
    },
    /// Refused by the PACS, with its failure code (A7xxH out of resources, A9xxH data set does
    /// not match, Cxxx cannot understand, 0122H SOP class not supported, …).
    Refused {
        code: u16,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        comment: String,
    },
    /// Never reached the PACS, or its answer never came back.
    NotSent {
        reason: NotSent,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        detail: String,
    },
}

/// Why an instance was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSent {
    /// The PACS accepted no presentation context for its SOP class.
    SopClassNotAccepted,
    /// The PACS accepts the SOP class, but in no transfer syntax we can give losslessly.
    TransferSyntaxNotAccepted,
    /// The connection was lost or timed out before the PACS answered: it may or may not be
    /// stored; the next send tries again.
    ConnectionLost,
    /// The file could not be read, or changed since it was checked.
    Unreadable,
    /// The identity could not be replaced in it (reconciliation).
    CannotCoerce,
    /// The send was stopped (Ctrl-C) or gave up before reaching it.
    NotAttempted,
}

impl Status {
    /// Stored at the destination (with or without a warning): a later send skips it.
    pub fn is_stored(&self) -> bool {
        matches!(self, Status::Stored { .. } | Status::Warning { .. })
    }

    /// The C-STORE response status (PS3.4 Annex B.2.3, PS3.7 Annex C) as an outcome.
    pub fn from_dimse(code: u16, comment: String) -> Status {
        match code {
            0x0000 => Status::Stored { code },
            0x0001 | 0x0107 | 0x0116 | 0xB000..=0xBFFF => Status::Warning { code, comment },
            _ => Status::Refused { code, comment },
        }
    }

    pub fn not_sent(reason: NotSent, detail: impl Into<String>) -> Status {
        Status::NotSent {
            reason,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let comment = |c: &str| {
            if c.is_empty() {
                String::new()
            } else {
                format!(": {c}")
            }
        };
        match self {
            Status::Stored { .. } => f.write_str("stored"),
            Status::Warning { code, comment: c } => {
                write!(f, "stored with warning {code:04X}H{}", comment(c))
            }
            Status::Refused { code, comment: c } => {
                write!(f, "refused with status {code:04X}H{}", comment(c))
            }
            Status::NotSent { reason, detail } => {
                let why = match reason {
                    NotSent::SopClassNotAccepted => "the PACS does not accept this kind of object",
                    NotSent::TransferSyntaxNotAccepted => {
                        "the PACS does not accept this image's encoding, and it cannot be converted without loss"
                    }
                    NotSent::ConnectionLost => "the connection was lost before the PACS answered",
                    NotSent::Unreadable => "the file could not be read",
                    NotSent::CannotCoerce => "the patient's identity could not be replaced in it",
                    NotSent::NotAttempted => "not sent (the send stopped before it)",
                };
                write!(f, "not sent: {why}{}", comment(detail))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimse_statuses_are_classified() {
        assert!(Status::from_dimse(0, String::new()).is_stored());
        let coerced = Status::from_dimse(0xB000, "coerced".into());
        assert!(coerced.is_stored());
        assert_eq!(coerced.to_string(), "stored with warning B000H: coerced");
        let refused = Status::from_dimse(0xA700, String::new());
        assert!(!refused.is_stored());
        assert_eq!(refused.to_string(), "refused with status A700H");
        let json = serde_json::to_value(&refused).unwrap();
        assert_eq!(json["status"], "refused");
        assert_eq!(json["code"], 0xA700);
    }
}
