//! `template.yaml` (AWS SAM), read and resolved for one local deployment.
//!
//! [`Template`] is the parsed file with CloudFormation short tags (`!Ref`,
//! `!GetAtt`, `!Sub`, ...) turned into their long forms (`Ref`, `Fn::GetAtt`, ...).
//! [`StackModel::resolve`] evaluates parameters, conditions and `Globals`, resolves
//! intrinsic functions against the local deployment (physical names
//! `{stack}-{LogicalId}`, queue URLs of the emulator) and yields what has to be
//! provisioned and run. Whatever the template asks for that cannot be run
//! locally is an error naming the resource, never silently dropped.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use crate::{LOCAL_ACCOUNT_ID, LOCAL_REGION};

/// Why a template could not be read or resolved.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_yaml::Error),
    #[error("template: {0}")]
    Invalid(String),
    #[error("template resource {resource}: {message}")]
    Resource { resource: String, message: String },
}

fn invalid(message: impl Into<String>) -> TemplateError {
    TemplateError::Invalid(message.into())
}

fn at(resource: &str, message: impl Into<String>) -> TemplateError {
    TemplateError::Resource {
        resource: resource.to_string(),
        message: message.into(),
    }
}

type Result<T, E = TemplateError> = std::result::Result<T, E>;

// ---------------------------------------------------------------------------
// The parsed file
// ---------------------------------------------------------------------------

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
    pub mappings: Mapping,
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

fn scalar_string(value: &Value) -> Option<String> {
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
            mappings: get_mapping(&doc, "Mappings"),
            conditions,
            globals_function,
            resources,
        })
    }
}

// ---------------------------------------------------------------------------
// The resolved local deployment
// ---------------------------------------------------------------------------

/// What identifies one local deployment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSettings {
    /// Prefix of every physical name (`{stack}-{LogicalId}`).
    pub stack_name: String,
    /// The emulator's URL (queue URLs are `{endpoint}/{account}/{name}` unless
    /// `queue_urls` says otherwise).
    pub endpoint: String,
    /// Parameter values that replace the template's defaults.
    pub parameter_overrides: BTreeMap<String, String>,
    /// Queue URLs as the emulator reported them, by logical id.
    pub queue_urls: BTreeMap<String, String>,
}

impl StackSettings {
    pub fn new(stack_name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        Self {
            stack_name: stack_name.into(),
            endpoint: endpoint.into(),
            parameter_overrides: BTreeMap::new(),
            queue_urls: BTreeMap::new(),
        }
    }
}

/// `AttributeName`/`AttributeType` or `AttributeName`/`KeyType` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAndType {
    pub name: String,
    pub ty: String,
}

/// A secondary index of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSpec {
    pub name: String,
    pub key_schema: Vec<NameAndType>,
    pub projection_type: String,
    pub non_key_attributes: Vec<String>,
    pub provisioned_throughput: Option<(i64, i64)>,
}

/// An `AWS::DynamoDB::Table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub logical_id: String,
    pub name: String,
    pub arn: String,
    pub billing_mode: String,
    pub attribute_definitions: Vec<NameAndType>,
    pub key_schema: Vec<NameAndType>,
    pub global_secondary_indexes: Vec<IndexSpec>,
    pub local_secondary_indexes: Vec<IndexSpec>,
    pub provisioned_throughput: Option<(i64, i64)>,
    /// `TimeToLiveSpecification.AttributeName` when enabled.
    pub ttl_attribute: Option<String>,
    pub stream_view_type: Option<String>,
}

/// A queue's redrive policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedriveSpec {
    pub dead_letter_target_arn: String,
    /// The dead-letter queue's logical id when it is in this template.
    pub dead_letter_logical_id: Option<String>,
    pub max_receive_count: i64,
}

/// An `AWS::SQS::Queue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSpec {
    pub logical_id: String,
    pub name: String,
    pub url: String,
    pub arn: String,
    /// SQS `CreateQueue` attributes (VisibilityTimeout, RedrivePolicy as JSON, ...).
    pub attributes: BTreeMap<String, String>,
    pub redrive: Option<RedriveSpec>,
}

/// An `AWS::SES::EmailIdentity` (or `AWS::SES::EmailIdentity`-like) to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailIdentitySpec {
    pub logical_id: String,
    pub identity: String,
}

/// An `AWS::Serverless::HttpApi` (or the implicit `ServerlessHttpApi`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpApiSpec {
    pub logical_id: String,
    pub api_id: String,
}

/// A route of an HTTP API event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRouteSpec {
    /// Logical id of the API.
    pub api: String,
    pub api_id: String,
    /// Upper case; `ANY` matches every method.
    pub method: String,
    /// `/inquiries`, `/leads/{id}`, `/files/{proxy+}` or `$default`.
    pub path: String,
}

impl HttpRouteSpec {
    /// `POST /inquiries`, or `$default`.
    pub fn route_key(&self) -> String {
        if self.path == "$default" {
            "$default".into()
        } else {
            format!("{} {}", self.method, self.path)
        }
    }
}

/// An SQS event source mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsSourceSpec {
    pub queue: String,
    pub queue_url: String,
    pub queue_arn: String,
    pub batch_size: u32,
    pub report_batch_item_failures: bool,
}

/// A `rate(...)` schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSpec {
    pub expression: String,
    pub period: Duration,
    pub rule_name: String,
    pub rule_arn: String,
    /// `Input`: the event to send instead of the Scheduled Event payload.
    pub input: Option<serde_json::Value>,
}

