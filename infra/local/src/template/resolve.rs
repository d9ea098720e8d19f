//! From the parsed file to the local deployment: parameters, `Globals`,
//! physical names, and every resource the local stack runs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_yaml::{Mapping, Value};

use super::model::*;
use super::parse::{is_intrinsic, scalar_string, ResourceDef, Template};
use super::{at, brief, invalid, Result};

impl StackModel {
    /// Resolves `template` for the deployment `settings` describes.
    pub fn resolve(template: &Template, settings: &StackSettings) -> Result<Self> {
        Resolver::new(template, settings)?.model()
    }
}
use crate::{LOCAL_ACCOUNT_ID, LOCAL_REGION};

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
        // Ad-hoc analysis (DynamoDB exports in S3, queried with Athena):
        // nothing a function uses.
        "AWS::Athena::",
        "AWS::Glue::",
    ];
    const TYPES: &[&str] = &[
        "AWS::SQS::QueuePolicy",
        "AWS::Lambda::Permission",
        "AWS::SNS::TopicPolicy",
        // Buckets are made; their policies (the analysis bucket's) are
        // about other services' access, not the functions'.
        "AWS::S3::BucketPolicy",
        // The hosted UI: the local workspace signs in through the admin API
        // of the emulator's pool instead (moto has no hosted UI).
        "AWS::Cognito::UserPoolDomain",
    ];
    PREFIXES.iter().any(|p| ty.starts_with(p)) || TYPES.contains(&ty)
}

const TABLE: &str = "AWS::DynamoDB::Table";
const QUEUE: &str = "AWS::SQS::Queue";
const EMAIL_IDENTITY: &str = "AWS::SES::EmailIdentity";
const HTTP_API: &str = "AWS::Serverless::HttpApi";
const FUNCTION: &str = "AWS::Serverless::Function";
/// Sign-in: the pool and its client are made in the emulator, which signs
/// their users' tokens; the gateway checks them as the JWT authorizer does.
const USER_POOL: &str = "AWS::Cognito::UserPool";
/// SES events: the configuration set is made in the emulator; the topic and
/// subscription are emulated by `POST /_local/ses-events` (moto produces no events).
const CONFIGURATION_SET: &str = "AWS::SES::ConfigurationSet";
const EVENT_DESTINATION: &str = "AWS::SES::ConfigurationSetEventDestination";
const TOPIC: &str = "AWS::SNS::Topic";
const SUBSCRIPTION: &str = "AWS::SNS::Subscription";
const USER_POOL_CLIENT: &str = "AWS::Cognito::UserPoolClient";
/// The action-link keys: made in the emulator with the checkout's key.
const SECRET: &str = "AWS::SecretsManager::Secret";
/// Buckets: made in the emulator; the functions' calls to them are checked
/// against their roles (`s3:PutObject` on `arn:aws:s3:::bucket/key`).
const BUCKET: &str = "AWS::S3::Bucket";
const IMPLICIT_HTTP_API: &str = "ServerlessHttpApi";

/// A parameter's value (`CommaDelimitedList` parameters are lists).
#[derive(Debug, Clone)]
pub(super) enum ParamValue {
    Scalar(String),
    List(Vec<String>),
}

pub(super) struct Resolver<'a> {
    pub(super) template: &'a Template,
    pub(super) settings: &'a StackSettings,
    pub(super) params: BTreeMap<String, ParamValue>,
    pub(super) conditions: BTreeMap<String, bool>,
}

pub(super) const MAX_DEPTH: usize = 32;

impl<'a> Resolver<'a> {
    pub(super) fn new(template: &'a Template, settings: &'a StackSettings) -> Result<Self> {
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

    // -- resources ----------------------------------------------------------

    pub(super) fn resource(&self, logical_id: &str) -> Option<&'a ResourceDef> {
        self.template.resources.get(logical_id)
    }

    pub(super) fn is_created(&self, resource: &ResourceDef) -> Result<bool> {
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

    pub(super) fn secret_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
        match resource.properties.get("Name") {
            Some(name) => self.resolve_string(name, &resource.logical_id, depth + 1),
            None => Ok(physical_name(
                &self.settings.stack_name,
                &resource.logical_id,
                256,
            )),
        }
    }

