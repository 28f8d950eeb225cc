//! Which fields of each kind name another object, and which documented input each may name
//! instead: the CloudNativePG (Cluster, Pooler, ScheduledBackup, Database), cert-manager,
//! external-secrets, RBAC and Teleport join token kinds by their own fields, every workload by
//! its pod spec (service account, volumes, `env`/`envFrom`, image pull secrets).

use serde_json::Value as Json;

use super::{Input, Reference, Refs};
use crate::lint::objects::{containers, items, pod_spec, str_at};

/// Every object `object` names, with the input each field may name instead.
pub(super) fn references(object: &Json) -> Vec<Reference> {
    let namespace = str_at(object, "/metadata/namespace").to_string();
    let mut refs = Refs {
        namespace: namespace.clone(),
        list: Vec::new(),
    };
    match str_at(object, "/kind") {
        "Cluster" => {
            for (key, input) in [
                ("serverCASecret", Some(Input::ServerCaSecret)),
                ("serverTLSSecret", None),
                ("clientCASecret", None),
                ("replicationTLSSecret", None),
            ] {
                let name = str_at(object, &format!("/spec/certificates/{key}"));
                refs.add(format!("spec.certificates.{key}"), "Secret", name, input);
            }
            refs.add(
                "spec.bootstrap.initdb.secret.name".into(),
                "Secret",
                str_at(object, "/spec/bootstrap/initdb/secret/name"),
                Some(Input::OwnerSecret),
            );
            for (i, plugin) in items(object, "/spec/plugins").iter().enumerate() {
                refs.add(
                    format!("spec.plugins[{i}].parameters.barmanObjectName"),
                    "ObjectStore",
                    str_at(plugin, "/parameters/barmanObjectName"),
                    None,
                );
            }
            for (i, external) in items(object, "/spec/externalClusters").iter().enumerate() {
                refs.add(
                    format!("spec.externalClusters[{i}].plugin.parameters.barmanObjectName"),
                    "ObjectStore",
                    str_at(external, "/plugin/parameters/barmanObjectName"),
                    None,
                );
            }
            for key in ["className", "walClassName"] {
                refs.add(
                    format!("spec.backup.volumeSnapshot.{key}"),
                    "VolumeSnapshotClass",
                    str_at(object, &format!("/spec/backup/volumeSnapshot/{key}")),
                    Some(Input::VolumeSnapshotClass),
                );
            }
            for key in ["storage", "walStorage"] {
                refs.add(
                    format!("spec.bootstrap.recovery.volumeSnapshots.{key}.name"),
                    "VolumeSnapshot",
                    str_at(
                        object,
                        &format!("/spec/bootstrap/recovery/volumeSnapshots/{key}/name"),
                    ),
                    Some(Input::VolumeSnapshot),
                );
            }
            refs.add(
                "spec.bootstrap.recovery.secret.name".into(),
                "Secret",
                str_at(object, "/spec/bootstrap/recovery/secret/name"),
                Some(Input::OwnerSecret),
            );
            let catalog = str_at(object, "/spec/imageCatalogRef/name");
            match str_at(object, "/spec/imageCatalogRef/kind") {
                // Cluster-scoped: never in a namespace.
                "ClusterImageCatalog" => refs.add_in(
                    String::new(),
                    "spec.imageCatalogRef".into(),
                    "ClusterImageCatalog",
                    catalog,
                    Some(Input::ImageCatalog),
                ),
                _ => refs.add(
                    "spec.imageCatalogRef".into(),
                    "ImageCatalog",
                    catalog,
                    Some(Input::ImageCatalog),
                ),
            }
            for (i, queries) in items(object, "/spec/monitoring/customQueriesConfigMap")
                .iter()
                .enumerate()
            {
                refs.add(
                    format!("spec.monitoring.customQueriesConfigMap[{i}].name"),
                    "ConfigMap",
                    str_at(queries, "/name"),
                    Some(Input::CustomQueries),
                );
            }
            for (i, role) in items(object, "/spec/managed/roles").iter().enumerate() {
                refs.add(
                    format!("spec.managed.roles[{i}].passwordSecret.name"),
                    "Secret",
                    str_at(role, "/passwordSecret/name"),
                    Some(Input::RolePasswordSecret),
                );
            }
        }
        "ObjectStore" => {
            let configuration = "/spec/configuration";
            for (slot, keys) in [
                (
                    "s3Credentials",
                    &["accessKeyId", "secretAccessKey", "region", "sessionToken"][..],
                ),
                ("googleCredentials", &["applicationCredentials"][..]),
                (
                    "azureCredentials",
                    &[
                        "connectionString",
                        "storageAccount",
                        "storageKey",
                        "storageSasToken",
                    ][..],
                ),
            ] {
                for key in keys {
                    refs.add(
                        format!("spec.configuration.{slot}.{key}.name"),
                        "Secret",
                        str_at(object, &format!("{configuration}/{slot}/{key}/name")),
                        Some(Input::ObjectStoreCredentials),
                    );
                }
            }
            refs.add(
                "spec.configuration.endpointCA.name".into(),
                "Secret",
                str_at(object, &format!("{configuration}/endpointCA/name")),
                Some(Input::ObjectStoreEndpointCa),
            );
        }
        "PodMonitor" => {
            for (i, endpoint) in items(object, "/spec/podMetricsEndpoints")
                .iter()
                .enumerate()
            {
                refs.add(
                    format!("spec.podMetricsEndpoints[{i}].tlsConfig.ca.secret.name"),
                    "Secret",
                    str_at(endpoint, "/tlsConfig/ca/secret/name"),
                    Some(Input::ServerCaSecret),
                );
            }
        }
        "ScheduledBackup" | "Database" => {
            refs.add(
                "spec.cluster.name".into(),
                "Cluster",
                str_at(object, "/spec/cluster/name"),
                None,
            );
        }
        "Pooler" => {
            refs.add(
                "spec.cluster.name".into(),
                "Cluster",
                str_at(object, "/spec/cluster/name"),
                None,
            );
            for key in [
                "serverTLSSecret",
                "serverCASecret",
                "clientTLSSecret",
                "clientCASecret",
                "authQuerySecret",
            ] {
                let name = str_at(object, &format!("/spec/pgbouncer/{key}/name"));
                refs.add(format!("spec.pgbouncer.{key}.name"), "Secret", name, None);
            }
        }
        "Certificate" => {
            let issuer_kind = match str_at(object, "/spec/issuerRef/kind") {
                "ClusterIssuer" => "ClusterIssuer",
                _ => "Issuer",
            };
            // Only the server certificate may use an issuer that exists outside the render.
            let server = items(object, "/spec/usages")
                .iter()
                .any(|u| u == "server auth");
            let input = if issuer_kind == "ClusterIssuer" || server {
                Some(Input::ExistingIssuer)
            } else {
                None
            };
            let name = str_at(object, "/spec/issuerRef/name");
            if issuer_kind == "ClusterIssuer" {
                // Cluster-scoped: never in a namespace, never rendered.
                refs.add_in(
                    String::new(),
                    "spec.issuerRef".into(),
                    issuer_kind,
                    name,
                    input,
                );
            } else {
                refs.add("spec.issuerRef".into(), issuer_kind, name, input);
            }
        }
        "Issuer" => {
            refs.add(
                "spec.ca.secretName".into(),
                "Secret",
                str_at(object, "/spec/ca/secretName"),
                None,
            );
            refs.add(
                "spec.vault.auth.appRole.secretRef.name".into(),
                "Secret",
                str_at(object, "/spec/vault/auth/appRole/secretRef/name"),
                Some(Input::VaultAppRoleSecret),
            );
            refs.add(
                "spec.vault.auth.kubernetes.serviceAccountRef.name".into(),
                "ServiceAccount",
                str_at(object, "/spec/vault/auth/kubernetes/serviceAccountRef/name"),
                None,
            );
        }
        "SecretStore" => {
            refs.add(
                "spec.provider.kubernetes.auth.serviceAccount.name".into(),
                "ServiceAccount",
                str_at(object, "/spec/provider/kubernetes/auth/serviceAccount/name"),
                None,
            );
            let ca = object.pointer("/spec/provider/kubernetes/server/caProvider");
            if let Some(ca) = ca {
                let kind = if str_at(ca, "/type") == "Secret" {
                    "Secret"
                } else {
                    "ConfigMap"
                };
                refs.add(
                    "spec.provider.kubernetes.server.caProvider".into(),
                    kind,
                    str_at(ca, "/name"),
                    None,
                );
            }
        }
        "ExternalSecret" => {
            let store_kind = match str_at(object, "/spec/secretStoreRef/kind") {
                "ClusterSecretStore" => "ClusterSecretStore",
                _ => "SecretStore",
            };
            refs.add(
                "spec.secretStoreRef".into(),
                store_kind,
                str_at(object, "/spec/secretStoreRef/name"),
                None,
            );
            for (i, item) in items(object, "/spec/data").iter().enumerate() {
                refs.add(
                    format!("spec.data[{i}].remoteRef.key"),
                    "Secret",
                    str_at(item, "/remoteRef/key"),
                    Some(Input::TeleportClientCa),
                );
            }
        }
        "RoleBinding" => {
            if str_at(object, "/roleRef/kind") == "Role" {
                refs.add(
                    "roleRef".into(),
                    "Role",
                    str_at(object, "/roleRef/name"),
                    None,
                );
            }
            for (i, subject) in items(object, "/subjects").iter().enumerate() {
                if str_at(subject, "/kind") != "ServiceAccount" {
                    continue;
                }
                let subject_namespace = match str_at(subject, "/namespace") {
                    "" => namespace.as_str(),
                    other => other,
                };
                // A ServiceAccount of another namespace is another component's (cert-manager's).
                let input =
                    (subject_namespace != namespace).then_some(Input::CertManagerServiceAccount);
                refs.add_in(
                    subject_namespace.to_string(),
                    format!("subjects[{i}]"),
                    "ServiceAccount",
                    str_at(subject, "/name"),
                    input,
                );
            }
        }
        // A join token allowing a ServiceAccount the render does not have lets nothing of this
        // render join (and would let whoever creates that account later join instead).
        "TeleportProvisionToken" => {
            for (i, rule) in items(object, "/spec/kubernetes/allow").iter().enumerate() {
                let account = str_at(rule, "/service_account");
                let (account_namespace, name) = account.split_once(':').unwrap_or(("", account));
                refs.add_in(
                    account_namespace.to_string(),
                    format!("spec.kubernetes.allow[{i}].service_account"),
                    "ServiceAccount",
                    name,
                    None,
                );
            }
        }
        "Role" => {
            for (i, rule) in items(object, "/rules").iter().enumerate() {
                let verbs: Vec<&str> = items(rule, "/verbs")
                    .iter()
                    .filter_map(Json::as_str)
                    .collect();
                let read_only = verbs.iter().all(|v| matches!(*v, "get" | "watch" | "list"));
                for resource in items(rule, "/resources").iter().filter_map(Json::as_str) {
                    let (kind, input) = match resource {
                        // Read access to a source Secret, such as Teleport's CA, is how inputs
                        // are read; write access needs a Secret the render owns.
                        "secrets" => ("Secret", read_only.then_some(Input::TeleportClientCa)),
                        "configmaps" => ("ConfigMap", None),
                        "serviceaccounts" | "serviceaccounts/token" => ("ServiceAccount", None),
                        "poolers" => ("Pooler", None),
                        "clusters" => ("Cluster", None),
                        _ => continue,
                    };
                    for name in items(rule, "/resourceNames")
                        .iter()
                        .filter_map(Json::as_str)
                    {
                        refs.add(format!("rules[{i}].resourceNames"), kind, name, input);
                    }
                }
            }
        }
        _ => {}
    }
    if let Some(pod) = pod_spec(object) {
        pod_references(pod, &mut refs);
    }
    refs.list
}

