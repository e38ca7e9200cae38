//! The validator on small hand-written schemas (no OKD_SHARED needed).
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, sync::Arc};

use serde_json::{Value, json};

use super::{FieldValidation::*, Schemas, crd_resources, swagger_resources};

/// A namespaced example.com/v1 Widget whose root schema has `spec` (and `status`) as given.
fn widget(spec: Value) -> Schemas {
    let root = json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}}},
            "spec": spec,
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
        },
    });
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": root},
                 "subresources": {"status": {}}},
                {"name": "v0", "served": false, "storage": false, "schema": {"openAPIV3Schema": {}}},
            ],
        },
    });
    from(crd_resources(&crd).unwrap())
}

fn from(resources: Vec<super::Resource>) -> Schemas {
    let map: BTreeMap<_, _> = resources
        .into_iter()
        .map(|r| ((r.info.group.clone(), r.info.version.clone(), r.info.kind.clone()), r))
        .collect();
    Schemas { resources: Arc::new(map) }
}

fn object(spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
}

fn run(schemas: &Schemas, spec: Value, mode: super::FieldValidation) -> Result<Vec<String>, Vec<String>> {
    schemas.validate("example.com", "v1", "Widget", &mut object(spec), mode)
}

fn errors(schema: Value, spec: Value) -> Vec<String> {
    run(&widget(schema), spec, Strict).expect_err("expected validation errors")
}

#[test]
fn resource_info_comes_from_the_crd() {
    let schemas = widget(json!({"type": "object"}));
    let resources = schemas.resources();
    assert_eq!(resources.len(), 1, "the unserved version is left out");
    let info = &resources[0];
    assert_eq!(
        (info.group.as_str(), info.version.as_str(), info.plural.as_str()),
        ("example.com", "v1", "widgets")
    );
    assert!(info.namespaced && info.status_subresource);
}

#[test]
fn types_required_and_enums_use_kube_apiserver_messages() {
    let schema = json!({
        "type": "object", "required": ["source", "mode"],
        "properties": {
            "timeout": {"type": "string"},
            "mode": {"type": "string", "enum": ["a", "b"]},
            "count": {"type": "integer", "enum": [1, 2]},
            "source": {"type": "object"},
        },
    });
    let found = errors(schema, json!({"timeout": 5, "mode": "x", "count": 3}));
    assert_eq!(
        found,
        [
            "spec.source: Required value",
            "spec.count: Unsupported value: 3: supported values: \"1\", \"2\"",
            "spec.mode: Unsupported value: \"x\": supported values: \"a\", \"b\"",
            "spec.timeout: Invalid value: \"integer\": spec.timeout in body must be of type string: \"integer\"",
        ]
    );
}

#[test]
fn string_number_and_array_bounds() {
    let schema = json!({"type": "object", "properties": {
        "short": {"type": "string", "minLength": 2},
        "long": {"type": "string", "maxLength": 3},
        "name": {"type": "string", "pattern": "^[a-z]+$"},
        "low": {"type": "integer", "minimum": 1},
        "high": {"type": "number", "maximum": 10, "exclusiveMaximum": true},
        "small": {"type": "integer", "format": "int32"},
        "few": {"type": "array", "minItems": 1, "items": {"type": "string"}},
        "many": {"type": "array", "maxItems": 1, "items": {"type": "string"}},
    }});
    let spec = json!({"short": "a", "long": "abcd", "name": "A1", "low": 0, "high": 10, "small": 3_000_000_000_i64,
                      "few": [], "many": ["a", 2]});
    let found = errors(schema, spec);
    for expected in [
        "spec.short: Invalid value: \"a\": spec.short in body should be at least 2 chars long",
        "spec.long: Too long: may not be longer than 3",
        "spec.name: Invalid value: \"A1\": spec.name in body should match '^[a-z]+$'",
        "spec.low: Invalid value: 0: spec.low in body should be greater than or equal to 1",
        "spec.high: Invalid value: 10: spec.high in body should be less than 10",
        "spec.small: Invalid value: 3000000000: spec.small in body must be of type int32: \"3000000000\"",
        "spec.few: Invalid value: 0: spec.few in body should have at least 1 items",
        "spec.many: Too many: 2: must have at most 1 items",
        "spec.many[1]: Invalid value: \"integer\": spec.many[1] in body must be of type string: \"integer\"",
    ] {
        assert!(found.contains(&expected.to_owned()), "missing {expected:?} in {found:#?}");
    }
    assert_eq!(found.len(), 9, "{found:#?}");
}