    /// `BucketName`, or a name made as CloudFormation makes one: the
    /// stack's and the resource's, lower-cased, at most 63 characters.
    pub(super) fn bucket_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
        match resource.properties.get("BucketName") {
            Some(name) => self.resolve_string(name, &resource.logical_id, depth + 1),
            None => Ok(
                physical_name(&self.settings.stack_name, &resource.logical_id, 63)
                    .to_ascii_lowercase()
                    .replace('_', "-"),
            ),
        }
    }

    pub(super) fn table_name(&self, logical_id: &str) -> String {
        physical_name(&self.settings.stack_name, logical_id, 255)
    }

    pub(super) fn queue_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
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

    pub(super) fn fifo(&self, resource: &ResourceDef, depth: usize) -> Result<bool> {
        match resource.properties.get("FifoQueue") {
            None => Ok(false),
            Some(v) => Ok(self.resolve_string(v, &resource.logical_id, depth + 1)? == "true"),
        }
    }

    pub(super) fn queue_url(&self, logical_id: &str, name: &str) -> String {
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

    pub(super) fn queue_arn(name: &str) -> String {
        format!("arn:aws:sqs:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{name}")
    }

    pub(super) fn function_name(&self, resource: &ResourceDef, depth: usize) -> Result<String> {
        match resource.properties.get("FunctionName") {
            Some(name) => self.resolve_string(name, &resource.logical_id, depth + 1),
            None => Ok(physical_name(
                &self.settings.stack_name,
                &resource.logical_id,
                64,
            )),
        }
    }

    pub(super) fn api_id(logical_id: &str) -> String {
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

    pub(super) fn created_resource(
        &self,
        logical_id: &str,
        context: &str,
    ) -> Result<&'a ResourceDef> {
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
    pub(super) fn resource_ref(
        &self,
        logical_id: &str,
        context: &str,
        depth: usize,
    ) -> Result<Value> {
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
            USER_POOL => self
                .settings
                .cognito_ids
                .get(logical_id)
                .cloned()
                .unwrap_or_else(|| format!("{LOCAL_REGION}_local{logical_id}")),
            CONFIGURATION_SET => match resource.properties.get("Name") {
                Some(name) => self.resolve_string(name, logical_id, depth + 1)?,
                None => physical_name(&self.settings.stack_name, logical_id, 64),
            },
            TOPIC => format!(
                "arn:aws:sns:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{}",
                physical_name(&self.settings.stack_name, logical_id, 256)
            ),
            USER_POOL_CLIENT => self
                .settings
                .cognito_ids
                .get(logical_id)
                .cloned()
                .unwrap_or_else(|| format!("local-{logical_id}")),
            SECRET => self
                .settings
                .secret_arns
                .get(logical_id)
                .cloned()
                .unwrap_or_else(|| {
                    format!(
                        "arn:aws:secretsmanager:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:secret:{}-local",
                        self.secret_name(resource, depth).unwrap_or_default()
                    )
                }),
            BUCKET => self.bucket_name(resource, depth)?,
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

    pub(super) fn get_att(
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
            (BUCKET, "Arn") => format!("arn:aws:s3:::{}", self.bucket_name(resource, depth)?),
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

    /// The JWT authorizers an HTTP API declares (`Auth.Authorizers`); any
    /// other kind of authorizer is refused, since only JWT is emulated.
    fn jwt_authorizers(&self, api: &str, resource: &ResourceDef) -> Result<Vec<JwtAuthorizerSpec>> {
        let Some(auth) = resource.properties.get("Auth") else {
            return Ok(Vec::new());
        };
        let mut specs = Vec::new();
        if let Some(Value::Mapping(authorizers)) = auth.get("Authorizers") {
            for (name, def) in authorizers {
                let name = scalar_string(name).unwrap_or_default();
                let Some(jwt) = def.get("JwtConfiguration") else {
                    return Err(at(
                        api,
                        format!(
                            "Auth.Authorizers.{name}: only JWT authorizers are emulated locally"
                        ),
                    ));
                };
                let jwt = self.resolve(jwt, api, 0)?.unwrap_or_default();
                let issuer = jwt.get("issuer").and_then(scalar_string).ok_or_else(|| {
                    at(
                        api,
                        format!("Auth.Authorizers.{name}.JwtConfiguration has no issuer"),
                    )
                })?;
                let audiences: Vec<String> = match jwt.get("audience") {
                    Some(Value::Sequence(items)) => {
                        items.iter().filter_map(scalar_string).collect()
                    }
                    Some(one) => scalar_string(one).into_iter().collect(),
                    None => Vec::new(),
                };
                if audiences.is_empty() {
                    return Err(at(
                        api,
                        format!("Auth.Authorizers.{name}.JwtConfiguration has no audience"),
                    ));
                }
                specs.push(JwtAuthorizerSpec {
                    name,
                    issuer,
                    audiences,
                });
            }
        }
        if let Some(default) = auth.get("DefaultAuthorizer").and_then(scalar_string) {
            if !specs.iter().any(|s| s.name == default) {
                return Err(at(
                    api,
                    format!("Auth.DefaultAuthorizer {default} is not one of its Authorizers"),
                ));
            }
        }
        Ok(specs)
    }

    fn default_authorizer(&self, api: &str) -> Result<Option<String>> {
        Ok(self
            .resource(api)
            .and_then(|r| r.properties.get("Auth"))
            .and_then(|a| a.get("DefaultAuthorizer"))
            .and_then(scalar_string))
    }

    // -- the model ----------------------------------------------------------

    pub(super) fn model(&self) -> Result<StackModel> {
        let mut tables = Vec::new();
        let mut queues = Vec::new();
        let mut email_identities = Vec::new();
        let mut configuration_sets = Vec::new();
        let mut destinations: Vec<(String, String)> = Vec::new();
        let mut subscriptions: Vec<(String, String)> = Vec::new();
        let mut http_apis = Vec::new();
        let mut user_pools = Vec::new();
        let mut secrets = Vec::new();
        let mut buckets = Vec::new();
        let mut user_pool_clients = Vec::new();
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
                    let authorizers = self.jwt_authorizers(logical_id, resource)?;
                    for unsupported in ["CorsConfiguration"] {
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
                        authorizers,
                    });
                }
                FUNCTION => functions.push(self.function(resource)?),
                CONFIGURATION_SET => configuration_sets.push(
                    self.resource_ref(logical_id, logical_id, 0)?
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                EVENT_DESTINATION => {
                    let props = self.props(resource)?;
                    let set = props.get("ConfigurationSetName").and_then(scalar_string);
                    let topic = props
                        .get("EventDestination")
                        .and_then(|d| d.get("SnsDestination"))
                        .and_then(|d| d.get("TopicARN"))
                        .and_then(scalar_string);
                    match (set, topic) {
                        (Some(set), Some(topic)) => destinations.push((set, topic)),
                        _ => {
                            return Err(at(
                                logical_id,
                                "only SNS event destinations (ConfigurationSetName, EventDestination.SnsDestination.TopicARN) run locally",
                            ))
                        }
                    }
                }
                TOPIC => {}
                SUBSCRIPTION => {
                    let props = self.props(resource)?;
                    let protocol = props.get("Protocol").and_then(scalar_string);
                    let topic = props.get("TopicArn").and_then(scalar_string);
                    let endpoint = props.get("Endpoint").and_then(scalar_string);
                    match (protocol.as_deref(), topic, endpoint) {
                        (Some("sqs"), Some(topic), Some(queue_arn)) => {
                            subscriptions.push((topic, queue_arn))
                        }
                        // People subscribed to a topic (the alarms'): nothing
                        // publishes to it locally, so nobody is mailed.
                        (Some("email" | "email-json"), Some(_), Some(_)) => {
                            tracing::debug!(resource = %logical_id, "email subscription: not delivered locally");
                        }
                        _ => return Err(at(
                            logical_id,
                            "only SQS subscriptions (Protocol sqs, TopicArn, Endpoint) run locally, and email ones are ignored",
                        )),
                    }
                }
                BUCKET => buckets.push(BucketSpec {
                    logical_id: logical_id.clone(),
                    name: self.bucket_name(resource, 0)?,
                }),
                SECRET => {
                    let props = self.props(resource)?;
                    let generate = props.get("GenerateSecretString");
                    let field = |k: &str| generate.and_then(|g| g.get(k)).and_then(scalar_string);
                    if props.contains_key("SecretString") {
                        return Err(at(
                            logical_id,
                            "a SecretString in the template is a secret in the repository: use GenerateSecretString",
                        ));
                    }
                    secrets.push(SecretSpec {
                        logical_id: logical_id.clone(),
                        name: self.secret_name(resource, 0)?,
                        template: field("SecretStringTemplate"),
                        generate_key: field("GenerateStringKey"),
                    });
                }
                USER_POOL => {
                    let mut properties = self.json_props(resource)?;
                    let name = match properties.remove("UserPoolName") {
                        Some(serde_json::Value::String(name)) => name,
                        _ => physical_name(&self.settings.stack_name, logical_id, 128),
                    };
                    user_pools.push(UserPoolSpec {
                        logical_id: logical_id.clone(),
                        name,
                        properties,
                    });
                }
                USER_POOL_CLIENT => {
                    let user_pool = match resource
                        .properties
                        .get("UserPoolId")
                        .map(|v| v.get("Ref").and_then(scalar_string))
                    {
                        Some(Some(pool)) => pool,
                        _ => {
                            return Err(at(
                                logical_id,
                                "UserPoolId must be a Ref to a user pool of the template",
                            ))
                        }
                    };
                    let mut properties = self.json_props(resource)?;
                    properties.remove("UserPoolId");
                    let name = match properties.remove("ClientName") {
                        Some(serde_json::Value::String(name)) => name,
                        _ => physical_name(&self.settings.stack_name, logical_id, 128),
                    };
                    user_pool_clients.push(UserPoolClientSpec {
                        logical_id: logical_id.clone(),
                        user_pool,
                        name,
                        properties,
                    });
                }
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
        let ses_event_routes = destinations
            .into_iter()
            .map(|(configuration_set, topic_arn)| SesEventRoute {
                queue_urls: subscriptions
                    .iter()
                    .filter(|(t, _)| *t == topic_arn)
                    .filter_map(|(_, arn)| {
                        queues.iter().find(|q| &q.arn == arn).map(|q| q.url.clone())
                    })
                    .collect(),
                configuration_set,
                topic_arn,
            })
            .collect();
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
                authorizers: Vec::new(),
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
            configuration_sets,
            ses_event_routes,
            http_apis,
            user_pools,
            secrets,
            buckets,
            user_pool_clients,
            functions,
        })
    }

    /// A resource's resolved properties as JSON (the API's parameters).
    fn json_props(
        &self,
        resource: &ResourceDef,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        match serde_json::to_value(self.props(resource)?) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Ok(serde_json::Map::new()),
            Err(e) => Err(at(&resource.logical_id, format!("properties: {e}"))),
        }
    }

    pub(super) fn props(&self, resource: &ResourceDef) -> Result<Mapping> {
        match self.resolve(
            &Value::Mapping(resource.properties.clone()),
            &resource.logical_id,
            0,
        )? {
            Some(Value::Mapping(m)) => Ok(m),
            _ => Ok(Mapping::new()),
        }
    }

    pub(super) fn table(&self, resource: &ResourceDef) -> Result<TableSpec> {
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

    pub(super) fn queue(&self, resource: &ResourceDef) -> Result<QueueSpec> {
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

    pub(super) fn function(&self, resource: &ResourceDef) -> Result<FunctionSpec> {
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

        let mut policies = match field("Policies")? {
            None => Vec::new(),
            Some(policies) => policy_statements(id, &policies)?,
        };
        let function_name = self.function_name(resource, 0)?;
        let mut events = Vec::new();
        if let Some(Value::Mapping(raw_events)) = raw.get("Events") {
            for (name, event) in raw_events {
                let name =
                    scalar_string(name).ok_or_else(|| at(id, "an event name is not a string"))?;
                events.extend(self.event(id, &function_name, &name, event)?);
            }
        }
        // SAM gives a function with an SQS event its SQSPollerPolicy on that
        // queue (the event source mapping polls with the function's role).
        for event in &events {
            if let EventSource::Sqs(source) = &event.source {
                policies.push(PolicyStatement {
                    allow: true,
                    actions: [
                        "ChangeMessageVisibility",
                        "ChangeMessageVisibilityBatch",
                        "DeleteMessage",
                        "DeleteMessageBatch",
                        "GetQueueAttributes",
                        "ReceiveMessage",
                    ]
                    .iter()
                    .map(|a| format!("sqs:{a}"))
                    .collect(),
                    resources: vec![source.queue_arn.clone()],
                    conditions: Vec::new(),
                });
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
            policies,
        })
    }

    /// One event; `None` when it is disabled (`Enabled: false` / `State: DISABLED`).
    pub(super) fn event(
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
                if props.contains_key("RouteSettings") {
                    tracing::warn!(function, event = name, "RouteSettings is not emulated locally");
                }
                let authorizer = match raw_props
                    .get("Auth")
                    .and_then(|a| a.get("Authorizer"))
                    .and_then(scalar_string)
                {
                    Some(none) if none == "NONE" => None,
                    Some(named) => Some(named),
                    None => self.default_authorizer(&api)?,
                };
                if let Some(named) = &authorizer {
                    let known = match self.resource(&api) {
                        Some(r) => self.jwt_authorizers(&api, r)?,
                        None => Vec::new(),
                    };
                    if !known.iter().any(|a| &a.name == named) {
                        return Err(err(format!(
                            "Auth.Authorizer {named} is not a JWT authorizer of {api}"
                        )));
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
                    authorizer,
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
/// A function's resolved `Policies`: inline policy documents only. A managed
/// policy or a SAM policy template names statements the local stack cannot
/// see, so it is refused rather than guessed at.
fn policy_statements(id: &str, policies: &Value) -> Result<Vec<PolicyStatement>> {
    let items = match policies {
        Value::Sequence(items) => items.clone(),
        other => vec![other.clone()],
    };
    let mut statements = Vec::new();
    for item in &items {
        let document = match item {
            Value::Mapping(m) if m.contains_key("Statement") => m,
            other => {
                return Err(at(
                    id,
                    format!(
                        "Policies: {} is not an inline policy (a Statement list); \
                         the local stack enforces only the statements it can read",
                        brief(other)
                    ),
                ))
            }
        };
        let list = match document.get("Statement") {
            Some(Value::Sequence(list)) => list.clone(),
            Some(one) => vec![one.clone()],
            None => Vec::new(),
        };
        for statement in &list {
            statements.push(policy_statement(id, statement)?);
        }
    }
    Ok(statements)
}

fn policy_statement(id: &str, statement: &Value) -> Result<PolicyStatement> {
    let Value::Mapping(map) = statement else {
        return Err(at(id, format!("Policies: statement {}", brief(statement))));
    };
    let strings = |key: &str| -> Result<Vec<String>> {
        match map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Sequence(items)) => items
                .iter()
                .map(|v| {
                    scalar_string(v)
                        .ok_or_else(|| at(id, format!("Policies: {key} entry {}", brief(v))))
                })
                .collect(),
            Some(v) => scalar_string(v)
                .map(|s| vec![s])
                .ok_or_else(|| at(id, format!("Policies: {key} {}", brief(v)))),
        }
    };
    for (key, _) in map {
        let key = scalar_string(key).unwrap_or_default();
        if !matches!(
            key.as_str(),
            "Effect" | "Action" | "Resource" | "Condition" | "Sid"
        ) {
            return Err(at(
                id,
                format!("Policies: a statement's {key} is not evaluated locally"),
            ));
        }
    }
    let allow = match strings("Effect")?.first().map(String::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        other => return Err(at(id, format!("Policies: Effect {other:?}"))),
    };
    let mut conditions = Vec::new();
    if let Some(condition) = map.get("Condition") {
        let Value::Mapping(operators) = condition else {
            return Err(at(id, format!("Policies: Condition {}", brief(condition))));
        };
        for (operator, tests) in operators {
            let operator = scalar_string(operator).unwrap_or_default();
            if !CONDITION_OPERATORS.contains(&operator.as_str()) {
                return Err(at(
                    id,
                    format!(
                        "Policies: condition operator {operator} is not evaluated locally (it evaluates {})",
                        CONDITION_OPERATORS.join(", ")
                    ),
                ));
            }
            let Value::Mapping(tests) = tests else {
                return Err(at(id, format!("Policies: {operator} {}", brief(tests))));
            };
            for (key, values) in tests {
                let key = scalar_string(key).unwrap_or_default();
                if !CONDITION_KEYS.contains(&key.as_str()) {
                    return Err(at(
                        id,
                        format!(
                            "Policies: condition key {key} is not evaluated locally (it evaluates {})",
                            CONDITION_KEYS.join(", ")
                        ),
                    ));
                }
                let values = match values {
                    Value::Sequence(items) => items.iter().filter_map(scalar_string).collect(),
                    v => scalar_string(v).into_iter().collect(),
                };
                conditions.push(PolicyCondition {
                    operator: operator.clone(),
                    key,
                    values,
                });
            }
        }
    }
    let (actions, resources) = (strings("Action")?, strings("Resource")?);
    if actions.is_empty() || resources.is_empty() {
        return Err(at(id, "Policies: a statement needs Action and Resource"));
    }
    Ok(PolicyStatement {
        allow,
        actions,
        resources,
        conditions,
    })
}

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
