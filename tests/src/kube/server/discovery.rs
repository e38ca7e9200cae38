//! The resources the server serves (from the schemas, else a built-in table) and the discovery
//! endpoints: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{group}`, `/apis/{group}/{version}`,
//! plain and aggregated (`as=APIGroupDiscoveryList`).

use std::{cmp::Ordering, collections::BTreeMap};

use axum::{
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};
use serde_json::{Value, json};

use super::status::{ApiError, ApiResult, json_body};
use crate::{kube::store::Gvr, schema::Schemas};

/// One served resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    /// `<plural>/status` is a subresource: main-resource writes keep the stored status.
    pub status: bool,
    /// `<plural>/log` is served (pods).
    pub log: bool,
}

impl Resource {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() { self.version.clone() } else { format!("{}/{}", self.group, self.version) }
    }

    pub fn gvr(&self) -> Gvr {
        Gvr::new(&self.group, &self.version, &self.plural)
    }

    /// `pipelineruns.tekton.dev`, or `configmaps` for core, as messages name resources.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() { self.plural.clone() } else { format!("{}.{}", self.plural, self.group) }
    }

    pub fn is_core(&self) -> bool {
        self.group.is_empty()
    }
}

const VERBS: [&str; 8] = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/// (group, version, kind, plural, namespaced, status subresource)
const BUILT_IN: &[(&str, &str, &str, &str, bool, bool)] = &[
    ("", "v1", "Pod", "pods", true, true),
    ("", "v1", "ConfigMap", "configmaps", true, false),
    ("", "v1", "Secret", "secrets", true, false),
    ("", "v1", "ServiceAccount", "serviceaccounts", true, false),
    ("", "v1", "Namespace", "namespaces", false, true),
    ("", "v1", "Node", "nodes", false, true),
    ("tekton.dev", "v1", "PipelineRun", "pipelineruns", true, true),
    ("tekton.dev", "v1", "TaskRun", "taskruns", true, true),
    ("argoproj.io", "v1alpha1", "Workflow", "workflows", true, false),
    ("argoproj.io", "v1alpha1", "WorkflowTemplate", "workflowtemplates", true, false),
    ("shipwright.io", "v1beta1", "Build", "builds", true, true),
    ("shipwright.io", "v1beta1", "BuildRun", "buildruns", true, true),
    ("shipwright.io", "v1beta1", "BuildStrategy", "buildstrategies", true, true),
    ("build.openshift.io", "v1", "BuildConfig", "buildconfigs", true, false),
    ("build.openshift.io", "v1", "Build", "builds", true, false),
    ("image.openshift.io", "v1", "ImageStream", "imagestreams", true, true),
    ("image.openshift.io", "v1", "ImageStreamTag", "imagestreamtags", true, false),
    ("appstudio.redhat.com", "v1alpha1", "Application", "applications", true, true),
    ("appstudio.redhat.com", "v1alpha1", "Component", "components", true, true),
    ("appstudio.redhat.com", "v1alpha1", "ImageRepository", "imagerepositories", true, true),
    ("appstudio.redhat.com", "v1alpha1", "Snapshot", "snapshots", true, true),
    ("appstudio.redhat.com", "v1alpha1", "Release", "releases", true, true),
    ("appstudio.redhat.com", "v1alpha1", "ReleasePlan", "releaseplans", true, true),
    ("appstudio.redhat.com", "v1alpha1", "ReleasePlanAdmission", "releaseplanadmissions", true, true),
    ("appstudio.redhat.com", "v1beta2", "IntegrationTestScenario", "integrationtestscenarios", true, true),
    ("prow.k8s.io", "v1", "ProwJob", "prowjobs", true, false),
];

/// Every served resource.
#[derive(Debug, Clone)]
pub(crate) struct Resources {
    list: Vec<Resource>,
}

