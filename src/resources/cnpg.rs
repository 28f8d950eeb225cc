//! The CloudNativePG Cluster: image, bootstrap SQL, managed roles, pg_hba, certificates.
//!
//! Access model. The Teleport users are managed roles whose rights are memberships CloudNativePG
//! keeps reconciled (`pg_read_all_data`, `pg_write_all_data`), so they cover tables created after
//! bootstrap, unlike `ALTER DEFAULT PRIVILEGES` run by the superuser. They have no password and
//! are admitted only by `hostssl ... cert` rules for the databases Teleport offers (the
//! application database and the extra databases); a trailing `reject` rule keeps them from
//! falling through to CloudNativePG's catch-all password rule.
//!
//! The client-CA bundle holds Teleport's CA, and CloudNativePG's fixed `cert` rules for
//! `streaming_replica` and `cnpg_pooler_pgbouncer` come before ours: a Teleport certificate with
//! one of those names would be accepted. pg_hba cannot tie a rule to one CA of the bundle, so the
//! guard is on the Teleport side: the rendered role denies those users (see `teleport`).
//!
//! Bootstrap SQL. CloudNativePG creates the owner before any post-init SQL, so none of it creates
//! the owner. The pooler's auth role and lookup function are created here because cnpgtp issues
//! the pooler certificate itself (see `pooler`), which turns off CloudNativePG's automatic
//! integration. All identifiers were validated as plain SQL identifiers, so no value can change
//! the meaning of a statement.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::manifest::Kind;
use crate::naming::POOLER_AUTH_ROLE;
use crate::plan::{Common, Planned, container_resources};
use crate::resources::teleport::{self, auto_users};
use crate::resources::{backup, certs, monitoring};
use crate::values::{AntiAffinity, NodeAffinity, ParamValue, Toleration, Values};

/// The query PgBouncer runs (in database `postgres`) to fetch a user's password hash.
pub const POOLER_AUTH_QUERY: &str = "SELECT usename, passwd FROM public.user_search($1)";

/// SQL run once in database `postgres` at bootstrap.
pub fn post_init_sql(values: &Values) -> Vec<String> {
    let read_user = &values.access.read_user.name;
    let mut sql = vec![
        format!("CREATE ROLE {POOLER_AUTH_ROLE} WITH LOGIN"),
        format!("GRANT CONNECT ON DATABASE postgres TO {POOLER_AUTH_ROLE}"),
        // Never hands out a superuser's secret, and pins search_path so the SECURITY DEFINER
        // function cannot be hijacked through objects in other schemas.
        "CREATE OR REPLACE FUNCTION public.user_search(uname TEXT) RETURNS TABLE (usename name, passwd text) \
         LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp \
         AS 'SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = $1 AND NOT usesuper'"
            .to_string(),
        "REVOKE ALL ON FUNCTION public.user_search(text) FROM public".to_string(),
        format!("GRANT EXECUTE ON FUNCTION public.user_search(text) TO {POOLER_AUTH_ROLE}"),
        // PostgreSQL 14 still lets every role create objects in `public`.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
    ];
    if auto_users::enabled(values).is_some() {
        sql.extend(auto_users::post_init_sql(values));
    } else {
        // Created here so its per-role setting can be stored now; CloudNativePG's managed-role
        // reconciler adopts the role and applies LOGIN, limits and memberships.
        sql.push(format!("CREATE ROLE {read_user} NOLOGIN"));
        sql.push(format!(
            "ALTER ROLE {read_user} SET default_transaction_read_only = on"
        ));
    }
    sql
}

/// SQL run once in the application database, after CloudNativePG created it for the owner.
pub fn post_init_application_sql(values: &Values) -> Vec<String> {
    let mut sql = vec![
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC".to_string(),
        format!("ALTER SCHEMA public OWNER TO {}", values.database.owner),
    ];
    sql.extend(auto_users::post_init_application_sql(values));
    sql
}

