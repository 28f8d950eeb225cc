//! Build-time work that does not depend on a run's input.
//!
//! Writes `$OUT_DIR/templates.rs`: every `templates/*.json` parsed by minijinja's parser and
//! lowered to a static segment table (`src/render/template.rs`), sorted by file name, so a render
//! neither reads nor compiles a template at run time.
//!
//! Writes `$OUT_DIR/defaults_tree.rs`: `values/defaults.yaml` parsed by the crate's own values
//! reader (the two modules below, shared with the library), as a table the binary unpacks
//! without parsing (`src/yaml/packed.rs`). A lib test checks it against a run-time parse.

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

/// Lowers minijinja's syntax tree of a template to `src/render/template.rs`'s segment table.
mod template {
    use minijinja::machinery::ast::{Expr, Stmt, UnaryOpKind};
    use minijinja::machinery::{WhitespaceConfig, parse};
    use minijinja::syntax::SyntaxConfig;

    /// The template as the Rust expression of its `&[Segment]`, or what it uses that the
    /// renderer does not support, with its line.
    pub fn compile(file: &str, source: &str) -> Result<String, String> {
        let tree = parse(source, file, SyntaxConfig, WhitespaceConfig::default())
            .map_err(|e| format!("{file}: {e:#}"))?;
        let Stmt::Template(template) = tree else {
            return Err(format!("{file}: not a template"));
        };
        segments(file, &template.children)
    }

    fn segments(file: &str, body: &[Stmt<'_>]) -> Result<String, String> {
        let mut out = String::from("&[");
        for stmt in body {
            let segment = match stmt {
                Stmt::EmitRaw(raw) => format!("Segment::Text({:?})", raw.raw),
                Stmt::EmitExpr(emit) => match &emit.expr {
                    Expr::Var(var) => format!("Segment::Value({:?})", var.id),
                    _ => return Err(unsupported(file, emit.span().start_line, "{{ name }}")),
                },
                Stmt::IfCond(cond) => {
                    let Some(name) = presence_test(&cond.expr) else {
                        return Err(unsupported(
                            file,
                            cond.span().start_line,
                            "{% if name %} or {% if name is not none %}",
                        ));
                    };
                    format!(
                        "Segment::IfPresent({name:?}, {}, {})",
                        segments(file, &cond.true_body)?,
                        segments(file, &cond.false_body)?
                    )
                }
                _ => {
                    return Err(format!(
                        "{file}: only text, {{{{ name }}}} and {{% if %}} are supported"
                    ));
                }
            };
            out.push_str(&segment);
            out.push_str(", ");
        }
        out.push(']');
        Ok(out)
    }

    /// The variable of `name` or `name is not none`: both are true exactly when the value is
    /// not null, because a template sees every other value as its (never empty) JSON text.
    fn presence_test<'a>(expr: &Expr<'a>) -> Option<&'a str> {
        match expr {
            Expr::Var(var) => Some(var.id),
            Expr::UnaryOp(not) if matches!(not.op, UnaryOpKind::Not) => match &not.expr {
                Expr::Test(test) if test.name == "none" && test.args.is_empty() => match &test.expr
                {
                    Expr::Var(var) => Some(var.id),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    fn unsupported(file: &str, line: u16, supported: &str) -> String {
        format!(
            "{file}:{line}: the renderer supports only {supported} here (src/render/template.rs)"
        )
    }
}

fn main() {
    templates();
    defaults_tree();
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
        let segments = template::compile(&shown, &source).unwrap_or_else(|e| panic!("{e}"));
        writeln!(table, "    ({name:?}, {segments}),").expect("a String");
    }
    table.push_str("]\n");
    let out = Path::new(&env::var("OUT_DIR").expect("cargo sets it")).join("templates.rs");
    fs::write(out, table).expect("OUT_DIR is writable");
}
