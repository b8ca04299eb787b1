//! STOW-RS (PS3.18 10.5): instances POSTed to `{base}/studies` as `multipart/related;
//! type="application/dicom"`, several per request, over HTTP or HTTPS (ureq with rustls), and
//! the per-instance outcome read from the response's Store Instances Response Module
//! (Referenced SOP Sequence, Failed SOP Sequence with Failure Reason, Warning Reason).

use super::Fatal;
use super::Link;
use super::status::{NotSent, Status};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// A response larger than this is not read (a few hundred bytes per instance is usual).
const MAX_RESPONSE: u64 = 64 * 1024 * 1024;

/// How to reach the DICOMweb service.
#[derive(Clone)]
pub struct Service {
    pub base_url: String,
    pub agent: ureq::Agent,
    /// The `Authorization` header's value; never shown.
    pub authorization: Option<String>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("base_url", &self.base_url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "(hidden)"),
            )
            .finish()
    }
}

/// Credentials for the service, read from an environment variable or a file.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    Bearer(String),
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::Bearer(_) => "Bearer(hidden)",
            Credentials::Basic { .. } => "Basic(hidden)",
        })
    }
}

impl Credentials {
    /// `Bearer TOKEN` (or `TOKEN` alone with `bearer`), or `USER:PASSWORD`.
    pub fn parse(text: &str) -> Option<Credentials> {
        let text = text.trim_end_matches(['\n', '\r']);
        if let Some(token) = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))
        {
            let token = token.trim();
            return (!token.is_empty()).then(|| Credentials::Bearer(token.to_string()));
        }
        let (user, password) = text.split_once(':')?;
        (!user.is_empty()).then(|| Credentials::Basic {
            user: user.to_string(),
            password: password.to_string(),
        })
    }

    fn header(&self) -> String {
        use base64::Engine as _;
        match self {
            Credentials::Bearer(t) => format!("Bearer {t}"),
            Credentials::Basic { user, password } => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            ),
        }
    }
}

/// Why the HTTP client could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("cannot read the CA file {0}: {1}")]
    CaFile(String, String),
}

impl Service {
    pub fn new(
        base_url: &str,
        credentials: Option<&Credentials>,
        ca_file: Option<&std::path::Path>,
        connect_timeout: Duration,
        timeout: Duration,
    ) -> Result<Service, SetupError> {
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(connect_timeout))
            .timeout_per_read(Some(timeout))
            .timeout_per_write(Some(timeout))
            .user_agent(concat!("dicompack/", env!("CARGO_PKG_VERSION")));
        // The TLS stack per OS (Cargo.toml says why): the system's on Windows and macOS, with its
        // trust store; rustls with Mozilla's roots elsewhere.
        #[cfg(any(windows, target_os = "macos"))]
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::NativeTls)
            .root_certs(ureq::tls::RootCerts::PlatformVerifier);
        #[cfg(not(any(windows, target_os = "macos")))]
        let tls = ureq::tls::TlsConfig::builder();
        if let Some(path) = ca_file {
            let shown = path.display().to_string();
            let pem = std::fs::read(path)
                .map_err(|e| SetupError::CaFile(shown.clone(), e.to_string()))?;
            let certs: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<_, _>>()
                .map_err(|e| SetupError::CaFile(shown.clone(), e.to_string()))?;
            if certs.is_empty() {
                return Err(SetupError::CaFile(shown, "no certificate in it".into()));
            }
            config = config.tls_config(
                tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                    .build(),
            );
        } else {
            config = config.tls_config(tls.build());
        }
        Ok(Service {
            base_url: base_url.to_string(),
            agent: config.build().into(),
            authorization: credentials.map(Credentials::header),
        })
    }

    /// POSTs one request of instances (SOP Instance UID, Part 10 bytes) and says what became
    /// of each, by SOP Instance UID.
    pub fn store(&self, parts: &[(&str, &[u8])]) -> Result<BTreeMap<String, Status>, Link> {
        let boundary = boundary(parts);
        let mut body = Vec::with_capacity(parts.iter().map(|(_, b)| b.len() + 100).sum());
        for (_, bytes) in parts {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Type: application/dicom\r\n\r\n").as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let url = format!("{}/studies", self.base_url);
        let mut req = self
            .agent
            .post(&url)
            .header(
                "Content-Type",
                format!("multipart/related; type=\"application/dicom\"; boundary={boundary}"),
            )
            .header("Accept", "application/dicom+json");
        if let Some(a) = &self.authorization {
            req = req.header("Authorization", a);
        }
        let mut resp = req.send(&body[..]).map_err(|e| match e {
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                Link::Unreachable(format!("cannot connect to {}: {io}", self.base_url))
            }
            ureq::Error::Io(_) | ureq::Error::Timeout(_) => Link::Lost(e.to_string()),
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => {
                Link::Unreachable(format!("cannot connect to {}: {e}", self.base_url))
            }
            other => Link::Unreachable(format!("{}: {other}", self.base_url)),
        })?;
        let code = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .unwrap_or_default();
        match code {
            401 | 403 => {
                return Err(Link::Fatal(Fatal::Credentials(format!(
                    "{} refused our credentials (HTTP {code}){}",
                    self.base_url,
                    if self.authorization.is_some() {
                        ""
                    } else {
                        "; it needs some: --credentials-env VAR or --credentials-file FILE"
                    }
                ))));
            }
            404 | 405 => {
                return Err(Link::Fatal(Fatal::Refused(format!(
                    "{url} is not a STOW-RS service (HTTP {code}): check the DICOMweb base address"
                ))));
            }
            _ => {}
        }
        let doc: Option<Value> = serde_json::from_slice(&text).ok();
        let mut out = outcome(doc.as_ref());
        // Whatever the response did not mention took the fate the HTTP status says.
        for (uid, _) in parts {
            out.entry(uid.to_string()).or_insert_with(|| match code {
                200 => Status::Stored { code: 0 },
                202 => Status::Warning {
                    code: 0,
                    comment: "accepted with warnings (HTTP 202)".into(),
                },
                _ => Status::Refused {
                    code: 0,
                    comment: format!("HTTP {code}"),
                },
            });
        }
        Ok(out)
    }
}