/// What triggers a function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    HttpApi(HttpRouteSpec),
    Sqs(SqsSourceSpec),
    Schedule(ScheduleSpec),
}

/// One entry of a function's `Events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventSpec {
    pub name: String,
    pub source: EventSource,
}

/// An `AWS::Serverless::Function`, merged with `Globals.Function` and resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    pub logical_id: String,
    pub function_name: String,
    pub arn: String,
    /// Relative to the workspace root.
    pub code_uri: String,
    /// `Metadata.BuildProperties.Binary`.
    pub binary: Option<String>,
    pub timeout: Duration,
    pub memory_size: u32,
    pub environment: BTreeMap<String, String>,
    pub events: Vec<EventSpec>,
}

/// A template resolved for one local deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackModel {
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    pub endpoint: String,
    pub parameters: BTreeMap<String, String>,
    pub conditions: BTreeMap<String, bool>,
    pub tables: Vec<TableSpec>,
    /// Dead-letter queues come before the queues that name them.
    pub queues: Vec<QueueSpec>,
    pub email_identities: Vec<EmailIdentitySpec>,
    pub http_apis: Vec<HttpApiSpec>,
    pub functions: Vec<FunctionSpec>,
}

impl StackModel {
    /// Resolves `template` for the deployment `settings` describes.
    pub fn resolve(template: &Template, settings: &StackSettings) -> Result<Self> {
        Resolver::new(template, settings)?.model()
    }

    pub fn table(&self, logical_id: &str) -> Option<&TableSpec> {
        self.tables.iter().find(|t| t.logical_id == logical_id)
    }

    pub fn queue(&self, logical_id: &str) -> Option<&QueueSpec> {
        self.queues.iter().find(|q| q.logical_id == logical_id)
    }

    pub fn function(&self, logical_id: &str) -> Option<&FunctionSpec> {
        self.functions.iter().find(|f| f.logical_id == logical_id)
    }

    /// Every HTTP API route with the logical id of its function.
    pub fn routes(&self) -> Vec<(HttpRouteSpec, String)> {
        let mut routes = Vec::new();
        for function in &self.functions {
            for event in &function.events {
                if let EventSource::HttpApi(route) = &event.source {
                    routes.push((route.clone(), function.logical_id.clone()));
                }
            }
        }
        routes
    }
}

/// Physical names: `{stack}-{LogicalId}`, keeping `[A-Za-z0-9_-]`, at most `max` characters.
pub fn physical_name(stack_name: &str, logical_id: &str, max: usize) -> String {
    let raw = format!("{stack_name}-{logical_id}");
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(max)
        .collect()
}

/// Parses `rate(N unit)` (`minute(s)`, `hour(s)`, `day(s)`, and `second(s)` locally).
pub fn parse_rate(expression: &str) -> Result<Duration, String> {
    let expr = expression.trim();
    if expr.starts_with("cron(") {
        return Err(format!(
            "{expr:?} is a cron() schedule, which the local runner does not support; use rate(...)"
        ));
    }
    let inner = expr
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("{expr:?} is not a rate(...) expression"))?;
    let mut parts = inner.split_whitespace();
    let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("{expr:?}: expected rate(<number> <unit>)"));
    };
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{expr:?}: {n:?} is not a positive whole number"))?;
    if n == 0 {
        return Err(format!("{expr:?}: the rate must be positive"));
    }
    let (singular, seconds) = match unit {
        "second" | "seconds" => ("second", 1),
        "minute" | "minutes" => ("minute", 60),
        "hour" | "hours" => ("hour", 3600),
        "day" | "days" => ("day", 86_400),
        _ => return Err(format!("{expr:?}: unknown unit {unit:?}")),
    };
    if (n == 1) != (unit == singular) {
        return Err(format!(
            "{expr:?}: use the singular unit for 1 and the plural otherwise (as AWS requires)"
        ));
    }
    Ok(Duration::from_secs(n * seconds))
}

fn is_intrinsic(map: &Mapping) -> bool {
    map.len() == 1
        && map
            .keys()
            .next()
            .and_then(Value::as_str)
            .is_some_and(|k| k == "Ref" || k == "Condition" || k.starts_with("Fn::"))
}

/// SAM's `Globals` merge: maps merge recursively, lists are global items then
/// local ones, anything else (and intrinsic functions) the local value wins.
pub fn merge_globals(global: &Value, local: &Value) -> Value {
    match (global, local) {
        (Value::Mapping(g), Value::Mapping(l)) if !is_intrinsic(g) && !is_intrinsic(l) => {
            let mut merged = g.clone();
            for (k, lv) in l {
                let v = match g.get(k) {
                    Some(gv) => merge_globals(gv, lv),
                    None => lv.clone(),
                };
                merged.insert(k.clone(), v);
            }
            Value::Mapping(merged)
        }
        (Value::Sequence(g), Value::Sequence(l)) => {
            Value::Sequence(g.iter().chain(l.iter()).cloned().collect())
        }
        (_, local) => local.clone(),
    }
}

