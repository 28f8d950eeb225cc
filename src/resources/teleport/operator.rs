//! Registration through the Teleport operator (`teleport.registration: operator`): one
//! `TeleportDatabaseV3` per endpoint and the read and write roles, in the operator's namespace.

use serde_json::json;

use super::role::{Access, role_spec};
use super::{admin_user_field, endpoint_labels, endpoints, in_operator_namespace, render_time_ca};
use crate::manifest::Kind;
use crate::plan::{Common, Planned};
use crate::values::RoleVersion;

pub(super) fn plan(common: &Common) -> Vec<Planned> {
    let values = common.values;
    // Without a render-time CA the field is left out: the client-CA sync workload writes it in
    // the cluster, and appliers never set it, so they leave it alone.
    let tls = match render_time_ca(values) {
        Some(ca) => json!({"mode": "verify-full", "ca_cert": ca}),
        None => json!({"mode": "verify-full"}),
    };
    let mut planned: Vec<Planned> = endpoints(common)
        .iter()
        .map(|endpoint| {
            let mut object = common
                .object(
                    "teleport-database.json",
                    Kind::TeleportDatabaseV3,
                    &endpoint.name,
                    "teleport",
                    json!({"uri": endpoint.uri, "tls": tls, "admin_user": admin_user_field(endpoint)}),
                )
                // The operator turns this annotation into the Teleport database description.
                .with_annotation("description", &endpoint.description);
            for (key, value) in endpoint_labels(values, endpoint) {
                object = object.with_label(&key, &value);
            }
            in_operator_namespace(common, object)
        })
        .collect();
    if values.teleport.role.render {
        let kind = match values.teleport.role.version {
            RoleVersion::V7 => Kind::TeleportRoleV7,
            RoleVersion::V8 => Kind::TeleportRoleV8,
        };
        for access in Access::BOTH {
            let role = common.object(
                "teleport-role.json",
                kind,
                &values.teleport_role_name(access.as_str()),
                "teleport",
                json!({"kind": kind.as_str(), "spec": role_spec(values, access)}),
            );
            planned.push(in_operator_namespace(common, role));
        }
    }
    planned
}
