//! Who may use the local page, and which paths it may touch. A page that reads disks and
//! writes files is a door into the machine: any other web page the person has open could try
//! to talk to it (cross-site requests, DNS rebinding), and so could any other local user.
//! Everything that decides "let in or refuse" is here, as plain functions, so that it can be
//! read in one place and tested without a server.
//!
//! - A random secret is in the URL the program opens; the first load exchanges it for an
//!   HttpOnly, SameSite=Strict session cookie (another site's requests never carry it).
//! - The Host header must name our own port on 127.0.0.1 or localhost (DNS rebinding).
//! - A state-changing request is a POST carrying the CSRF token the page got from us, with an
//!   Origin (when the browser sends one) that is ours.
//! - A path the API accepts is absolute, has no `.` or `..` parts, and is taken as the file
//!   system resolves it (links followed) before anything is read or written.

use std::path::{Component, Path, PathBuf};

/// The name of the session cookie.
pub const COOKIE: &str = "dicompack_session";
/// The request header that carries the CSRF token.
pub const CSRF_HEADER: &str = "X-Dicompack-Token";

/// The per-run secrets: in the URL, in the cookie, and in the page for POSTs.
#[derive(Clone)]
pub struct Secrets {
    pub url_key: String,
    pub session: String,
    pub csrf: String,
}

impl Secrets {
    pub fn new() -> Result<Secrets, getrandom::Error> {
        Ok(Secrets {
            url_key: random_hex()?,
            session: random_hex()?,
            csrf: random_hex()?,
        })
    }
}

/// 256 bits from the operating system's generator, as hex.
fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Compares secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// True when `host` (the Host header) names this server: `127.0.0.1:PORT` or `localhost:PORT`.
/// A page on another name that resolves to 127.0.0.1 (DNS rebinding) sends its own name.
pub fn host_is_ours(host: Option<&str>, port: u16) -> bool {
    let Some(host) = host else { return false };
    let host = host.trim();
    host.eq_ignore_ascii_case(&format!("127.0.0.1:{port}"))
        || host.eq_ignore_ascii_case(&format!("localhost:{port}"))
}

/// True when an Origin header is absent (not every same-origin request carries one) or ours.
pub fn origin_is_ours(origin: Option<&str>, port: u16) -> bool {
    match origin {
        None => true,
        Some(o) => {
            let o = o.trim();
            o.eq_ignore_ascii_case(&format!("http://127.0.0.1:{port}"))
                || o.eq_ignore_ascii_case(&format!("http://localhost:{port}"))
        }
    }
}

/// The value of cookie `name` in a Cookie header.
pub fn cookie<'a>(header: Option<&'a str>, name: &str) -> Option<&'a str> {
    header?.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// The Set-Cookie value for the session.
pub fn session_cookie(session: &str) -> String {
    format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict")
}

/// The value of query parameter `name`, percent-decoded.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_decode(v))
    })
}

/// `%XX` and `+` decoding for query values (the page sends paths with encodeURIComponent).
/// Hand-written: the one decoder this server needs is a dozen lines.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b);
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a path from the page is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathRefused {
    #[error("a full path is needed (starting at the top of a drive)")]
    NotAbsolute,
    #[error("paths with '.' or '..' in them are not accepted")]
    DotParts,
    #[error("{0}: this folder or file cannot be found")]
    Missing(String),
    #[error("{0}: this is not a folder")]
    NotAFolder(String),
    #[error("{0}: this is not a file")]
    NotAFile(String),
    #[error("a name is needed")]
    EmptyName,
    #[error("{0:?}: a name may not contain '/', '\\', control characters or start with '.'")]
    BadName(String),
    #[error("{0}: packages are never written onto the disc or folder being read")]
    InsideInput(String),
    #[error("this is outside the folders chosen on this page")]
    NotChosen,
}

/// A path as the page gave it: absolute, no `.`/`..` parts, then resolved by the file system
/// (links followed), so a name inside can never lead out.
pub fn resolve(path: &str) -> Result<PathBuf, PathRefused> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(PathRefused::NotAbsolute);
    }
    if p.components()
        .any(|c| matches!(c, Component::CurDir | Component::ParentDir))
    {
        return Err(PathRefused::DotParts);
    }
    std::fs::canonicalize(p).map_err(|_| PathRefused::Missing(path.to_string()))
}

