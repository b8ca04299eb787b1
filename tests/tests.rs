//! Every integration test in one binary, as ripgrep and fd do: one link instead of eighteen,
//! and one helper module (`util`). Each module is one former test file; `cargo test NAME`
//! still picks a module or a test by name. Tests run in parallel threads of one process, so a
//! test must not change the process (its current directory, environment or signal handlers):
//! it runs the binary, or other programs, as child processes.

mod util;

mod browser_index;
mod charset_names;
mod cli_pack;
mod cli_pack_copy;
mod cli_scan;
mod cli_select;
mod cli_verify;
mod collections;
mod dicomdir_interop;
mod dicomdir_validator;
mod faults;
mod hostile_fuzz_regressions;
mod hostile_packages;
mod hostile_scan;
mod interop_disc;
mod interop_pydicom;
mod manifest_visuals;
mod media;
mod no_single_file_sinks;
#[cfg(unix)]
mod non_utf8;
mod render_collections;
mod render_compare;
mod render_series;
mod render_smoke;
mod render_timing;
mod scale_memory;
mod send_orthanc;
mod ui_browser;
mod vendor_layouts;
