//! `FileType` is what Python's `mimetypes.guess_type` gives on this machine,
//! for every extension Python knows here (its built-in table and the system
//! `mime.types` files) and for compound, case and odd names.
//!
//! Needs a Python 3: `MS_UTILS_PYTHON` when set, else `python3` on `PATH`
//! (only the standard library is used). It fails, rather than passes, when
//! neither can be run.

use std::io::Write;
use std::process::{Command, Stdio};

use ms_utils_communication::s3::metadata::{OCTET_STREAM, guess_content_type};

/// Names Python is asked about on top of those it builds from its tables.
const EXTRA_NAMES: &[&str] = &[
    "A.TXT",
    "report.PDF",
    "x.tar.gz",
    "x.TAR.GZ",
    "x.tar.Z",
    "x.tar.z",
    "x.tgz",
    "x.TGZ",
    "x.tbz2",
    "x.txz",
    "x.svgz",
    "x.tar.gz.gz",
    "x.gz.tar",
    "x.pcf.Z",
    "noext",
    ".hidden",
    "..hidden",
    ".hidden.txt",
    "..a.txt",
    "x.",
    "x..",
    "",
    ".",
    "..",
    "/",
    "dir.d/noext",
    "dir.txt/",
    "/abs/path/report.docx",
    "a/b.c/d.json",
    "c:\\dir\\x.txt",
    "scheme:x.docx",
    "a/b:x.json",
    "data:2024.csv",
    "data:image/png;base64,AAA",
    "DATA:a=b/c,x",
    "data:text,x",
    "café.txt",
    "naïve.MD",
    "résumé.DOCX",
    "x.İ",
    "file.txt ",
    "x .txt",
    "x.docx",
    "x.xlsx",
    "x.md",
    "x.webp",
    "x.epub",
    "x.7z",
    "x.npy",
];

fn python() -> String {
    std::env::var("MS_UTILS_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

#[test]
fn file_type_matches_python_mimetypes_for_every_known_extension() {
    let py = python();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/guess_types.py");
    let mut child = Command::new(&py)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "this test needs a Python 3 to compare with: could not run `{py}` ({e}); \
                 install python3 or set MS_UTILS_PYTHON to one"
            )
        });
    let input = serde_json::to_vec(EXTRA_NAMES).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "`{py} {script}` failed: {}",
        out.status
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = report["python"].as_str().unwrap();
    let results = report["results"].as_array().unwrap();

    let mut differences = Vec::new();
    for pair in results {
        let name = pair[0].as_str().unwrap();
        let python = pair[1].as_str().unwrap_or(OCTET_STREAM);
        let rust = guess_content_type(name);
        if rust != python {
            differences.push(format!("{name:?}: Python {python}, Rust {rust}"));
        }
    }
    println!(
        "Python {version}, system files {}: {} extensions, {} names compared, {} differences",
        report["files"],
        report["extensions"],
        results.len(),
        differences.len()
    );
    assert!(
        report["extensions"].as_u64().unwrap() >= 149,
        "Python knows fewer extensions than its built-in table: {report}"
    );
    assert!(
        differences.is_empty(),
        "{} of {} names get another FileType than from Python {version} \
         (the built-in table was generated from CPython 3.11.7; regenerate it with \
         communication_utils/tests/python/gen_mime_table.py if this Python differs):\n{}",
        differences.len(),
        results.len(),
        differences.join("\n")
    );
}
