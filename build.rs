//! Embeds `templates/` into the binary so a render never reads template files at run time.
//!
//! Writes `$OUT_DIR/templates.rs`: a sorted table of (file name, source). The renderer compiles a
//! template the first time a render asks for it, so a process pays only for the templates its
//! values need.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("templates/ is readable")
        .map(|entry| entry.expect("templates/ is readable").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut table = String::from("&[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().expect("a file").to_string_lossy();
        writeln!(table, "    ({name:?}, include_str!({:?})),", path.display()).expect("a String");
    }
    table.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    fs::write(out, table).expect("OUT_DIR is writable");
}
