//! The copy into the package (issue 6): large files are streamed (not held in memory), small
//! ones prepared on worker threads; deflate is used where it pays and skipped where it does
//! not; a headerless source gets its Part 10 header on either path. Every entry must still be
//! the source's bytes, with the checksum of what is in the package. Files are built here,
//! byte by byte, so the test needs only the binary.

use crate::util::*;
use std::fs;
use std::io::Read;
use std::path::Path;

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const SECONDARY_CAPTURE: &str = "1.2.840.10008.5.1.4.1.1.7";

fn explicit(tag: (u16, u16), vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"UN" | b"SQ" | b"UT") {
        v.extend_from_slice(&[0, 0]);
        v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    v.extend_from_slice(value);
    v
}

fn implicit(tag: (u16, u16), value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&tag.0.to_le_bytes());
    v.extend_from_slice(&tag.1.to_le_bytes());
    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// Pads a text value to even length, as DICOM wants.
fn text(s: &str, pad: u8) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(pad);
    }
    v
}

/// Deterministic pixels: `noise` = 0 gives smooth ramps (deflate well), 16 gives random
/// 16-bit values (deflate cannot shrink them).
fn pixels(len: usize, noise: u32, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let ramp = (v.len() / 2 % 512) as u32;
        let value = if noise == 0 { ramp } else { x & 0xFFFF };
        v.extend_from_slice(&(value as u16).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// One 512×512 16-bit image series, `frames` frames, as (tag, VR, value) in tag order.
fn dataset(
    sop: &str,
    series: &str,
    number: i32,
    frames: u32,
    pixel_data: &[u8],
) -> Vec<(u16, u16, [u8; 2], Vec<u8>)> {
    let us = |n: u16| n.to_le_bytes().to_vec();
    vec![
        (0x0008, 0x0016, *b"UI", text(SECONDARY_CAPTURE, 0)),
        (0x0008, 0x0018, *b"UI", text(sop, 0)),
        (0x0008, 0x0060, *b"CS", text("OT", b' ')),
        (0x0010, 0x0010, *b"PN", text("COPY^TEST", b' ')),
        (0x0010, 0x0020, *b"LO", text("COPY-1", b' ')),
        (
            0x0020,
            0x000D,
            *b"UI",
            text("1.2.826.0.1.3680043.10.999.1", 0),
        ),
        (0x0020, 0x000E, *b"UI", text(series, 0)),
        (0x0020, 0x0013, *b"IS", text(&number.to_string(), b' ')),
        (0x0028, 0x0002, *b"US", us(1)),
        (0x0028, 0x0004, *b"CS", text("MONOCHROME2", b' ')),
        (0x0028, 0x0008, *b"IS", text(&frames.to_string(), b' ')),
        (0x0028, 0x0010, *b"US", us(512)),
        (0x0028, 0x0011, *b"US", us(512)),
        (0x0028, 0x0100, *b"US", us(16)),
        (0x0028, 0x0101, *b"US", us(16)),
        (0x0028, 0x0102, *b"US", us(15)),
        (0x0028, 0x0103, *b"US", us(0)),
        (0x7FE0, 0x0010, *b"OW", pixel_data.to_vec()),
    ]
}

fn part10(sop: &str, elements: &[(u16, u16, [u8; 2], Vec<u8>)]) -> Vec<u8> {
    let mut meta = explicit((2, 1), b"OB", &[0, 1]);
    meta.extend(explicit((2, 2), b"UI", &text(SECONDARY_CAPTURE, 0)));
    meta.extend(explicit((2, 3), b"UI", &text(sop, 0)));
    meta.extend(explicit((2, 0x10), b"UI", &text(EXPLICIT_LE, 0)));
    meta.extend(explicit(
        (2, 0x12),
        b"UI",
        &text("1.2.826.0.1.3680043.10.999", 0),
    ));
    let mut f = vec![0u8; 128];
    f.extend_from_slice(b"DICM");
    f.extend(explicit((2, 0), b"UL", &(meta.len() as u32).to_le_bytes()));
    f.extend(meta);
    for (g, e, vr, value) in elements {
        f.extend(explicit((*g, *e), vr, value));
    }
    f
}

/// The same dataset without preamble or meta, in implicit VR (as old discs hold them).
fn headerless(elements: &[(u16, u16, [u8; 2], Vec<u8>)]) -> Vec<u8> {
    elements
        .iter()
        .flat_map(|(g, e, _, value)| implicit((*g, *e), value))
        .collect()
}

struct Source {
    file: &'static str,
    bytes: Vec<u8>,
}

fn sources() -> Vec<Source> {
    const FRAME: usize = 512 * 512 * 2;
    let big = |sop: &str, n: i32, noise: u32| {
        let px = pixels(FRAME * 40, noise, n as u32);
        dataset(sop, "1.2.826.0.1.3680043.10.999.1.1", n, 40, &px)
    };
    let small = |sop: &str, n: i32, noise: u32| {
        let px = pixels(FRAME, noise, n as u32);
        dataset(sop, "1.2.826.0.1.3680043.10.999.1.2", n, 1, &px)
    };
    vec![
        // ~21 MB each: above the in-memory limit, so streamed.
        Source {
            file: "BIG_P10",
            bytes: part10(
                "1.2.826.0.1.3680043.10.999.2.1",
                &big("1.2.826.0.1.3680043.10.999.2.1", 1, 0),
            ),
        },
        Source {
            file: "BIG_RAW",
            bytes: headerless(&big("1.2.826.0.1.3680043.10.999.2.2", 2, 16)),
        },
        // Small: prepared on workers.
        Source {
            file: "SMOOTH",
            bytes: part10(
                "1.2.826.0.1.3680043.10.999.3.1",
                &small("1.2.826.0.1.3680043.10.999.3.1", 1, 0),
            ),
        },
        Source {
            file: "NOISE",
            bytes: part10(
                "1.2.826.0.1.3680043.10.999.3.2",
                &small("1.2.826.0.1.3680043.10.999.3.2", 2, 16),
            ),
        },
        Source {
            file: "NOISE_RAW",
            bytes: headerless(&small("1.2.826.0.1.3680043.10.999.3.3", 3, 16)),
        },
    ]
}

fn write_sources(dir: &Path) -> Vec<Source> {
    fs::create_dir_all(dir).unwrap();
    let all = sources();
    for s in &all {
        fs::write(dir.join(s.file), &s.bytes).unwrap();
    }
    all
}

/// (name, method, bytes) of every entry.
fn zip_entries(zip: &Path) -> Vec<(String, zip::CompressionMethod, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(fs::File::open(zip).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut e = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.name().unwrap().into_owned(), e.compression(), data)
        })
        .collect()
}