fn params_schema() -> Value {
    json!({"type": "object", "properties": {
        "params": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string"},
            "value": {"x-kubernetes-preserve-unknown-fields": true},
        }}},
    }})
}

#[test]
fn unknown_fields_by_mode() {
    let schemas = widget(params_schema());
    let spec = json!({"foo": 1, "params": [{"name": "a", "value": {"any": ["thing"]}, "bar": true}]});
    let strict = run(&schemas, spec.clone(), Strict).unwrap_err();
    assert_eq!(strict, ["unknown field \"spec.foo\"", "unknown field \"spec.params[0].bar\""]);

    let mut warned = object(spec.clone());
    let warnings = schemas.validate("example.com", "v1", "Widget", &mut warned, Warn).unwrap();
    assert_eq!(warnings, ["unknown field \"spec.foo\"", "unknown field \"spec.params[0].bar\""]);
    assert_eq!(warned["spec"], json!({"params": [{"name": "a", "value": {"any": ["thing"]}}]}));

    let mut ignored = object(spec);
    assert_eq!(schemas.validate("example.com", "v1", "Widget", &mut ignored, Ignore), Ok(vec![]));
    assert_eq!(ignored, warned);
}

#[test]
fn unknown_top_level_and_metadata_fields() {
    let schemas = widget(json!({"type": "object"}));
    let mut obj = object(json!({}));
    obj["extra"] = json!(1);
    obj["metadata"]["bogus"] = json!("x");
    let found = schemas.validate("example.com", "v1", "Widget", &mut obj.clone(), Strict).unwrap_err();
    assert_eq!(found, ["unknown field \"extra\"", "unknown field \"metadata.bogus\""]);
    let warnings = schemas.validate("example.com", "v1", "Widget", &mut obj, Warn).unwrap();
    assert_eq!(warnings.len(), 2);
    assert!(obj.get("extra").is_none() && obj["metadata"].get("bogus").is_none());
}

#[test]
fn object_without_properties_keeps_nothing() {
    // As kube-apiserver: `type: object` with neither properties nor preserve-unknown-fields.
    let found = errors(
        json!({"type": "object", "properties": {"opts": {"type": "object"}}}),
        json!({"opts": {"a": 1}}),
    );
    assert_eq!(found, ["unknown field \"spec.opts.a\""]);
}

#[test]
fn preserve_unknown_fields_still_validates_typed_properties() {
    let schema = json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {
        "typed": {"type": "object", "properties": {"n": {"type": "integer"}}},
    }});
    let schemas = widget(schema);
    assert_eq!(run(&schemas, json!({"anything": {"goes": [1]}, "typed": {"n": 1}}), Strict), Ok(vec![]));
    let found = run(&schemas, json!({"typed": {"n": "x", "stray": 1}}), Strict).unwrap_err();
    assert_eq!(
        found,
        [
            "unknown field \"spec.typed.stray\"",
            "spec.typed.n: Invalid value: \"string\": spec.typed.n in body must be of type integer: \"string\"",
        ]
    );
}

#[test]
fn int_or_string_nullable_and_additional_properties() {
    let schema = json!({"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
        "maybe": {"type": "string", "nullable": true},
        "never": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "free": {"type": "object", "additionalProperties": true},
    }});
    let schemas = widget(schema);
    let ok = json!({"port": "http", "maybe": null, "labels": {"a": "b"}, "free": {"x": {"y": 1}}});
    assert_eq!(run(&schemas, ok, Strict), Ok(vec![]));
    assert_eq!(run(&schemas, json!({"port": 80}), Strict), Ok(vec![]));
    let found = run(&schemas, json!({"port": true, "never": null, "labels": {"a": 1}}), Strict).unwrap_err();
    assert!(found.contains(&"spec.labels.a: Invalid value: \"integer\": spec.labels.a in body must be of type string: \"integer\"".to_owned()), "{found:#?}");
    assert!(
        found.contains(
            &"spec.never: Invalid value: \"null\": spec.never in body must be of type string: \"null\""
                .to_owned()
        ),
        "{found:#?}"
    );
    assert!(found.iter().any(|e| e.starts_with("spec.port: Invalid value: \"boolean\"")), "{found:#?}");
}

