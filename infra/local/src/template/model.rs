//! The resolved local deployment: what has to be provisioned and run.

use std::collections::BTreeMap;
use std::time::Duration;

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
    /// User pool and app client ids as the emulator made them, by logical id
    /// (what `Ref` gives; before provisioning, a placeholder).
    pub cognito_ids: BTreeMap<String, String>,
    /// Secrets' ARNs as the emulator made them, by logical id (what `Ref`
    /// gives; before provisioning, a placeholder).
    pub secret_arns: BTreeMap<String, String>,
}

impl StackSettings {
    pub fn new(stack_name: impl Into<String>, endpoint: impl Into<String>) -> Self {
        Self {
            stack_name: stack_name.into(),
            endpoint: endpoint.into(),
            parameter_overrides: BTreeMap::new(),
            queue_urls: BTreeMap::new(),
            cognito_ids: BTreeMap::new(),
            secret_arns: BTreeMap::new(),
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

/// An `AWS::SecretsManager::Secret`. Locally its value is the checkout's
/// own (`SecretStringTemplate` with the generated key replaced by the local
/// key file's), so what it signs stays valid across restarts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub logical_id: String,
    pub name: String,
    /// `SecretStringTemplate`, if any (JSON).
    pub template: Option<String>,
    /// `GenerateStringKey`: the template's key that gets the generated value.
    pub generate_key: Option<String>,
}

/// An `AWS::S3::Bucket`, made in the emulator (its name is `Ref`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketSpec {
    pub logical_id: String,
    pub name: String,
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
    /// `Auth.Authorizers`: each a JWT authorizer (no other kind runs locally).
    pub authorizers: Vec<JwtAuthorizerSpec>,
}

/// A JWT authorizer of an HTTP API, as API Gateway checks a token with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtAuthorizerSpec {
    pub name: String,
    /// `JwtConfiguration.issuer`: the token's `iss`, and where its keys are
    /// published (`{issuer}/.well-known/jwks.json`).
    pub issuer: String,
    /// `JwtConfiguration.audience`: an ID token's `aud` (an access token's
    /// `client_id`) must be one of them.
    pub audiences: Vec<String>,
}

/// An `AWS::Cognito::UserPool`, made in the emulator: it signs the tokens
/// the gateway checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolSpec {
    pub logical_id: String,
    /// `UserPoolName`, else `{stack}-{LogicalId}`.
    pub name: String,
    /// The resolved properties, which are CreateUserPool's parameters.
    pub properties: serde_json::Map<String, serde_json::Value>,
}

/// An `AWS::Cognito::UserPoolClient`, made in the emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolClientSpec {
    pub logical_id: String,
    /// The logical id of its pool (`UserPoolId: !Ref …`).
    pub user_pool: String,
    /// `ClientName`, else `{stack}-{LogicalId}`.
    pub name: String,
    /// The resolved properties but `UserPoolId`: CreateUserPoolClient's parameters.
    pub properties: serde_json::Map<String, serde_json::Value>,
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
    /// The JWT authorizer that guards the route (the event's `Auth.Authorizer`,
    /// else the API's `DefaultAuthorizer`); `None` for `Authorizer: NONE`.
    pub authorizer: Option<String>,
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

/// SES events of a configuration set, published to a topic whose SQS subscribers get them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SesEventRoute {
    pub configuration_set: String,
    pub topic_arn: String,
    /// The subscribed queues' URLs.
    pub queue_urls: Vec<String>,
}

/// A schedule the local stack can fire on demand (`POST /_local/schedules/{name}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSchedule {
    pub names: Vec<String>,
    /// Logical id of the function.
    pub function: String,
    pub rule_arn: String,
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
    /// The statements of its role's inline policies (`Policies`), resolved:
    /// everything the function may do in AWS, and so locally.
    pub policies: Vec<PolicyStatement>,
}

/// One statement of an IAM policy, as the local stack evaluates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyStatement {
    /// `Effect: Allow` (else `Deny`).
    pub allow: bool,
    /// `Action`: `service:Operation` patterns (`*` and `?`).
    pub actions: Vec<String>,
    /// `Resource`: ARN patterns (`*` and `?`).
    pub resources: Vec<String>,
    pub conditions: Vec<PolicyCondition>,
}

/// One test of a statement's `Condition`: `{operator: {key: values}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCondition {
    /// [`CONDITION_OPERATORS`].
    pub operator: String,
    /// [`CONDITION_KEYS`].
    pub key: String,
    pub values: Vec<String>,
}

/// The condition operators the local stack evaluates; a statement with any
/// other is refused when the template is read, never ignored.
pub const CONDITION_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringLike",
    "ForAllValues:StringEquals",
    "ForAllValues:StringLike",
    "ForAnyValue:StringEquals",
    "ForAnyValue:StringLike",
];

/// The condition keys the local stack sees in a request.
pub const CONDITION_KEYS: &[&str] = &["dynamodb:LeadingKeys"];

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
    /// SES configuration sets (made in the emulator, so sends that name one work).
    pub configuration_sets: Vec<String>,
    /// Where SES events go: a configuration set's SNS topic, and the queues
    /// subscribed to it (`POST /_local/ses-events` delivers there, as SNS would).
    pub ses_event_routes: Vec<SesEventRoute>,
    pub http_apis: Vec<HttpApiSpec>,
    pub user_pools: Vec<UserPoolSpec>,
    pub user_pool_clients: Vec<UserPoolClientSpec>,
    /// Secrets Manager secrets (the action-link keys), made in the emulator.
    pub secrets: Vec<SecretSpec>,
    /// S3 buckets (the export files), made in the emulator.
    pub buckets: Vec<BucketSpec>,
    pub functions: Vec<FunctionSpec>,
}

impl StackModel {
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
    /// Every schedule, with the names it may be fired by: its rule's logical
    /// id as SAM generates it (`{Function}{Event}`), the event's name, and the
    /// function's logical id when that function has one schedule.
    pub fn schedules(&self) -> Vec<LocalSchedule> {
        let mut out = Vec::new();
        for function in &self.functions {
            let own: Vec<_> = function
                .events
                .iter()
                .filter_map(|e| match &e.source {
                    EventSource::Schedule(s) => Some((e, s)),
                    _ => None,
                })
                .collect();
            for (event, schedule) in &own {
                let mut names = vec![
                    format!("{}{}", function.logical_id, event.name),
                    event.name.clone(),
                ];
                if own.len() == 1 {
                    names.push(function.logical_id.clone());
                }
                out.push(LocalSchedule {
                    names,
                    function: function.logical_id.clone(),
                    rule_arn: schedule.rule_arn.clone(),
                });
            }
        }
        out
    }

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
