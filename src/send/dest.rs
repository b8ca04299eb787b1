//! Where `send` sends to: `AET@HOST:PORT` for DICOM C-STORE, an `http://` or `https://`
//! DICOMweb base URL for STOW-RS. Parsed once, before anything is read.

use serde::Serialize;
use std::fmt;

/// A destination, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "protocol", rename_all = "snake_case")]
pub enum Destination {
    /// A DICOM application entity, for C-STORE.
    Dimse {
        called_aet: String,
        host: String,
        port: u16,
    },
    /// A DICOMweb service's base URL (without a trailing `/`), for STOW-RS.
    Stow { base_url: String },
}

/// Why a destination was not understood.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BadDestination {
    #[error(
        "{0:?} is not a destination: give AET@HOST:PORT for a PACS (DICOM C-STORE) or an http:// or https:// DICOMweb address (STOW-RS)"
    )]
    Form(String),
    #[error("{0:?} is not an AE title: 1 to 16 characters, letters, digits, spaces and _ - . only")]
    AeTitle(String),
    #[error("{0:?} is not a port number (1 to 65535)")]
    Port(String),
}

impl Destination {
    pub fn parse(text: &str) -> Result<Destination, BadDestination> {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            let base = text.trim_end_matches('/');
            let host_part = base.split_once("://").map_or("", |(_, rest)| rest);
            if host_part.is_empty() || host_part.contains(char::is_whitespace) {
                return Err(BadDestination::Form(text.to_string()));
            }
            return Ok(Destination::Stow {
                base_url: base.to_string(),
            });
        }
        let Some((aet, address)) = text.split_once('@') else {
            return Err(BadDestination::Form(text.to_string()));
        };
        check_ae_title(aet)?;
        let Some((host, port)) = address.rsplit_once(':') else {
            return Err(BadDestination::Form(text.to_string()));
        };
        // `[::1]:104`: the brackets are only there to set the port apart.
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || host.contains(['@', '/', ' ']) {
            return Err(BadDestination::Form(text.to_string()));
        }
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(BadDestination::Port(port.to_string())),
        };
        Ok(Destination::Dimse {
            called_aet: aet.to_string(),
            host: host.to_string(),
            port,
        })
    }

    /// What the summary calls it: the AE title, or the web address.
    pub fn name(&self) -> &str {
        match self {
            Destination::Dimse { called_aet, .. } => called_aet,
            Destination::Stow { base_url } => base_url,
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Dimse {
                called_aet,
                host,
                port,
            } if host.contains(':') => write!(f, "{called_aet}@[{host}]:{port}"),
            Destination::Dimse {
                called_aet,
                host,
                port,
            } => write!(f, "{called_aet}@{host}:{port}"),
            Destination::Stow { base_url } => f.write_str(base_url),
        }
    }
}

/// An AE title as PS3.5 allows it (VR AE: 16 characters of the default repertoire, no
/// backslash or control character, not only spaces); narrower than the standard on purpose, so
/// that a typo (a stray `:` or `@`) is caught here rather than by the PACS.
pub fn check_ae_title(aet: &str) -> Result<(), BadDestination> {
    let ok = !aet.trim().is_empty()
        && aet.len() <= 16
        && aet
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(BadDestination::AeTitle(aet.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_parse() {
        assert_eq!(
            Destination::parse("TESTPACS@127.0.0.1:4242"),
            Ok(Destination::Dimse {
                called_aet: "TESTPACS".into(),
                host: "127.0.0.1".into(),
                port: 4242
            })
        );
        assert_eq!(
            Destination::parse("PACS@[::1]:104").map(|d| d.to_string()),
            Ok("PACS@[::1]:104".to_string())
        );
        assert_eq!(
            Destination::parse("https://pacs.example/dicom-web/"),
            Ok(Destination::Stow {
                base_url: "https://pacs.example/dicom-web".into()
            })
        );
        for bad in [
            "pacs",
            "@host:1",
            "A@host",
            "A@host:0",
            "A@host:70000",
            "THIS_AE_IS_TOO_LONG@h:1",
            "http://",
        ] {
            assert!(Destination::parse(bad).is_err(), "{bad}");
        }
    }
}
