//! dciodvfy (dicom3tools, an independent validator) over the DICOMDIR of a package of every
//! pydicom test file and the sample disc (issue 12): no error of our making. An error about an
//! element that a packed source itself lacks or leaves empty is the source's (we never invent
//! a date, a name or an ID); pydicom, not our scan, says which sources lack what
//! (`util::dciodvfy_dicomdir`; tests/collections.rs runs the same check on every collection).

use crate::util::*;

#[test]
fn dciodvfy_finds_no_error_of_ours_in_the_dicomdir() {
    if !interop(
        "dciodvfy_finds_no_error_of_ours_in_the_dicomdir",
        &[Need::Dicom3tools, Need::Pydicom, Need::PydicomFiles],
    ) {
        return;
    }
    let p = pack(
        "dicomdir-validator",
        &[&pydicom_files(), &sample_disc()],
        &["--allow-multiple-patients", "--no-thumbnails"],
    );
    assert!(matches!(p.run.code, Some(0 | 3)), "{}", p.run.describe());
    let errors = dciodvfy_dicomdir(&p);
    assert!(
        errors.ours.is_empty(),
        "dciodvfy errors no source explains ({} errors, {} inherited):\n{}",
        errors.total,
        errors.inherited,
        errors.ours.join("\n")
    );
}
