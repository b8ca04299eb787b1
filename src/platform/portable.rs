//! Names and paths as Windows (and a case-insensitive disk) take them, as pure functions of
//! text, so that the rules are tested on every OS and not only where they apply: which names
//! Windows cannot hold (the device names it reserves, a trailing dot or space, the characters
//! it forbids, more than 255 characters), names a case-insensitive disk cannot tell apart, and
//! where a Windows path's volume begins (a drive letter, a UNC share, the `\\?\` forms).
//!
//! Written by hand: the rules are Microsoft's "Naming Files, Paths, and Namespaces", short and
//! fixed, and no maintained crate states them for text rather than for the running OS.

use std::collections::BTreeMap;

/// The naming rules of a file system, as far as extracting a package must know them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRules {
    /// Windows' rules: reserved device names, no trailing dot or space, forbidden characters.
    pub windows: bool,
    /// Names that differ only in case are the same file.
    pub case_insensitive: bool,
}

impl NameRules {
    /// Names are bytes: anything without `/` and NUL.
    pub const POSIX: NameRules = NameRules {
        windows: false,
        case_insensitive: false,
    };
    /// NTFS, FAT and exFAT as Windows uses them.
    pub const WINDOWS: NameRules = NameRules {
        windows: true,
        case_insensitive: true,
    };
    /// APFS and HFS+ as macOS formats them by default.
    pub const CASE_INSENSITIVE: NameRules = NameRules {
        windows: false,
        case_insensitive: true,
    };
}

/// Why a name cannot be created as it is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unportable {
    #[error("Windows reserves the name {0} for a device")]
    Reserved(String),
    #[error("Windows cannot hold a name that ends in a dot or a space")]
    TrailingDotOrSpace,
    #[error("Windows does not allow {0:?} in a name")]
    Character(char),
    #[error("longer than the 255 characters Windows allows in a name")]
    TooLong,
    #[error(
        "differs from {0} only in upper and lower case, which this computer's disks do not tell apart"
    )]
    CaseTwin(String),
}

/// Whether Windows takes `name` (one path component) for a device: `CON`, `PRN`, `AUX`, `NUL`,
/// `COM0`–`COM9`, `LPT0`–`LPT9` (and their superscript-digit forms), `CONIN$`, `CONOUT$`, in
/// any case, with any extension (`nul.txt`) and trailing spaces (`CON .txt`).
pub fn is_reserved(name: &str) -> bool {
    let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
    let upper = base.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let Some(digit) = upper
        .strip_prefix("COM")
        .or_else(|| upper.strip_prefix("LPT"))
    else {
        return false;
    };
    let mut chars = digit.chars();
    matches!(
        (chars.next(), chars.next()),
        (Some('0'..='9' | '¹' | '²' | '³'), None)
    )
}

/// Whether `name` (one path component) can be created under `rules`, and why not.
pub fn check_component(name: &str, rules: NameRules) -> Result<(), Unportable> {
    if !rules.windows {
        return Ok(());
    }
    if let Some(c) = name
        .chars()
        .find(|&c| matches!(c, '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*') || c < ' ')
    {
        return Err(Unportable::Character(c));
    }
    if name.ends_with(['.', ' ']) {
        return Err(Unportable::TrailingDotOrSpace);
    }
    if is_reserved(name) {
        let base = name.split('.').next().unwrap_or(name).trim_end_matches(' ');
        return Err(Unportable::Reserved(base.to_string()));
    }
    if name.encode_utf16().count() > 255 {
        return Err(Unportable::TooLong);
    }
    Ok(())
}

