//! Lowers a template to the static JSON structure of `src/render/template.rs`, for build.rs. Its
//! own file so that `tests/template_compiler.rs` can test what it accepts and refuses (build.rs
//! itself cannot be tested).
//!
//! Two passes. minijinja's own parser reads the template (so whitespace control and comments
//! mean what they mean to minijinja) into text, `{{ name }}` and `{% if %}`; then the text is
//! read as JSON tokens and the whole is parsed as one JSON document whose holes are whole
//! values and whose `{% if %}` blocks hold whole map entries or sequence items. Every
//! combination of the conditions must give valid JSON: the commas are checked over the set of
//! states a condition can leave a map or sequence in.

use std::fmt::Write as _;

use minijinja::machinery::ast::{Expr, Stmt, UnaryOpKind};
use minijinja::machinery::{WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;

/// The template as the Rust expression of its root `Node`, or what it uses that the renderer
/// does not support, with its line.
pub fn compile(file: &str, source: &str) -> Result<String, String> {
    let tree = parse(source, file, SyntaxConfig, WhitespaceConfig::default())
        .map_err(|e| format!("{file}: {e:#}"))?;
    let Stmt::Template(template) = tree else {
        return Err(format!("{file}: not a template"));
    };
    let tokens = tokens(file, &template.children)?;
    let mut cursor = Cursor {
        file,
        tokens: &tokens,
        at: 0,
    };
    let root = cursor.value()?;
    if let Some(extra) = cursor.peek() {
        return Err(cursor.error(extra.line, "text after the JSON document"));
    }
    Ok(root)
}

/// One JSON token, a hole or a condition, with the template line it starts on.
#[derive(Debug)]
struct Token {
    line: usize,
    what: What,
}

#[derive(Debug)]
enum What {
    /// One of `{ } [ ] : ,`.
    Punct(u8),
    /// A string literal, unescaped.
    Str(String),
    /// A number, `true`, `false` or `null`, as the Rust expression of its node.
    Scalar(String),
    /// `{{ name }}`.
    Hole(String),
    /// `{% if name %}`: the tokens of both branches.
    If(String, Vec<Token>, Vec<Token>),
}

fn tokens(file: &str, body: &[Stmt<'_>]) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    for stmt in body {
        match stmt {
            Stmt::EmitRaw(raw) => lex(file, raw.raw, usize::from(raw.span().start_line), &mut out)?,
            Stmt::EmitExpr(emit) => match &emit.expr {
                Expr::Var(var) => out.push(Token {
                    line: usize::from(emit.span().start_line),
                    what: What::Hole(var.id.to_string()),
                }),
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
                out.push(Token {
                    line: usize::from(cond.span().start_line),
                    what: What::If(
                        name.to_string(),
                        tokens(file, &cond.true_body)?,
                        tokens(file, &cond.false_body)?,
                    ),
                });
            }
            other => {
                return Err(unsupported(
                    file,
                    line(other),
                    "text, {{ name }} and {% if %}",
                ));
            }
        }
    }
    Ok(out)
}

/// JSON tokens of a piece of literal template text starting on `line`.
fn lex(file: &str, text: &str, mut line: usize, out: &mut Vec<Token>) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        let byte = bytes[at];
        let what = match byte {
            b'\n' => {
                line += 1;
                at += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                at += 1;
                continue;
            }
            b'{' | b'}' | b'[' | b']' | b':' | b',' => {
                at += 1;
                What::Punct(byte)
            }
            b'"' => {
                let (string, end) = string(&text[at..]).ok_or_else(|| {
                    format!("{file}:{line}: a string that does not end on its line, or an escape JSON does not have")
                })?;
                at += end;
                What::Str(string)
            }
            _ => {
                let end = bytes[at..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || b"+-.".contains(b)))
                    .map_or(bytes.len(), |n| at + n);
                let word = &text[at..end];
                at = end.max(at + 1);
                What::Scalar(scalar(word).ok_or_else(|| {
                    format!(
                        "{file}:{line}: `{word}` is not JSON (the template must be a JSON document)"
                    )
                })?)
            }
        };
        out.push(Token { line, what });
    }
    Ok(())
}

/// The unescaped string literal that `text` starts with, and its length in bytes.
fn string(text: &str) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((out, at + 1)),
            '\n' => return None,
            '\\' => {
                let (_, escape) = chars.next()?;
                out.push(match escape {
                    '"' | '\\' | '/' => escape,
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'u' => {
                        let first = hex4(&mut chars)?;
                        let code = if (0xD800..0xDC00).contains(&first) {
                            let (_, '\\') = chars.next()? else {
                                return None;
                            };
                            let (_, 'u') = chars.next()? else { return None };
                            let second = hex4(&mut chars)?;
                            0x10000 + ((first - 0xD800) << 10) + second.checked_sub(0xDC00)?
                        } else {
                            first
                        };
                        char::from_u32(code)?
                    }
                    _ => return None,
                });
            }
            c => out.push(c),
        }
    }
    None
}

/// The four hex digits of a `\\u` escape.
fn hex4(chars: &mut impl Iterator<Item = (usize, char)>) -> Option<u32> {
    let hex: String = chars.take(4).map(|(_, c)| c).collect();
    u32::from_str_radix(&hex, 16)
        .ok()
        .filter(|_| hex.len() == 4)
}

