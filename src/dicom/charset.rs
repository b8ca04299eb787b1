//! Text values to Unicode per Specific Character Set (0008,0005): PS3.5 §6.1 and PS3.3
//! C.12.1.1.2. The scan reads patient names and descriptions through it, so that every later
//! stage (pages, manifest, DICOMDIR, package name) holds the right characters.
//!
//! Why not dicom-encoding's `text` module (what dicom-object's `to_str()` uses): it takes the
//! first value of (0008,0005) only and has no ISO 2022 code extensions, so escape sequences
//! switching G0/G1 inside a value come out as debris (`$B;3ED(B`); it has no JIS X 0212
//! (IR 159) or Turkish (IR 148), decodes IR 13 as Windows-31J, and rests on the unmaintained
//! `encoding` crate. The code pages here are encoding_rs's (well kept, WHATWG tables); the ISO
//! 2022 state machine (designations, resets at delimiters) is by hand, because no crate
//! implements DICOM's subset of ISO 2022 (encoding_rs's ISO-2022-JP has no IR 159, no G1 sets
//! and no DICOM delimiter resets).

use dicom_core::header::VR;
use encoding_rs::Encoding;

const ESC: u8 = 0x1B;

/// A term of (0008,0005) that names no character set this decoder knows. Its values are read
/// as the default repertoire (ISO_IR 6, other bytes as Latin-1), as PS3.5 §6.1.2.3 suggests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown Specific Character Set term {term:?}: text read as ISO_IR 6 (other bytes as Latin-1)"
)]
pub struct UnknownTerm {
    pub term: String,
}

/// A 94- or 96-character single-byte set invoked into G1 (the bytes 0xA0..=0xFF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SingleByte {
    /// ISO 8859-1 maps byte b to U+00b: by hand, since encoding_rs (WHATWG) reads the label
    /// "ISO-8859-1" as windows-1252.
    Latin1,
    Table(&'static Encoding),
    /// JIS X 0201 katakana (IR 13): 0xA1..=0xDF are the half-width katakana U+FF61..=U+FF9F.
    Katakana,
}

/// What G0 (bytes 0x21..=0x7E) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G0 {
    /// IR 6. Also JIS X 0201 romaji (IR 14), read as ASCII at 0x5C and 0x7E as pydicom and
    /// Shift_JIS decoders do (the standard's tables say yen sign and overline).
    Ascii,
    /// JIS X 0208 (IR 87), two bytes a character.
    Jis0208,
    /// JIS X 0212 (IR 159), two bytes a character.
    Jis0212,
}

/// What G1 (bytes 0xA1..=0xFE) holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum G1 {
    /// Nothing designated: bytes above 0x7F are read as Latin-1 (lenient, as dicom-rs and
    /// pydicom read ISO_IR 6).
    None,
    Single(SingleByte),
    /// KS X 1001 (IR 149), two bytes a character in GR: EUC-KR.
    Ksx1001,
    /// GB 2312 (IR 58), two bytes a character in GR: EUC-CN, read by encoding_rs's GBK.
    Gb2312,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A set used without code extensions and not in ISO 2022 form: UTF-8, GB18030, GBK.
    Whole(&'static Encoding),
    /// Everything else: ISO 2022 with the initial designations of value 1.
    Iso2022 { g0: G0, g1: G1 },
}

/// The character set a data set declares, ready to decode its text values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharacterSet {
    kind: Kind,
    unknown: Vec<UnknownTerm>,
}

impl Default for CharacterSet {
    fn default() -> Self {
        CharacterSet {
            kind: Kind::Iso2022 {
                g0: G0::Ascii,
                g1: G1::None,
            },
            unknown: Vec::new(),
        }
    }
}

/// What one term means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Term {
    Default,
    Single(SingleByte),
    /// IR 13: romaji in G0, katakana in G1.
    Japanese13,
    G0(G0),
    G1(G1),
    Whole(&'static Encoding),
}