/// A boundary that none of the parts contains.
fn boundary(parts: &[(&str, &[u8])]) -> String {
    let mut n: u64 = 0x6469_636f_6d70_6163; // "dicompac"
    loop {
        let b = format!("dicompack-{n:016x}");
        if !parts
            .iter()
            .any(|(_, bytes)| bytes.windows(b.len()).any(|w| w == b.as_bytes()))
        {
            return b;
        }
        n = n.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    }
}

/// The per-instance outcome in a Store Instances Response (DICOM JSON, PS3.18 F.2).
fn outcome(doc: Option<&Value>) -> BTreeMap<String, Status> {
    let mut out = BTreeMap::new();
    let Some(doc) = doc else {
        return out;
    };
    // Orthanc answers with the module itself; a list of one is tolerated too.
    let doc = doc.as_array().and_then(|a| a.first()).unwrap_or(doc);
    let items = |tag: &str| -> Vec<&Value> {
        doc.get(tag)
            .and_then(|e| e.get("Value"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    };
    let first = |item: &Value, tag: &str| -> Option<Value> {
        item.get(tag)
            .and_then(|e| e.get("Value"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .cloned()
    };
    let uid = |item: &Value| first(item, "00081155").and_then(|v| v.as_str().map(String::from));
    let number = |item: &Value, tag: &str| {
        first(item, tag)
            .and_then(|v| v.as_u64())
            .and_then(|n| u16::try_from(n).ok())
    };
    // Referenced SOP Sequence: stored, possibly with a Warning Reason (0008,1196).
    for item in items("00081199") {
        if let Some(u) = uid(item) {
            let status = match number(item, "00081196") {
                Some(code) => Status::Warning {
                    code,
                    comment: String::new(),
                },
                None => Status::Stored { code: 0 },
            };
            out.insert(u, status);
        }
    }
    // Failed SOP Sequence, with Failure Reason (0008,1197).
    for item in items("00081198") {
        if let Some(u) = uid(item) {
            let code = number(item, "00081197").unwrap_or(0x0110);
            out.insert(
                u,
                Status::Refused {
                    code,
                    comment: String::new(),
                },
            );
        }
    }
    out
}

/// A batch that never got an answer: every instance in it is not (known to be) stored.
pub fn lost(detail: &str) -> Status {
    Status::not_sent(NotSent::ConnectionLost, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_and_hide() {
        assert_eq!(
            Credentials::parse("Bearer abc\n"),
            Some(Credentials::Bearer("abc".into()))
        );
        let basic = Credentials::parse("alice:s3cret").unwrap();
        assert_eq!(basic.header(), "Basic YWxpY2U6czNjcmV0");
        assert!(!format!("{basic:?}").contains("s3cret"));
        assert_eq!(Credentials::parse("nothing"), None);
    }

    #[test]
    fn the_response_module_gives_each_outcome() {
        let doc: Value = serde_json::from_str(
            r#"{"00081199":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.3"]}},
                {"00081155":{"vr":"UI","Value":["1.2.4"]},"00081196":{"vr":"US","Value":[45056]}}]},
                "00081198":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["1.2.5"]},
                "00081197":{"vr":"US","Value":[272]}}]}}"#,
        )
        .unwrap();
        let out = outcome(Some(&doc));
        assert_eq!(out["1.2.3"], Status::Stored { code: 0 });
        assert!(matches!(out["1.2.4"], Status::Warning { code: 0xB000, .. }));
        assert!(matches!(out["1.2.5"], Status::Refused { code: 0x0110, .. }));
    }

    #[test]
    fn the_boundary_is_not_in_any_part() {
        let b = boundary(&[("1", b"dicompack-6469636f6d706163 inside")]);
        assert_ne!(b, "dicompack-6469636f6d706163");
    }
}