/// [`resolve`], and it must be a folder.
pub fn folder(path: &str) -> Result<PathBuf, PathRefused> {
    let p = resolve(path)?;
    if p.is_dir() {
        Ok(p)
    } else {
        Err(PathRefused::NotAFolder(path.to_string()))
    }
}

/// A name for a new file or folder inside a chosen folder: one plain component, nothing that
/// leads elsewhere or hides it.
pub fn plain_name(name: &str) -> Result<&str, PathRefused> {
    let name = name.trim();
    if name.is_empty() {
        return Err(PathRefused::EmptyName);
    }
    let bad = name.starts_with('.')
        || name.len() > 200
        || name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control())
        || name.contains(':');
    let mut parts = Path::new(name).components();
    let one_normal = matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none();
    if bad || !one_normal {
        return Err(PathRefused::BadName(name.to_string()));
    }
    Ok(name)
}

/// Where a new package or folder goes: `name` inside the resolved `folder`, which must not lie
/// inside what is being read (`input`).
pub fn output_in(
    folder_path: &str,
    name: &str,
    input: Option<&Path>,
) -> Result<PathBuf, PathRefused> {
    let dir = folder(folder_path)?;
    let name = plain_name(name)?;
    if let Some(input) = input {
        let input_dir = if input.is_dir() {
            input
        } else {
            input.parent().unwrap_or(input)
        };
        if dir.starts_with(input_dir) {
            return Err(PathRefused::InsideInput(dir.display().to_string()));
        }
    }
    Ok(dir.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_must_be_ours() {
        assert!(host_is_ours(Some("127.0.0.1:8080"), 8080));
        assert!(host_is_ours(Some("localhost:8080"), 8080));
        assert!(!host_is_ours(Some("127.0.0.1:8081"), 8080));
        assert!(!host_is_ours(Some("evil.example:8080"), 8080));
        assert!(!host_is_ours(Some("127.0.0.1"), 8080));
        assert!(!host_is_ours(None, 8080));
    }

    #[test]
    fn origin_absent_or_ours() {
        assert!(origin_is_ours(None, 9));
        assert!(origin_is_ours(Some("http://localhost:9"), 9));
        assert!(!origin_is_ours(Some("http://evil.example"), 9));
        assert!(!origin_is_ours(Some("null"), 9));
    }

    #[test]
    fn cookies_and_queries() {
        let h = Some("a=1; dicompack_session=xyz ; b=2");
        assert_eq!(cookie(h, COOKIE), Some("xyz"));
        assert_eq!(cookie(Some("a=1"), COOKIE), None);
        assert_eq!(
            query_param("/api/browse?path=%2Ftmp%2Fa%20b&x=1", "path").as_deref(),
            Some("/tmp/a b")
        );
        assert_eq!(query_param("/?k=abc", "k").as_deref(), Some("abc"));
        assert_eq!(query_param("/", "k"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "ab"));
    }

    #[test]
    fn paths_are_checked() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(base.join("in")).unwrap();
        std::fs::create_dir(base.join("out")).unwrap();
        let s = |p: &Path| p.to_str().unwrap().to_string();
        assert_eq!(resolve("relative/x"), Err(PathRefused::NotAbsolute));
        assert_eq!(
            resolve(&format!("{}/in/../out", s(&base))),
            Err(PathRefused::DotParts)
        );
        assert!(matches!(
            folder(&s(&base.join("nope"))),
            Err(PathRefused::Missing(_))
        ));
        for bad in ["../x.zip", "a/b.zip", ".hidden", "a\\b", "", "c:x", "x\ny"] {
            assert!(plain_name(bad).is_err(), "{bad:?} must be refused");
        }
        assert_eq!(plain_name(" p.zip "), Ok("p.zip"));
        let input = base.join("in");
        assert_eq!(
            output_in(&s(&base.join("out")), "p.zip", Some(&input)).unwrap(),
            base.join("out/p.zip")
        );
        assert!(matches!(
            output_in(&s(&input), "p.zip", Some(&input)),
            Err(PathRefused::InsideInput(_))
        ));
        #[cfg(unix)]
        {
            // A link inside the output folder that points into the input is seen through.
            std::os::unix::fs::symlink(&input, base.join("out/link")).unwrap();
            assert!(matches!(
                output_in(&s(&base.join("out/link")), "p.zip", Some(&input)),
                Err(PathRefused::InsideInput(_))
            ));
        }
    }
}
