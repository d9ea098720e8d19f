//! Conditions, pseudo parameters and intrinsic functions: exactly those the
//! project's template uses. Any other is an error naming it and where it appears.

use std::fmt::Write as _;

use serde_yaml::{Mapping, Value};

use super::parse::{is_intrinsic, normalize, scalar_string};
use super::resolve::{ParamValue, Resolver, MAX_DEPTH};
use super::{brief, invalid, Result, TemplateError};
use crate::{LOCAL_ACCOUNT_ID, LOCAL_REGION};

/// The intrinsic functions the local stack evaluates: those `template.yaml` uses.
pub const SUPPORTED_FUNCTIONS: &[&str] = &[
    "Ref",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::Not",
];

/// The pseudo parameters the local stack knows: those `template.yaml` uses.
pub const SUPPORTED_PSEUDO_PARAMETERS: &[&str] = &[
    "AWS::Region",
    "AWS::AccountId",
    "AWS::Partition",
    "AWS::URLSuffix",
    "AWS::StackName",
    "AWS::NoValue",
];

/// `{place} uses {name}, which the local stack does not evaluate (...)`.
pub(super) fn unsupported(name: &str, place: &str) -> TemplateError {
    let (kind, known) = if name.starts_with("AWS::") {
        ("pseudo parameters", SUPPORTED_PSEUDO_PARAMETERS)
    } else {
        ("intrinsic functions", SUPPORTED_FUNCTIONS)
    };
    invalid(format!(
        "{place} uses {name}, which the local stack does not evaluate (its {kind}: {})",
        known.join(", ")
    ))
}

/// Refuses, before anything is resolved, every intrinsic function and pseudo
/// parameter the local stack does not evaluate, wherever it appears in `doc`
/// (a normalised template): resources, conditions, outputs, policies alike.
pub(super) fn check_supported(doc: &Value) -> Result<()> {
    check(doc, &mut String::new())
}

fn check(value: &Value, path: &mut String) -> Result<()> {
    let len = path.len();
    match value {
        Value::Mapping(map) => {
            if let Some((Value::String(key), arg)) = map.iter().next().filter(|_| map.len() == 1) {
                let here = || {
                    if path.is_empty() {
                        "the template"
                    } else {
                        path.as_str()
                    }
                };
                let is_function =
                    key.starts_with("Fn::") || (key == "Condition" && arg.is_string());
                if is_function && !SUPPORTED_FUNCTIONS.contains(&key.as_str()) {
                    return Err(unsupported(key, here()));
                }
                if key == "Ref" {
                    if let Some(name) = arg.as_str().filter(|n| n.starts_with("AWS::")) {
                        if !SUPPORTED_PSEUDO_PARAMETERS.contains(&name) {
                            return Err(unsupported(name, here()));
                        }
                    }
                }
                if key == "Fn::Sub" {
                    let text = match arg {
                        Value::Sequence(items) => items.first().and_then(Value::as_str),
                        other => other.as_str(),
                    };
                    for name in sub_names(text.unwrap_or_default()) {
                        if name.starts_with("AWS::") && !SUPPORTED_PSEUDO_PARAMETERS.contains(&name)
                        {
                            return Err(unsupported(name, here()));
                        }
                    }
                }
            }
            for (k, v) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&scalar_string(k).unwrap_or_else(|| brief(k)));
                check(v, path)?;
                path.truncate(len);
            }
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                let _ = write!(path, "[{i}]");
                check(item, path)?;
                path.truncate(len);
            }
        }
        Value::Tagged(tagged) => check(&tagged.value, path)?,
        _ => {}
    }
    Ok(())
}

/// The `${Name}` references of an `Fn::Sub` text (not the `${!Literal}` ones).
fn sub_names(text: &str) -> impl Iterator<Item = &str> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.trim()))
        .filter(|name| !name.starts_with('!'))
}

