//! dicom-object 0.10 read up to Pixel Data, directly: finds bugs in the crate underneath
//! (for example lengths trusted before allocating) so they can be reported upstream and
//! worked around in `dicompack::scan`. Expect findings here that `scan_bytes` must not have.
#![no_main]
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use dicom_object::file::ReadPreamble;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Auto)
        .read_until(tags::PIXEL_DATA)
        .from_reader(data);
});