/// Lines CloudNativePG inserts after its fixed rules and before `host all all all scram-sha-256`.
///
/// The users Teleport logs in as (the static users, roles with `teleportAccess`) are admitted to
/// every database Teleport offers (`teleport::database_names`, a comma list in one rule); other
/// certificate-login roles to the application database only, as before there were extra
/// databases. Automatic provisioning's rules name `all` databases already.
pub fn pg_hba(values: &Values) -> Vec<String> {
    let teleport_databases = teleport::database_names(values).join(",");
    let mut cert_rules: Vec<(String, &str)> = static_users(values)
        .into_iter()
        .map(|role| (role, teleport_databases.as_str()))
        .collect();
    cert_rules.extend(
        values
            .roles
            .iter()
            .filter(|r| r.certificate_login)
            .map(|r| {
                let databases = if r.teleport_access {
                    teleport_databases.as_str()
                } else {
                    values.database.name.as_str()
                };
                (r.name.clone(), databases)
            }),
    );
    let mut lines = auto_users::pg_hba(values);
    lines.extend(
        cert_rules
            .iter()
            .map(|(role, databases)| format!("hostssl {databases} {role} all cert")),
    );
    for role in static_users(values) {
        lines.push(format!("host all {role} all reject"));
    }
    lines
}

/// The read and write users of the static access model; none with automatic provisioning.
fn static_users(values: &Values) -> Vec<String> {
    if auto_users::enabled(values).is_some() {
        return Vec::new();
    }
    vec![
        values.access.read_user.name.clone(),
        values.access.write_user.name.clone(),
    ]
}

/// `postgresql.parameters`: the values', plus English server messages with automatic user
/// provisioning, because Teleport recognises PostgreSQL's errors by their English text
/// ("already exists"; gravitational/teleport#37394, #38939).
fn parameters(values: &Values) -> BTreeMap<String, ParamValue> {
    let mut parameters = values.postgres.parameters.clone();
    if auto_users::enabled(values).is_some() {
        parameters
            .entry("lc_messages".into())
            .or_insert_with(|| ParamValue("C".into()));
    }
    parameters
}

/// `spec.managed.roles`.
pub fn managed_roles(values: &Values) -> Json {
    let access = &values.access;
    let mut roles = if auto_users::enabled(values).is_some() {
        Vec::new()
    } else {
        vec![
            json!({
                "name": access.read_user.name,
                "comment": "Teleport read-only access (client certificate only)",
                "ensure": "present",
                "login": true,
                "inherit": true,
                "connectionLimit": access.read_user.connection_limit,
                "inRoles": ["pg_read_all_data"],
                "disablePassword": true,
            }),
            json!({
                "name": access.write_user.name,
                "comment": "Teleport read-write access (client certificate only)",
                "ensure": "present",
                "login": true,
                "inherit": true,
                "connectionLimit": access.write_user.connection_limit,
                "inRoles": ["pg_read_all_data", "pg_write_all_data"],
                "disablePassword": true,
            }),
        ]
    };
    for role in &values.roles {
        let mut entry = json!({
            "name": role.name,
            "ensure": "present",
            "login": role.login,
            "inherit": true,
            "createdb": role.createdb,
            "connectionLimit": role.connection_limit,
            "inRoles": role.in_roles,
        });
        if let Some(comment) = &role.comment {
            entry["comment"] = json!(comment);
        }
        match &role.password_secret {
            Some(secret) => entry["passwordSecret"] = json!({"name": secret}),
            None => entry["disablePassword"] = json!(true),
        }
        roles.push(entry);
    }
    Json::Array(roles)
}

/// Tolerations as pods take them, with only the keys the user wrote.
pub fn tolerations(list: &[Toleration]) -> Vec<Json> {
    list.iter()
        .map(|t| {
            let mut entry = json!({"operator": t.operator});
            for (key, value) in [
                ("key", t.key.as_ref().map(|k| json!(k))),
                ("value", t.value.as_ref().map(|v| json!(v))),
                ("effect", t.effect.map(|e| json!(e))),
                ("tolerationSeconds", t.toleration_seconds.map(|s| json!(s))),
            ] {
                if let Some(value) = value {
                    entry[key] = value;
                }
            }
            entry
        })
        .collect()
}

/// `spec.affinity.nodeAffinity`; null when neither list has entries.
/// `nodeAffinity` of a pod spec; null when nothing is required or preferred.
pub fn node_affinity(a: &NodeAffinity) -> Option<Json> {
    let mut affinity = serde_json::Map::new();
    if !a.required.is_empty() {
        affinity.insert(
            "requiredDuringSchedulingIgnoredDuringExecution".into(),
            json!({"nodeSelectorTerms": [{"matchExpressions": a.required}]}),
        );
    }
    if !a.preferred.is_empty() {
        let preferred: Vec<Json> = a
            .preferred
            .iter()
            .map(|p| json!({"weight": p.weight, "preference": {"matchExpressions": p.match_expressions}}))
            .collect();
        affinity.insert(
            "preferredDuringSchedulingIgnoredDuringExecution".into(),
            Json::Array(preferred),
        );
    }
    (!affinity.is_empty()).then_some(Json::Object(affinity))
}