/// A term, spelt as the standard does or as seen in the wild (`ISO-IR 100`, `ISO_IR100`,
/// `iso 2022 ir 87`): case and the separators ` `, `_`, `-` are ignored.
fn term(s: &str) -> Option<Term> {
    let t: String = s
        .trim_matches(|c: char| c == '\0' || c.is_whitespace())
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let ir = t
        .strip_prefix("ISO2022IR")
        .or_else(|| t.strip_prefix("ISOIR"));
    let single = |e: &'static Encoding| Some(Term::Single(SingleByte::Table(e)));
    match ir {
        Some("6") => Some(Term::Default),
        Some("13") => Some(Term::Japanese13),
        Some("100") => Some(Term::Single(SingleByte::Latin1)),
        Some("101") => single(encoding_rs::ISO_8859_2),
        Some("109") => single(encoding_rs::ISO_8859_3),
        Some("110") => single(encoding_rs::ISO_8859_4),
        Some("126") => single(encoding_rs::ISO_8859_7),
        Some("127") => single(encoding_rs::ISO_8859_6),
        Some("138") => single(encoding_rs::ISO_8859_8),
        Some("144") => single(encoding_rs::ISO_8859_5),
        // windows-1254 and windows-874 equal ISO 8859-9 and TIS 620 above 0x9F; 0x80..=0x9F
        // are C1 controls in every ISO set and are read so before any table (see `single`).
        Some("148") => single(encoding_rs::WINDOWS_1254),
        Some("166") => single(encoding_rs::WINDOWS_874),
        Some("203") => single(encoding_rs::ISO_8859_15),
        Some("87") => Some(Term::G0(G0::Jis0208)),
        Some("159") => Some(Term::G0(G0::Jis0212)),
        Some("149") => Some(Term::G1(G1::Ksx1001)),
        Some("58") => Some(Term::G1(G1::Gb2312)),
        Some("192") => Some(Term::Whole(encoding_rs::UTF_8)),
        Some(_) => None,
        None => match t.as_str() {
            "" => Some(Term::Default),
            "GB18030" => Some(Term::Whole(encoding_rs::GB18030)),
            "GBK" | "ISO2022GBK" => Some(Term::Whole(encoding_rs::GBK)),
            "UTF8" => Some(Term::Whole(encoding_rs::UTF_8)),
            _ => None,
        },
    }
}

impl CharacterSet {
    /// From the values of (0008,0005); none or an empty first value is the default repertoire.
    /// Value 1 sets the initial state; every known escape sequence is honoured wherever it
    /// appears (a value may use a set its header forgot to list).
    pub fn new<S: AsRef<str>>(values: &[S]) -> CharacterSet {
        let mut unknown = Vec::new();
        let mut terms = values.iter().map(|v| {
            let v = v.as_ref();
            let t = term(v);
            if t.is_none() {
                unknown.push(UnknownTerm {
                    term: v.trim().to_string(),
                });
            }
            t
        });
        let first = terms.next().flatten().unwrap_or(Term::Default);
        // The rest are looked at only to report unknown terms.
        terms.for_each(drop);
        let (g0, g1) = match first {
            Term::Whole(e) => {
                return CharacterSet {
                    kind: Kind::Whole(e),
                    unknown,
                };
            }
            Term::Default => (G0::Ascii, G1::None),
            Term::Single(s) => (G0::Ascii, G1::Single(s)),
            Term::Japanese13 => (G0::Ascii, G1::Single(SingleByte::Katakana)),
            Term::G0(g0) => (g0, G1::None),
            Term::G1(g1) => (G0::Ascii, g1),
        };
        CharacterSet {
            kind: Kind::Iso2022 { g0, g1 },
            unknown,
        }
    }

    /// The terms that name no known character set (reported by the scan as warnings).
    pub fn unknown(&self) -> &[UnknownTerm] {
        &self.unknown
    }

    /// The value bytes of an element of this VR as text, all of it (values still joined by
    /// `\`, padding kept: the caller trims). Bytes that no set can read become U+FFFD.
    pub fn decode(&self, bytes: &[u8], vr: VR) -> String {
        match self.kind {
            Kind::Whole(e) => e.decode_without_bom_handling(bytes).0.into_owned(),
            Kind::Iso2022 { g0, g1 } => iso2022(bytes, vr, g0, g1),
        }
    }
}

