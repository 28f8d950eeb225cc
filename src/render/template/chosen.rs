//! The members of a compiled template's map or sequence as the context chooses them: each
//! `{% if %}` replaced by the branch its condition picks.

use serde::de;
use serde_json::Error;

use super::fill::Filled;
use super::{Entry, Item};

/// How deep `{% if %}` blocks may nest in one map or sequence (build.rs's templates nest one).
const DEPTH: usize = 4;

/// A member of a template's map or sequence: how to step into a `{% if %}`.
pub(super) trait Member: Sized + 'static {
    /// The condition and branches of an `{% if %}`, or `None` for a plain member.
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])>;
}

impl Member for Entry {
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])> {
        match self {
            Entry::IfPresent(name, then, otherwise) => Some((name, then, otherwise)),
            Entry::Field(..) => None,
        }
    }
}

impl Member for Item {
    fn condition(&'static self) -> Option<(&'static str, &'static [Self], &'static [Self])> {
        match self {
            Item::IfPresent(name, then, otherwise) => Some((name, then, otherwise)),
            Item::Element(_) => None,
        }
    }
}

/// The members of a template's map or sequence in order, the chosen branch of each `{% if %}`
/// in place of it: a stack of what is left of each enclosing member list.
pub(super) struct Chosen<M: 'static> {
    stack: [&'static [M]; DEPTH],
    depth: usize,
}

impl<M: Member> Chosen<M> {
    pub(super) fn new(members: &'static [M]) -> Self {
        Self {
            stack: [members, &[], &[], &[]],
            depth: 1,
        }
    }

    /// The next plain member, stepping into the branches that the conditions (read in the
    /// context of `at`) choose.
    pub(super) fn next(&mut self, at: Filled<'_>) -> Result<Option<&'static M>, Error> {
        while self.depth > 0 {
            let top = &mut self.stack[self.depth - 1];
            let Some((member, rest)) = top.split_first() else {
                self.depth -= 1;
                continue;
            };
            *top = rest;
            let Some((name, then, otherwise)) = member.condition() else {
                return Ok(Some(member));
            };
            let branch = if at.present(name)? { then } else { otherwise };
            if self.depth == DEPTH {
                return Err(de::Error::custom("{% if %} blocks nest too deep"));
            }
            self.stack[self.depth] = branch;
            self.depth += 1;
        }
        Ok(None)
    }
}