/// Labels and annotations as the Cluster takes them; null when both are empty.
fn metadata(
    labels: &BTreeMap<String, String>,
    annotations: &BTreeMap<String, String>,
) -> Option<Json> {
    let mut meta = serde_json::Map::new();
    if !labels.is_empty() {
        meta.insert("labels".into(), json!(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), json!(annotations));
    }
    (!meta.is_empty()).then_some(Json::Object(meta))
}

/// `inheritedMetadata` and `serviceAccountTemplate.metadata`: the user's keys merged with what
/// the backups' workload identity needs (the checks refused a key set to two values).
fn identity_metadata(values: &Values) -> (Option<Json>, Option<Json>) {
    let (identity_annotations, identity_labels) = values.workload_identity();
    let pg = &values.postgres;
    let mut pod_labels = pg.inherited_metadata.labels.clone();
    pod_labels.extend(
        identity_labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
    );
    let mut sa_annotations = pg.service_account_template.annotations.clone();
    sa_annotations.extend(
        identity_annotations
            .into_iter()
            .map(|(k, v)| (k.to_string(), v)),
    );
    (
        metadata(&pod_labels, &pg.inherited_metadata.annotations),
        metadata(&pg.service_account_template.labels, &sa_annotations),
    )
}

/// `spec.postgresql.extensions`: null without any (the default render does not change).
fn extensions(values: &Values) -> Json {
    let list = &values.postgres.extensions;
    if list.is_empty() {
        return Json::Null;
    }
    let entries: Vec<Json> = list
        .iter()
        .map(|e| {
            let mut entry = json!({"name": e.name});
            if let Some(reference) = &e.image {
                entry["image"] = json!({"reference": reference});
                if let Some(policy) = e.pull_policy {
                    entry["image"]["pullPolicy"] = json!(policy);
                }
            }
            for (key, paths) in [
                ("extension_control_path", &e.extension_control_path),
                ("dynamic_library_path", &e.dynamic_library_path),
                ("ld_library_path", &e.ld_library_path),
            ] {
                if !paths.is_empty() {
                    entry[key] = json!(paths);
                }
            }
            entry
        })
        .collect();
    Json::Array(entries)
}

/// `spec.managed.services`: null when nothing differs from CloudNativePG's defaults.
fn managed_services(values: &Values) -> Json {
    let services = &values.postgres.services;
    if services.disabled_default_services.is_empty() && services.additional.is_empty() {
        return Json::Null;
    }
    let mut out = json!({});
    if !services.disabled_default_services.is_empty() {
        out["disabledDefaultServices"] = json!(services.disabled_default_services);
    }
    let additional: Vec<Json> = services
        .additional
        .iter()
        .map(|service| {
            let mut metadata = json!({"name": service.name});
            if !service.metadata.labels.is_empty() {
                metadata["labels"] = json!(service.metadata.labels);
            }
            if !service.metadata.annotations.is_empty() {
                metadata["annotations"] = json!(service.metadata.annotations);
            }
            let mut template = json!({"metadata": metadata});
            if let Some(kind) = service.service_type {
                template["spec"] = json!({"type": kind});
            }
            let mut entry =
                json!({"selectorType": service.selector_type, "serviceTemplate": template});
            if let Some(strategy) = service.update_strategy {
                entry["updateStrategy"] = json!(strategy);
            }
            entry
        })
        .collect();
    if !additional.is_empty() {
        out["additional"] = json!(additional);
    }
    out
}

