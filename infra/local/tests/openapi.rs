//! infra/openapi.yaml describes exactly the routes template.yaml declares.

use serde_yaml::Value;
use std::collections::BTreeSet;

fn load(path: &str) -> Value {
    let root = leadflow_local::root::workspace_root();
    let text = std::fs::read_to_string(root.join(path)).unwrap();
    serde_yaml::from_str(&text).unwrap()
}

#[test]
fn the_openapi_document_and_the_template_declare_the_same_routes() {
    let template = load("template.yaml");
    let mut declared = BTreeSet::new();
    let resources = template["Resources"].as_mapping().unwrap();
    for (_, resource) in resources {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                declared.insert((
                    p["Path"].as_str().unwrap().to_string(),
                    p["Method"].as_str().unwrap().to_ascii_lowercase(),
                ));
            }
        }
    }
    let doc = load("infra/openapi.yaml");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_mapping().unwrap() {
        for (method, _) in ops.as_mapping().unwrap() {
            documented.insert((
                path.as_str().unwrap().to_string(),
                method.as_str().unwrap().to_string(),
            ));
        }
    }
    assert!(!declared.is_empty());
    assert_eq!(declared, documented);
}

#[test]
fn the_documented_request_type_and_source_values_are_the_intakes() {
    let doc = load("infra/openapi.yaml");
    let props = &doc["components"]["schemas"]["Inquiry"]["properties"];
    let values = |name: &str| -> Vec<String> {
        props[name]["enum"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    let rt: Vec<String> = leadflow::RequestType::ALL
        .iter()
        .map(|r| r.as_str().to_string())
        .collect();
    let src: Vec<String> = leadflow::Source::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    assert_eq!(values("request_type"), rt);
    assert_eq!(values("source"), src);
    let pb = leadflow::Playbook::default_playbook().unwrap();
    for c in leadflow::Criterion::ALL {
        let allowed: Vec<String> = pb
            .bant
            .allowed_values(c)
            .into_iter()
            .map(str::to_string)
            .collect();
        assert_eq!(values(c.field()), allowed, "{c}");
    }
}
