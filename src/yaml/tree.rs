//! The values tree and its reader: [`parse_values`] turns one YAML source into a [`Tree`] that
//! remembers the file, line and column of every node.
//!
//! This file uses nothing from the crate but `super::` siblings that build.rs also includes, so
//! that build.rs can parse the embedded defaults with this same code at build time (see
//! [`super::packed`]); the binary then never parses them.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, ScanError, StrInput};

/// Nesting deeper than this is refused: no real values file comes close, and a bound keeps a
/// hostile file from exhausting the stack.
pub const MAX_DEPTH: usize = 64;
/// Total nodes a values source may expand to, aliases included (defuses "billion laughs").
pub const MAX_NODES: usize = 100_000;

/// Where a node was written: the source's display name and a 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub source: Arc<str>,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.source)
        } else {
            write!(f, "{}:{}:{}", self.source, self.line, self.column)
        }
    }
}

/// A values node with its origin. Scalars are resolved with the YAML 1.2 core schema, so `on`
/// and `yes` stay strings.
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    pub node: Node,
    /// Where the value starts.
    pub origin: Origin,
    /// Where the key naming this value was written, for values of mappings: errors point here.
    pub key_origin: Option<Origin>,
}

/// A string of a values tree: borrowed from the binary for the embedded defaults (unpacked
/// without copying a byte, `packed.rs`), owned for everything read at run time.
pub type Text = Cow<'static, str>;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Seq(Vec<Tree>),
    /// Keys keep their order of appearance; duplicates are rejected while parsing.
    Map(Vec<(Text, Tree)>),
}

/// A problem found while reading a values source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseProblem {
    pub origin: Origin,
    pub message: String,
    pub fix: String,
}

impl Tree {
    pub fn new(node: Node, origin: Origin) -> Self {
        Self {
            node,
            origin,
            key_origin: None,
        }
    }

    /// The position to report for this node: its key when it has one, else the value.
    pub fn reported_origin(&self) -> &Origin {
        self.key_origin.as_ref().unwrap_or(&self.origin)
    }

    /// Whether `test` holds for any string or key in the tree: one walk, no key paths built.
    pub fn any_text(&self, test: &mut impl FnMut(&str) -> bool) -> bool {
        match &self.node {
            Node::Str(text) => test(text),
            Node::Seq(items) => items.iter().any(|item| item.any_text(test)),
            Node::Map(entries) => entries
                .iter()
                .any(|(key, value)| test(key) || value.any_text(test)),
            _ => false,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.node {
            Node::Null => "null",
            Node::Bool(_) => "a boolean",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a number",
            Node::Str(_) => "a string",
            Node::Seq(_) => "a list",
            Node::Map(_) => "a mapping",
        }
    }
}

/// Parses one values source (a single YAML document whose top level is a mapping).
pub fn parse_values(source: &Arc<str>, text: &str) -> Result<Tree, ParseProblem> {
    let mut builder = TreeBuilder {
        source: source.clone(),
        anchors: HashMap::new(),
        nodes: 0,
    };
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    loop {
        let (event, span) = match parser.next_event() {
            None => break,
            Some(Ok(pair)) => pair,
            Some(Err(err)) => {
                let origin = Origin {
                    source: source.clone(),
                    line: err.marker().line(),
                    column: err.marker().col() + 1,
                };
                return Err(scan_problem(origin, &err));
            }
        };
        let origin = builder.origin(span.start.line(), span.start.col());
        match event {
            Event::StreamStart | Event::DocumentEnd | Event::StreamEnd | Event::Anchor(..) => {}
            Event::DocumentStart(..) => {
                builder.anchors.clear();
                let root = builder.node(&mut parser, None, 0)?;
                documents.push(root);
            }
            _ => {
                return Err(problem(
                    origin,
                    "unexpected YAML event at the top level",
                    "write one YAML document",
                ));
            }
        }
    }
    if documents.len() > 1 {
        let second = documents.swap_remove(1);
        return Err(problem(
            second.origin,
            "a values file holds exactly one YAML document, this is a second one",
            "remove the `---` separator or split the file into several -f files",
        ));
    }
    let root = documents.pop().unwrap_or_else(|| {
        Tree::new(
            Node::Map(Vec::new()),
            Origin {
                source: source.clone(),
                line: 1,
                column: 1,
            },
        )
    });
    match root.node {
        Node::Map(_) => Ok(root),
        Node::Null => Ok(Tree::new(Node::Map(Vec::new()), root.origin)),
        _ => Err(problem(
            root.origin.clone(),
            &format!(
                "the top level of a values file must be a mapping, found {}",
                root.kind_name()
            ),
            "start the file with keys such as `name: mydb`",
        )),
    }
}

/// A parser error as a problem. The parser's own nesting limit (it can trip before the tree
/// builder's depth check, e.g. on `[[[[...`) is reported as what it is: too deep, not a typo.
fn scan_problem(origin: Origin, err: &ScanError) -> ParseProblem {
    if matches!(err.kind(), ErrorKind::RecursionLimitExceeded) {
        return problem(
            origin,
            &format!("values are nested deeper than {MAX_DEPTH} levels"),
            "flatten the structure: no cnpgtp key is nested this deep",
        );
    }
    problem(
        origin,
        &format!("this is not valid YAML: {}", err.info()),
        "fix the YAML syntax at this position (indentation, quotes, a missing ':')",
    )
}

fn problem(origin: Origin, message: &str, fix: &str) -> ParseProblem {
    ParseProblem {
        origin,
        message: message.into(),
        fix: fix.into(),
    }
}

struct TreeBuilder {
    source: Arc<str>,
    anchors: HashMap<usize, Tree>,
    nodes: usize,
}

impl TreeBuilder {
    fn origin(&self, line: usize, col: usize) -> Origin {
        Origin {
            source: self.source.clone(),
            line,
            column: col + 1,
        }
    }

