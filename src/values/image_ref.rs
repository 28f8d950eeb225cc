//! Image references and the one pinning rule: values validation applies it to the images a user
//! may choose, lint to every rendered container.

/// Why an image reference is not pinned, if it is not. The one pinning rule: values validation
/// (`values::check`) applies it to the images a user may choose, lint to every rendered container.
pub fn image_problem(image: &str) -> Option<&'static str> {
    if image.is_empty() {
        return Some("no image");
    }
    let (reference, digest) = match image.split_once('@') {
        Some((reference, digest)) => (reference, Some(digest)),
        None => (image, None),
    };
    if let Some(digest) = digest {
        let hex = digest.strip_prefix("sha256:").unwrap_or("");
        let valid = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        return (!valid)
            .then_some("the image digest is not `sha256:` and 64 lower-case hex digits");
    }
    // The tag follows the last `:` of the last path segment (a registry port has a `/` after it).
    let tag = reference
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .filter(|tag| !tag.contains('/'));
    match tag {
        None | Some("") => {
            Some("the image is not pinned: it has no tag; pin a version (and ideally a digest)")
        }
        Some("latest") => {
            Some("the image is not pinned: it uses `latest`; pin a version (and ideally a digest)")
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinning() {
        assert_eq!(image_problem("ghcr.io/x/y:1.2"), None);
        assert_eq!(image_problem("registry:5000/x/y:1.2"), None);
        assert!(image_problem("registry:5000/x/y").is_some());
        assert!(image_problem("x/y").is_some());
        assert!(image_problem("x/y:latest").is_some());
        assert!(image_problem("x/y:").is_some());
        assert_eq!(
            image_problem(&format!("x/y@sha256:{}", "a".repeat(64))),
            None
        );
        assert!(image_problem("x/y@sha256:abc").is_some());
    }
}
