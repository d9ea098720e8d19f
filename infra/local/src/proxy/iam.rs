//! Each function's role, enforced on every AWS request it makes, as IAM
//! would: the proxy sees the request, works out what it asks IAM for (an
//! action on a resource, with the DynamoDB partition keys it touches), and
//! answers a call no statement of the function's `Policies` allows with the
//! service's own access-denied error. moto's IAM check matches actions only
//! (DynamoDB resources count as `*`, conditions see no request values), so
//! the local stack evaluates roles here instead.
//!
//! What IAM asks for, by request:
//! - DynamoDB: the operation on the table's ARN (an index's for a `Query` or
//!   `Scan` with `IndexName`); a transaction asks for each item's own
//!   operation (`Put` → `dynamodb:PutItem`, `Update` → `dynamodb:UpdateItem`,
//!   `Delete` → `dynamodb:DeleteItem`, `ConditionCheck` →
//!   `dynamodb:ConditionCheckItem`, `Get` → `dynamodb:GetItem`), a batch for
//!   `dynamodb:BatchGetItem` / `dynamodb:BatchWriteItem` per table. The
//!   `dynamodb:LeadingKeys` condition key holds the partition keys the
//!   request touches (a `Query`'s from its key condition; a `Scan` has none,
//!   so `ForAllValues` holds for it, as in AWS).
//! - SQS: the operation (a batch as its single form) on the queue's ARN.
//! - SES: `ses:SendEmail` / `ses:SendRawEmail` on the sender's identity (its
//!   address's or its domain's) and on the configuration set it names;
//!   anything else on `*`.

use serde_json::Value;

use super::capacity::Schemas;
use super::Operation;
use crate::template::{PolicyCondition, PolicyStatement};

/// One thing a request asks IAM for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// `service:Operation`.
    pub action: String,
    /// The resource's ARN; when there are several, any one allowed suffices
    /// (an SES sender's address identity or its domain's).
    pub resources: Vec<String>,
    /// `dynamodb:LeadingKeys`: the partition keys touched.
    pub leading_keys: Vec<String>,
}

/// A call a function's role does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub function: String,
    pub action: String,
    pub resource: String,
    /// The partition keys the call touched, when its action has a condition on them.
    pub leading_keys: Vec<String>,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not authorized to perform: {} on resource: {}",
            self.function, self.action, self.resource
        )?;
        if !self.leading_keys.is_empty() {
            write!(f, " (leading keys {})", self.leading_keys.join(", "))?;
        }
        write!(f, " because no identity-based policy allows it")
    }
}

/// A function's role: the statements of its policies.
#[derive(Debug, Clone, Default)]
pub struct Role {
    pub function: String,
    pub statements: Vec<PolicyStatement>,
}

impl Role {
    /// `Err` with the first access the role does not allow.
    pub fn check(&self, accesses: &[Access]) -> Result<(), Denial> {
        for access in accesses {
            if !self.allows(access) {
                return Err(Denial {
                    function: self.function.clone(),
                    action: access.action.clone(),
                    resource: access.resources.first().cloned().unwrap_or_default(),
                    leading_keys: access.leading_keys.clone(),
                });
            }
        }
        Ok(())
    }

    /// An explicit allow for one of the resources, and no explicit deny.
    pub fn allows(&self, access: &Access) -> bool {
        let applies = |s: &PolicyStatement, resource: &str| {
            s.actions
                .iter()
                .any(|a| glob(&a.to_ascii_lowercase(), &access.action.to_ascii_lowercase()))
                && s.resources.iter().any(|r| glob(r, resource))
                && s.conditions.iter().all(|c| holds(c, access))
        };
        let denied = self
            .statements
            .iter()
            .any(|s| !s.allow && access.resources.iter().any(|r| applies(s, r)));
        let allowed = access
            .resources
            .iter()
            .any(|r| self.statements.iter().any(|s| s.allow && applies(s, r)));
        allowed && !denied
    }
}

