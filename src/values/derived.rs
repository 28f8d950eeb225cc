//! Values derived from several keys that more than one layer needs: the PostgreSQL image (the
//! checks validate it, the Cluster and the labels use it) and the Teleport names (the checks
//! bound their length, the registration and the role use them).

use super::{ImageFlavour, Values};

/// Pinned minor versions of the CloudNativePG images (catalog of 2026-08-31, trixie).
const IMAGE_MINORS: &[(u32, &str)] = &[
    (14, "14.24"),
    (15, "15.19"),
    (16, "16.15"),
    (17, "17.11"),
    (18, "18.6"),
];
const IMAGE_REPOSITORY: &str = "ghcr.io/cloudnative-pg/postgresql";

impl Values {
    /// The PostgreSQL image for these values.
    pub fn postgres_image(&self) -> String {
        let values = self;
        if let Some(image) = &values.postgres.image {
            return image.clone();
        }
        let version = IMAGE_MINORS
            .iter()
            .find(|(major, _)| *major == values.postgres.major)
            .map_or_else(
                || values.postgres.major.to_string(),
                |(_, v)| (*v).to_string(),
            );
        let flavour = match values.postgres.image_flavour {
            ImageFlavour::Minimal => "minimal",
            ImageFlavour::Standard => "standard",
        };
        format!("{IMAGE_REPOSITORY}:{version}-{flavour}-trixie")
    }

    /// `app.kubernetes.io/version`: the image tag when it is a valid label value, else the major.
    pub fn postgres_version_label(&self) -> String {
        let values = self;
        // The catalog decides the image: only the major is known here.
        if values.postgres.image_catalog_ref.is_some() {
            return values.postgres.major.to_string();
        }
        let image = values.postgres_image();
        let tag = image
            .split('@')
            .next()
            .unwrap_or("")
            .rsplit_once(':')
            .map_or("", |(_, t)| t);
        let valid = !tag.is_empty()
            && tag.len() <= 63
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if valid {
            tag.to_string()
        } else {
            values.postgres.major.to_string()
        }
    }

    /// The Teleport database name prefix.
    pub fn teleport_database_prefix(&self) -> String {
        let values = self;
        values
            .teleport
            .database_name
            .clone()
            .unwrap_or_else(|| format!("{}-{}", values.namespace, values.name))
    }

    /// The name of the Teleport role for `access` (`read` or `write`): `<prefix>-<access>`.
    pub fn teleport_role_name(&self, access: &str) -> String {
        let values = self;
        let prefix = values
            .teleport
            .role
            .name
            .clone()
            .unwrap_or_else(|| values.teleport_database_prefix());
        format!("{prefix}-{access}")
    }
}