/// Decodes `bytes` of an element of `vr` under (0008,0005) `values`.
pub fn decode<S: AsRef<str>>(values: &[S], bytes: &[u8], vr: VR) -> String {
    CharacterSet::new(values).decode(bytes, vr)
}

/// Whether `b` returns the state to the initial designations (PS3.5 §6.1.2.5.3): the ends of a
/// line or page, TAB, the value separator where the VR has several values, and the component
/// and group delimiters of a person name.
fn resets(b: u8, vr: VR) -> bool {
    match b {
        b'\r' | b'\n' | 0x0C | b'\t' => true,
        b'\\' => !matches!(vr, VR::ST | VR::LT | VR::UT | VR::UR),
        b'^' | b'=' => vr == VR::PN,
        _ => false,
    }
}

/// The designation an escape sequence at the start of `s` makes, and its length.
enum Designation {
    G0(G0),
    G1(G1),
}

fn escape(s: &[u8]) -> Option<(Designation, usize)> {
    let single = |e| Designation::G1(G1::Single(SingleByte::Table(e)));
    let d = match s.get(1..)? {
        [b'(', b'B' | b'J', ..] => (Designation::G0(G0::Ascii), 3),
        [b')', b'I', ..] => (Designation::G1(G1::Single(SingleByte::Katakana)), 3),
        [b'$', b'B', ..] | [b'$', b'@', ..] => (Designation::G0(G0::Jis0208), 3),
        [b'$', b'(', b'D', ..] => (Designation::G0(G0::Jis0212), 4),
        [b'$', b')', b'C', ..] => (Designation::G1(G1::Ksx1001), 4),
        [b'$', b')', b'A', ..] => (Designation::G1(G1::Gb2312), 4),
        [b'-', f, ..] => {
            let g1 = match f {
                b'A' => Designation::G1(G1::Single(SingleByte::Latin1)),
                b'B' => single(encoding_rs::ISO_8859_2),
                b'C' => single(encoding_rs::ISO_8859_3),
                b'D' => single(encoding_rs::ISO_8859_4),
                b'F' => single(encoding_rs::ISO_8859_7),
                b'G' => single(encoding_rs::ISO_8859_6),
                b'H' => single(encoding_rs::ISO_8859_8),
                b'L' => single(encoding_rs::ISO_8859_5),
                b'M' => single(encoding_rs::WINDOWS_1254),
                b'T' => single(encoding_rs::WINDOWS_874),
                b'b' => single(encoding_rs::ISO_8859_15),
                _ => return None,
            };
            (g1, 3)
        }
        _ => return None,
    };
    Some(d)
}

/// One byte of a single-byte set in G1.
fn single(set: SingleByte, b: u8) -> char {
    if b < 0xA0 {
        // C1 controls (not allowed in DICOM text, but kept as what they are).
        return char::from(b);
    }
    match set {
        SingleByte::Latin1 => char::from(b),
        SingleByte::Katakana => match b {
            0xA1..=0xDF => char::from_u32(0xFF61 + u32::from(b - 0xA1)).unwrap_or('\u{FFFD}'),
            _ => '\u{FFFD}',
        },
        SingleByte::Table(e) => e
            .decode_without_bom_handling(&[b])
            .0
            .chars()
            .next()
            .unwrap_or('\u{FFFD}'),
    }
}

fn push_decoded(out: &mut String, e: &'static Encoding, bytes: &[u8]) {
    out.push_str(&e.decode_without_bom_handling(bytes).0);
}