fn pod_references(pod: &Json, refs: &mut Refs) {
    let service_account = match str_at(pod, "/serviceAccountName") {
        "" => str_at(pod, "/serviceAccount"),
        name => name,
    };
    refs.add(
        "serviceAccountName".into(),
        "ServiceAccount",
        service_account,
        None,
    );
    for (i, volume) in items(pod, "/volumes").iter().enumerate() {
        let input = match str_at(volume, "/name") {
            "identity" => Some(Input::TeleportIdentitySecret),
            "server-ca" => Some(Input::ServerCaSecret),
            _ => None,
        };
        refs.add(
            format!("volumes[{i}].secret.secretName"),
            "Secret",
            str_at(volume, "/secret/secretName"),
            input,
        );
        refs.add(
            format!("volumes[{i}].configMap.name"),
            "ConfigMap",
            str_at(volume, "/configMap/name"),
            None,
        );
        for (j, source) in items(volume, "/projected/sources").iter().enumerate() {
            refs.add(
                format!("volumes[{i}].projected.sources[{j}].secret.name"),
                "Secret",
                str_at(source, "/secret/name"),
                input,
            );
            refs.add(
                format!("volumes[{i}].projected.sources[{j}].configMap.name"),
                "ConfigMap",
                str_at(source, "/configMap/name"),
                None,
            );
        }
    }
    for (container, field) in containers(pod) {
        let name = str_at(container, "/name");
        for (j, env) in items(container, "/env").iter().enumerate() {
            refs.add(
                format!("{field}[{name}].env[{j}].valueFrom.secretKeyRef"),
                "Secret",
                str_at(env, "/valueFrom/secretKeyRef/name"),
                None,
            );
            refs.add(
                format!("{field}[{name}].env[{j}].valueFrom.configMapKeyRef"),
                "ConfigMap",
                str_at(env, "/valueFrom/configMapKeyRef/name"),
                None,
            );
        }
        for (j, env) in items(container, "/envFrom").iter().enumerate() {
            refs.add(
                format!("{field}[{name}].envFrom[{j}].secretRef"),
                "Secret",
                str_at(env, "/secretRef/name"),
                None,
            );
            refs.add(
                format!("{field}[{name}].envFrom[{j}].configMapRef"),
                "ConfigMap",
                str_at(env, "/configMapRef/name"),
                None,
            );
        }
    }
    for (i, secret) in items(pod, "/imagePullSecrets").iter().enumerate() {
        refs.add(
            format!("imagePullSecrets[{i}]"),
            "Secret",
            str_at(secret, "/name"),
            None,
        );
    }
}