#[test]
fn embedded_resources() {
    let schema = json!({"type": "object", "properties": {
        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                     "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
    }});
    let schemas = widget(schema);
    let ok = json!({"template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}}});
    assert_eq!(run(&schemas, ok, Strict), Ok(vec![]));
    let found = run(&schemas, json!({"template": {"metadata": {"name": "Bad_Name", "junk": 1}}}), Strict)
        .unwrap_err();
    assert_eq!(found[0], "unknown field \"spec.template.metadata.junk\"");
    assert!(
        found.contains(&"spec.template.apiVersion: Required value: must not be empty".to_owned()),
        "{found:#?}"
    );
    assert!(
        found.contains(&"spec.template.kind: Required value: must not be empty".to_owned()),
        "{found:#?}"
    );
    assert!(found.iter().any(|e| e.starts_with("spec.template.metadata.name: Invalid value: \"Bad_Name\"")));
}

#[test]
fn combinators_are_value_validations() {
    let schema = json!({"type": "object", "properties": {
        "status": {"type": "object", "properties": {"state": {"type": "string"}, "done": {"type": "string"}},
                   "anyOf": [{"not": {"properties": {"state": {"enum": ["success"]}}}}, {"required": ["done"]}]},
        "one": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}]},
        "all": {"type": "string", "allOf": [{"enum": ["x", "y"]}, {"maxLength": 1}]},
    }});
    let schemas = widget(schema);
    let ok = json!({"status": {"state": "success", "done": "now"}, "one": {"a": "1"}, "all": "x"});
    assert_eq!(run(&schemas, ok, Strict), Ok(vec![]));
    let found = run(
        &schemas,
        json!({"status": {"state": "success"}, "one": {"a": "1", "b": "2"}, "all": "zz"}),
        Strict,
    )
    .unwrap_err();
    for expected in [
        "spec.status: Invalid value: \"object\": spec.status must validate at least one schema (anyOf)",
        "spec.one: Invalid value: \"object\": spec.one must validate one and only one schema (oneOf)",
        "spec.all: Invalid value: \"zz\": spec.all must validate all the schemas (allOf)",
        "spec.all: Unsupported value: \"zz\": supported values: \"x\", \"y\"",
        "spec.all: Too long: may not be longer than 1",
    ] {
        assert!(found.contains(&expected.to_owned()), "missing {expected:?} in {found:#?}");
    }
    // With anyOf failing, the errors of one failing branch follow (kube-openapi: its best).
    assert_eq!(found.iter().filter(|e| e.starts_with("spec.status")).count(), 2, "{found:#?}");
}

#[test]
fn metadata_rules() {
    let schemas = widget(json!({"type": "object"}));
    let check = |metadata: Value| {
        let mut obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata});
        schemas.validate("example.com", "v1", "Widget", &mut obj, Strict)
    };
    assert_eq!(check(json!({"name": "a.b-c", "namespace": "ns"})), Ok(vec![]));
    assert_eq!(check(json!({"generateName": "build-"})), Ok(vec![]));
    assert_eq!(
        check(json!({})).unwrap_err(),
        ["metadata.name: Required value: name or generateName is required"]
    );
    let bad = check(json!({"name": "Bad_Name"})).unwrap_err();
    assert!(bad[0].starts_with("metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain"));
    let long = check(json!({"name": "a".repeat(254)})).unwrap_err();
    assert!(long.iter().any(|e| e.ends_with("must be no more than 253 characters")), "{long:#?}");
    assert!(
        long.iter().any(|e| e == "metadata.name: Too long: may not be longer than 20"),
        "CRD's own rule: {long:#?}"
    );
    let labels =
        check(json!({"name": "w", "labels": {"ok/key": "v", "k": 1, "bad key": "x", "v": "no spaces"},
                              "annotations": {"a": ["list"]}}))
        .unwrap_err();
    for expected in [
        "metadata.labels.k: Invalid value: \"integer\": metadata.labels.k in body must be of type string: \"integer\"",
        "metadata.annotations.a: Invalid value: \"array\": metadata.annotations.a in body must be of type string: \"array\"",
    ] {
        assert!(labels.contains(&expected.to_owned()), "missing {expected:?} in {labels:#?}");
    }
    assert!(labels.iter().any(|e| e.starts_with("metadata.labels: Invalid value: \"bad key\": name part")));
    assert!(
        labels.iter().any(|e| e.starts_with("metadata.labels: Invalid value: \"no spaces\": a valid label"))
    );
}

