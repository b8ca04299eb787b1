//! SHA-256 digests and the `SHA256.TXT` list, in the exact format `sha256sum -c` reads, so a
//! receiver can check a package with our tool or with nothing but coreutils.

use sha2::{Digest as _, Sha256};
use std::fmt;
use std::io::{self, Read};

/// A SHA-256 digest. Shown and serialised as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    pub fn from_hasher(h: Sha256) -> Digest {
        Digest(h.finalize().into())
    }

    pub fn parse(hex_text: &str) -> Option<Digest> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_text, &mut out).ok()?;
        Some(Digest(out))
    }

    /// Hashes a whole stream, returning the digest and the number of bytes read.
    pub fn of_reader(mut r: impl Read) -> io::Result<(Digest, u64)> {
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0u64;
        loop {
            let n = match r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            h.update(buf.get(..n).unwrap_or_default());
            total += n as u64;
        }
        Ok((Digest::from_hasher(h), total))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Digest::parse(&s).ok_or_else(|| serde::de::Error::custom("not a SHA-256 hex digest"))
    }
}

/// Renders the checksum list: one `<hex>  <path>` line per file, in the order given.
/// Paths are package paths with `/`; ours never contain newlines or backslashes, which would
/// need `sha256sum`'s escaping.
pub fn render_list<'a>(entries: impl IntoIterator<Item = (&'a str, Digest)>) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and every line is UTF-8.
    let _ = write_list(&mut out, entries);
    String::from_utf8(out).unwrap_or_default()
}

/// [`render_list`], written to `w` as it goes.
pub fn write_list<'a>(
    mut w: impl io::Write,
    entries: impl IntoIterator<Item = (&'a str, Digest)>,
) -> io::Result<()> {
    for (path, digest) in entries {
        writeln!(w, "{digest}  {path}")?;
    }
    Ok(())
}

/// A line of a checksum list that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line} of the checksum list is not `<sha256>  <file>`")]
pub struct BadLine {
    pub line: usize,
}

/// Parses a checksum list as `sha256sum -c` would (text or binary mode markers).
pub fn parse_list(text: &str) -> Result<Vec<(String, Digest)>, BadLine> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() {
            continue;
        }
        let bad = || BadLine { line: i + 1 };
        let (hex_part, rest) = line.split_at_checked(64).ok_or_else(bad)?;
        let digest = Digest::parse(hex_part).ok_or_else(bad)?;
        let path = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(bad)?;
        if path.is_empty() {
            return Err(bad());
        }
        out.push((path.to_string(), digest));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_round_trips_and_matches_sha256sum_format() {
        let d = Digest::of(b"abc");
        assert_eq!(
            d.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let text = render_list([
            ("DICOM/P0000001/I0000001", d),
            ("README.TXT", Digest::of(b"")),
        ]);
        assert!(text.starts_with(&format!("{d}  DICOM/P0000001/I0000001\n")));
        let parsed = parse_list(&text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0], ("DICOM/P0000001/I0000001".to_string(), d));
        assert_eq!(parse_list("xyz  FILE\n"), Err(BadLine { line: 1 }));
        assert!(parse_list(&format!("{d} FILE")).is_err());
    }
}