fn holds(condition: &PolicyCondition, access: &Access) -> bool {
    // Only dynamodb:LeadingKeys is read (the template is refused otherwise).
    let keys = &access.leading_keys;
    let like = condition.operator.ends_with("StringLike");
    let matches = |key: &str| {
        condition
            .values
            .iter()
            .any(|v| if like { glob(v, key) } else { v == key })
    };
    match condition.operator.split_once(':') {
        Some(("ForAllValues", _)) => keys.iter().all(|k| matches(k)),
        Some(("ForAnyValue", _)) => keys.iter().any(|k| matches(k)),
        // A single-valued test of a multi-valued key: one key, matching.
        _ => keys.len() == 1 && matches(&keys[0]),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Where the stack's resources live: their ARNs' region and account.
#[derive(Debug, Clone)]
pub struct Arns {
    pub region: String,
    pub account: String,
}

impl Arns {
    fn table(&self, name: &str) -> String {
        format!(
            "arn:aws:dynamodb:{}:{}:table/{name}",
            self.region, self.account
        )
    }

    fn queue(&self, url: &str) -> String {
        let name = url.trim_end_matches('/').rsplit('/').next().unwrap_or(url);
        format!("arn:aws:sqs:{}:{}:{name}", self.region, self.account)
    }

    fn ses(&self, what: &str) -> String {
        format!("arn:aws:ses:{}:{}:{what}", self.region, self.account)
    }
}

/// What `operation` with this body asks IAM for.
pub fn accesses(
    operation: &Operation,
    json: &Value,
    form: &[(String, String)],
    schemas: &Schemas,
    arns: &Arns,
) -> Vec<Access> {
    match operation.service.as_str() {
        "dynamodb" => dynamodb(&operation.operation, json, schemas, arns),
        "sqs" => {
            let action = format!(
                "sqs:{}",
                operation
                    .operation
                    .strip_suffix("Batch")
                    .unwrap_or(&operation.operation)
            );
            let resource = match json.get("QueueUrl").and_then(Value::as_str) {
                Some(url) => arns.queue(url),
                None => match json.get("QueueName").and_then(Value::as_str) {
                    Some(name) => arns.queue(name),
                    None => "*".into(),
                },
            };
            vec![Access {
                action,
                resources: vec![resource],
                leading_keys: Vec::new(),
            }]
        }
        "ses" => ses(&operation.operation, form, arns),
        // A secret by its ARN (what `Ref` gives a function), else its name.
        "secretsmanager" => {
            let resource = match json.get("SecretId").and_then(Value::as_str) {
                Some(id) if id.starts_with("arn:") => id.to_string(),
                Some(name) => format!(
                    "arn:aws:secretsmanager:{}:{}:secret:{name}",
                    arns.region, arns.account
                ),
                None => "*".into(),
            };
            vec![Access {
                action: format!("secretsmanager:{}", operation.operation),
                resources: vec![resource],
                leading_keys: Vec::new(),
            }]
        }
        // S3 REST: the object's ARN (`arn:aws:s3:::bucket/key`) or, for a
        // bucket-level call, the bucket's; the action as IAM names it.
        "s3" => {
            let bucket = json["Bucket"].as_str().unwrap_or("*");
            let action = match operation.operation.as_str() {
                "HeadObject" => "GetObject",
                "UploadPart" | "CreateMultipartUpload" | "CompleteMultipartUpload" => "PutObject",
                "ListObjects" | "ListObjectsV2" => "ListBucket",
                "HeadBucket" => "ListBucket",
                "DeleteObjects" => "DeleteObject",
                other => other,
            };
            let resource = match json["Key"].as_str() {
                Some(key) => format!("arn:aws:s3:::{bucket}/{key}"),
                None => format!("arn:aws:s3:::{bucket}"),
            };
            vec![Access {
                action: format!("s3:{action}"),
                resources: vec![resource],
                leading_keys: Vec::new(),
            }]
        }
        other => vec![Access {
            action: format!("{other}:{}", operation.operation),
            resources: vec!["*".into()],
            leading_keys: Vec::new(),
        }],
    }
}

fn ses(operation: &str, form: &[(String, String)], arns: &Arns) -> Vec<Access> {
    let action = format!("ses:{operation}");
    if !operation.starts_with("Send") {
        return vec![Access {
            action,
            resources: vec!["*".into()],
            leading_keys: Vec::new(),
        }];
    }
    let value = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    // The sender: `Source`, else (a raw message) its From header.
    let raw_from = || {
        let raw = value("RawMessage.Data")?;
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, raw).ok()?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        text.lines().take_while(|l| !l.is_empty()).find_map(|l| {
            l.strip_prefix("From:")
                .or_else(|| l.strip_prefix("from:"))
                .map(str::to_string)
        })
    };
    let sender = value("Source")
        .map(str::to_string)
        .or_else(raw_from)
        .unwrap_or_default();
    let address = sender
        .rsplit_once('<')
        .map_or(sender.as_str(), |(_, a)| a.trim_end_matches('>'))
        .trim()
        .to_string();
    let domain = address.rsplit_once('@').map(|(_, d)| d.to_string());
    let mut identities = vec![arns.ses(&format!("identity/{address}"))];
    identities.extend(domain.map(|d| arns.ses(&format!("identity/{d}"))));
    let mut accesses = vec![Access {
        action: action.clone(),
        resources: identities,
        leading_keys: Vec::new(),
    }];
    if let Some(set) = value("ConfigurationSetName") {
        accesses.push(Access {
            action,
            resources: vec![arns.ses(&format!("configuration-set/{set}"))],
            leading_keys: Vec::new(),
        });
    }
    accesses
}

fn dynamodb(operation: &str, json: &Value, schemas: &Schemas, arns: &Arns) -> Vec<Access> {
    fn table_of(v: &Value) -> &str {
        v.get("TableName").and_then(Value::as_str).unwrap_or("")
    }
    let hash_key = |table: &str| {
        schemas
            .get(table)
            .and_then(|s| s.key.first().cloned())
            .unwrap_or_else(|| "pk".into())
    };
    let key_of = |table: &str, item: Option<&Value>| -> Vec<String> {
        item.and_then(|i| i.get(hash_key(table)))
            .and_then(attribute_text)
            .into_iter()
            .collect()
    };
    let one = |action: &str, table: &str, keys: Vec<String>| Access {
        action: format!("dynamodb:{action}"),
        resources: vec![arns.table(table)],
        leading_keys: keys,
    };
    match operation {
        "GetItem" | "DeleteItem" | "UpdateItem" => {
            let table = table_of(json);
            vec![one(operation, table, key_of(table, json.get("Key")))]
        }
        "PutItem" => {
            let table = table_of(json);
            vec![one(operation, table, key_of(table, json.get("Item")))]
        }
        "Query" | "Scan" => {
            let table = table_of(json);
            let index = json.get("IndexName").and_then(Value::as_str);
            let resource = match index {
                Some(index) => format!("{}/index/{index}", arns.table(table)),
                None => arns.table(table),
            };
            let keys = if operation == "Query" {
                let hash = match index {
                    Some(index) => schemas
                        .get(table)
                        .and_then(|s| {
                            s.indexes
                                .iter()
                                .find(|i| i.name == index)
                                .and_then(|i| i.key.first().cloned())
                        })
                        .unwrap_or_default(),
                    None => hash_key(table),
                };
                query_key(json, &hash).into_iter().collect()
            } else {
                Vec::new()
            };
            vec![Access {
                action: format!("dynamodb:{operation}"),
                resources: vec![resource],
                leading_keys: keys,
            }]
        }
        "BatchGetItem" | "BatchWriteItem" => {
            let Some(Value::Object(tables)) = json.get("RequestItems") else {
                return Vec::new();
            };
            tables
                .iter()
                .map(|(table, request)| {
                    let keys = if operation == "BatchGetItem" {
                        request
                            .get("Keys")
                            .and_then(Value::as_array)
                            .map(|keys| keys.iter().flat_map(|k| key_of(table, Some(k))).collect())
                            .unwrap_or_default()
                    } else {
                        request
                            .as_array()
                            .map(|writes| {
                                writes
                                    .iter()
                                    .flat_map(|w| {
                                        let item = w
                                            .get("PutRequest")
                                            .and_then(|p| p.get("Item"))
                                            .or_else(|| {
                                                w.get("DeleteRequest").and_then(|d| d.get("Key"))
                                            });
                                        key_of(table, item)
                                    })
                                    .collect()
                            })
                            .unwrap_or_default()
                    };
                    one(operation, table, keys)
                })
                .collect()
        }
        "TransactWriteItems" | "TransactGetItems" => json
            .get("TransactItems")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| {
                        let (kind, body) = item.as_object()?.iter().next()?;
                        let action = match kind.as_str() {
                            "Put" => "PutItem",
                            "Update" => "UpdateItem",
                            "Delete" => "DeleteItem",
                            "ConditionCheck" => "ConditionCheckItem",
                            "Get" => "GetItem",
                            _ => return None,
                        };
                        let table = table_of(body);
                        let key = body.get("Item").or_else(|| body.get("Key"));
                        Some(one(action, table, key_of(table, key)))
                    })
                    .collect()
            })
            .unwrap_or_default(),
        other => {
            let resource = match json.get("TableName").and_then(Value::as_str) {
                Some(table) => arns.table(table),
                None => "*".into(),
            };
            vec![Access {
                action: format!("dynamodb:{other}"),
                resources: vec![resource],
                leading_keys: Vec::new(),
            }]
        }
    }
}

