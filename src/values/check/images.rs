//! The images a user may choose (the CA bundle's sync workload, the Teleport Job's shell): a
//! well-formed reference, pinned by tag or digest.
//!
//! An unpinned image changes under a running cluster without a change in Git; the rule itself is
//! `values::image_problem`, shared with the linter.

use super::Findings;
use crate::values::image_problem;

/// An image a user may choose: a well-formed reference, pinned by tag or digest.
pub(super) fn pinned_image(f: &mut Findings, path: &str, image: &str, example: &str) {
    let reference = image
        .split_once('@')
        .map_or(image, |(reference, _)| reference);
    // The repository is what precedes the tag (a registry port has a `/` after its `:`).
    let repository = match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => reference,
    };
    let shape_ok = !repository.is_empty()
        && !image.chars().any(char::is_whitespace)
        && !repository.chars().any(|c| c.is_ascii_uppercase());
    if !shape_ok {
        f.error(
            path,
            "not an image reference",
            format!("write e.g. `{example}`"),
        );
    } else if let Some(problem) = image_problem(image) {
        f.error(
            path,
            problem,
            "add a version tag, ideally with its digest: `repo:1.34.5@sha256:...`",
        );
    }
}
