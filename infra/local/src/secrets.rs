//! The template's Secrets Manager secrets (the action-link keys), made in
//! the emulator over the JSON API (as `cognito` does: no SDK crate for a
//! few calls no local code needs otherwise). Locally a secret's generated
//! value is the checkout's own key (`.leadflow/local-key`), so the links in
//! emails sent before a restart still work after it.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cognito::json_api;
use crate::template::{SecretSpec, StackModel};

async fn call(endpoint: &str, action: &str, body: Value) -> Result<Value, String> {
    json_api(
        endpoint,
        "secretsmanager",
        &format!("secretsmanager.{action}"),
        body,
    )
    .await
    .map_err(|(code, message)| format!("secretsmanager {action}: {code}: {message}"))
}

/// What the secret holds locally: its template with the generated key set
/// to `key` (or `key` alone).
pub fn local_value(secret: &SecretSpec, key: &str) -> Result<String, String> {
    match (&secret.template, &secret.generate_key) {
        (Some(template), Some(field)) => {
            let mut value: Value = serde_json::from_str(template).map_err(|e| {
                format!(
                    "{}: SecretStringTemplate is not JSON: {e}",
                    secret.logical_id
                )
            })?;
            let Some(object) = value.as_object_mut() else {
                return Err(format!(
                    "{}: SecretStringTemplate is not a JSON object",
                    secret.logical_id
                ));
            };
            object.insert(field.clone(), Value::String(key.to_string()));
            Ok(value.to_string())
        }
        _ => Ok(key.to_string()),
    }
}

/// Makes (or updates) each secret; their ARNs by logical id.
pub async fn provision(
    endpoint: &str,
    model: &StackModel,
    key: &str,
) -> Result<BTreeMap<String, String>, String> {
    let mut arns = BTreeMap::new();
    for secret in &model.secrets {
        let value = local_value(secret, key)?;
        let arn = match call(
            endpoint,
            "CreateSecret",
            json!({"Name": secret.name, "SecretString": value}),
        )
        .await
        {
            Ok(answer) => answer["ARN"].as_str().unwrap_or_default().to_string(),
            Err(e) if e.contains("ResourceExistsException") => {
                call(
                    endpoint,
                    "PutSecretValue",
                    json!({"SecretId": secret.name, "SecretString": value}),
                )
                .await?;
                let answer =
                    call(endpoint, "DescribeSecret", json!({"SecretId": secret.name})).await?;
                answer["ARN"].as_str().unwrap_or_default().to_string()
            }
            Err(e) => return Err(e),
        };
        if arn.is_empty() {
            return Err(format!("secretsmanager gave no ARN for {}", secret.name));
        }
        arns.insert(secret.logical_id.clone(), arn);
    }
    Ok(arns)
}
