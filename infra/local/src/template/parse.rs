//! The parsed file: `template.yaml` as written, short tags in their long forms.

use std::collections::BTreeMap;
use std::path::Path;

use serde_yaml::{Mapping, Value};

use super::{at, invalid, Result, TemplateError};

/// A template parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ParameterDef {
    pub ty: String,
    pub default: Option<String>,
    pub allowed_values: Vec<String>,
}

/// A resource as written (properties still hold intrinsic functions).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceDef {
    pub logical_id: String,
    pub ty: String,
    pub condition: Option<String>,
    pub properties: Mapping,
    pub metadata: Mapping,
}

/// `template.yaml`, parsed. Short tags are normalised to long forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub parameters: BTreeMap<String, ParameterDef>,
    pub conditions: BTreeMap<String, Value>,
    /// `Globals.Function`.
    pub globals_function: Mapping,
    pub resources: BTreeMap<String, ResourceDef>,
}

/// Turns `!Tag value` into `{Tag: value}` / `{"Fn::Tag": value}`, recursively.
/// `!GetAtt A.B` becomes `{"Fn::GetAtt": [A, B]}`.
pub fn normalize(value: Value) -> Value {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = normalize(tagged.value);
            let key = if name == "Ref" || name == "Condition" {
                name.to_string()
            } else {
                format!("Fn::{name}")
            };
            let inner = match (key.as_str(), inner) {
                ("Fn::GetAtt", Value::String(s)) => split_get_att(&s),
                (_, inner) => inner,
            };
            let mut map = Mapping::new();
            map.insert(Value::String(key), inner);
            Value::Mapping(map)
        }
        Value::Mapping(map) => Value::Mapping(
            map.into_iter()
                .map(|(k, v)| {
                    let v = normalize(v);
                    let v = match (&k, v) {
                        (Value::String(key), Value::String(s)) if key == "Fn::GetAtt" => {
                            split_get_att(&s)
                        }
                        (_, v) => v,
                    };
                    (k, v)
                })
                .collect(),
        ),
        Value::Sequence(seq) => Value::Sequence(seq.into_iter().map(normalize).collect()),
        other => other,
    }
}

fn split_get_att(s: &str) -> Value {
    match s.split_once('.') {
        Some((resource, attr)) => Value::Sequence(vec![
            Value::String(resource.to_string()),
            Value::String(attr.to_string()),
        ]),
        None => Value::String(s.to_string()),
    }
}

pub(crate) fn scalar_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn get<'a>(map: &'a Mapping, key: &str) -> Option<&'a Value> {
    map.get(key)
}

fn get_mapping(map: &Mapping, key: &str) -> Mapping {
    match map.get(key) {
        Some(Value::Mapping(m)) => m.clone(),
        _ => Mapping::new(),
    }
}

impl Template {
    /// Reads and parses a template file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses template text.
    pub fn parse(text: &str) -> Result<Self> {
        let doc: Value = serde_yaml::from_str(text)?;
        let doc = normalize(doc);
        super::intrinsics::check_supported(&doc)?;
        let Value::Mapping(doc) = doc else {
            return Err(invalid("the document is not a mapping"));
        };

        let mut parameters = BTreeMap::new();
        for (name, def) in get_mapping(&doc, "Parameters") {
            let name =
                scalar_string(&name).ok_or_else(|| invalid("a parameter name is not a string"))?;
            let Value::Mapping(def) = def else {
                return Err(invalid(format!("parameter {name} is not a mapping")));
            };
            let ty = get(&def, "Type")
                .and_then(scalar_string)
                .unwrap_or_else(|| "String".into());
            let default = match get(&def, "Default") {
                None | Some(Value::Null) => None,
                Some(Value::Sequence(items)) => Some(
                    items
                        .iter()
                        .filter_map(scalar_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Some(v) => Some(scalar_string(v).ok_or_else(|| {
                    invalid(format!("parameter {name}: Default is not a scalar"))
                })?),
            };
            let allowed_values = match get(&def, "AllowedValues") {
                Some(Value::Sequence(items)) => items.iter().filter_map(scalar_string).collect(),
                _ => Vec::new(),
            };
            parameters.insert(
                name,
                ParameterDef {
                    ty,
                    default,
                    allowed_values,
                },
            );
        }

        let mut conditions = BTreeMap::new();
        for (name, body) in get_mapping(&doc, "Conditions") {
            let name =
                scalar_string(&name).ok_or_else(|| invalid("a condition name is not a string"))?;
            conditions.insert(name, body);
        }

        let globals = get_mapping(&doc, "Globals");
        let globals_function = get_mapping(&globals, "Function");

        let mut resources = BTreeMap::new();
        for (logical_id, def) in get_mapping(&doc, "Resources") {
            let logical_id = scalar_string(&logical_id)
                .ok_or_else(|| invalid("a resource name is not a string"))?;
            let Value::Mapping(def) = def else {
                return Err(at(&logical_id, "is not a mapping"));
            };
            let ty = get(&def, "Type")
                .and_then(scalar_string)
                .ok_or_else(|| at(&logical_id, "has no Type"))?;
            let condition = get(&def, "Condition").and_then(scalar_string);
            resources.insert(
                logical_id.clone(),
                ResourceDef {
                    logical_id,
                    ty,
                    condition,
                    properties: get_mapping(&def, "Properties"),
                    metadata: get_mapping(&def, "Metadata"),
                },
            );
        }
        if resources.is_empty() {
            return Err(invalid("no Resources"));
        }

        Ok(Self {
            parameters,
            conditions,
            globals_function,
            resources,
        })
    }
}

/// A mapping that is an intrinsic function (`Ref`, `Condition`, `Fn::…`),
/// not data.
pub(super) fn is_intrinsic(map: &Mapping) -> bool {
    map.len() == 1
        && map
            .keys()
            .next()
            .and_then(Value::as_str)
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}
