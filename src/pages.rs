//! The pages a person opens first: `INDEX.HTM` at the root and one page per study under
//! `IHE_PDI/`, as IHE PDI asks — plain XHTML and JPEG, no script, nothing fetched from the
//! network, so they open from a CD or an extracted folder in any browser. Images load lazily
//! and pages link rather than embed, so a large study stays quick to open.

use crate::catalog::{self, Catalog};
use crate::package::names::{self, CHECKSUMS, DICOMDIR, INDEX, MANIFEST, README};
use crate::report;
use std::collections::HashMap;
use std::fmt::Write as _;

/// What the render stage made for one series. A series the render stage drew nothing for has
/// none (every series has one when previews are drawn at all).
#[derive(Debug, Clone)]
pub struct SeriesVisual {
    /// Package path of the thumbnail (a real image or a labelled placeholder).
    pub thumbnail: String,
    /// Why the thumbnail is a placeholder, when it is one.
    pub note: Option<String>,
    /// Package paths of documents carried by the series (encapsulated PDF reports).
    pub documents: Vec<String>,
    /// With `--thumbnails all`: a preview of every instance, in order.
    pub images: Vec<String>,
}

/// Everything the pages show besides the catalog.
pub struct PageContext<'a> {
    pub catalog: &'a Catalog,
    /// Keyed by Series Instance UID.
    pub visuals: &'a HashMap<String, SeriesVisual>,
    pub identities: &'a [String],
    pub left_out: &'a [String],
    pub skipped: usize,
    pub created: &'a str,
    /// When this package is one volume of a set: which one, and what every other volume
    /// holds, in plain words.
    pub volumes: &'a [String],
}