    fn count(&mut self, added: usize, origin: &Origin) -> Result<(), ParseProblem> {
        self.nodes += added;
        if self.nodes > MAX_NODES {
            return Err(problem(
                origin.clone(),
                &format!("the values expand to more than {MAX_NODES} nodes (aliases included)"),
                "remove the aliases that multiply the document, or split the values",
            ));
        }
        Ok(())
    }

    /// Reads the next node; `first` is an event already taken from the parser.
    fn node<'a>(
        &mut self,
        parser: &mut Parser<'a, StrInput<'a>>,
        first: Option<(Event<'a>, Origin)>,
        depth: usize,
    ) -> Result<Tree, ParseProblem> {
        let (event, origin) = match first {
            Some(pair) => pair,
            None => self.next(parser)?,
        };
        if depth > MAX_DEPTH {
            return Err(problem(
                origin,
                &format!("values are nested deeper than {MAX_DEPTH} levels"),
                "flatten the structure: no cnpgtp key is nested this deep",
            ));
        }
        self.count(1, &origin)?;
        let (tree, anchor) = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let forced_string = tag
                    .as_ref()
                    .is_some_and(|t| t.to_string().ends_with(":str"));
                let node = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&value)
                } else {
                    Node::Str(Cow::Owned(value.into_owned()))
                };
                (Tree::new(node, origin), anchor)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, item_origin) = self.next(parser)?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(parser, Some((event, item_origin)), depth + 1)?);
                }
                (Tree::new(Node::Seq(items), origin), anchor)
            }
            Event::MappingStart(_, anchor, _) => {
                let mut entries: Vec<(Text, Tree)> = Vec::new();
                loop {
                    let (event, key_origin) = self.next(parser)?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(parser, Some((event, key_origin.clone())), depth + 1)?;
                    let key = match key.node {
                        Node::Str(s) => s,
                        Node::Bool(b) => Cow::Owned(b.to_string()),
                        Node::Int(i) => Cow::Owned(i.to_string()),
                        Node::Null => Cow::Borrowed("null"),
                        _ => {
                            return Err(problem(
                                key_origin,
                                "a mapping key must be a plain string",
                                "use a simple word as the key",
                            ));
                        }
                    };
                    if let Some((_, earlier)) = entries.iter().find(|(k, _)| *k == key) {
                        return Err(problem(
                            key_origin,
                            &format!(
                                "duplicate key `{key}` (first written at line {})",
                                earlier.reported_origin().line
                            ),
                            "keep one of the two entries",
                        ));
                    }
                    let mut value = self.node(parser, None, depth + 1)?;
                    value.key_origin = Some(key_origin);
                    entries.push((key, value));
                }
                (Tree::new(Node::Map(entries), origin), anchor)
            }
            Event::Alias(id) => {
                let Some(target) = self.anchors.get(&id).cloned() else {
                    return Err(problem(
                        origin,
                        "this alias names no anchor",
                        "define the anchor (`&name`) before the alias",
                    ));
                };
                self.count(size(&target), &origin)?;
                (Tree::new(target.node, origin), 0)
            }
            _ => {
                return Err(problem(
                    origin,
                    "unexpected YAML structure",
                    "check the indentation",
                ));
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, tree.clone());
        }
        Ok(tree)
    }

    fn next<'a>(
        &self,
        parser: &mut Parser<'a, StrInput<'a>>,
    ) -> Result<(Event<'a>, Origin), ParseProblem> {
        loop {
            match parser.next_event() {
                Some(Ok((Event::Anchor(..), _))) => {}
                Some(Ok((event, span))) => {
                    return Ok((event, self.origin(span.start.line(), span.start.col())));
                }
                Some(Err(err)) => {
                    return Err(scan_problem(
                        self.origin(err.marker().line(), err.marker().col()),
                        &err,
                    ));
                }
                None => {
                    return Err(problem(
                        self.origin(0, 0),
                        "the YAML ends in the middle of a node",
                        "complete the document",
                    ));
                }
            }
        }
    }
}

fn size(tree: &Tree) -> usize {
    match &tree.node {
        Node::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// YAML 1.2 core-schema resolution of a plain scalar. Deliberately not YAML 1.1: `on`, `yes`,
/// `0755` stay strings, which is what a user who writes a PostgreSQL parameter means.
pub fn resolve_plain(text: &str) -> Node {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Node::Null,
        "true" | "True" | "TRUE" => return Node::Bool(true),
        "false" | "False" | "FALSE" => return Node::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Node::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Node::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Node::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Node::Int(i);
    }
    if let Some(hex) = text.strip_prefix("0x")
        && let Ok(i) = i64::from_str_radix(hex, 16)
    {
        return Node::Int(i);
    }
    if let Some(oct) = text.strip_prefix("0o")
        && let Ok(i) = i64::from_str_radix(oct, 8)
    {
        return Node::Int(i);
    }
    let looks_float = digits
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if looks_float && let Ok(x) = text.parse::<f64>() {
        return Node::Float(x);
    }
    Node::Str(Cow::Owned(text.to_string()))
}