/// Resource types that do not matter for running locally.
fn ignored_type(ty: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "AWS::IAM::",
        "AWS::CloudWatch::",
        "AWS::Logs::",
        "AWS::KMS::",
        "AWS::ApplicationAutoScaling::",
        "AWS::XRay::",
        "AWS::SSM::",
        "AWS::Budgets::",
    ];
    const TYPES: &[&str] = &[
        "AWS::SQS::QueuePolicy",
        "AWS::Lambda::Permission",
        "AWS::SES::ConfigurationSet",
        "AWS::SNS::TopicPolicy",
    ];
    PREFIXES.iter().any(|p| ty.starts_with(p)) || TYPES.contains(&ty)
}

const TABLE: &str = "AWS::DynamoDB::Table";
const QUEUE: &str = "AWS::SQS::Queue";
const EMAIL_IDENTITY: &str = "AWS::SES::EmailIdentity";
const HTTP_API: &str = "AWS::Serverless::HttpApi";
const FUNCTION: &str = "AWS::Serverless::Function";
const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// A parameter's value (`CommaDelimitedList` parameters are lists).
#[derive(Debug, Clone)]
enum ParamValue {
    Scalar(String),
    List(Vec<String>),
}

struct Resolver<'a> {
    template: &'a Template,
    settings: &'a StackSettings,
    params: BTreeMap<String, ParamValue>,
    conditions: BTreeMap<String, bool>,
}

const MAX_DEPTH: usize = 32;