/// Escapes text for XHTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:1.5em;color:#111;background:#fff}\
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}\
.warn{color:#8a3b00;font-weight:bold}.note{color:#555}\
.tiles{display:flex;flex-wrap:wrap;gap:1em}.tile{width:270px}.tile img{display:block;background:#000}";

fn head(title: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\n\
<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\" xml:lang=\"en\">\n<head>\n\
<meta http-equiv=\"Content-Type\" content=\"text/html; charset=UTF-8\" />\n\
<title>{}</title>\n<style type=\"text/css\">{STYLE}</style>\n</head>\n<body>\n",
        esc(title)
    )
}

fn patient_block(out: &mut String, ctx: &PageContext<'_>) {
    for p in &ctx.catalog.patients {
        let _ = writeln!(
            out,
            "<p><strong>Patient:</strong> {} &#160; <strong>ID:</strong> {} &#160; <strong>Born:</strong> {} &#160; <strong>Sex:</strong> {}</p>",
            esc(p.name()),
            esc(&catalog::display_id(&p.key)),
            esc(&report::date(p.birth_date())),
            esc(if p.sex.is_empty() { "-" } else { &p.sex })
        );
        if p.names.len() > 1 {
            let _ = writeln!(
                out,
                "<p class=\"warn\">Also written as: {}</p>",
                esc(&p.names.get(1..).unwrap_or_default().join(" / "))
            );
        }
    }
    if ctx.identities.len() > 1 {
        let _ = writeln!(
            out,
            "<p class=\"warn\">This package holds images of {} patient identities, packed together on purpose:</p><ul>",
            ctx.identities.len()
        );
        for i in ctx.identities {
            let _ = writeln!(out, "<li>{}</li>", esc(i));
        }
        out.push_str("</ul>\n");
    }
}

/// Every page of the package: `(package path, XHTML)`.
pub fn render_pages(ctx: &PageContext<'_>) -> Vec<(String, String)> {
    let mut pages = vec![(INDEX.to_string(), index_page(ctx))];
    for (i, (_, study)) in ctx.catalog.studies().enumerate() {
        pages.push((names::study_page(i), study_page(ctx, i, study)));
        for (n, se) in study.series.iter().enumerate() {
            if let Some(v) = ctx.visuals.get(&se.uid).filter(|v| !v.images.is_empty()) {
                pages.push((names::series_page(i, n), series_page(i, n, study, se, v)));
            }
        }
    }
    pages
}

fn series_page(
    i: usize,
    n: usize,
    st: &catalog::Study,
    se: &catalog::Series,
    v: &SeriesVisual,
) -> String {
    let title = format!("Study {} - series {}: {}", i + 1, n + 1, se.description);
    let mut out = head(&title);
    let _ = writeln!(
        out,
        "<p><a href=\"../{}\">&#8592; Study {}: {}</a></p>\n<h1>{}</h1>\n<div class=\"tiles\">",
        esc(names::relative_to_pages(&names::study_page(i))),
        i + 1,
        esc(&st.description),
        esc(&title)
    );
    for (k, (img, inst)) in v.images.iter().zip(&se.instances).enumerate() {
        let folder = format!("{}/", names::study_folder(i));
        let rel = img.strip_prefix(&folder).unwrap_or(img);
        let _ = writeln!(
            out,
            "<div class=\"tile\"><img src=\"{}\" alt=\"image {}\" width=\"256\" loading=\"lazy\" /><p>Image {}</p></div>",
            esc(rel),
            k + 1,
            inst.object
                .attrs
                .instance_number
                .map_or((k + 1).to_string(), |x| x.to_string())
        );
    }
    out.push_str("</div>\n</body>\n</html>\n");
    out
}

fn index_page(ctx: &PageContext<'_>) -> String {
    let mut out = head("Medical images");
    out.push_str("<h1>Medical images</h1>\n");
    patient_block(&mut out, ctx);
    out.push_str(&format!(
        "<p class=\"note\">To view the images in full quality, open the file <code>{DICOMDIR}</code> \
         with a DICOM viewer. The small pictures below are previews only.</p>\n",
    ));
    out.push_str("<table>\n<tr><th>Study</th><th>Date</th><th>Modality</th><th>Description</th><th>Accession</th><th>Series</th><th>Images</th><th>Preview</th></tr>\n");
    for (i, (_, st)) in ctx.catalog.studies().enumerate() {
        let first_thumb = st
            .series
            .iter()
            .find_map(|se| ctx.visuals.get(&se.uid).map(|v| &v.thumbnail));
        let preview = first_thumb
            .map(|t| {
                format!(
                    "<a href=\"{}\"><img src=\"{}\" alt=\"preview of study {}\" height=\"64\" loading=\"lazy\" /></a>",
                    esc(&names::study_page(i)),
                    esc(t),
                    i + 1
                )
            })
            .unwrap_or_default();
        let incomplete = st.series.iter().any(catalog::Series::is_incomplete);
        let _ = writeln!(
            out,
            "<tr><td><a href=\"{}\">Study {}</a></td><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&names::study_page(i)),
            i + 1,
            esc(&report::date(&st.date)),
            esc(&st.modalities().join("/")),
            esc(&st.description),
            if incomplete {
                " <span class=\"warn\">(incomplete at the source)</span>"
            } else {
                ""
            },
            esc(&st.accession_number),
            st.series.len(),
            st.instance_count(),
            preview
        );
    }
    out.push_str("</table>\n");
    if let Some((this, others)) = ctx.volumes.split_first() {
        let _ = writeln!(out, "<h2>The other volumes</h2>\n<p>{}</p><ul>", esc(this));
        for l in others {
            let _ = writeln!(out, "<li>{}</li>", esc(l));
        }
        out.push_str("</ul>\n");
    }
    if !ctx.left_out.is_empty() {
        let _ = writeln!(
            out,
            "<h2>Not included on purpose</h2>\n<p class=\"note\">The sender selected part of the disc; these were left out:</p><ul>"
        );
        for l in ctx.left_out {
            let _ = writeln!(out, "<li>{}</li>", esc(l));
        }
        out.push_str("</ul>\n");
    }
    if ctx.skipped > 0 {
        let _ = writeln!(
            out,
            "<p class=\"warn\">{} file(s) of the source could not be read and are not included; {MANIFEST} lists each with the reason.</p>",
            ctx.skipped
        );
    }
    let _ = writeln!(
        out,
        "<h2>Checking this package</h2>\n<p>Every file is listed with its SHA-256 checksum in <code>{CHECKSUMS}</code>. \
Check it with <code>dicompack verify</code>, or in the extracted folder with <code>sha256sum -c {CHECKSUMS}</code>. \
See <code>{README}</code>.</p>\n<p class=\"note\">Made {}.</p>\n</body>\n</html>",
        esc(ctx.created)
    );
    out
}

fn study_page(ctx: &PageContext<'_>, i: usize, st: &catalog::Study) -> String {
    let title = format!("Study {} - {}", i + 1, st.description);
    let mut out = head(&title);
    let _ = writeln!(
        out,
        "<p><a href=\"../{INDEX}\">&#8592; All studies</a></p>\n<h1>{}</h1>",
        esc(&title)
    );
    patient_block(&mut out, ctx);
    let _ = writeln!(
        out,
        "<p><strong>Date:</strong> {} &#160; <strong>Modality:</strong> {} &#160; <strong>Accession:</strong> {} &#160; <strong>Study ID:</strong> {}</p>",
        esc(&report::date(&st.date)),
        esc(&st.modalities().join("/")),
        esc(&st.accession_number),
        esc(&st.study_id)
    );
    out.push_str("<div class=\"tiles\">\n");
    for (n, se) in st.series.iter().enumerate() {
        let visual = ctx.visuals.get(&se.uid);
        out.push_str("<div class=\"tile\">\n");
        if let Some(v) = visual {
            let rel = names::relative_to_pages(&v.thumbnail);
            let _ = writeln!(
                out,
                "<img src=\"{}\" alt=\"series {}: {}\" width=\"256\" loading=\"lazy\" />",
                esc(rel),
                n + 1,
                esc(&se.description)
            );
        }
        let _ = writeln!(
            out,
            "<p><strong>Series {}</strong> {} {}<br />{} image(s){}{}</p>",
            se.number.map_or(String::new(), |x| format!("#{x}")),
            esc(&se.modality),
            esc(&se.description),
            se.instances.len(),
            if se.body_part.is_empty() {
                String::new()
            } else {
                format!(", body part {}", esc(&se.body_part))
            },
            if se.frame_count() > se.instances.len() as u64 {
                format!(", {} frames", se.frame_count())
            } else {
                String::new()
            }
        );
        if let Some(note) = visual.and_then(|v| v.note.as_ref()) {
            let _ = writeln!(out, "<p class=\"note\">No preview: {}</p>", esc(note));
        }
        if se.missing_from_source > 0 {
            let _ = writeln!(
                out,
                "<p class=\"warn\">Incomplete at the source: {} image(s) listed on the original disc were missing or unreadable.</p>",
                se.missing_from_source
            );
        }
        if !se.missing_instance_numbers.is_empty() {
            let _ = writeln!(
                out,
                "<p class=\"warn\">Incomplete at the source: image numbers {} are missing.</p>",
                esc(&se
                    .missing_instance_numbers
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
        if let Some(v) = visual.filter(|v| !v.images.is_empty()) {
            let _ = writeln!(
                out,
                "<p><a href=\"{}\">All {} images</a></p>",
                esc(names::relative_to_pages(&names::series_page(i, n))),
                v.images.len()
            );
        }
        for d in visual.map_or(&[][..], |v| &v.documents) {
            let rel = names::relative_to_pages(d);
            let _ = writeln!(
                out,
                "<p><a href=\"{}\">Open the report (PDF)</a></p>",
                esc(rel)
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n</body>\n</html>\n");
    out
}
