//! A [`Tree`] as a static table, written by build.rs and read back by the binary.
//!
//! The embedded defaults are the same for every run, yet parsing them was the largest single cost
//! of a one-database render (BENCHMARKS.md). build.rs parses `values/defaults.yaml` with the
//! crate's own reader ([`super::tree`]) and writes the tree, origins included, with [`write`] as a
//! Rust array of [`Packed`] records; [`unpack`] turns that array into a `Tree` with one allocation
//! per node and no parsing, so errors still point at the defaults' lines and columns.
//!
//! Like `tree.rs`, this file uses nothing from the crate but its `super::tree` sibling, because
//! build.rs includes both.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::Arc;

use super::tree::{Node, Origin, Tree};

/// One node, in depth-first order: a collection's items follow it.
#[derive(Debug, Clone, Copy)]
pub struct Packed {
    /// The key naming this node in its parent mapping (empty otherwise).
    pub key: &'static str,
    /// Line and column of that key, when the node has a key origin.
    pub key_at: Option<(usize, usize)>,
    /// Line and column of the value.
    pub at: (usize, usize),
    pub node: PackedNode,
}

/// A node's value; collections hold their length, and their items come next in the table.
#[derive(Debug, Clone, Copy)]
pub enum PackedNode {
    Null,
    Bool(bool),
    Int(i64),
    /// The bits of the `f64`, so that the value comes back exactly.
    Float(u64),
    Str(&'static str),
    Seq(usize),
    Map(usize),
}

/// The tree the table describes, every origin naming `source`.
pub fn unpack(table: &[Packed], source: &Arc<str>) -> Tree {
    let mut next = 0;
    let (_, tree) = unpack_node(table, &mut next, source);
    debug_assert_eq!(next, table.len(), "a table holds one tree");
    tree
}

fn unpack_node(table: &[Packed], next: &mut usize, source: &Arc<str>) -> (&'static str, Tree) {
    let record = table[*next];
    *next += 1;
    let origin = |(line, column)| Origin {
        source: source.clone(),
        line,
        column,
    };
    let node = match record.node {
        PackedNode::Null => Node::Null,
        PackedNode::Bool(b) => Node::Bool(b),
        PackedNode::Int(i) => Node::Int(i),
        PackedNode::Float(bits) => Node::Float(f64::from_bits(bits)),
        PackedNode::Str(s) => Node::Str(Cow::Borrowed(s)),
        PackedNode::Seq(len) => Node::Seq(
            (0..len)
                .map(|_| unpack_node(table, next, source).1)
                .collect(),
        ),
        PackedNode::Map(len) => Node::Map(
            (0..len)
                .map(|_| {
                    let (key, value) = unpack_node(table, next, source);
                    (Cow::Borrowed(key), value)
                })
                .collect(),
        ),
    };
    let tree = Tree {
        node,
        origin: origin(record.at),
        key_origin: record.key_at.map(origin),
    };
    (record.key, tree)
}

/// `tree` as the Rust expression of a `&[Packed]` table (the origins' source names are dropped:
/// [`unpack`] is told the source).
pub fn write(tree: &Tree) -> String {
    let mut out = String::from("&[\n");
    write_node(&mut out, "", tree);
    out.push_str("]\n");
    out
}

fn write_node(out: &mut String, key: &str, tree: &Tree) {
    let node = match &tree.node {
        Node::Null => "Null".to_string(),
        Node::Bool(b) => format!("Bool({b})"),
        Node::Int(i) => format!("Int({i})"),
        Node::Float(x) => format!("Float({:#x})", x.to_bits()),
        Node::Str(s) => format!("Str({s:?})"),
        Node::Seq(items) => format!("Seq({})", items.len()),
        Node::Map(entries) => format!("Map({})", entries.len()),
    };
    let key_at = tree.key_origin.as_ref().map_or("None".to_string(), |o| {
        format!("Some(({}, {}))", o.line, o.column)
    });
    writeln!(
        out,
        "    Packed {{ key: {key:?}, key_at: {key_at}, at: ({}, {}), node: PackedNode::{node} }},",
        tree.origin.line, tree.origin.column
    )
    .expect("a String");
    match &tree.node {
        Node::Seq(items) => items.iter().for_each(|item| write_node(out, "", item)),
        Node::Map(entries) => entries.iter().for_each(|(k, v)| write_node(out, k, v)),
        _ => {}
    }
}