/// The node of a bare JSON word, typed as serde_json types it when it parses text: integers
/// as u64 (or i64 when negative), anything else numeric as f64.
fn scalar(word: &str) -> Option<String> {
    match word {
        "true" | "false" => return Some(format!("Node::Bool({word})")),
        "null" => return Some("Node::Null".to_string()),
        _ => {}
    }
    let json_number = {
        let digits = word.strip_prefix('-').unwrap_or(word);
        digits.starts_with(|c: char| c.is_ascii_digit())
            && !(digits.len() > 1
                && digits.starts_with('0')
                && digits.as_bytes()[1].is_ascii_digit())
    };
    if !json_number {
        return None;
    }
    if let Ok(n) = word.parse::<u64>() {
        Some(format!("Node::U64({n})"))
    } else if let Ok(n) = word.parse::<i64>() {
        Some(format!("Node::I64({n})"))
    } else {
        word.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(|n| format!("Node::F64({n:?})"))
    }
}

/// The `{% if %}` blocks one map or sequence may nest, plus one: the runtime's stack depth
/// (`DEPTH` in `src/render/template/fill.rs`).
const MAX_NESTING: usize = 4;

/// Where a map's or a sequence's members can stand after some tokens: nothing yet, after a
/// member, or after a comma (a member must follow). A bit set over the three.
#[derive(Clone, Copy, PartialEq)]
struct States(u8);

const EMPTY: u8 = 1;
const MEMBER: u8 = 2;
const COMMA: u8 = 4;

impl States {
    fn has(self, state: u8) -> bool {
        self.0 & state != 0
    }
}

struct Cursor<'t> {
    file: &'t str,
    tokens: &'t [Token],
    at: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<&'t Token> {
        let token = self.peek()?;
        self.at += 1;
        Some(token)
    }

    fn last_line(&self) -> usize {
        self.tokens.last().map_or(1, |t| t.line)
    }

    fn error(&self, line: usize, message: &str) -> String {
        format!("{}:{line}: {message} (src/render/template.rs)", self.file)
    }

    /// One JSON value.
    fn value(&mut self) -> Result<String, String> {
        let Some(token) = self.next() else {
            return Err(self.error(self.last_line(), "a value is missing at the end"));
        };
        match &token.what {
            What::Punct(b'{') => {
                let (members, _) = self.members(true, Some(b'}'), States(EMPTY), token.line, 0)?;
                Ok(format!("Node::Map(&[{members}])"))
            }
            What::Punct(b'[') => {
                let (members, _) = self.members(false, Some(b']'), States(EMPTY), token.line, 0)?;
                Ok(format!("Node::Seq(&[{members}])"))
            }
            What::Str(text) => Ok(format!("Node::Str({text:?})")),
            What::Scalar(node) => Ok(node.clone()),
            What::Hole(name) => Ok(format!("Node::Value({name:?})")),
            What::If(..) => Err(self.error(
                token.line,
                "an {% if %} must hold whole map entries or sequence items, not a value",
            )),
            What::Punct(other) => Err(self.error(
                token.line,
                &format!("`{}` where a value should be", char::from(*other)),
            )),
        }
    }

    /// The members of a map (`in_map`) or sequence up to `close` (or to the end of the tokens,
    /// for the branches of an `{% if %}`), entered in `states`: the Rust expressions of the
    /// members and the states the members can leave the collection in.
    fn members(
        &mut self,
        in_map: bool,
        close: Option<u8>,
        mut states: States,
        opened: usize,
        nesting: usize,
    ) -> Result<(String, States), String> {
        let mut out = String::new();
        loop {
            let Some(token) = self.peek() else {
                if close.is_some() {
                    return Err(self.error(opened, "a map or sequence opened here is not closed"));
                }
                return Ok((out, states));
            };
            match &token.what {
                What::Punct(p) if Some(*p) == close => {
                    self.at += 1;
                    if states.has(COMMA) {
                        return Err(
                            self.error(token.line, "a comma before the end of a map or sequence")
                        );
                    }
                    return Ok((out, states));
                }
                What::Punct(b',') => {
                    self.at += 1;
                    if states.has(EMPTY) || states.has(COMMA) {
                        return Err(self.error(
                            token.line,
                            "a comma that does not follow a member, for some choice of the conditions",
                        ));
                    }
                    states = States(COMMA);
                }
                What::If(name, then, otherwise) => {
                    self.at += 1;
                    if nesting + 1 >= MAX_NESTING {
                        return Err(self.error(token.line, "{% if %} blocks nest too deep"));
                    }
                    let branch = |tokens: &'t [Token]| {
                        let mut inner = Cursor {
                            file: self.file,
                            tokens,
                            at: 0,
                        };
                        inner.members(in_map, None, states, token.line, nesting + 1)
                    };
                    let (then, then_states) = branch(then)?;
                    let (otherwise, otherwise_states) = branch(otherwise)?;
                    let kind = if in_map { "Entry" } else { "Item" };
                    write!(
                        out,
                        "{kind}::IfPresent({name:?}, &[{then}], &[{otherwise}]), "
                    )
                    .expect("a String");
                    states = States(then_states.0 | otherwise_states.0);
                }
                _ => {
                    if states.has(MEMBER) {
                        return Err(self.error(
                            token.line,
                            "a comma is missing before this member, for some choice of the conditions",
                        ));
                    }
                    if in_map {
                        let What::Str(key) = &token.what else {
                            return Err(
                                self.error(token.line, "a map key must be a string literal")
                            );
                        };
                        self.at += 1;
                        match self.next() {
                            Some(Token {
                                what: What::Punct(b':'),
                                ..
                            }) => {}
                            _ => return Err(self.error(token.line, "a `:` must follow a map key")),
                        }
                        let value = self.value()?;
                        write!(out, "Entry::Field({key:?}, {value}), ").expect("a String");
                    } else {
                        let value = self.value()?;
                        write!(out, "Item::Element({value}), ").expect("a String");
                    }
                    states = States(MEMBER);
                }
            }
        }
    }
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