#[test]
fn streamed_and_prepared_entries_hold_the_source_bytes_and_deflate_only_where_it_pays() {
    let dir = scratch("cli_pack_copy");
    let input = dir.join("input");
    let sources = write_sources(&input);
    let p = pack("cli_pack_copy_pack", &[&input], &["--no-thumbnails"]);
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    check_package_self_consistent(&p);

    let entries = zip_entries(&p.zip);
    let instances = manifest_instances(&p.manifest);
    assert_eq!(instances.len(), sources.len(), "{}", p.run.describe());
    for s in &sources {
        let inst = instances
            .iter()
            .find(|i| i.source_path.ends_with(s.file))
            .unwrap_or_else(|| panic!("{} not in the manifest", s.file));
        let (_, method, data) = entries
            .iter()
            .find(|(n, _, _)| *n == inst.path)
            .unwrap_or_else(|| panic!("{} not in the ZIP", inst.path));
        assert_eq!(
            sha256_hex(data),
            inst.sha256,
            "{}: entry vs manifest",
            s.file
        );
        if s.file.ends_with("RAW") {
            // A new Part 10 header, then the very same dataset bytes.
            assert!(data.len() > s.bytes.len() + 132, "{}", s.file);
            assert_eq!(&data[128..132], b"DICM", "{}", s.file);
            assert!(
                data.ends_with(&s.bytes),
                "{}: dataset bytes changed",
                s.file
            );
        } else {
            assert!(data == &s.bytes, "{}: not byte for byte", s.file);
        }
        // Random 16-bit pixels do not deflate: a small entry is stored. Smooth ones deflate.
        // Streamed entries are deflated as they pass (no second try).
        let want = match s.file {
            "NOISE" | "NOISE_RAW" => zip::CompressionMethod::Stored,
            _ => zip::CompressionMethod::Deflated,
        };
        assert_eq!(*method, want, "{}: compression method", s.file);
    }

    let verify = dicompack(&["verify", &p.zip.display().to_string()], &dir);
    assert_eq!(verify.code, Some(0), "{}", verify.describe());
}

#[test]
fn compression_none_stores_everything() {
    let dir = scratch("cli_pack_copy_none");
    let input = dir.join("input");
    write_sources(&input);
    let p = pack(
        "cli_pack_copy_none_pack",
        &[&input],
        &["--no-thumbnails", "--compression", "none"],
    );
    assert_eq!(p.run.code, Some(0), "{}", p.run.describe());
    for (name, method, _) in zip_entries(&p.zip) {
        assert_eq!(method, zip::CompressionMethod::Stored, "{name}");
    }
    check_package_self_consistent(&p);
}
