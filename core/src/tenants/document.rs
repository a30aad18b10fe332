//! The TenantSet file as serde reads it: the header typed, each tenant (and the defaults) a
//! map of typed fields with their positions, keys the format does not have kept to report.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub(super) type Fields = BTreeMap<String, Spanned<serde_json::Value>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Document {
    #[serde(rename = "apiVersion")]
    pub(super) api_version: Option<Spanned<String>>,
    pub(super) kind: Option<Spanned<String>>,
    pub(super) metadata: Option<Spanned<Fields>>,
    pub(super) spec: Option<Spanned<SpecDocument>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SpecDocument {
    pub(super) defaults: Option<Spanned<TenantEntry>>,
    pub(super) tenants: Option<Vec<Spanned<TenantEntry>>>,
}

/// The fields a tenant (and `spec.defaults`) has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Field {
    Namespace,
    ServiceAccount,
    Namespaces,
    Template,
    ClusterRole,
    Kubeconfig,
    PodSecurity,
    AllowServices,
    Quota,
    Network,
    Expires,
    AlwaysPull,
}

impl Field {
    pub(super) const ALL: [Field; 12] = [
        Field::Namespace,
        Field::ServiceAccount,
        Field::Namespaces,
        Field::Template,
        Field::ClusterRole,
        Field::Kubeconfig,
        Field::PodSecurity,
        Field::AllowServices,
        Field::Quota,
        Field::Network,
        Field::Expires,
        Field::AlwaysPull,
    ];

    /// The field's key in the file.
    pub(super) fn key(self) -> &'static str {
        match self {
            Field::Namespace => "namespace",
            Field::ServiceAccount => "serviceAccount",
            Field::Namespaces => "namespaces",
            Field::Template => "template",
            Field::ClusterRole => "clusterRole",
            Field::Kubeconfig => "kubeconfig",
            Field::PodSecurity => "podSecurity",
            Field::AllowServices => "allowServices",
            Field::Quota => "quota",
            Field::Network => "network",
            Field::Expires => "expires",
            Field::AlwaysPull => "alwaysPull",
        }
    }

    pub(super) fn listed() -> String {
        Field::ALL.map(Field::key).join(", ")
    }
}

/// One tenant (or the defaults) as written: each field by its name, with its position. The
/// values stay untyped here so that a value of the wrong type is one problem among the others
/// (the set is validated whole, every problem at once); keys the format does not have are kept
/// to be reported. (serde's `deny_unknown_fields` would stop at the first, and its `flatten`
/// loses the positions.)
#[derive(Debug, Default)]
pub(super) struct TenantEntry {
    pub(super) fields: BTreeMap<Field, Spanned<serde_json::Value>>,
    pub(super) unknown: Vec<(String, Spanned<serde_json::Value>)>,
}

impl TenantEntry {
    pub(super) fn get(&self, field: Field) -> Option<&Spanned<serde_json::Value>> {
        self.fields.get(&field)
    }
}

impl<'de> Deserialize<'de> for TenantEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = TenantEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                write!(f, "a map of {}", Field::listed())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<TenantEntry, A::Error> {
                let mut entry = TenantEntry::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value = map.next_value()?;
                    match Field::ALL.into_iter().find(|f| f.key() == key) {
                        Some(field) => {
                            entry.fields.insert(field, value);
                        }
                        None => entry.unknown.push((key, value)),
                    }
                }
                Ok(entry)
            }
        }
        deserializer.deserialize_map(Entry)
    }
}
