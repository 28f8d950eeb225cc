//! Lowers minijinja's syntax tree of a template to `src/render/template.rs`'s segment table, for
//! build.rs. Its own file so that `tests/template_compiler.rs` can test what it accepts and
//! refuses (build.rs itself cannot be tested).

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
                _ => {
                    return Err(unsupported(
                        file,
                        Some(emit.span().start_line),
                        "{{ name }}",
                    ));
                }
            },
            Stmt::IfCond(cond) => {
                let Some(name) = presence_test(&cond.expr) else {
                    return Err(unsupported(
                        file,
                        Some(cond.span().start_line),
                        "{% if name %} or {% if name is not none %}",
                    ));
                };
                format!(
                    "Segment::IfPresent({name:?}, {}, {})",
                    segments(file, &cond.true_body)?,
                    segments(file, &cond.false_body)?
                )
            }
            other => {
                return Err(unsupported(
                    file,
                    line(other),
                    "text, {{ name }} and {% if %}",
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
            Expr::Test(test) if test.name == "none" && test.args.is_empty() => match &test.expr {
                Expr::Var(var) => Some(var.id),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// The build error for a construct the renderer cannot fill in, at its line when known.
fn unsupported(file: &str, line: Option<u16>, supported: &str) -> String {
    let at = line.map_or_else(String::new, |line| format!(":{line}"));
    format!("{file}{at}: the renderer supports only {supported} here (src/render/template.rs)")
}

/// The line a statement starts on, for the statements the parser gives a span.
fn line(stmt: &Stmt<'_>) -> Option<u16> {
    let span = match stmt {
        Stmt::ForLoop(s) => s.span(),
        Stmt::WithBlock(s) => s.span(),
        Stmt::Set(s) => s.span(),
        Stmt::SetBlock(s) => s.span(),
        Stmt::AutoEscape(s) => s.span(),
        Stmt::FilterBlock(s) => s.span(),
        Stmt::Do(s) => s.span(),
        _ => return None,
    };
    Some(span.start_line)
}