impl<'a> Resolver<'a> {
    fn new(template: &'a Template, settings: &'a StackSettings) -> Result<Self> {
        let stack = &settings.stack_name;
        if stack.is_empty()
            || !stack
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(invalid(format!(
                "stack name {stack:?} must be non-empty and use only letters, digits, '-' and '_'"
            )));
        }
        for name in settings.parameter_overrides.keys() {
            if !template.parameters.contains_key(name) {
                return Err(invalid(format!(
                    "parameter {name} is not declared in the template (declared: {})",
                    template
                        .parameters
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        let mut params = BTreeMap::new();
        for (name, def) in &template.parameters {
            let value = settings
                .parameter_overrides
                .get(name)
                .cloned()
                .or_else(|| def.default.clone())
                .ok_or_else(|| {
                    invalid(format!(
                        "parameter {name} has no Default: pass --param {name}=VALUE"
                    ))
                })?;
            if !def.allowed_values.is_empty() && !def.allowed_values.contains(&value) {
                return Err(invalid(format!(
                    "parameter {name}={value:?} is not one of {:?}",
                    def.allowed_values
                )));
            }
            let value = if def.ty == "CommaDelimitedList" || def.ty.starts_with("List<") {
                ParamValue::List(value.split(',').map(|s| s.trim().to_string()).collect())
            } else {
                ParamValue::Scalar(value)
            };
            params.insert(name.clone(), value);
        }
        let mut resolver = Self {
            template,
            settings,
            params,
            conditions: BTreeMap::new(),
        };
        let mut conditions = BTreeMap::new();
        for name in template.conditions.keys() {
            let value = resolver.condition(name, 0)?;
            conditions.insert(name.clone(), value);
        }
        resolver.conditions = conditions;
        Ok(resolver)
    }

    // -- conditions ---------------------------------------------------------

    fn condition(&self, name: &str, depth: usize) -> Result<bool> {
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

    fn condition_expr(&self, expr: &Value, depth: usize) -> Result<bool> {
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
            "Condition" => {
                let name = arg
                    .as_str()
                    .ok_or_else(|| invalid("Condition needs a name"))?;
                self.condition(name, depth + 1)
            }
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
            "Fn::And" => {
                let mut all = true;
                for item in args()? {
                    all &= self.condition_expr(item, depth + 1)?;
                }
                Ok(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for item in args()? {
                    any |= self.condition_expr(item, depth + 1)?;
                }
                Ok(any)
            }
            other => Err(invalid(format!("{other} is not a condition function"))),
        }
    }

    // -- resources ----------------------------------------------------------

    fn resource(&self, logical_id: &str) -> Option<&'a ResourceDef> {
        self.template.resources.get(logical_id)
    }

    fn is_created(&self, resource: &ResourceDef) -> Result<bool> {
        match &resource.condition {
            None => Ok(true),
            Some(c) => self.conditions.get(c).copied().ok_or_else(|| {
                at(
                    &resource.logical_id,
                    format!("condition {c} is not declared"),
                )
            }),
        }
    }

    fn table_name(&self, logical_id: &str) -> String {
        physical_name(&self.settings.stack_name, logical_id, 255)
    }

    fn queue_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
        if let Some(name) = resource.properties.get("QueueName") {
            return self.resolve_string(name, &resource.logical_id, depth + 1);
        }
        let fifo = self.fifo(resource, depth)?;
        if fifo {
            let base = physical_name(&self.settings.stack_name, &resource.logical_id, 75);
            Ok(format!("{base}.fifo"))
        } else {
            Ok(physical_name(
                &self.settings.stack_name,
                &resource.logical_id,
                80,
            ))
        }
    }

    fn fifo(&self, resource: &ResourceDef, depth: usize) -> Result<bool> {
        match resource.properties.get("FifoQueue") {
            None => Ok(false),
            Some(v) => Ok(self.resolve_string(v, &resource.logical_id, depth + 1)? == "true"),
        }
    }

    fn queue_url(&self, logical_id: &str, name: &str) -> String {
        match self.settings.queue_urls.get(logical_id) {
            Some(url) => url.clone(),
            None => format!(
                "{}/{}/{}",
                self.settings.endpoint.trim_end_matches('/'),
                LOCAL_ACCOUNT_ID,
                name
            ),
        }
    }

    fn queue_arn(name: &str) -> String {
        format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{name}")
    }

    fn function_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
        match resource.properties.get("FunctionName") {
            Some(name) => self.resolve_string(name, &resource.logical_id, depth + 1),
            None => Ok(physical_name(
                &self.settings.stack_name,
                &resource.logical_id,
                64,
            )),
        }
    }

    fn api_id(logical_id: &str) -> String {
        let id: String = logical_id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .take(10)
            .collect();
        if id.is_empty() {
            "local".into()
        } else {
            id
        }
    }

    fn created_resource(&self, logical_id: &str, context: &str) -> Result<&'a ResourceDef> {
        let resource = self.resource(logical_id).ok_or_else(|| {
            invalid(format!(
                "{context}: refers to {logical_id}, which is not declared"
            ))
        })?;
        if !self.is_created(resource)? {
            return Err(invalid(format!(
                "{context}: refers to {logical_id}, which is not created (its Condition is false)"
            )));
        }
        Ok(resource)
    }

    /// `Ref` to a resource.
    fn resource_ref(&self, logical_id: &str, context: &str, depth: usize) -> Result<Value> {
        if logical_id == IMPLICIT_HTTP_API && self.resource(logical_id).is_none() {
            return Ok(Value::String(Self::api_id(logical_id)));
        }
        let resource = self.created_resource(logical_id, context)?;
        let value = match resource.ty.as_str() {
            TABLE => match resource.properties.get("TableName") {
                Some(name) => self.resolve_string(name, logical_id, depth + 1)?,
                None => self.table_name(logical_id),
            },
            QUEUE => {
                let name = self.queue_name(resource, depth)?;
                self.queue_url(logical_id, &name)
            }
            FUNCTION => self.function_name(resource, depth)?,
            HTTP_API => Self::api_id(logical_id),
            EMAIL_IDENTITY => {
                let identity = resource
                    .properties
                    .get("EmailIdentity")
                    .ok_or_else(|| at(logical_id, "has no EmailIdentity"))?;
                self.resolve_string(identity, logical_id, depth + 1)?
            }
            other => {
                return Err(invalid(format!(
                    "{context}: Ref to {logical_id} ({other}) cannot be resolved locally"
                )))
            }
        };
        Ok(Value::String(value))
    }

    fn get_att(
        &self,
        logical_id: &str,
        attribute: &str,
        context: &str,
        depth: usize,
    ) -> Result<Value> {
        let resource = self.created_resource(logical_id, context)?;
        let unsupported = || {
            invalid(format!(
                "{context}: {logical_id}.{attribute} ({}) cannot be resolved locally",
                resource.ty
            ))
        };
        let value = match (resource.ty.as_str(), attribute) {
            (QUEUE, "Arn") => Self::queue_arn(&self.queue_name(resource, depth)?),
            (QUEUE, "QueueName") => self.queue_name(resource, depth)?,
            (QUEUE, "QueueUrl") => {
                let name = self.queue_name(resource, depth)?;
                self.queue_url(logical_id, &name)
            }
            (TABLE, "Arn") => {
                let name = self.resource_ref(logical_id, context, depth)?;
                format!(
                    "arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{}",
                    name.as_str().unwrap_or_default()
                )
            }
            (FUNCTION, "Arn") => format!(
                "arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{}",
                self.function_name(resource, depth)?
            ),
            _ => return Err(unsupported()),
        };
        Ok(Value::String(value))
    }

    fn pseudo(&self, name: &str) -> Option<Value> {
        let s = |v: &str| Some(Value::String(v.to_string()));
        match name {
            "AWS::Region" => s(LOCAL_REGION),
            "AWS::AccountId" => s(LOCAL_ACCOUNT_ID),
            "AWS::StackName" => s(&self.settings.stack_name),
            "AWS::StackId" => s(&format!(
                "arn:aws:cloudformation:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:stack/{}/local",
                self.settings.stack_name
            )),
            "AWS::Partition" => s("aws"),
            "AWS::URLSuffix" => s("amazonaws.com"),
            "AWS::NotificationARNs" => Some(Value::Sequence(Vec::new())),
            _ => None,
        }
    }

    // -- intrinsic functions ------------------------------------------------

    /// Resolves every intrinsic function in `value`; `None` is `AWS::NoValue`.
    fn resolve(&self, value: &Value, context: &str, depth: usize) -> Result<Option<Value>> {
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

    fn resolve_required(&self, value: &Value, context: &str, depth: usize) -> Result<Value> {
        self.resolve(value, context, depth)?
            .ok_or_else(|| invalid(format!("{context}: AWS::NoValue is not allowed here")))
    }

    fn resolve_string(&self, value: &Value, context: &str, depth: usize) -> Result<String> {
        let v = self.resolve_required(value, context, depth)?;
        scalar_string(&v)
            .ok_or_else(|| invalid(format!("{context}: expected a string, got {}", brief(&v))))
    }

    fn resolve_list(&self, value: &Value, context: &str, depth: usize) -> Result<Vec<Value>> {
        match self.resolve_required(value, context, depth)? {
            Value::Sequence(items) => Ok(items),
            other => Err(invalid(format!(
                "{context}: expected a list, got {}",
                brief(&other)
            ))),
        }
    }

    fn intrinsic(
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
            "Fn::Join" => {
                let items = list("Fn::Join", Some(2))?;
                let delimiter = self.resolve_string(&items[0], context, d)?;
                let parts = self.resolve_list(&items[1], context, d)?;
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| {
                        scalar_string(p).ok_or_else(|| {
                            invalid(format!(
                                "{context}: Fn::Join item is not a string: {}",
                                brief(p)
                            ))
                        })
                    })
                    .collect::<Result<_>>()?;
                Ok(Some(Value::String(parts.join(&delimiter))))
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
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                let mut map = Mapping::new();
                map.insert(Value::String(key.to_string()), arg.clone());
                let v = self.condition_expr(&Value::Mapping(map), d)?;
                Ok(Some(Value::Bool(v)))
            }
            "Fn::FindInMap" => {
                let items = list("Fn::FindInMap", Some(3))?;
                let keys: Vec<String> = items
                    .iter()
                    .map(|i| self.resolve_string(i, context, d))
                    .collect::<Result<_>>()?;
                let found = self
                    .template
                    .mappings
                    .get(keys[0].as_str())
                    .and_then(|m| m.get(keys[1].as_str()))
                    .and_then(|m| m.get(keys[2].as_str()))
                    .ok_or_else(|| {
                        invalid(format!("{context}: Fn::FindInMap {keys:?} not found"))
                    })?;
                self.resolve(found, context, d)
            }
            "Fn::Base64" => {
                let text = self.resolve_string(arg, context, d)?;
                Ok(Some(Value::String(B64.encode(text.as_bytes()))))
            }
            "Fn::ToJsonString" => {
                let v = self.resolve_required(arg, context, d)?;
                let json: serde_json::Value = serde_yaml::from_value(v)
                    .map_err(|e| invalid(format!("{context}: Fn::ToJsonString: {e}")))?;
                Ok(Some(Value::String(json.to_string())))
            }
            other => Err(invalid(format!(
                "{context}: {other} is not supported by the local runner"
            ))),
        }
    }

