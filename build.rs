//! Build-time work that does not depend on a run's input.
//!
//! Writes `$OUT_DIR/templates.rs`: every `templates/*.json` parsed by minijinja's parser, read
//! as one JSON document and lowered to a static tree (`src/render/template.rs`), sorted by file
//! name, so a render neither reads nor compiles a template at run time.
//!
//! Writes `$OUT_DIR/defaults_tree.rs`: `values/defaults.yaml` parsed by the crate's own values
//! reader (the two modules below, shared with the library), as a table the binary unpacks
//! without parsing (`src/yaml/packed.rs`). A lib test checks it against a run-time parse.
//!
//! Lays out a release binary's code: `build/symbol-order.txt` (written by
//! `scripts/symbol-order.py`) lists the functions the commands run, in the order they first run
//! them, and the linker places them first and together, so a run touches few code pages.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::{env, fs};

#[allow(dead_code)]
#[path = "src/yaml/tree.rs"]
mod tree;

#[allow(dead_code)]
#[path = "src/yaml/packed.rs"]
mod packed;

#[path = "build/templates.rs"]
mod template;

fn main() {
    templates();
    defaults_tree();
    code_layout();
}

/// The order only applies where rustc links with its own lld (the default for this target since
/// Rust 1.90); other linkers do not take the flag. Names missing from the list (after a code
/// change, or another compiler) only leave their functions where the linker puts them anyway.
fn code_layout() {
    let order = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"))
        .join("build/symbol-order.txt");
    println!("cargo:rerun-if-changed={}", order.display());
    println!("cargo:rerun-if-env-changed=CNPGTP_LINK_MAP");
    let release = env::var("PROFILE").is_ok_and(|profile| profile == "release");
    let lld = env::var("TARGET").is_ok_and(|target| target == "x86_64-unknown-linux-gnu");
    if release && lld && order.is_file() {
        let order = order.display();
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={order}");
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
    // A position-dependent executable: the loader has none of the 25,000 relocations of a PIE to
    // apply at every start, a sixth of a render's time (BENCHMARKS.md, round 7). The image loses
    // ASLR, as Go's helm and kubectl do; CNPGTP_PIE=1 keeps PIE where policy requires it.
    if release && lld && env::var_os("CNPGTP_PIE").is_none() {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    println!("cargo:rerun-if-env-changed=CNPGTP_PIE");
    // scripts/symbol-order.py reads the link map to name the functions a run executes.
    if let Ok(map) = env::var("CNPGTP_LINK_MAP") {
        println!("cargo:rustc-link-arg-bins=-Wl,-Map={map}");
    }
}

fn defaults_tree() {
    let root = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).to_path_buf();
    for input in [
        "values/defaults.yaml",
        "src/yaml/tree.rs",
        "src/yaml/packed.rs",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }
    let text = fs::read_to_string(root.join("values/defaults.yaml")).expect("defaults readable");
    // The name is not embedded (the binary supplies it); a build failure names the file.
    let tree = tree::parse_values(&Arc::from("values/defaults.yaml"), &text)
        .unwrap_or_else(|p| panic!("{}: {}", p.origin, p.message));
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets it")).join("defaults_tree.rs");
    fs::write(out, packed::write(&tree)).expect("OUT_DIR is writable");
}

fn templates() {
    let dir = Path::new(&env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("templates");
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rerun-if-changed=build/templates.rs");
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
        let source = fs::read_to_string(path).expect("a template is readable UTF-8");
        let shown = format!("templates/{name}");
        let root = template::compile(&shown, &source).unwrap_or_else(|e| panic!("{e}"));
        writeln!(table, "    ({name:?}, {root}),").expect("a String");
    }
    table.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    fs::write(out, table).expect("OUT_DIR is writable");
}