impl Resources {
    /// The built-in table, with every resource the schemas describe added or taking precedence.
    pub fn new(schemas: Option<&Schemas>) -> Self {
        let mut list: Vec<Resource> = BUILT_IN
            .iter()
            .map(|&(group, version, kind, plural, namespaced, status)| Resource {
                group: group.into(),
                version: version.into(),
                kind: kind.into(),
                plural: plural.into(),
                namespaced,
                status,
                log: group.is_empty() && plural == "pods",
            })
            .collect();
        for info in schemas.map(Schemas::resources).unwrap_or_default() {
            let resource = Resource {
                group: info.group,
                version: info.version,
                kind: info.kind,
                plural: info.plural,
                namespaced: info.namespaced,
                status: info.status_subresource,
                log: false,
            };
            match list.iter_mut().find(|r| {
                r.group == resource.group && r.version == resource.version && r.plural == resource.plural
            }) {
                Some(existing) => *existing = Resource { log: existing.log, ..resource },
                None => list.push(resource),
            }
        }
        Resources { list }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Resource> {
        self.list.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
    }

    fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Resource> {
        self.list.iter().filter(move |r| r.group == group && r.version == version)
    }

    /// Non-core groups and their versions, preferred (highest priority) first.
    fn groups(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for r in self.list.iter().filter(|r| !r.is_core()) {
            let versions = groups.entry(&r.group).or_default();
            if !versions.contains(&r.version.as_str()) {
                versions.push(&r.version);
            }
        }
        for versions in groups.values_mut() {
            versions.sort_by(|a, b| version_priority(a, b));
        }
        groups
    }

    /// Serves a discovery path, or `None` when `path` is not one.
    pub fn serve(&self, path: &str, headers: &HeaderMap) -> Option<ApiResult> {
        let aggregated = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("as=APIGroupDiscoveryList"));
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        Some(match segments.as_slice() {
            ["version"] => Ok(json_body(&version())),
            ["api"] if aggregated => Ok(aggregated_body(&json!([self.discovery_group("", &["v1"])]))),
            ["api"] => Ok(json_body(&json!({
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
            }))),
            ["api", "v1"] => Ok(json_body(&self.resource_list("", "v1"))),
            ["apis"] if aggregated => {
                let items: Vec<Value> = self
                    .groups()
                    .iter()
                    .map(|(group, versions)| self.discovery_group(group, versions))
                    .collect();
                Ok(aggregated_body(&json!(items)))
            }
            ["apis"] => {
                let groups: Vec<Value> =
                    self.groups().iter().map(|(group, versions)| api_group(group, versions)).collect();
                Ok(json_body(&json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})))
            }
            ["apis", group] => match self.groups().get(group) {
                Some(versions) => Ok(json_body(&api_group(group, versions))),
                None => Err(ApiError::no_route()),
            },
            ["apis", group, version] => match self.in_group_version(group, version).next() {
                Some(_) => Ok(json_body(&self.resource_list(group, version))),
                None => Err(ApiError::no_route()),
            },
            _ => return None,
        })
    }

    fn resource_list(&self, group: &str, version: &str) -> Value {
        let mut resources = Vec::new();
        for r in self.in_group_version(group, version) {
            resources.push(json!({
                "name": r.plural,
                "singularName": r.kind.to_lowercase(),
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": VERBS,
            }));
            if r.status {
                resources.push(json!({
                    "name": format!("{}/status", r.plural),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }));
            }
            if r.log {
                resources.push(json!({
                    "name": format!("{}/log", r.plural),
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get"],
                }));
            }
        }
        let group_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
    }

    /// One `APIGroupDiscovery` (aggregated discovery v2).
    fn discovery_group(&self, group: &str, versions: &[&str]) -> Value {
        let versions: Vec<Value> = versions
            .iter()
            .map(|version| {
                let resources: Vec<Value> = self
                    .in_group_version(group, version)
                    .map(|r| {
                        let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
                        let mut subresources = Vec::new();
                        if r.status {
                            subresources.push(json!({"subresource": "status", "responseKind": kind, "verbs": ["get", "patch", "update"]}));
                        }
                        if r.log {
                            subresources.push(json!({"subresource": "log", "responseKind": kind, "verbs": ["get"]}));
                        }
                        json!({
                            "resource": r.plural,
                            "responseKind": kind,
                            "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                            "singularResource": r.kind.to_lowercase(),
                            "verbs": VERBS,
                            "subresources": subresources,
                        })
                    })
                    .collect();
                json!({"version": version, "resources": resources, "freshness": "Current"})
            })
            .collect();
        json!({"metadata": {"name": group}, "versions": versions})
    }
}

fn api_group(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v})).collect();
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

fn aggregated_body(items: &Value) -> Response {
    let mut response = json_body(&json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    }));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
    );
    response
}

fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-okd-tests",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Kubernetes version priority: GA before beta before alpha, higher numbers first, then
/// anything else alphabetically.
pub(crate) fn version_priority(a: &str, b: &str) -> Ordering {
    fn key(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let major: u64 = rest[..digits].parse().ok()?;
        let tail = &rest[digits..];
        let (level, minor) = if tail.is_empty() {
            (2, 0)
        } else if let Some(n) = tail.strip_prefix("beta") {
            (1, n.parse().ok()?)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n.parse().ok()?)
        } else {
            return None;
        };
        Some((level, major, minor))
    }
    match (key(a), key(b)) {
        (Some(ka), Some(kb)) => kb.cmp(&ka),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_by_kubernetes_priority() {
        let mut versions = vec!["v1alpha1", "v1beta1", "v2", "v1", "v1beta2", "foo"];
        versions.sort_by(|a, b| version_priority(a, b));
        assert_eq!(versions, ["v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "foo"]);
    }

    #[test]
    fn built_in_table_serves_without_schemas() {
        let resources = Resources::new(None);
        let pr = resources.find("tekton.dev", "v1", "pipelineruns").expect("pipelineruns");
        assert_eq!(pr.kind, "PipelineRun");
        assert!(pr.status && pr.namespaced);
        assert!(resources.find("", "v1", "pods").expect("pods").log);
        assert!(!resources.find("", "v1", "namespaces").expect("namespaces").namespaced);
    }
}