/// The ISO 2022 subset of PS3.5 §6.1.2.5: escape sequences designate G0 or G1 sets; each
/// delimiter of [`resets`] returns to the initial designations. A delimiter byte is one only
/// while G0 is single-byte: in a two-byte G0 set 0x5C or 0x5E may be half of a character
/// (which is why the standard has writers return to ASCII before each delimiter).
fn iso2022(bytes: &[u8], vr: VR, init0: G0, init1: G1) -> String {
    let (mut g0, mut g1) = (init0, init1);
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == ESC {
            if let Some((d, len)) = escape(bytes.get(i..).unwrap_or_default()) {
                match d {
                    Designation::G0(s) => g0 = s,
                    Designation::G1(s) => g1 = s,
                }
                i += len;
            } else {
                out.push('\u{FFFD}');
                i += 1;
            }
            continue;
        }
        let next = bytes.get(i + 1).copied();
        if b < 0x80 {
            let two_byte = matches!(g0, G0::Jis0208 | G0::Jis0212);
            match next {
                Some(n) if two_byte && (0x21..0x7F).contains(&b) && (0x21..0x7F).contains(&n) => {
                    // JIS X 0208 / 0212 are EUC-JP's two-byte sets with the high bits set.
                    let (a, c) = (b | 0x80, n | 0x80);
                    if g0 == G0::Jis0212 {
                        push_decoded(&mut out, encoding_rs::EUC_JP, &[0x8F, a, c]);
                    } else {
                        push_decoded(&mut out, encoding_rs::EUC_JP, &[a, c]);
                    }
                    i += 2;
                }
                _ if two_byte && (0x21..0x7F).contains(&b) => {
                    out.push('\u{FFFD}');
                    i += 1;
                }
                _ => {
                    if resets(b, vr) {
                        (g0, g1) = (init0, init1);
                    }
                    out.push(char::from(b));
                    i += 1;
                }
            }
            continue;
        }
        match g1 {
            G1::None => {
                out.push(char::from(b));
                i += 1;
            }
            G1::Single(s) => {
                out.push(single(s, b));
                i += 1;
            }
            G1::Ksx1001 | G1::Gb2312 => {
                let e = if g1 == G1::Ksx1001 {
                    encoding_rs::EUC_KR
                } else {
                    encoding_rs::GBK
                };
                match next {
                    Some(n) if n >= 0xA1 && b >= 0xA1 => {
                        push_decoded(&mut out, e, &[b, n]);
                        i += 2;
                    }
                    _ => {
                        out.push('\u{FFFD}');
                        i += 1;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pn(values: &[&str], bytes: &[u8]) -> String {
        decode(values, bytes, VR::PN)
    }

    #[test]
    fn default_and_single_byte_sets() {
        assert_eq!(pn(&[] as &[&str], b"Smith^John"), "Smith^John");
        // Bytes above 0x7F without a set: Latin-1, leniently.
        assert_eq!(pn(&[""], b"Buc\xe9ka"), "Bucéka");
        assert_eq!(pn(&["ISO_IR 100"], b"Buc\xe9ka"), "Bucéka");
        assert_eq!(
            pn(&["ISO_IR 144"], b"\xbb\xee\xdace\xdc\xd1\xd5\xe0\xd3"),
            "Люкceмберг"
        );
        assert_eq!(
            pn(&["ISO_IR 126"], b"\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"),
            "Διονυσιος"
        );
        assert_eq!(pn(&["ISO_IR 138"], b"\xf9\xf8\xe5\xef"), "שרון");
        assert_eq!(pn(&["ISO_IR 148"], b"\xdeahin"), "Şahin");
        assert_eq!(pn(&["ISO_IR 166"], b"\xb9\xd2\xc2"), "นาย");
        // C1 controls stay C1 controls in the windows-based tables.
        assert_eq!(pn(&["ISO_IR 148"], b"\x80"), "\u{80}");
    }

    #[test]
    fn spellings_seen_in_the_wild() {
        for s in [
            "ISO-IR 100",
            "ISO_IR100",
            "iso_ir 100",
            "ISO IR 100 ",
            "ISO 2022 IR 100",
        ] {
            let cs = CharacterSet::new(&[s]);
            assert!(cs.unknown().is_empty(), "{s}");
            assert_eq!(cs.decode(b"\xe9", VR::PN), "é", "{s}");
        }
    }

    #[test]
    fn unknown_term_is_reported_and_read_as_the_default() {
        let cs = CharacterSet::new(&["ISO_IR 999", "KLINGON"]);
        let terms: Vec<&str> = cs.unknown().iter().map(|u| u.term.as_str()).collect();
        assert_eq!(terms, ["ISO_IR 999", "KLINGON"]);
        assert_eq!(cs.decode(b"Ab\xe9", VR::LO), "Abé");
        assert!(cs.unknown()[0].to_string().contains("ISO_IR 999"));
    }

    #[test]
    fn multi_byte_sets_without_extensions() {
        assert_eq!(
            pn(&["ISO_IR 192"], "Wang^XiaoDong=王^小東".as_bytes()),
            "Wang^XiaoDong=王^小東"
        );
        // GB18030 and GBK: 王 is D5 FD.
        assert_eq!(pn(&["GB18030"], b"\xcd\xf5"), "王");
        assert_eq!(pn(&["GBK"], b"\xcd\xf5"), "王");
        // A stand-alone set ignores later values and ESC has no meaning in it.
        assert_eq!(
            pn(&["ISO_IR 192", "ISO 2022 IR 87"], b"a\x1b$B"),
            "a\u{1b}$B"
        );
    }

    #[test]
    fn japanese_escape_sequences_switch_g0_per_component_group() {
        // PS3.5 H.3.1: Yamada^Tarou=山田^太郎=やまだ^たろう
        let bytes =
            b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
        assert_eq!(
            pn(&["", "ISO 2022 IR 87"], bytes),
            "Yamada^Tarou=山田^太郎=やまだ^たろう"
        );
    }

    #[test]
    fn delimiters_reset_to_the_initial_set() {
        // The writer forgot ESC ( B before '^' and '=': in a two-byte G0 set those bytes are
        // halves of characters, so nothing resets until the pair runs out.
        let bytes = b"\x1b$B;3ED";
        assert_eq!(pn(&["", "ISO 2022 IR 87"], bytes), "山田");
        // G1 (Latin-1 by ESC - A) is reset at '^' in a PN, not in an LO.
        let bytes = b"\x1b-L\xbb^\xbb";
        assert_eq!(pn(&["", "ISO 2022 IR 144"], bytes), "Л^»");
        assert_eq!(decode(&["", "ISO 2022 IR 144"], bytes, VR::LO), "Л^Л");
        // CR resets in every VR; '\' does not in ST.
        assert_eq!(
            decode(&["", "ISO 2022 IR 144"], b"\x1b-L\xbb\r\xbb", VR::ST),
            "Л\r»"
        );
        assert_eq!(
            decode(&["", "ISO 2022 IR 144"], b"\x1b-L\xbb\\\xbb", VR::ST),
            "Л\\Л"
        );
        assert_eq!(
            decode(&["", "ISO 2022 IR 144"], b"\x1b-L\xbb\\\xbb", VR::LO),
            "Л\\»"
        );
    }

    #[test]
    fn japanese_katakana_and_jis_x_0212() {
        // PS3.5 H.3.2: IR 13 in G1 from value 1: ﾔﾏﾀﾞ^ﾀﾛｳ
        assert_eq!(
            pn(
                &["ISO 2022 IR 13", "ISO 2022 IR 87"],
                b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3"
            ),
            "ﾔﾏﾀﾞ^ﾀﾛｳ"
        );
        // JIS X 0212 row 0x30 cell 0x21: 丂 (U+4E02).
        assert_eq!(pn(&["", "ISO 2022 IR 159"], b"\x1b$(D0!\x1b(B"), "丂");
    }

    #[test]
    fn korean_in_g1() {
        // PS3.5 I.2: Hong^Gildong=洪^吉洞=홍^길동
        let bytes = b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf";
        assert_eq!(
            pn(&["", "ISO 2022 IR 149"], bytes),
            "Hong^Gildong=洪^吉洞=홍^길동"
        );
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        for bytes in [
            &b"\x1b"[..],
            b"\x1b$",
            b"\x1b$(",
            b"\x1b$B;",
            b"\x1b$)C\xb1",
            b"\x1bZ",
        ] {
            for first in ["", "ISO 2022 IR 13", "ISO_IR 192"] {
                let _ = pn(&[first, "ISO 2022 IR 87"], bytes);
            }
        }
        assert_eq!(pn(&[""], b"\x1bZ"), "\u{FFFD}Z");
    }
}