#[test]
fn all_causes_are_collected_and_unknown_kinds_pass() {
    let schemas = widget(params_schema());
    let mut obj =
        json!({"kind": 1, "metadata": {"name": "UPPER"}, "spec": {"params": [{}, {"name": 2}], "x": 0}});
    let found = schemas.validate("example.com", "v1", "Widget", &mut obj, Strict).unwrap_err();
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_eq!(found[0], "unknown field \"spec.x\"");
    assert!(found.contains(&"spec.params[0].name: Required value".to_owned()));
    let mut anything = json!({"spec": {"whatever": 1}});
    assert_eq!(schemas.validate("example.com", "v1", "Gadget", &mut anything, Strict), Ok(vec![]));
}

#[test]
fn defaults_fill_missing_properties() {
    let schemas = widget(json!({"type": "object", "properties": {
        "mode": {"type": "string", "default": "fast"},
        "retries": {"type": "integer", "default": 3},
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "weight": {"type": "integer", "default": 1}, "name": {"type": "string"}}}},
        "nested": {"type": "object", "default": {}, "properties": {"on": {"type": "boolean", "default": true}}},
    }}));
    let mut obj = object(json!({"retries": 5, "items": [{"name": "a"}, {"weight": 2}]}));
    schemas.apply_defaults("example.com", "v1", "Widget", &mut obj);
    assert_eq!(
        obj["spec"],
        json!({"mode": "fast", "retries": 5, "items": [{"name": "a", "weight": 1}, {"weight": 2}], "nested": {"on": true}})
    );
}

#[test]
fn swagger_definitions_resolve_refs() {
    let document = json!({"swagger": "2.0", "definitions": {
        "com.github.openshift.api.image.v1.ImageStream": {"type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"},
            "spec": {"default": {}, "$ref": "#/definitions/Spec"},
        }},
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object", "properties": {"name": {"type": "string"}}},
        "Spec": {"type": "object", "required": ["tags"], "properties": {
            "tags": {"type": "array", "items": {"$ref": "#/definitions/Tag"}},
            "raw": {"type": "object"},
        }},
        "Tag": {"type": "object", "properties": {
            "name": {"type": "string"},
            "size": {"$ref": "#/definitions/io.k8s.apimachinery.pkg.api.resource.Quantity"},
            "next": {"$ref": "#/definitions/Tag"},
        }},
        "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
    }});
    let schemas = from(swagger_resources(document));
    let validate = |spec: Value| {
        let mut obj = json!({"kind": "ImageStream", "metadata": {"name": "is"}, "spec": spec});
        schemas.validate("image.openshift.io", "v1", "ImageStream", &mut obj, Strict)
    };
    let ok = json!({"tags": [{"name": "latest", "size": 1, "next": {"name": "x", "whatever": 1}}], "raw": {"a": 1}});
    assert_eq!(validate(ok), Ok(vec![]));
    assert_eq!(validate(json!({"tags": null})), Ok(vec![]), "Go decodes null into any field");
    let found = validate(json!({"tags": [{"name": 1, "color": "red"}]})).unwrap_err();
    assert_eq!(
        found,
        [
            "unknown field \"spec.tags[0].color\"",
            "spec.tags[0].name: Invalid value: \"integer\": spec.tags[0].name in body must be of type string: \"integer\"",
        ]
    );
    assert_eq!(validate(json!({})).unwrap_err(), ["spec.tags: Required value"]);
    let info = &schemas.resources()[0];
    assert_eq!(
        (info.kind.as_str(), info.plural.as_str(), info.status_subresource),
        ("ImageStream", "imagestreams", true)
    );
}

#[test]
fn load_reads_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspec:\n  group: example.com\n  \
               scope: Cluster\n  names: {kind: Thing, plural: things}\n  versions:\n  - name: v1\n    served: true\n    \
               schema:\n      openAPIV3Schema: {type: object, properties: {spec: {type: object}}}\n";
    std::fs::write(dir.path().join("example.com_things.yaml"), crd).unwrap();
    std::fs::write(dir.path().join("notes.yaml"), "kind: ConfigMap\n").unwrap();
    let schemas = Schemas::load(dir.path()).unwrap();
    let info = &schemas.resources()[0];
    assert_eq!((info.kind.as_str(), info.namespaced, info.status_subresource), ("Thing", false, false));
    assert!(Schemas::load(&dir.path().join("missing")).is_err());
    std::fs::write(dir.path().join("broken.yaml"), "a: [").unwrap();
    assert!(Schemas::load(dir.path()).unwrap_err().contains("broken.yaml"));
}
