//! Hot stages of dicompack, one at a time: header parse, SHA-256, DICOMDIR writing.
//!
//! `cargo bench --bench stages` (add `-- --quick` for a fast look). The machine is shared and
//! noisy: compare numbers from one run, never across runs. Thumbnail benches come with `render`.
//!
//! Header parse needs the pydicom sample files (`tools/fetch-test-files`); without them those
//! benches are skipped with a message.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dicompack::checksum::Digest;
use dicompack::dicomdir::{self, DirInstance, DirPatient, DirSeries, DirStudy, FileSet};
use dicompack::layout::FileId;
use dicompack::scan::{self, Content};
use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/.cache/pydicom/test_files");

/// `scan_bytes` on real files: the whole scan of one object (detect, the byte layer's walk, header parse
/// by dicom-object up to Pixel Data, attributes) plus SHA-256 of every byte, as `scan` does.
fn header_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("scan_bytes");
    for (label, file) in [
        ("ct_explicit_128x128", "CT_small.dcm"),
        ("mr_explicit_64x64", "MR_small.dcm"),
        ("mr_implicit_64x64", "MR_small_implicit.dcm"),
        ("ct_j2k_512x512", "J2K_pixelrep_mismatch.dcm"),
        ("nm_j2k_1024x256", "JPEG2000.dcm"),
        ("us_jpeg_30_frames", "examples_ybr_color.dcm"),
    ] {
        let path = Path::new(SAMPLES).join(file);
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!(
                "skipping scan_bytes/{label}: {} missing (run tools/fetch-test-files)",
                path.display()
            );
            continue;
        };
        assert!(
            matches!(scan::scan_bytes(&bytes), Ok(Content::Object(_))),
            "{file} no longer scans as an object"
        );
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_with_input(BenchmarkId::from_parameter(label), &bytes, |b, bytes| {
            b.iter(|| scan::scan_bytes(black_box(bytes)).map(|_| ()).ok())
        });
    }
    g.finish();
}

/// SHA-256 throughput of the sha2 crate as we call it. Compare with `openssl speed -evp sha256`
/// (OpenSSL uses AVX2/SHA-NI code paths; sha2 uses SHA-NI when the CPU has `sha_ni`, else its
/// portable code: see benches/README.md).
fn sha256(c: &mut Criterion) {
    let mut g = c.benchmark_group("sha256");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    for mib in [1usize, 64] {
        let data: Vec<u8> = (0..mib << 20)
            .map(|i| (i as u32).wrapping_mul(2654435761) as u8)
            .collect();
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(
            BenchmarkId::new("digest_of", format!("{mib}MiB")),
            &data,
            |b, d| b.iter(|| Digest::of(black_box(d))),
        );
    }
    g.finish();
}

/// A file-set shaped like a large disc: 1 patient, 4 studies, 10 series, 10,000 instances.
fn file_set(instances: usize) -> FileSet {
    let studies = 4;
    let series_per_study = [3, 3, 2, 2];
    let total_series: usize = series_per_study.iter().sum();
    let mut n = 0usize;
    let mut patient = DirPatient {
        patient_id: "BENCH0001".into(),
        patient_name: "BENCH^PATIENT^ONE".into(),
        birth_date: "19570312".into(),
        sex: "F".into(),
        source_text: None,
        studies: Vec::new(),
    };
    let mut series_index = 0;
    for (st, &series_count) in series_per_study.iter().enumerate().take(studies) {
        let mut study = DirStudy {
            study_instance_uid: format!("2.25.1000{st}"),
            study_date: "20240305".into(),
            study_time: "093000".into(),
            study_description: "CT CHEST ABDOMEN PELVIS W CONTRAST".into(),
            study_id: format!("{st}"),
            accession_number: format!("ACC{st:04}"),
            source_text: None,
            series: Vec::new(),
        };
        for se in 0..series_count {
            let count =
                instances / total_series + usize::from(series_index < instances % total_series);
            series_index += 1;
            let mut series = DirSeries {
                series_instance_uid: format!("2.25.1000{st}.{se}"),
                modality: "CT".into(),
                series_number: Some(se as i32 + 1),
                series_description: "AXIAL 1.0 SOFT TISSUE".into(),
                source_text: None,
                instances: Vec::with_capacity(count),
            };
            for i in 0..count {
                n += 1;
                series.instances.push(DirInstance {
                    file_id: FileId::new([
                        "DICOM".into(),
                        "P0000001".into(),
                        format!("S{:07}", st + 1),
                        format!("S{:07}", se + 1),
                        format!("I{:07}", i + 1),
                    ])
                    .expect("a valid file ID"),
                    sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
                    sop_instance_uid: format!("2.25.318772367925471937512741093758196{n:05}"),
                    transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
                    instance_number: Some(i as i32 + 1),
                    document: None,
                });
            }
            study.series.push(series);
        }
        patient.studies.push(study);
    }
    assert_eq!(n, instances);
    FileSet {
        file_set_id: "DICOMPACK".into(),
        patients: vec![patient],
    }
}

fn dicomdir_write(c: &mut Criterion) {
    let mut g = c.benchmark_group("dicomdir_write");
    g.sample_size(20);
    for n in [1_000usize, 10_000] {
        let fs = file_set(n);
        let size = dicomdir::write(&fs).expect("valid file-set").len();
        eprintln!("dicomdir_write/{n}: {size} bytes of DICOMDIR");
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("instances", n), &fs, |b, fs| {
            b.iter(|| dicomdir::write(black_box(fs)).map(|v| v.len()).ok())
        });
    }
    g.finish();
}

criterion_group!(benches, header_parse, sha256, dicomdir_write);
criterion_main!(benches);