/// A key attribute's value as text (`S`, `N` or `B`).
fn attribute_text(value: &Value) -> Option<String> {
    ["S", "N", "B"]
        .iter()
        .find_map(|t| value.get(*t).and_then(Value::as_str))
        .map(str::to_string)
}

/// The partition key value a `Query`'s `KeyConditionExpression` names:
/// the value in `hash = :value` (either side, the name maybe `#alias`).
fn query_key(json: &Value, hash: &str) -> Option<String> {
    let expression = json.get("KeyConditionExpression")?.as_str()?;
    let names = json.get("ExpressionAttributeNames");
    let values = json.get("ExpressionAttributeValues")?;
    let name_of = |token: &str| -> String {
        match token.strip_prefix('#') {
            Some(_) => names
                .and_then(|n| n.get(token))
                .and_then(Value::as_str)
                .unwrap_or(token)
                .to_string(),
            None => token.to_string(),
        }
    };
    for clause in expression.split(" AND ").chain(expression.split(" and ")) {
        let Some((left, right)) = clause.split_once('=') else {
            continue;
        };
        let (left, right) = (
            left.trim().trim_start_matches('('),
            right.trim().trim_end_matches(')'),
        );
        let value = if name_of(left) == hash && right.starts_with(':') {
            right
        } else if name_of(right) == hash && left.starts_with(':') {
            left
        } else {
            continue;
        };
        return values.get(value).and_then(attribute_text);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::capacity::{IndexSchema, TableSchema};
    use serde_json::json;

    fn statement(
        actions: &[&str],
        resources: &[&str],
        keys: Option<(&str, &[&str])>,
    ) -> PolicyStatement {
        PolicyStatement {
            allow: true,
            actions: actions.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            conditions: keys
                .map(|(operator, values)| PolicyCondition {
                    operator: operator.into(),
                    key: "dynamodb:LeadingKeys".into(),
                    values: values.iter().map(|s| s.to_string()).collect(),
                })
                .into_iter()
                .collect(),
        }
    }

    const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/t";

    fn arns() -> Arns {
        Arns {
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    fn schemas() -> Schemas {
        Schemas::from([(
            "t".to_string(),
            TableSchema {
                key: vec!["pk".into(), "sk".into()],
                indexes: vec![IndexSchema {
                    name: "by_owner".into(),
                    key: vec!["owner".into(), "due".into()],
                    projected: None,
                }],
            },
        )])
    }

    fn op(service: &str, operation: &str) -> Operation {
        Operation {
            service: service.into(),
            operation: operation.into(),
        }
    }

    fn check(role: &Role, service: &str, operation: &str, body: Value) -> Result<(), Denial> {
        role.check(&accesses(
            &op(service, operation),
            &body,
            &[],
            &schemas(),
            &arns(),
        ))
    }

    #[test]
    fn a_secret_is_read_only_by_a_role_that_names_it() {
        let keys =
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:stack-ActionLinkKeys-AbCdEf";
        let role = Role {
            function: "SalesFunction".into(),
            statements: vec![statement(&["secretsmanager:GetSecretValue"], &[keys], None)],
        };
        let get = |id: &str| json!({"SecretId": id});
        assert_eq!(
            check(&role, "secretsmanager", "GetSecretValue", get(keys)),
            Ok(())
        );
        let other = "arn:aws:secretsmanager:us-east-1:123456789012:secret:other-XyZ123";
        assert!(check(&role, "secretsmanager", "GetSecretValue", get(other)).is_err());
        assert!(check(&role, "secretsmanager", "PutSecretValue", get(keys)).is_err());
        // By name: not the ARN the policy names, as in AWS.
        assert!(check(
            &role,
            "secretsmanager",
            "GetSecretValue",
            get("stack-ActionLinkKeys")
        )
        .is_err());
        let router = Role {
            function: "RouterFunction".into(),
            statements: Vec::new(),
        };
        assert!(check(&router, "secretsmanager", "GetSecretValue", get(keys)).is_err());
    }

    #[test]
    fn an_object_is_reachable_only_under_the_prefix_and_action_the_role_names() {
        let role = Role {
            function: "SalesFunction".into(),
            statements: vec![statement(
                &["s3:GetObject"],
                &["arn:aws:s3:::stack-exportbucket/exports/*"],
                None,
            )],
        };
        let object = |key: &str| json!({"Bucket": "stack-exportbucket", "Key": key});
        assert_eq!(
            check(&role, "s3", "GetObject", object("exports/ex_1.csv")),
            Ok(())
        );
        // HEAD needs s3:GetObject too.
        assert_eq!(
            check(&role, "s3", "HeadObject", object("exports/ex_1.csv")),
            Ok(())
        );
        let denial = check(&role, "s3", "PutObject", object("exports/ex_1.csv")).unwrap_err();
        assert_eq!(denial.action, "s3:PutObject");
        assert_eq!(
            denial.resource,
            "arn:aws:s3:::stack-exportbucket/exports/ex_1.csv"
        );
        assert!(check(&role, "s3", "GetObject", object("athena-results/q.csv")).is_err());
        assert!(check(
            &role,
            "s3",
            "ListObjectsV2",
            json!({"Bucket": "stack-exportbucket", "Key": null})
        )
        .is_err());
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(glob("*", "anything"));
        assert!(glob("LEAD#*", "LEAD#01H"));
        assert!(!glob("LEAD#*", "OUTBOX#01H"));
        assert!(glob(
            "arn:*:table/t/index/*",
            "arn:aws:dynamodb:x:1:table/t/index/by_owner"
        ));
        assert!(!glob(
            "arn:*:table/t",
            "arn:aws:dynamodb:x:1:table/t/index/by_owner"
        ));
        assert!(glob("dynamodb:?etItem", "dynamodb:GetItem"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
    }

    #[test]
    fn a_batch_read_needs_its_own_action() {
        let role = Role {
            function: "SalesFunction".into(),
            statements: vec![statement(
                &["dynamodb:GetItem", "dynamodb:Query"],
                &[TABLE],
                None,
            )],
        };
        let get = json!({"TableName": "t", "Key": {"pk": {"S": "LEAD#1"}, "sk": {"S": "LEAD"}}});
        assert_eq!(check(&role, "dynamodb", "GetItem", get), Ok(()));
        let batch =
            json!({"RequestItems": {"t": {"Keys": [{"pk": {"S": "REP#a"}, "sk": {"S": "LOAD"}}]}}});
        let denial = check(&role, "dynamodb", "BatchGetItem", batch).unwrap_err();
        assert_eq!(denial.action, "dynamodb:BatchGetItem");
        assert_eq!(denial.resource, TABLE);
        assert!(denial
            .to_string()
            .contains("SalesFunction is not authorized to perform: dynamodb:BatchGetItem"));
    }

    #[test]
    fn leading_keys_limit_each_item_of_a_transaction_and_a_batch() {
        let role = Role {
            function: "IntakeFunction".into(),
            statements: vec![
                statement(
                    &["dynamodb:PutItem"],
                    &[TABLE],
                    Some(("ForAllValues:StringLike", &["LEAD#*", "OUTBOX#*"])),
                ),
                statement(
                    &["dynamodb:DeleteItem", "dynamodb:BatchWriteItem"],
                    &[TABLE],
                    Some(("ForAllValues:StringLike", &["OUTBOX#*"])),
                ),
            ],
        };
        let put = |pk: &str| json!({"Put": {"TableName": "t", "Item": {"pk": {"S": pk}, "sk": {"S": "x"}}}});
        let ok = json!({"TransactItems": [put("LEAD#1"), put("OUTBOX#1")]});
        assert_eq!(check(&role, "dynamodb", "TransactWriteItems", ok), Ok(()));
        let bad = json!({"TransactItems": [put("LEAD#1"), put("STAT#day")]});
        let denial = check(&role, "dynamodb", "TransactWriteItems", bad).unwrap_err();
        assert_eq!(denial.action, "dynamodb:PutItem");
        assert_eq!(denial.leading_keys, vec!["STAT#day"]);
        // An update in a transaction is its own action.
        let update = json!({"TransactItems": [{"Update": {"TableName": "t", "Key": {"pk": {"S": "LEAD#1"}, "sk": {"S": "x"}}}}]});
        assert_eq!(
            check(&role, "dynamodb", "TransactWriteItems", update)
                .unwrap_err()
                .action,
            "dynamodb:UpdateItem"
        );
        let delete =
            |pk: &str| json!({"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": "OUTBOX"}}}});
        let outbox = json!({"RequestItems": {"t": [delete("OUTBOX#1"), delete("OUTBOX#2")]}});
        assert_eq!(check(&role, "dynamodb", "BatchWriteItem", outbox), Ok(()));
        let send = json!({"RequestItems": {"t": [delete("OUTBOX#1"), delete("LEAD#2")]}});
        assert!(check(&role, "dynamodb", "BatchWriteItem", send).is_err());
        let claim =
            json!({"TableName": "t", "Key": {"pk": {"S": "LEAD#2"}, "sk": {"S": "SEND#x"}}});
        assert!(check(&role, "dynamodb", "DeleteItem", claim).is_err());
    }

    #[test]
    fn a_query_is_on_its_index_with_the_partition_key_it_names() {
        let role = Role {
            function: "OutboxFunction".into(),
            statements: vec![
                statement(&["dynamodb:Query"], &[&format!("{TABLE}/index/*")], None),
                statement(
                    &["dynamodb:Query"],
                    &[TABLE],
                    Some(("ForAllValues:StringEquals", &["LEAD#prime"])),
                ),
            ],
        };
        let by_owner = json!({
            "TableName": "t", "IndexName": "by_owner",
            "KeyConditionExpression": "#o = :o AND due <= :now",
            "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":o": {"S": "rep-1"}, ":now": {"S": "2026"}},
        });
        assert_eq!(check(&role, "dynamodb", "Query", by_owner), Ok(()));
        let own = json!({
            "TableName": "t", "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "LEAD#prime"}},
        });
        assert_eq!(check(&role, "dynamodb", "Query", own), Ok(()));
        let other = json!({
            "TableName": "t", "KeyConditionExpression": ":pk = pk AND begins_with(sk, :h)",
            "ExpressionAttributeValues": {":pk": {"S": "LEAD#1"}, ":h": {"S": "H"}},
        });
        let denial = check(&role, "dynamodb", "Query", other).unwrap_err();
        assert_eq!(denial.leading_keys, vec!["LEAD#1"]);
    }

    #[test]
    fn sqs_and_ses_are_checked_on_their_own_resources() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:s-RoutingQueue";
        let role = Role {
            function: "FulfillmentFunction".into(),
            statements: vec![
                statement(&["sqs:SendMessage"], &[queue], None),
                statement(
                    &["ses:SendEmail"],
                    &[
                        "arn:aws:ses:us-east-1:123456789012:identity/example.com",
                        "arn:aws:ses:us-east-1:123456789012:configuration-set/s-set",
                    ],
                    None,
                ),
            ],
        };
        let url = "http://127.0.0.1:4566/123456789012/s-RoutingQueue";
        assert_eq!(
            check(&role, "sqs", "SendMessageBatch", json!({"QueueUrl": url})),
            Ok(())
        );
        assert!(check(&role, "sqs", "GetQueueAttributes", json!({"QueueUrl": url})).is_err());
        let form = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let send = form(&[
            ("Source", "Leadflow <hello@example.com>"),
            ("ConfigurationSetName", "s-set"),
        ]);
        let asks = accesses(
            &op("ses", "SendEmail"),
            &Value::Null,
            &send,
            &schemas(),
            &arns(),
        );
        assert_eq!(role.check(&asks), Ok(()), "the domain's identity is enough");
        let raw = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            "From: hello@example.com\r\nTo: a@b.c\r\n\r\nbody",
        );
        let send_raw = form(&[("RawMessage.Data", &raw), ("ConfigurationSetName", "s-set")]);
        let asks = accesses(
            &op("ses", "SendRawEmail"),
            &Value::Null,
            &send_raw,
            &schemas(),
            &arns(),
        );
        assert_eq!(
            asks[0].resources[1],
            "arn:aws:ses:us-east-1:123456789012:identity/example.com"
        );
        let denial = role.check(&asks).unwrap_err();
        assert_eq!(denial.action, "ses:SendRawEmail");
        let other_set = form(&[
            ("Source", "hello@example.com"),
            ("ConfigurationSetName", "other"),
        ]);
        let asks = accesses(
            &op("ses", "SendEmail"),
            &Value::Null,
            &other_set,
            &schemas(),
            &arns(),
        );
        assert!(role.check(&asks).is_err());
    }

    #[test]
    fn an_explicit_deny_wins() {
        let mut deny = statement(
            &["dynamodb:*"],
            &["*"],
            Some(("ForAnyValue:StringLike", &["STAT#*"])),
        );
        deny.allow = false;
        let role = Role {
            function: "F".into(),
            statements: vec![statement(&["dynamodb:*"], &["*"], None), deny],
        };
        let item = |pk: &str| json!({"TableName": "t", "Key": {"pk": {"S": pk}}});
        assert_eq!(
            check(&role, "dynamodb", "UpdateItem", item("LEAD#1")),
            Ok(())
        );
        assert!(check(&role, "dynamodb", "UpdateItem", item("STAT#1")).is_err());
    }
}
