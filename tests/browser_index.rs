//! The pages of a package, opened in a real browser: headless Chromium loads INDEX.HTM from the
//! extracted package and every study page it links to; every image must have loaded and
//! decoded, and the pages together must name every study and series the manifest lists.
//! A screenshot of INDEX.HTM is kept in target/test-artifacts/ for people to look at.

use std::path::Path;
use std::process::Command;

use crate::util::*;

/// The page the browser opens: it loads each package page in a frame as tall as the page, so
/// lazy images load as they would when a person scrolls, waits for them, and writes what it
/// found as JSON into the document for --dump-dom.
const HARNESS: &str = r#"<!DOCTYPE html><html><body><pre id="out">pending</pre><script>
function frame(url){return new Promise(function(ok){var f=document.createElement('iframe');
f.style.width='1280px';f.style.height='30000px';f.onload=function(){ok(f)};f.src=url;document.body.appendChild(f);});}
function settle(doc){return new Promise(function(ok){var n=0;(function poll(){var imgs=Array.from(doc.images);
if(imgs.every(function(i){return i.complete})||n++>100){ok(imgs)}else{setTimeout(poll,50)}})();});}
async function page(url){var f=await frame(url);var d=f.contentDocument;var imgs=await settle(d);
return {url:url,text:d.body.innerText,images:imgs.length,
broken:imgs.filter(function(i){return !(i.complete&&i.naturalWidth>0)}).map(function(i){return i.getAttribute('src')}),
links:Array.from(d.querySelectorAll('a')).map(function(a){return a.getAttribute('href')})};}
(async function(){var out=[];var index=await page('pkg/INDEX.HTM');out.push(index);
var studies=index.links.filter(function(h,i,all){return /^IHE_PDI\/.*\.HTM$/.test(h)&&all.indexOf(h)===i});
for(var i=0;i<studies.length;i++){var sp=await page('pkg/'+studies[i]);out.push(sp);
var series=sp.links.filter(function(h,k,all){return /^S\d+\/T\d+\.HTM$/.test(h)&&all.indexOf(h)===k});
for(var j=0;j<series.length;j++){out.push(await page('pkg/IHE_PDI/'+series[j]));}}
document.getElementById('out').textContent='RESULT'+JSON.stringify(out)+'END';})();
</script></body></html>"#;

fn browser_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--allow-file-access-from-files",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}

#[test]
fn index_pages_load_in_a_real_browser() {
    if !interop("index_pages_load_in_a_real_browser", &[Need::Chromium]) {
        return;
    }
    let browser = chromium().expect("chromium");
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("p.zip");
    let disc = sample_disc();
    let st = Command::new(bin())
        .arg("pack")
        .arg(&disc)
        .arg("-o")
        .arg(&zip)
        .args(["--thumbnails", "all"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0), "pack failed");
    let pkg = tmp.path().join("pkg");
    let st = Command::new(bin())
        .arg("extract")
        .arg(&zip)
        .arg(&pkg)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0), "extract failed");
    std::fs::write(tmp.path().join("check.html"), HARNESS).unwrap();

    let out = Command::new(&browser)
        .args(browser_flags(&tmp.path().join("profile")))
        .args([
            "--virtual-time-budget=20000",
            "--window-size=1280,30000",
            "--dump-dom",
        ])
        .arg(format!(
            "file://{}",
            tmp.path().join("check.html").display()
        ))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let json = dom
        .split("RESULT")
        .nth(1)
        .and_then(|s| s.split("END").next())
        .unwrap_or_else(|| {
            panic!(
                "the harness did not finish; browser said:\n{dom}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let json = json
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    let pages: serde_json::Value = serde_json::from_str(&json).unwrap();
    let pages = pages.as_array().unwrap();

    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(pkg.join("MANIFEST.JSN")).unwrap()).unwrap();
    let studies: Vec<&serde_json::Value> = manifest["patients"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["studies"].as_array().unwrap())
        .collect();
    let series_count: usize = studies
        .iter()
        .map(|s| s["series"].as_array().unwrap().len())
        .sum();
    let instance_count = manifest["instances"].as_array().unwrap().len();
    assert_eq!(
        pages.len(),
        1 + studies.len() + series_count,
        "INDEX.HTM must link every study page, and each study page every series page"
    );

    let mut images = 0;
    for p in pages {
        let broken = p["broken"].as_array().unwrap();
        assert!(
            broken.is_empty(),
            "{}: images that did not load: {broken:?}",
            p["url"]
        );
        images += p["images"].as_u64().unwrap();
    }
    assert!(
        images as usize >= series_count + instance_count,
        "a preview per series and per image expected: {images} images for {series_count} series and {instance_count} instances"
    );

    let text: String = pages.iter().map(|p| p["text"].as_str().unwrap()).collect();
    let name = manifest["patients"][0]["names"][0].as_str().unwrap();
    assert!(
        text.contains(name),
        "the patient's name {name} is not shown"
    );
    for st in &studies {
        let d = st["description"].as_str().unwrap();
        assert!(text.contains(d), "study {d:?} is not named on the pages");
        for se in st["series"].as_array().unwrap() {
            let d = se["description"].as_str().unwrap();
            assert!(text.contains(d), "series {d:?} is not named on the pages");
        }
    }

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    let shot = artifacts.join("index.png");
    let _ = std::fs::remove_file(&shot);
    let st = Command::new(&browser)
        .args(browser_flags(&tmp.path().join("profile2")))
        .args(["--window-size=1100,700", "--virtual-time-budget=5000"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", pkg.join("INDEX.HTM").display()))
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&st.stderr)
    );
}
