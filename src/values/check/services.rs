//! `postgres.imageCatalogRef` and `postgres.services`: where the image comes from, and the
//! cluster's Services.
//!
//! Mirrors CloudNativePG at v1.30.0: the Cluster CRD's CEL rule ("imageName and
//! imageCatalogRef are mutually exclusive") and `validateManagedServices` in
//! `internal/webhook/v1/cluster_webhook.go` (reserved and duplicate names; `rw` cannot be
//! disabled, which the values' enum already excludes). Beyond the webhook: a Service named like
//! a Pooler's would fight CloudNativePG's own, and disabling `ro` breaks what reads through it
//! (a read-only Pooler connects to `<cluster>-ro`, `pkg/management/pgbouncer/config/config.go`;
//! Teleport's read-only database points at it).

use std::collections::BTreeSet;

use super::Findings;
use super::metadata::metadata;
use super::syntax::is_dns_name;
use crate::naming::{Names, is_dns_label};
use crate::values::{DefaultService, Registration, Values};

pub(super) fn check(values: &Values, f: &mut Findings) {
    let pg = &values.postgres;
    if let Some(catalog) = &pg.image_catalog_ref {
        if pg.image.is_some() {
            f.error_pair(
                "postgres.imageCatalogRef",
                "postgres.image",
                "an image catalog and an image are mutually exclusive (the Cluster CRD's rule)",
                "set postgres.image to null to take the catalog's image for postgres.major, or drop imageCatalogRef",
            );
        }
        if catalog.name.starts_with('*') || !is_dns_name(&catalog.name) {
            f.error(
                "postgres.imageCatalogRef.name",
                "not an object name (a DNS subdomain)",
                "the catalog's metadata.name",
            );
        }
    }
    let services = &pg.services;
    if services
        .disabled_default_services
        .contains(&DefaultService::Ro)
    {
        if values.pooler.enabled && values.pooler.read_only {
            f.error_pair(
                "postgres.services.disabledDefaultServices",
                "pooler.readOnly",
                "the read-only Pooler connects to the `-ro` Service",
                "keep `ro`, or set pooler.readOnly to false",
            );
        }
        if values.teleport.registration != Registration::None && pg.instances > 1 {
            f.error_pair(
                "postgres.services.disabledDefaultServices",
                "teleport.registration",
                "Teleport's read-only database is registered at the `-ro` Service",
                "keep `ro`, or register the databases another way (teleport.registration: none)",
            );
        }
    }
    let names = Names::new(&values.name);
    // CloudNativePG's own (`GetServiceReadWriteName`, ...ReadOnly..., ...Read..., ...Any...).
    let any = format!("{}-any", values.name);
    let reserved = [&names.rw_service, &names.ro_service, &names.r_service, &any];
    let mut seen = BTreeSet::new();
    for (index, service) in services.additional.iter().enumerate() {
        let at = format!("postgres.services.additional[{index}]");
        let name = &service.name;
        if !is_dns_label(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            f.error(
                &format!("{at}.name"),
                "not a Service name (a DNS-1035 label: lower-case letters, digits, `-`, starting with a letter, at most 63 characters)",
                format!("e.g. `{}-external`", values.name),
            );
        } else if reserved.contains(&name) {
            f.error(
                &format!("{at}.name"),
                "this name is reserved for CloudNativePG's own Services",
                format!("e.g. `{}-external`", values.name),
            );
        } else if [&names.pooler_rw, &names.pooler_ro].contains(&name) {
            f.error(
                &format!("{at}.name"),
                "a Pooler's Service has this name",
                format!("e.g. `{}-external`", values.name),
            );
        } else if !seen.insert(name.clone()) {
            f.error(
                &format!("{at}.name"),
                "another additional Service has this name",
                "give each Service its own name",
            );
        }
        metadata(f, &format!("{at}.metadata"), &service.metadata);
    }
}