pub fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    let names = &common.names;
    let pg = &values.postgres;
    let owner_secret = if let Some(existing) = &values.database.owner_password.existing_secret {
        Json::String(existing.clone())
    } else if values.database.owner_password.value.is_some() {
        Json::String(names.owner_secret.clone())
    } else {
        Json::Null
    };
    let topology_spread = if pg.topology_spread.enabled {
        json!([{
            "maxSkew": 1,
            "topologyKey": pg.topology_spread.topology_key,
            "whenUnsatisfiable": pg.topology_spread.when_unsatisfiable,
            "labelSelector": {"matchLabels": {"cnpg.io/cluster": names.cluster, "cnpg.io/podRole": "instance"}},
        }])
    } else {
        json!([])
    };
    let mut planned = Vec::new();
    if let Some(password) = &values.database.owner_password.value {
        planned.push(
            common
                .object(
                    "basic-auth-secret.json",
                    Kind::Secret,
                    &names.owner_secret,
                    "database",
                    json!({"username": values.database.owner, "password": password}),
                )
                // CloudNativePG applies password changes in labelled Secrets immediately.
                .with_label(certs::RELOAD_LABEL, "true"),
        );
    }
    let mut fields = json!({
            "instances": pg.instances,
            "image": values.postgres.image_catalog_ref.is_none().then(|| values.postgres_image()),
            "image_catalog_ref": values.postgres.image_catalog_ref.as_ref().map(|c| json!({
                "apiGroup": "postgresql.cnpg.io", "kind": c.kind, "name": c.name, "major": pg.major,
            })),
            "services": managed_services(values),
            "extensions": extensions(values),
            "enable_superuser_access": pg.enable_superuser_access,
            "parameters": parameters(values),
            "pg_hba": pg_hba(values),
            "database": values.database.name,
            "owner": values.database.owner,
            "owner_secret": owner_secret,
            "encoding": values.database.encoding,
            "locale_collate": values.database.locale_collate,
            "locale_c_type": values.database.locale_c_type,
            "data_checksums": values.database.data_checksums,
            "post_init_sql": post_init_sql(values),
            "post_init_application_sql": post_init_application_sql(values),
            "storage": {"size": pg.storage.size, "storageClass": pg.storage.storage_class},
            "wal_storage": pg.wal_storage.size.as_ref().map(|size| json!({"size": size, "storageClass": pg.wal_storage.storage_class})),
            "resources": container_resources(&pg.resources),
            "anti_affinity": match pg.pod_anti_affinity { AntiAffinity::Preferred => "preferred", AntiAffinity::Required => "required" },
            "node_selector": pg.node_selector,
            "tolerations": tolerations(&pg.tolerations),
            "node_affinity": node_affinity(&pg.node_affinity),
            "topology_spread": topology_spread,
            "priority_class_name": pg.priority_class_name,
            "shared_preload_libraries": pg.shared_preload_libraries,
            "pg_ident": pg.pg_ident,
            "primary_update_strategy": pg.primary_update_strategy,
            "primary_update_method": pg.primary_update_method,
            // Only the keys the user wrote: CloudNativePG defaults dataDurability itself.
            "synchronous": pg.synchronous.as_ref().map(|s| {
                let mut sync = json!({"method": s.method, "number": s.number});
                if let Some(durability) = s.data_durability {
                    sync["dataDurability"] = json!(durability);
                }
                sync
            }),
            "certificates": certs::cluster_certificates(common),
            "roles": managed_roles(values),
            "image_pull_secrets": pg.image_pull_secrets.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
            "monitoring": monitoring::cluster_monitoring(common),
    });
    let (inherited, service_account) = identity_metadata(values);
    fields["inherited_metadata"] = json!(inherited);
    fields["service_account_metadata"] = json!(service_account);
    if let (Json::Object(target), Json::Object(extra)) =
        (&mut fields, backup::cluster_fields(common))
    {
        target.extend(extra);
    }
    // A recovered cluster takes its database and owner from the backup; CloudNativePG applies
    // these (and the owner's password Secret) once it is promoted.
    if let Json::Object(recovery) = &mut fields["recovery"] {
        recovery.insert("database".into(), json!(values.database.name));
        recovery.insert("owner".into(), json!(values.database.owner));
        if !owner_secret.is_null() {
            recovery.insert("secret".into(), json!({"name": owner_secret}));
        }
    }
    // The PostgreSQL version describes the Cluster alone: on every object (and pod template) a
    // minor bump would touch objects and restart pods that do not run PostgreSQL.
    let mut cluster = common
        .object(
            "cluster.json",
            Kind::Cluster,
            &names.cluster,
            "database",
            fields,
        )
        .with_label(
            "app.kubernetes.io/version",
            &values.postgres_version_label(),
        );
    // Written on the Cluster so that `cnpgtp lint`, which reads only manifests, knows it.
    if let Some(reason) = &values.backup.disabled_reason
        && !values.backup.enabled
    {
        cluster = cluster.with_annotation(backup::NO_BACKUP_REASON, reason);
    }
    planned.push(backup::protect(values, cluster));
    planned
}