    fn sub(&self, text: &str, vars: &Mapping, context: &str, depth: usize) -> Result<String> {
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

    // -- the model ----------------------------------------------------------

    fn model(&self) -> Result<StackModel> {
        let mut tables = Vec::new();
        let mut queues = Vec::new();
        let mut email_identities = Vec::new();
        let mut http_apis = Vec::new();
        let mut functions = Vec::new();

        for (logical_id, resource) in &self.template.resources {
            if !self.is_created(resource)? {
                tracing::debug!(resource = %logical_id, "skipped: its Condition is false");
                continue;
            }
            match resource.ty.as_str() {
                TABLE => tables.push(self.table(resource)?),
                QUEUE => queues.push(self.queue(resource)?),
                EMAIL_IDENTITY => email_identities.push(EmailIdentitySpec {
                    logical_id: logical_id.clone(),
                    identity: self
                        .resource_ref(logical_id, logical_id, 0)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                }),
                HTTP_API => {
                    for unsupported in ["Auth", "CorsConfiguration"] {
                        if resource.properties.contains_key(unsupported) {
                            tracing::warn!(
                                resource = %logical_id,
                                "{unsupported} is not emulated locally"
                            );
                        }
                    }
                    http_apis.push(HttpApiSpec {
                        logical_id: logical_id.clone(),
                        api_id: Self::api_id(logical_id),
                    });
                }
                FUNCTION => functions.push(self.function(resource)?),
                ty if ignored_type(ty) => {
                    tracing::debug!(resource = %logical_id, ty, "not needed locally; ignored");
                }
                ty => {
                    return Err(at(
                        logical_id,
                        format!("type {ty} is not supported by the local runner"),
                    ))
                }
            }
        }

        let queues = order_queues(queues)?;
        // SQS event sources name queues by ARN; point them at this template's queues.
        for function in &mut functions {
            for event in &mut function.events {
                if let EventSource::Sqs(source) = &mut event.source {
                    let queue = queues
                        .iter()
                        .find(|q| q.arn == source.queue_arn)
                        .ok_or_else(|| {
                            at(
                                &function.logical_id,
                                format!(
                                    "event {}: queue {} is not a queue of this template",
                                    event.name, source.queue_arn
                                ),
                            )
                        })?;
                    source.queue.clone_from(&queue.logical_id);
                    source.queue_url.clone_from(&queue.url);
                }
            }
        }
        let uses_implicit_api = functions.iter().any(|f| {
            f.events
                .iter()
                .any(|e| matches!(&e.source, EventSource::HttpApi(r) if r.api == IMPLICIT_HTTP_API))
        });
        if uses_implicit_api && !http_apis.iter().any(|a| a.logical_id == IMPLICIT_HTTP_API) {
            http_apis.push(HttpApiSpec {
                logical_id: IMPLICIT_HTTP_API.into(),
                api_id: Self::api_id(IMPLICIT_HTTP_API),
            });
        }

        let parameters = self
            .params
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    ParamValue::Scalar(s) => s.clone(),
                    ParamValue::List(items) => items.join(","),
                };
                (k.clone(), v)
            })
            .collect();

        Ok(StackModel {
            stack_name: self.settings.stack_name.clone(),
            region: LOCAL_REGION.into(),
            account_id: LOCAL_ACCOUNT_ID.into(),
            endpoint: self.settings.endpoint.clone(),
            parameters,
            conditions: self.conditions.clone(),
            tables,
            queues,
            email_identities,
            http_apis,
            functions,
        })
    }

    fn props(&self, resource: &ResourceDef) -> Result<Mapping> {
        match self.resolve(
            &Value::Mapping(resource.properties.clone()),
            &resource.logical_id,
            0,
        )? {
            Some(Value::Mapping(m)) => Ok(m),
            _ => Ok(Mapping::new()),
        }
    }

    fn table(&self, resource: &ResourceDef) -> Result<TableSpec> {
        let id = &resource.logical_id;
        let props = self.props(resource)?;
        let name = self
            .resource_ref(id, id, 0)?
            .as_str()
            .unwrap_or_default()
            .to_string();
        let pairs = |value: Option<&Value>, second: &str, what: &str| -> Result<Vec<NameAndType>> {
            let Some(value) = value else {
                return Ok(Vec::new());
            };
            let Value::Sequence(items) = value else {
                return Err(at(id, format!("{what} is not a list")));
            };
            items
                .iter()
                .map(|item| {
                    let name = item.get("AttributeName").and_then(scalar_string);
                    let ty = item.get(second).and_then(scalar_string);
                    match (name, ty) {
                        (Some(name), Some(ty)) => Ok(NameAndType { name, ty }),
                        _ => Err(at(
                            id,
                            format!("{what}: entry without AttributeName/{second}"),
                        )),
                    }
                })
                .collect()
        };
        let throughput = |value: Option<&Value>| -> Option<(i64, i64)> {
            let v = value?;
            let r = v
                .get("ReadCapacityUnits")
                .and_then(scalar_string)?
                .parse()
                .ok()?;
            let w = v
                .get("WriteCapacityUnits")
                .and_then(scalar_string)?
                .parse()
                .ok()?;
            Some((r, w))
        };
        let indexes = |key: &str| -> Result<Vec<IndexSpec>> {
            let Some(value) = props.get(key) else {
                return Ok(Vec::new());
            };
            let Value::Sequence(items) = value else {
                return Err(at(id, format!("{key} is not a list")));
            };
            items
                .iter()
                .map(|item| {
                    let name = item
                        .get("IndexName")
                        .and_then(scalar_string)
                        .ok_or_else(|| at(id, format!("{key}: an index has no IndexName")))?;
                    let projection = item.get("Projection");
                    Ok(IndexSpec {
                        key_schema: pairs(
                            item.get("KeySchema"),
                            "KeyType",
                            &format!("{name}.KeySchema"),
                        )?,
                        projection_type: projection
                            .and_then(|p| p.get("ProjectionType"))
                            .and_then(scalar_string)
                            .unwrap_or_else(|| "ALL".into()),
                        non_key_attributes: match projection.and_then(|p| p.get("NonKeyAttributes"))
                        {
                            Some(Value::Sequence(a)) => {
                                a.iter().filter_map(scalar_string).collect()
                            }
                            _ => Vec::new(),
                        },
                        provisioned_throughput: throughput(item.get("ProvisionedThroughput")),
                        name,
                    })
                })
                .collect()
        };
        let key_schema = pairs(props.get("KeySchema"), "KeyType", "KeySchema")?;
        if key_schema.is_empty() {
            return Err(at(id, "has no KeySchema"));
        }
        let ttl = props.get("TimeToLiveSpecification");
        let ttl_enabled = ttl
            .and_then(|t| t.get("Enabled"))
            .and_then(scalar_string)
            .is_some_and(|e| e == "true");
        Ok(TableSpec {
            logical_id: id.clone(),
            arn: format!("arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{name}"),
            name,
            billing_mode: props
                .get("BillingMode")
                .and_then(scalar_string)
                .unwrap_or_else(|| "PROVISIONED".into()),
            attribute_definitions: pairs(
                props.get("AttributeDefinitions"),
                "AttributeType",
                "AttributeDefinitions",
            )?,
            key_schema,
            global_secondary_indexes: indexes("GlobalSecondaryIndexes")?,
            local_secondary_indexes: indexes("LocalSecondaryIndexes")?,
            provisioned_throughput: throughput(props.get("ProvisionedThroughput")),
            ttl_attribute: if ttl_enabled {
                ttl.and_then(|t| t.get("AttributeName"))
                    .and_then(scalar_string)
            } else {
                None
            },
            stream_view_type: props
                .get("StreamSpecification")
                .and_then(|s| s.get("StreamViewType"))
                .and_then(scalar_string),
        })
    }

    fn queue(&self, resource: &ResourceDef) -> Result<QueueSpec> {
        let id = &resource.logical_id;
        let props = self.props(resource)?;
        let name = self.queue_name(resource, 0)?;
        let mut attributes = BTreeMap::new();
        for key in [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
            "SqsManagedSseEnabled",
        ] {
            if let Some(v) = props.get(key) {
                let v = scalar_string(v).ok_or_else(|| at(id, format!("{key} is not a scalar")))?;
                attributes.insert(key.to_string(), v);
            }
        }
        let redrive = match props.get("RedrivePolicy") {
            None => None,
            Some(policy) => {
                let policy: serde_json::Value = match policy {
                    Value::String(json) => serde_json::from_str(json)
                        .map_err(|e| at(id, format!("RedrivePolicy is not JSON: {e}")))?,
                    other => serde_yaml::from_value(other.clone())
                        .map_err(|e| at(id, format!("RedrivePolicy: {e}")))?,
                };
                let arn = policy
                    .get("deadLetterTargetArn")
                    .and_then(serde_json::Value::as_str)
                    .ok_or_else(|| at(id, "RedrivePolicy has no deadLetterTargetArn"))?
                    .to_string();
                let max = match policy.get("maxReceiveCount") {
                    Some(serde_json::Value::Number(n)) => n.as_i64(),
                    Some(serde_json::Value::String(s)) => s.parse().ok(),
                    _ => None,
                }
                .ok_or_else(|| at(id, "RedrivePolicy has no numeric maxReceiveCount"))?;
                attributes.insert(
                    "RedrivePolicy".into(),
                    serde_json::json!({"deadLetterTargetArn": arn, "maxReceiveCount": max})
                        .to_string(),
                );
                Some(RedriveSpec {
                    dead_letter_target_arn: arn,
                    dead_letter_logical_id: None,
                    max_receive_count: max,
                })
            }
        };
        Ok(QueueSpec {
            logical_id: id.clone(),
            url: self.queue_url(id, &name),
            arn: Self::queue_arn(&name),
            name,
            attributes,
            redrive,
        })
    }

    fn function(&self, resource: &ResourceDef) -> Result<FunctionSpec> {
        let id = &resource.logical_id;
        let merged = merge_globals(
            &Value::Mapping(self.template.globals_function.clone()),
            &Value::Mapping(resource.properties.clone()),
        );
        let Value::Mapping(raw) = merged else {
            return Err(at(id, "Properties is not a mapping"));
        };
        let field = |key: &str| -> Result<Option<Value>> {
            match raw.get(key) {
                Some(v) => self.resolve(v, &format!("{id}.{key}"), 0),
                None => Ok(None),
            }
        };
        if let Some(Value::String(package_type)) = field("PackageType")? {
            if package_type != "Zip" {
                return Err(at(
                    id,
                    format!("PackageType {package_type} is not supported locally"),
                ));
            }
        }
        if let Some(runtime) = field("Runtime")? {
            let runtime = scalar_string(&runtime).unwrap_or_default();
            if !runtime.starts_with("provided") {
                return Err(at(
                    id,
                    format!("Runtime {runtime} is not supported locally (only provided.* runtimes running a Rust binary)"),
                ));
            }
        }
        let code_uri = match field("CodeUri")? {
            Some(Value::String(s)) => s,
            Some(_) => return Err(at(id, "CodeUri must be a local path")),
            None => return Err(at(id, "has no CodeUri")),
        };
        let binary = resource
            .metadata
            .get("BuildProperties")
            .and_then(|b| b.get("Binary"))
            .and_then(scalar_string);
        let number = |key: &str, default: u64| -> Result<u64> {
            match field(key)? {
                None => Ok(default),
                Some(v) => scalar_string(&v)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| at(id, format!("{key} is not a whole number"))),
            }
        };
        let timeout = number("Timeout", 3)?;
        let memory_size = u32::try_from(number("MemorySize", 128)?)
            .map_err(|_| at(id, "MemorySize is too large"))?;

        let mut environment = BTreeMap::new();
        if let Some(env) = field("Environment")? {
            if let Some(Value::Mapping(vars)) = env.get("Variables") {
                for (k, v) in vars {
                    let k = scalar_string(k).ok_or_else(|| at(id, "environment variable name"))?;
                    let v = scalar_string(v).ok_or_else(|| {
                        at(
                            id,
                            format!("environment variable {k} is not a string: {}", brief(v)),
                        )
                    })?;
                    environment.insert(k, v);
                }
            }
        }

        let function_name = self.function_name(resource, 0)?;
        let mut events = Vec::new();
        if let Some(Value::Mapping(raw_events)) = raw.get("Events") {
            for (name, event) in raw_events {
                let name =
                    scalar_string(name).ok_or_else(|| at(id, "an event name is not a string"))?;
                events.extend(self.event(id, &function_name, &name, event)?);
            }
        }
        Ok(FunctionSpec {
            logical_id: id.clone(),
            arn: format!(
                "arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{function_name}"
            ),
            function_name,
            code_uri,
            binary,
            timeout: Duration::from_secs(timeout),
            memory_size,
            environment,
            events,
        })
    }

    /// One event; `None` when it is disabled (`Enabled: false` / `State: DISABLED`).
    fn event(
        &self,
        function: &str,
        function_name: &str,
        name: &str,
        event: &Value,
    ) -> Result<Option<EventSpec>> {
        let context = format!("{function}.Events.{name}");
        let err = |message: String| at(function, format!("event {name}: {message}"));
        let ty = event
            .get("Type")
            .and_then(scalar_string)
            .ok_or_else(|| err("has no Type".into()))?;
        let raw_props = event
            .get("Properties")
            .cloned()
            .unwrap_or(Value::Mapping(Mapping::new()));
        // ApiId must stay a logical id, so it is read before resolving.
        let api_ref = raw_props.get("ApiId").cloned();
        let props = match self.resolve(&raw_props, &context, 0)? {
            Some(Value::Mapping(m)) => m,
            _ => Mapping::new(),
        };
        let string = |key: &str| props.get(key).and_then(scalar_string);
        let enabled = string("Enabled").is_none_or(|e| e != "false")
            && string("State").is_none_or(|s| s != "DISABLED");
        let source = match ty.as_str() {
            "HttpApi" => {
                let api = match api_ref {
                    None => IMPLICIT_HTTP_API.to_string(),
                    Some(v) => {
                        let logical = v
                            .get("Ref")
                            .and_then(Value::as_str)
                            .ok_or_else(|| err("ApiId must be !Ref to an AWS::Serverless::HttpApi".into()))?;
                        match self.resource(logical) {
                            Some(r) if r.ty == HTTP_API => {
                                if !self.is_created(r)? {
                                    return Err(err(format!("API {logical} is not created (Condition)")));
                                }
                            }
                            _ => {
                                return Err(err(format!(
                                    "ApiId {logical} is not an AWS::Serverless::HttpApi of this template"
                                )))
                            }
                        }
                        logical.to_string()
                    }
                };
                if let Some(version) = string("PayloadFormatVersion") {
                    if version != "2.0" {
                        return Err(err(format!(
                            "PayloadFormatVersion {version} is not supported locally (only 2.0)"
                        )));
                    }
                }
                for unsupported in ["Auth", "RouteSettings"] {
                    if props.contains_key(unsupported) {
                        tracing::warn!(function, event = name, "{unsupported} is not emulated locally");
                    }
                }
                let (path, method) = match (string("Path"), string("Method")) {
                    (Some(path), Some(method)) => (path, method.to_ascii_uppercase()),
                    (None, None) => ("$default".to_string(), "ANY".to_string()),
                    _ => return Err(err("HttpApi events need both Path and Method".into())),
                };
                if path != "$default" && !path.starts_with('/') {
                    return Err(err(format!("Path {path:?} must start with '/'")));
                }
                EventSource::HttpApi(HttpRouteSpec {
                    api_id: Self::api_id(&api),
                    api,
                    method,
                    path,
                })
            }
            "SQS" => {
                let queue_arn = string("Queue").ok_or_else(|| err("SQS events need Queue".into()))?;
                if props.contains_key("FilterCriteria") {
                    return Err(err("FilterCriteria is not supported locally".into()));
                }
                let batch_size = match string("BatchSize") {
                    None => 10,
                    Some(b) => b
                        .parse::<u32>()
                        .ok()
                        .filter(|b| *b >= 1)
                        .ok_or_else(|| err(format!("BatchSize {b:?} is not a positive number")))?,
                };
                let report_batch_item_failures = match props.get("FunctionResponseTypes") {
                    Some(Value::Sequence(types)) => types
                        .iter()
                        .filter_map(scalar_string)
                        .any(|t| t == "ReportBatchItemFailures"),
                    _ => false,
                };
                EventSource::Sqs(SqsSourceSpec {
                    queue: String::new(),
                    queue_url: String::new(),
                    queue_arn,
                    batch_size,
                    report_batch_item_failures,
                })
            }
            "Schedule" => {
                let expression =
                    string("Schedule").ok_or_else(|| err("Schedule events need Schedule".into()))?;
                let period = parse_rate(&expression).map_err(err)?;
                let rule_name = match string("Name") {
                    Some(n) => n,
                    None => physical_name(function_name, name, 64),
                };
                let input = match string("Input") {
                    None => None,
                    Some(json) => Some(
                        serde_json::from_str(&json)
                            .map_err(|e| err(format!("Input is not JSON: {e}")))?,
                    ),
                };
                EventSource::Schedule(ScheduleSpec {
                    expression,
                    period,
                    rule_arn: format!("arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:rule/{rule_name}"),
                    rule_name,
                    input,
                })
            }
            other => {
                return Err(err(format!(
                    "event type {other} is not supported by the local runner (supported: HttpApi, SQS, Schedule)"
                )))
            }
        };
        if !enabled {
            tracing::info!(function, event = name, "event is disabled; not run");
            return Ok(None);
        }
        Ok(Some(EventSpec {
            name: name.to_string(),
            source,
        }))
    }
}

