//! Packages on other media (issue 16): a disc image, an encrypted ZIP, volumes. Each is opened
//! by independent tools (isoinfo, xorriso, 7-Zip, unzip) and the trees they extract pass the
//! same validators a ZIP's does: `sha256sum -c`, dciodvfy, pydicom's FileSet, DCMTK.

use crate::util::*;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fixed time, so that two packs of the same input can be compared byte for byte.
const EPOCH: &str = "1700000000";
const PASSPHRASE: &str = "violet-lemon-harbor-seven";

/// `dicompack ARGS` in `cwd` with `env` set (SOURCE_DATE_EPOCH, the passphrase).
fn dicompack_env(args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Run {
    let start = std::time::Instant::now();
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("DICOMPACK_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run dicompack");
    Run {
        what: format!("dicompack {}", args.join(" ")),
        code: out.status.code(),
        timed_out: false,
        elapsed: start.elapsed(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(run: &Run) {
    assert_eq!(run.code, Some(0), "{}", run.describe());
}

/// Every file under `root` with its bytes.
fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    files_under(root)
        .into_iter()
        .map(|f| {
            let bytes = fs::read(root.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

/// dciodvfy over the DICOMDIR: no error (the sample disc's sources lack nothing it needs).
fn check_with_dciodvfy(tree: &Path) {
    let r = run_tool("dciodvfy", &["DICOMDIR"], tree);
    let text = r.all_text();
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("Error")).collect();
    assert!(
        errors.is_empty(),
        "dciodvfy finds errors in the DICOMDIR:\n{}",
        errors.join("\n")
    );
    assert!(
        text.contains("Directory"),
        "dciodvfy did not read a directory:\n{}",
        r.describe()
    );
}

/// The validators over an extracted tree (DCMTK too when `dcmtk`); returns pydicom's FileSet
/// instances (path → UID).
fn validate_tree(tree: &Path, dcmtk: bool) -> BTreeMap<String, String> {
    check_with_sha256sum(tree);
    check_with_dciodvfy(tree);
    if dcmtk {
        check_with_dcmtk(tree);
    }
    fileset_instances(&check_with_pydicom_fileset(tree))
}

fn pack_to(dir: &Path, out: &str, extra: &[&str], env: &[(&str, &str)]) -> PathBuf {
    let disc = sample_disc();
    let path = dir.join(out);
    let mut args = vec!["pack", disc.to_str().unwrap(), "-o", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push(("SOURCE_DATE_EPOCH", EPOCH));
    let run = dicompack_env(&args, dir, &env);
    ok(&run);
    path
}

#[test]
fn a_disc_image_opens_in_isoinfo_xorriso_and_7z_and_passes_the_validators() {
    if !interop(
        "a_disc_image_opens_in_isoinfo_xorriso_and_7z_and_passes_the_validators",
        &[
            Need::Isoinfo,
            Need::Xorriso,
            Need::SevenZip,
            Need::Sha256sum,
            Need::Dicom3tools,
            Need::Dcmtk,
            Need::Pydicom,
        ],
    ) {
        return;
    }
    let dir = scratch("media-iso");
    let iso = pack_to(&dir, "DISC.ISO", &[], &[]);
    // The same input at the same time gives the same image.
    let again = pack_to(&dir, "AGAIN.ISO", &["--iso"], &[]);
    assert_eq!(fs::read(&iso).unwrap(), fs::read(&again).unwrap());
    assert_eq!(fs::metadata(&iso).unwrap().len() % 2048, 0);

    let info = run_tool("isoinfo", &["-d", "-i", iso.to_str().unwrap()], &dir);
    ok(&info);
    let label = info
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Volume id: "))
        .unwrap_or_else(|| panic!("no volume id:\n{}", info.stdout));
    assert!(label.starts_with("DICOM_"), "{label}");
    assert!(!label.contains("DOE") && !label.contains("JANE"), "{label}");
    assert!(info.stdout.contains("NO Rock Ridge"), "{}", info.stdout);

    let listing = run_tool("isoinfo", &["-f", "-i", iso.to_str().unwrap()], &dir);
    ok(&listing);
    let listed: Vec<&str> = listing.stdout.lines().collect();
    for want in [
        "/DICOMDIR.;1",
        "/README.TXT;1",
        "/INDEX.HTM;1",
        "/SHA256.TXT;1",
        "/MANIFEST.JSN;1",
        "/IHE_PDI",
        "/DICOM",
    ] {
        assert!(
            listed.contains(&want),
            "isoinfo -f lacks {want}: {listed:?}"
        );
    }
    assert!(
        !listed
            .iter()
            .any(|l| l.to_ascii_uppercase().contains("AUTORUN")),
        "{listed:?}"
    );
    let dicomdir = Command::new("isoinfo")
        .args(["-x", "/DICOMDIR.;1", "-i", iso.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(dicomdir.status.success());

    let by_7z = dir.join("by-7z");
    ok(&run_tool(
        "7z",
        &[
            "x",
            "-y",
            &format!("-o{}", by_7z.display()),
            iso.to_str().unwrap(),
        ],
        &dir,
    ));
    let by_xorriso = dir.join("by-xorriso");
    ok(&run_tool(
        "xorriso",
        &[
            "-osirrox",
            "on",
            "-indev",
            iso.to_str().unwrap(),
            "-extract",
            "/",
            by_xorriso.to_str().unwrap(),
        ],
        &dir,
    ));
    let tree = contents(&by_7z);
    assert_eq!(
        tree,
        contents(&by_xorriso),
        "7z and xorriso extract the same"
    );
    assert_eq!(tree.get("DICOMDIR"), Some(&dicomdir.stdout), "isoinfo -x");
    let instances = validate_tree(&by_7z, true);
    assert_eq!(instances.len(), DISC_INSTANCES);

    // dicompack reads the image as the receiver's tools do.
    let verify = dicompack(&["verify", iso.to_str().unwrap(), "--json"], &dir);
    ok(&verify);
    assert_eq!(verify.json()["instances"], DISC_INSTANCES);
    let ours = dir.join("by-dicompack");
    ok(&dicompack(
        &["extract", iso.to_str().unwrap(), ours.to_str().unwrap()],
        &dir,
    ));
    assert_eq!(contents(&ours), tree);

    // A damaged sector is found.
    let mut bytes = fs::read(&iso).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x55;
    let bad = dir.join("BAD.ISO");
    fs::write(&bad, &bytes).unwrap();
    let v = dicompack(&["verify", bad.to_str().unwrap()], &dir);
    assert_eq!(v.code, Some(1), "{}", v.describe());
}

#[test]
fn an_encrypted_package_opens_in_7z_with_its_passphrase_only() {
    if !interop(
        "an_encrypted_package_opens_in_7z_with_its_passphrase_only",
        &[Need::SevenZip, Need::Unzip, Need::Sha256sum],
    ) {
        return;
    }
    let dir = scratch("media-encrypted");
    fs::write(dir.join("pass"), format!("{PASSPHRASE}\n")).unwrap();
    let plain = pack_to(&dir, "PLAIN.ZIP", &[], &[]);
    let sealed = pack_to(
        &dir,
        "SEALED.ZIP",
        &["--encrypt", "--passphrase-file", "pass"],
        &[],
    );

    let test = run_tool("7z", &["t", &format!("-p{PASSPHRASE}"), "SEALED.ZIP"], &dir);
    ok(&test);
    assert!(test.stdout.contains("Everything is Ok"), "{}", test.stdout);
    let slt = run_tool(
        "7z",
        &["l", "-slt", &format!("-p{PASSPHRASE}"), "SEALED.ZIP"],
        &dir,
    );
    assert!(slt.stdout.contains("AES-256"), "{}", slt.stdout);
    let wrong = run_tool("7z", &["t", "-pnot-the-passphrase", "SEALED.ZIP"], &dir);
    assert_ne!(wrong.code, Some(0), "7z accepts a wrong passphrase");

    let from_7z = dir.join("from-7z");
    ok(&run_tool(
        "7z",
        &[
            "x",
            "-y",
            &format!("-p{PASSPHRASE}"),
            &format!("-o{}", from_7z.display()),
            "SEALED.ZIP",
        ],
        &dir,
    ));
    check_with_sha256sum(&from_7z);
    let plain_tree = dir.join("plain");
    extract_zip(&plain, &plain_tree);
    let (a, b) = (contents(&from_7z), contents(&plain_tree));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "same files"
    );
    for (name, bytes) in &a {
        // The manifest records that the package is encrypted, the README says how to open
        // it, and the checksum list has their digests.
        if !["MANIFEST.JSN", "SHA256.TXT", "README.TXT"].contains(&name.as_str()) {
            assert!(
                b.get(name) == Some(bytes),
                "{name} differs from the plain package's"
            );
        }
    }

    let readme = String::from_utf8_lossy(&a["README.TXT"]).into_owned();
    assert!(
        readme.contains("ENCRYPTED") && readme.contains("7-Zip"),
        "{readme}"
    );

    // Without the passphrase nothing of the contents comes out, and none is in the clear.
    let unzip = run_tool("unzip", &["-p", "SEALED.ZIP", "README.TXT"], &dir);
    assert!(
        !unzip.stdout.contains("MEDICAL IMAGES"),
        "{}",
        unzip.describe()
    );
    let raw = fs::read(&sealed).unwrap();
    for secret in [&b"DOE^JANE"[..], b"MEDICAL IMAGES", b"DPK100234"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret),
            "{} in the clear",
            String::from_utf8_lossy(secret)
        );
    }

    let s = sealed.to_str().unwrap();
    let none = dicompack(&["verify", s], &dir);
    assert_eq!(none.code, Some(1), "{}", none.describe());
    assert!(
        none.all_text().contains("passphrase"),
        "{}",
        none.describe()
    );
    fs::write(dir.join("wrong"), "not the passphrase at all\n").unwrap();
    let wrong = dicompack(&["verify", s, "--passphrase-file", "wrong", "--json"], &dir);
    assert_eq!(wrong.code, Some(1), "{}", wrong.describe());
    assert_eq!(wrong.json()["problems"][0]["code"], "wrong_passphrase");
    let wrong = dicompack(&["verify", s, "--passphrase-file", "wrong"], &dir);
    assert!(
        wrong.stdout.contains("wrong passphrase"),
        "{}",
        wrong.describe()
    );
    ok(&dicompack(
        &["verify", s, "--passphrase-file", "pass"],
        &dir,
    ));
    let out = dir.join("by-dicompack");
    ok(&dicompack_env(
        &["extract", s, out.to_str().unwrap()],
        &dir,
        &[("DICOMPACK_PASSPHRASE", PASSPHRASE)],
    ));
    assert_eq!(contents(&out), a);
}

#[test]
fn a_passphrase_is_never_taken_from_the_command_line_and_a_made_one_works() {
    if !interop(
        "a_passphrase_is_never_taken_from_the_command_line_and_a_made_one_works",
        &[Need::SevenZip],
    ) {
        return;
    }
    let dir = scratch("media-passphrase");
    let disc = sample_disc();
    let d = disc.to_str().unwrap();
    let refused = dicompack(
        &["pack", d, "--encrypt", "--passphrase", "hunter2hunter2"],
        &dir,
    );
    assert_eq!(refused.code, Some(2), "{}", refused.describe());
    assert!(files_under(&dir).is_empty(), "something was written");
    // No terminal, no file, no environment: nothing to encrypt with.
    let missing = dicompack(&["pack", d, "--encrypt"], &dir);
    assert_eq!(missing.code, Some(2), "{}", missing.describe());

    let made = dicompack(
        &["pack", d, "--encrypt", "--passphrase", "generate", "--json"],
        &dir,
    );
    ok(&made);
    let doc = made.json();
    let passphrase = doc["passphrase"].as_str().unwrap().to_string();
    assert!(passphrase.split('-').count() >= 6, "{passphrase}");
    // The default name says nothing of the patient.
    let package = doc["package"].as_str().unwrap();
    assert!(package.ends_with("IMAGES.zip"), "{package}");
    ok(&run_tool(
        "7z",
        &["t", &format!("-p{passphrase}"), package],
        &dir,
    ));
}

#[test]
fn volumes_are_each_a_complete_file_set_and_together_hold_every_image_once() {
    if !interop(
        "volumes_are_each_a_complete_file_set_and_together_hold_every_image_once",
        &[
            Need::SevenZip,
            Need::Sha256sum,
            Need::Dicom3tools,
            Need::Pydicom,
        ],
    ) {
        return;
    }
    let dir = scratch("media-volumes");
    let plain = pack_to(&dir, "PLAIN.ZIP", &[], &[]);
    let plain_tree = dir.join("plain");
    extract_zip(&plain, &plain_tree);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(plain_tree.join("MANIFEST.JSN")).unwrap()).unwrap();
    let all: Vec<String> = manifest_instances(&manifest)
        .into_iter()
        .map(|i| i.sop_instance_uid)
        .collect();
    assert_eq!(all.len(), DISC_INSTANCES);

    for (name, size, limit) in [
        ("ZSET.ZIP", "100K", 100_000u64),
        ("ISET.ISO", "200K", 200_000),
    ] {
        pack_to(&dir, name, &["--volume-size", size], &[]);
        let stem = name.split('.').next().unwrap();
        let mut volumes: Vec<PathBuf> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let f = p.file_name().unwrap().to_string_lossy();
                f.starts_with(&format!("{stem}-")) && p.is_file()
            })
            .collect();
        volumes.sort();
        let count = volumes.len();
        assert!(count >= 2, "{name} at {size} was not split: {volumes:?}");
        let mut seen: Vec<String> = Vec::new();
        for (n, v) in volumes.iter().enumerate() {
            let file = v.file_name().unwrap().to_string_lossy().into_owned();
            assert!(file.contains(&format!("-{}-of-{count}.", n + 1)), "{file}");
            assert!(
                fs::metadata(v).unwrap().len() <= limit,
                "{file} exceeds {size}"
            );
            let tree = dir.join(format!("{file}.d"));
            ok(&run_tool(
                "7z",
                &[
                    "x",
                    "-y",
                    &format!("-o{}", tree.display()),
                    v.to_str().unwrap(),
                ],
                &dir,
            ));
            let instances = validate_tree(&tree, false);
            assert!(!instances.is_empty(), "{file} holds no image");
            seen.extend(instances.into_values());
            let readme = fs::read_to_string(tree.join("README.TXT")).unwrap();
            assert!(
                readme.contains(&format!("VOLUME {} OF {count}", n + 1)),
                "{readme}"
            );
            let index = fs::read_to_string(tree.join("INDEX.HTM")).unwrap();
            assert!(
                index.contains(&format!("This is volume {} of {count}", n + 1)),
                "{index}"
            );
            let one = dicompack(&["verify", v.to_str().unwrap(), "--json"], &dir);
            ok(&one);
            let doc = one.json();
            assert_eq!(doc["volume"]["number"], n + 1);
            assert_eq!(doc["volume"]["count"], count);
        }
        // Every image of the input exactly once.
        seen.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(seen, want, "{name}: the volumes together");

        let paths: Vec<&str> = volumes.iter().map(|p| p.to_str().unwrap()).collect();
        let mut args = vec!["verify"];
        args.extend(&paths);
        let set = dicompack(&args, &dir);
        ok(&set);
        assert!(set.stdout.contains("SET COMPLETE"), "{}", set.describe());
        let mut args = vec!["verify", "--json"];
        args.extend(&paths[1..]);
        let short = dicompack(&args, &dir);
        assert_eq!(short.code, Some(1), "{}", short.describe());
        assert_eq!(short.json()["problems"][0]["code"], "volume_missing");
    }
}