/// The first of `names` (`/`-separated paths, each already safe: relative, no `..`) that cannot
/// be created under `rules`, with the reason: a component Windows cannot hold, or a path that
/// differs from an earlier one only in case where case is not told apart.
pub fn first_unholdable<'a>(
    names: impl IntoIterator<Item = &'a str>,
    rules: NameRules,
) -> Option<(String, Unportable)> {
    let mut folded: BTreeMap<String, &str> = BTreeMap::new();
    for name in names {
        for component in name.split('/') {
            if let Err(why) = check_component(component, rules) {
                return Some((name.to_string(), why));
            }
        }
        if rules.case_insensitive {
            match folded.get(&name.to_lowercase()) {
                Some(other) if *other != name => {
                    return Some((name.to_string(), Unportable::CaseTwin(other.to_string())));
                }
                Some(_) => {}
                None => {
                    folded.insert(name.to_lowercase(), name);
                }
            }
        }
    }
    None
}

/// `stem` (a file name without its extension, made of characters every OS allows) changed just
/// enough that Windows holds it: `CON` becomes `CON_`.
pub fn holdable_stem(stem: &str) -> String {
    if is_reserved(stem) {
        format!("{stem}_")
    } else {
        stem.to_string()
    }
}

/// A bare drive `D:` (which means the current folder of drive D) as the drive's root `D:\`.
pub fn bare_drive_root(path: &str) -> Option<String> {
    match path.as_bytes() {
        [letter, b':'] if letter.is_ascii_alphabetic() => {
            Some(format!("{}:\\", char::from(*letter).to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// Where the volume of a Windows path begins: `D:\` for `d:\DICOM\IM1` or `D:/x`, the share
/// `\\server\share\` for a UNC path, the same under the `\\?\` and `\\.\` prefixes, and a
/// volume GUID path as it is. `None` for a relative path or one rooted on no named volume.
pub fn volume_root(path: &str) -> Option<String> {
    let path = path.replace('/', "\\");
    if let Some(unc) = path
        .strip_prefix(r"\\?\UNC\")
        .or_else(|| path.strip_prefix(r"\\.\UNC\"))
    {
        return share_root(unc);
    }
    if let Some(rest) = path
        .strip_prefix(r"\\?\")
        .or_else(|| path.strip_prefix(r"\\.\"))
    {
        if let Some(root) = drive_root(rest) {
            return Some(root);
        }
        let volume = rest.split('\\').next().filter(|v| {
            v.len() > 7
                && v.get(..7)
                    .is_some_and(|p| p.eq_ignore_ascii_case("Volume{"))
        })?;
        return Some(format!(r"\\?\{volume}\"));
    }
    if let Some(unc) = path.strip_prefix(r"\\") {
        return share_root(unc);
    }
    drive_root(&path)
}

/// `D:` or `D:\…` → `D:\` (a drive-relative `D:x` too: it names drive D all the same).
fn drive_root(path: &str) -> Option<String> {
    match path.as_bytes() {
        [letter, b':', ..] if letter.is_ascii_alphabetic() => {
            Some(format!("{}:\\", char::from(*letter).to_ascii_uppercase()))
        }
        _ => None,
    }
}

/// `server\share\…` → `\\server\share\`.
fn share_root(unc: &str) -> Option<String> {
    let mut parts = unc.split('\\');
    let (server, share) = (parts.next()?, parts.next()?);
    (!server.is_empty() && !share.is_empty()).then(|| format!(r"\\{server}\{share}\"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drive_letters_unc_shares_and_the_long_path_forms() {
        for (path, root) in [
            (r"D:\DICOM\IM1", Some(r"D:\")),
            (r"d:\", Some(r"D:\")),
            ("D:/DICOM/IM1", Some(r"D:\")),
            ("D:", Some(r"D:\")),
            (r"\\pacs\inbox\2024\study", Some(r"\\pacs\inbox\")),
            ("//pacs/inbox", Some(r"\\pacs\inbox\")),
            (r"\\?\C:\very\long\path", Some(r"C:\")),
            (r"\\?\UNC\pacs\inbox\x", Some(r"\\pacs\inbox\")),
            (r"\\.\E:\x", Some(r"E:\")),
            (
                r"\\?\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\DICOM",
                Some(r"\\?\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\"),
            ),
            (r"\\pacs", None),
            (r"\\pacs\", None),
            (r"\DICOM\IM1", None),
            (r"DICOM\IM1", None),
            ("1:/x", None),
        ] {
            assert_eq!(volume_root(path).as_deref(), root, "{path}");
        }
        assert_eq!(bare_drive_root("e:").as_deref(), Some(r"E:\"));
        for not_bare in [r"E:\", "E:x", "EE:", ":", ""] {
            assert_eq!(bare_drive_root(not_bare), None, "{not_bare}");
        }
    }

    #[test]
    fn reserved_device_names() {
        for name in [
            "CON",
            "con",
            "Aux",
            "NUL",
            "nul.txt",
            "PRN.tar.gz",
            "COM1",
            "com9",
            "LPT0",
            "COM¹",
            "lpt³",
            "CONIN$",
            "conout$",
            "CON .txt",
            "NUL ",
        ] {
            assert!(is_reserved(name), "{name}");
        }
        for name in [
            "CONSOLE", "CON_", "ICON", "COM", "COM10", "LPT", "COMA", "NULL", "AUX2", "I0000001",
            "DICOMDIR", "xCON.txt",
        ] {
            assert!(!is_reserved(name), "{name}");
        }
        assert_eq!(holdable_stem("CON"), "CON_");
        assert_eq!(holdable_stem("COM1"), "COM1_");
        assert_eq!(holdable_stem("DOE_JANE_20240305"), "DOE_JANE_20240305");
    }

    #[test]
    fn what_windows_cannot_hold() {
        let w = NameRules::WINDOWS;
        assert_eq!(check_component("I0000001", w), Ok(()));
        assert_eq!(check_component("INDEX.HTM", w), Ok(()));
        assert_eq!(check_component("Résumé é.pdf", w), Ok(()));
        assert_eq!(
            check_component("aux.dcm", w),
            Err(Unportable::Reserved("aux".into()))
        );
        assert_eq!(
            check_component("notes.", w),
            Err(Unportable::TrailingDotOrSpace)
        );
        assert_eq!(
            check_component("notes ", w),
            Err(Unportable::TrailingDotOrSpace)
        );
        for (name, c) in [("a:b", ':'), ("what?", '?'), ("a*b", '*'), ("tab\tx", '\t')] {
            assert_eq!(check_component(name, w), Err(Unportable::Character(c)));
        }
        assert_eq!(check_component(&"x".repeat(255), w), Ok(()));
        assert_eq!(
            check_component(&"x".repeat(256), w),
            Err(Unportable::TooLong)
        );
        // 255 UTF-16 units, not bytes: 200 two-byte characters fit.
        assert_eq!(check_component(&"é".repeat(200), w), Ok(()));
        for posix in [NameRules::POSIX, NameRules::CASE_INSENSITIVE] {
            for name in ["CON", "notes.", "a:b", "what?"] {
                assert_eq!(check_component(name, posix), Ok(()), "{name}");
            }
        }
    }

    #[test]
    fn whole_packages_are_checked_in_order() {
        let ours = [
            "DICOMDIR",
            "DICOM/P0000001/S0000001/I0000001",
            "IHE_PDI/INDEX.HTM",
        ];
        for rules in [
            NameRules::POSIX,
            NameRules::WINDOWS,
            NameRules::CASE_INSENSITIVE,
        ] {
            assert_eq!(first_unholdable(ours, rules), None);
        }
        let twins = ["DICOM/A/IM1", "DICOM/B/x", "dicom/a/im1"];
        assert_eq!(first_unholdable(twins, NameRules::POSIX), None);
        assert_eq!(
            first_unholdable(twins, NameRules::CASE_INSENSITIVE),
            Some((
                "dicom/a/im1".into(),
                Unportable::CaseTwin("DICOM/A/IM1".into())
            ))
        );
        let device = ["DICOM/IM1", "DICOM/CON/IM2", "DICOM/CON.dcm"];
        assert_eq!(first_unholdable(device, NameRules::CASE_INSENSITIVE), None);
        assert_eq!(
            first_unholdable(device, NameRules::WINDOWS),
            Some(("DICOM/CON/IM2".into(), Unportable::Reserved("CON".into())))
        );
    }
}