/// Orders queues so that every dead-letter queue precedes the queues that use it.
fn order_queues(mut queues: Vec<QueueSpec>) -> Result<Vec<QueueSpec>> {
    let arns: BTreeMap<String, String> = queues
        .iter()
        .map(|q| (q.arn.clone(), q.logical_id.clone()))
        .collect();
    for queue in &mut queues {
        if let Some(redrive) = &mut queue.redrive {
            redrive.dead_letter_logical_id = arns.get(&redrive.dead_letter_target_arn).cloned();
        }
    }
    let mut ordered: Vec<QueueSpec> = Vec::with_capacity(queues.len());
    let mut placed = BTreeSet::new();
    while !queues.is_empty() {
        let before = queues.len();
        let mut rest = Vec::new();
        for queue in queues {
            let ready = match queue
                .redrive
                .as_ref()
                .and_then(|r| r.dead_letter_logical_id.as_ref())
            {
                Some(dlq) => placed.contains(dlq),
                None => true,
            };
            if ready {
                placed.insert(queue.logical_id.clone());
                ordered.push(queue);
            } else {
                rest.push(queue);
            }
        }
        if rest.len() == before {
            let names: Vec<_> = rest.iter().map(|q| q.logical_id.as_str()).collect();
            return Err(invalid(format!(
                "queues with circular redrive policies: {names:?}"
            )));
        }
        queues = rest;
    }
    Ok(ordered)
}

fn brief(value: &Value) -> String {
    let text = serde_yaml::to_string(value).unwrap_or_default();
    let text = text.trim().replace('\n', " ");
    if text.len() > 80 {
        let mut end = 80;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text
    }
}

#[cfg(test)]
mod tests;