impl Resolver<'_> {
    // -- conditions ---------------------------------------------------------

    pub(super) fn condition(&self, name: &str, depth: usize) -> Result<bool> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        if depth > MAX_DEPTH {
            return Err(invalid(format!("condition {name} is circular")));
        }
        let body = self
            .template
            .conditions
            .get(name)
            .ok_or_else(|| invalid(format!("condition {name} is not declared")))?;
        self.condition_expr(body, depth + 1)
            .map_err(|e| invalid(format!("condition {name}: {e}")))
    }

    pub(super) fn condition_expr(&self, expr: &Value, depth: usize) -> Result<bool> {
        let Value::Mapping(map) = expr else {
            return match expr {
                Value::Bool(b) => Ok(*b),
                _ => Err(invalid(format!("not a condition: {}", brief(expr)))),
            };
        };
        let Some((Value::String(key), arg)) = map.iter().next().filter(|_| map.len() == 1) else {
            return Err(invalid(format!("not a condition: {}", brief(expr))));
        };
        let args = || match arg {
            Value::Sequence(items) => Ok(items),
            _ => Err(invalid(format!("{key} needs a list"))),
        };
        match key.as_str() {
            "Fn::Equals" => {
                let items = args()?;
                if items.len() != 2 {
                    return Err(invalid("Fn::Equals needs two values"));
                }
                let a = self.resolve_string(&items[0], "Fn::Equals", depth + 1)?;
                let b = self.resolve_string(&items[1], "Fn::Equals", depth + 1)?;
                Ok(a == b)
            }
            "Fn::Not" => {
                let items = args()?;
                if items.len() != 1 {
                    return Err(invalid("Fn::Not needs one condition"));
                }
                Ok(!self.condition_expr(&items[0], depth + 1)?)
            }
            other => Err(unsupported(other, "this condition")),
        }
    }

    pub(super) fn pseudo(&self, name: &str) -> Option<Value> {
        let s = |v: &str| Some(Value::String(v.to_string()));
        match name {
            "AWS::Region" => s(LOCAL_REGION),
            "AWS::AccountId" => s(LOCAL_ACCOUNT_ID),
            "AWS::Partition" => s("aws"),
            "AWS::URLSuffix" => s("amazonaws.com"),
            // The local stack's own name (`leadflow-dev`): the prefix of every physical name.
            "AWS::StackName" => s(&self.settings.stack_name),
            _ => None,
        }
    }

    // -- intrinsic functions ------------------------------------------------

    /// Resolves every intrinsic function in `value`; `None` is `AWS::NoValue`.
    pub(super) fn resolve(
        &self,
        value: &Value,
        context: &str,
        depth: usize,
    ) -> Result<Option<Value>> {
        if depth > MAX_DEPTH {
            return Err(invalid(format!(
                "{context}: intrinsic functions nest too deeply"
            )));
        }
        match value {
            Value::Mapping(map) if is_intrinsic(map) => {
                let (key, arg) = map.iter().next().ok_or_else(|| invalid("empty mapping"))?;
                let key = key.as_str().unwrap_or_default();
                self.intrinsic(key, arg, context, depth)
            }
            Value::Mapping(map) => {
                let mut out = Mapping::new();
                for (k, v) in map {
                    if let Some(v) = self.resolve(v, context, depth + 1)? {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Some(Value::Mapping(out)))
            }
            Value::Sequence(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if let Some(v) = self.resolve(item, context, depth + 1)? {
                        out.push(v);
                    }
                }
                Ok(Some(Value::Sequence(out)))
            }
            Value::Tagged(_) => self.resolve(&normalize(value.clone()), context, depth + 1),
            other => Ok(Some(other.clone())),
        }
    }

    pub(super) fn resolve_required(
        &self,
        value: &Value,
        context: &str,
        depth: usize,
    ) -> Result<Value> {
        self.resolve(value, context, depth)?
            .ok_or_else(|| invalid(format!("{context}: AWS::NoValue is not allowed here")))
    }

    pub(super) fn resolve_string(
        &self,
        value: &Value,
        context: &str,
        depth: usize,
    ) -> Result<String> {
        let v = self.resolve_required(value, context, depth)?;
        scalar_string(&v)
            .ok_or_else(|| invalid(format!("{context}: expected a string, got {}", brief(&v))))
    }

    pub(super) fn resolve_list(
        &self,
        value: &Value,
        context: &str,
        depth: usize,
    ) -> Result<Vec<Value>> {
        match self.resolve_required(value, context, depth)? {
            Value::Sequence(items) => Ok(items),
            other => Err(invalid(format!(
                "{context}: expected a list, got {}",
                brief(&other)
            ))),
        }
    }

    pub(super) fn intrinsic(
        &self,
        key: &str,
        arg: &Value,
        context: &str,
        depth: usize,
    ) -> Result<Option<Value>> {
        let d = depth + 1;
        let list = |name: &str, n: Option<usize>| -> Result<&Vec<Value>> {
            match arg {
                Value::Sequence(items) if n.is_none_or(|n| items.len() == n) => Ok(items),
                _ => Err(invalid(format!(
                    "{context}: {name} has the wrong arguments: {}",
                    brief(arg)
                ))),
            }
        };
        match key {
            "Ref" => {
                let name = arg
                    .as_str()
                    .ok_or_else(|| invalid(format!("{context}: Ref needs a name")))?;
                if name == "AWS::NoValue" {
                    return Ok(None);
                }
                if let Some(v) = self.pseudo(name) {
                    return Ok(Some(v));
                }
                if let Some(p) = self.params.get(name) {
                    return Ok(Some(match p {
                        ParamValue::Scalar(s) => Value::String(s.clone()),
                        ParamValue::List(items) => {
                            Value::Sequence(items.iter().cloned().map(Value::String).collect())
                        }
                    }));
                }
                self.resource_ref(name, context, d).map(Some)
            }
            "Fn::GetAtt" => {
                let items = list("Fn::GetAtt", Some(2))?;
                let resource = self.resolve_string(&items[0], context, d)?;
                let attribute = self.resolve_string(&items[1], context, d)?;
                self.get_att(&resource, &attribute, context, d).map(Some)
            }
            "Fn::Sub" => {
                let (text, vars) = match arg {
                    Value::String(s) => (s.clone(), Mapping::new()),
                    Value::Sequence(items) if items.len() == 2 => {
                        let text = items[0]
                            .as_str()
                            .ok_or_else(|| invalid(format!("{context}: Fn::Sub needs a string")))?;
                        let vars = match self.resolve_required(&items[1], context, d)? {
                            Value::Mapping(m) => m,
                            _ => {
                                return Err(invalid(format!(
                                    "{context}: Fn::Sub variables must be a mapping"
                                )))
                            }
                        };
                        (text.to_string(), vars)
                    }
                    _ => {
                        return Err(invalid(format!(
                            "{context}: Fn::Sub has the wrong arguments"
                        )))
                    }
                };
                self.sub(&text, &vars, context, d)
                    .map(|s| Some(Value::String(s)))
            }
            "Fn::Select" => {
                let items = list("Fn::Select", Some(2))?;
                let index: usize = self
                    .resolve_string(&items[0], context, d)?
                    .parse()
                    .map_err(|_| invalid(format!("{context}: Fn::Select index is not a number")))?;
                let values = self.resolve_list(&items[1], context, d)?;
                values.get(index).cloned().map(Some).ok_or_else(|| {
                    invalid(format!(
                        "{context}: Fn::Select index {index} is out of range"
                    ))
                })
            }
            "Fn::Split" => {
                let items = list("Fn::Split", Some(2))?;
                let delimiter = self.resolve_string(&items[0], context, d)?;
                let text = self.resolve_string(&items[1], context, d)?;
                Ok(Some(Value::Sequence(
                    text.split(delimiter.as_str())
                        .map(|s| Value::String(s.to_string()))
                        .collect(),
                )))
            }
            "Fn::If" => {
                let items = list("Fn::If", Some(3))?;
                let name = items[0]
                    .as_str()
                    .ok_or_else(|| invalid(format!("{context}: Fn::If needs a condition name")))?;
                let branch = if self.condition(name, d)? {
                    &items[1]
                } else {
                    &items[2]
                };
                self.resolve(branch, context, d)
            }
            "Fn::Equals" | "Fn::Not" => {
                let mut map = Mapping::new();
                map.insert(Value::String(key.to_string()), arg.clone());
                let v = self.condition_expr(&Value::Mapping(map), d)?;
                Ok(Some(Value::Bool(v)))
            }
            other => Err(unsupported(other, context)),
        }
    }

    pub(super) fn sub(
        &self,
        text: &str,
        vars: &Mapping,
        context: &str,
        depth: usize,
    ) -> Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| invalid(format!("{context}: unclosed ${{ in Fn::Sub {text:?}")))?;
            let name = after[..end].trim();
            if let Some(literal) = name.strip_prefix('!') {
                let _ = write!(out, "${{{literal}}}");
            } else if let Some(v) = vars.get(name) {
                let v = scalar_string(v).ok_or_else(|| {
                    invalid(format!(
                        "{context}: Fn::Sub variable {name} is not a string"
                    ))
                })?;
                out.push_str(&v);
            } else {
                let value = match name.split_once('.') {
                    Some((resource, attr)) if !name.starts_with("AWS::") => {
                        self.get_att(resource, attr, context, depth + 1)?
                    }
                    _ => {
                        let mut map = Mapping::new();
                        map.insert(Value::String("Ref".into()), Value::String(name.to_string()));
                        self.resolve_required(&Value::Mapping(map), context, depth + 1)?
                    }
                };
                let value = scalar_string(&value)
                    .ok_or_else(|| invalid(format!("{context}: ${{{name}}} is not a string")))?;
                out.push_str(&value);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}
