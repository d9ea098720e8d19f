//! Sign-in, locally as in AWS: the template's user pool and app client made
//! in the emulator (moto's `cognito-idp`, which signs RS256 tokens and serves
//! the pool's keys), and the tokens of its users.
//!
//! The calls are Cognito's JSON API (`AWSCognitoIdentityProviderService.*`)
//! over the local stack's one HTTP client: the SDK's Cognito crate would add
//! minutes to every cold build for a handful of calls no function makes.
//!
//! A person signs in here through `AdminInitiateAuth`
//! (`ADMIN_USER_PASSWORD_AUTH`), as an administrator's tool would: moto has
//! no hosted UI and no SRP. The template's client does not allow that flow in
//! AWS (people sign in there through the hosted UI), so `leadflow token` and
//! the workspace's local sign-in work against the emulator only; the token
//! they get is the pool's own, with the claims AWS gives.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::emulator::http_request;
use crate::template::{StackModel, UserPoolClientSpec, UserPoolSpec};
use crate::LOCAL_REGION;

/// One call to an AWS JSON API (`x-amz-target: {target}`) on the emulator:
/// the answer, or the error's type and message. moto reads the region from
/// the credential scope; nothing checks the signature.
pub async fn json_api(
    endpoint: &str,
    service: &str,
    target: &str,
    body: Value,
) -> Result<Value, (String, String)> {
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential=local/20260101/{LOCAL_REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0"
    );
    let response = http_request(
        hyper::Method::POST,
        &format!("{}/", endpoint.trim_end_matches('/')),
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
            ("authorization", &authorization),
        ],
        body.to_string(),
        Duration::from_secs(30),
    )
    .await
    .map_err(|e| ("Unreachable".to_string(), e))?;
    let answer: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    if response.status.is_success() {
        return Ok(answer);
    }
    let code = answer
        .get("__type")
        .and_then(Value::as_str)
        .or_else(|| {
            response
                .headers
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("Unknown");
    let code = code.rsplit('#').next().unwrap_or(code).to_string();
    let message = answer
        .get("message")
        .or_else(|| answer.get("Message"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    Err((code, message))
}

/// A failed Cognito call: the error's type (`UsernameExistsException`) and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cognito-idp {action}: {code}: {message}")]
pub struct CognitoError {
    pub action: String,
    pub code: String,
    pub message: String,
}

/// Cognito's JSON API on the emulator.
#[derive(Debug, Clone)]
pub struct Cognito {
    endpoint: String,
}

impl Cognito {
    pub fn new(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// One call: `action`'s answer, or its error.
    pub async fn call(&self, action: &str, body: Value) -> Result<Value, CognitoError> {
        json_api(
            &self.endpoint,
            "cognito-idp",
            &format!("AWSCognitoIdentityProviderService.{action}"),
            body,
        )
        .await
        .map_err(|(code, message)| CognitoError {
            action: action.to_string(),
            code,
            message,
        })
    }

    /// The id of the pool named `name`, if the emulator has one.
    pub async fn find_pool(&self, name: &str) -> Result<Option<String>, CognitoError> {
        self.find_named(
            "ListUserPools",
            json!({}),
            ("UserPools", "Name", "Id"),
            name,
        )
        .await
    }

    /// The id of the client named `name` of `pool_id`, if it has one.
    pub async fn find_client(
        &self,
        pool_id: &str,
        name: &str,
    ) -> Result<Option<String>, CognitoError> {
        let body = json!({ "UserPoolId": pool_id });
        let fields = ("UserPoolClients", "ClientName", "ClientId");
        self.find_named("ListUserPoolClients", body, fields, name)
            .await
    }

    /// A `List…` action's pages until an entry's `fields.1` is `name`: its
    /// `fields.2` (`fields.0` names the list in each page).
    async fn find_named(
        &self,
        action: &str,
        body: Value,
        (list, name_field, id_field): (&str, &str, &str),
        name: &str,
    ) -> Result<Option<String>, CognitoError> {
        let mut next: Option<String> = None;
        loop {
            let mut body = body.clone();
            body["MaxResults"] = json!(60);
            if let Some(token) = &next {
                body["NextToken"] = json!(token);
            }
            let page = self.call(action, body).await?;
            for entry in page[list].as_array().into_iter().flatten() {
                if entry[name_field] == name {
                    return Ok(entry[id_field].as_str().map(str::to_string));
                }
            }
            match page["NextToken"].as_str() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => return Ok(None),
            }
        }
    }

    async fn ensure_pool(&self, spec: &UserPoolSpec) -> Result<String, CognitoError> {
        if let Some(id) = self.find_pool(&spec.name).await? {
            return Ok(id);
        }
        let mut body = spec.properties.clone();
        body.insert("PoolName".into(), json!(spec.name));
        let made = self.call("CreateUserPool", Value::Object(body)).await?;
        Ok(made["UserPool"]["Id"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    async fn ensure_client(
        &self,
        pool_id: &str,
        spec: &UserPoolClientSpec,
    ) -> Result<String, CognitoError> {
        if let Some(id) = self.find_client(pool_id, &spec.name).await? {
            return Ok(id);
        }
        let mut body = spec.properties.clone();
        body.insert("UserPoolId".into(), json!(pool_id));
        body.insert("ClientName".into(), json!(spec.name));
        let made = self
            .call("CreateUserPoolClient", Value::Object(body))
            .await?;
        Ok(made["UserPoolClient"]["ClientId"]
            .as_str()
            .unwrap_or_default()
            .to_string())
    }

    /// Makes the model's user pools and clients (or finds the ones made
    /// before): their ids by logical id, which is what `Ref` gives.
    pub async fn provision(
        &self,
        model: &StackModel,
    ) -> Result<BTreeMap<String, String>, CognitoError> {
        let mut ids = BTreeMap::new();
        for pool in &model.user_pools {
            ids.insert(pool.logical_id.clone(), self.ensure_pool(pool).await?);
        }
        for client in &model.user_pool_clients {
            let Some(pool_id) = ids.get(&client.user_pool).cloned() else {
                return Err(CognitoError {
                    action: "CreateUserPoolClient".into(),
                    code: "InvalidTemplate".into(),
                    message: format!(
                        "{}: its user pool {} is not made locally",
                        client.logical_id, client.user_pool
                    ),
                });
            };
            ids.insert(
                client.logical_id.clone(),
                self.ensure_client(&pool_id, client).await?,
            );
        }
        Ok(ids)
    }
}

/// A user pool with the app client people sign in through.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub cognito: Cognito,
    pub pool_id: String,
    pub client_id: String,
}

/// What a sign-in gives.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub id_token: String,
    pub access_token: String,
}

impl SignIn {
    /// The model's first user pool and its first client, once provisioned
    /// (`ids` as [`Cognito::provision`] gave them).
    pub fn of_model(
        cognito: Cognito,
        model: &StackModel,
        ids: &BTreeMap<String, String>,
    ) -> Option<Self> {
        let client = model.user_pool_clients.first()?;
        Some(Self {
            cognito,
            pool_id: ids.get(&client.user_pool)?.clone(),
            client_id: ids.get(&client.logical_id)?.clone(),
        })
    }

    /// The pool and client a running stack made, found by their names.
    pub async fn find(cognito: Cognito, model: &StackModel) -> Result<Self, String> {
        let (Some(pool), Some(client)) =
            (model.user_pools.first(), model.user_pool_clients.first())
        else {
            return Err("the template declares no user pool and client".into());
        };
        let unreachable = |e: CognitoError| {
            format!(
                "the emulator at {} does not answer ({e}): is `make dev` running?",
                cognito.endpoint()
            )
        };
        let pool_id = cognito
            .find_pool(&pool.name)
            .await
            .map_err(unreachable)?
            .ok_or_else(|| {
                format!(
                    "the emulator at {} has no user pool {}: is `make dev` running, for stack {}?",
                    cognito.endpoint(),
                    pool.name,
                    model.stack_name
                )
            })?;
        let client_id = cognito
            .find_client(&pool_id, &client.name)
            .await
            .map_err(unreachable)?
            .ok_or_else(|| format!("the user pool {} has no client {}", pool.name, client.name))?;
        Ok(Self {
            cognito,
            pool_id,
            client_id,
        })
    }

    /// The local password of `email`'s user: derived, so that two sign-ins
    /// at once set the same one (it protects nothing: the emulator is local).
    fn password(&self, email: &str) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            format!("{}\n{}", self.pool_id, email.to_ascii_lowercase()).as_bytes(),
        );
        let hex: String = digest.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("Local-{hex}-Pw1")
    }

    /// Creates `email`'s user if there is none: its address verified (as an
    /// administrator who knows it makes it), its name.
    pub async fn ensure_user(&self, email: &str, name: &str) -> Result<(), CognitoError> {
        let made = self
            .cognito
            .call(
                "AdminCreateUser",
                json!({
                    "UserPoolId": self.pool_id,
                    "Username": email,
                    "MessageAction": "SUPPRESS",
                    "UserAttributes": [
                        {"Name": "email", "Value": email},
                        {"Name": "email_verified", "Value": "true"},
                        {"Name": "name", "Value": name},
                    ],
                }),
            )
            .await;
        match made {
            Ok(_) => {}
            Err(e) if e.code == "UsernameExistsException" => return Ok(()),
            Err(e) => return Err(e),
        }
        self.cognito
            .call(
                "AdminSetUserPassword",
                json!({
                    "UserPoolId": self.pool_id,
                    "Username": email,
                    "Password": self.password(email),
                    "Permanent": true,
                }),
            )
            .await?;
        Ok(())
    }

    /// Signs `email`'s user in (creating it first if needed): the pool's tokens.
    pub async fn sign_in(&self, email: &str, name: &str) -> Result<Tokens, CognitoError> {
        self.ensure_user(email, name).await?;
        let answer = self
            .cognito
            .call(
                "AdminInitiateAuth",
                json!({
                    "UserPoolId": self.pool_id,
                    "ClientId": self.client_id,
                    "AuthFlow": "ADMIN_USER_PASSWORD_AUTH",
                    "AuthParameters": {"USERNAME": email, "PASSWORD": self.password(email)},
                }),
            )
            .await?;
        let result = &answer["AuthenticationResult"];
        let token = |key: &str| {
            result[key]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| CognitoError {
                    action: "AdminInitiateAuth".into(),
                    code: "NoToken".into(),
                    message: format!("the answer has no {key}: {answer}"),
                })
        };
        Ok(Tokens {
            id_token: token("IdToken")?,
            access_token: token("AccessToken")?,
        })
    }

    /// `AdminUpdateUserAttributes`: what an administrator changes about a user.
    pub async fn admin_update(
        &self,
        email: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), CognitoError> {
        let attributes: Vec<Value> = attributes
            .iter()
            .map(|(name, value)| json!({"Name": name, "Value": value}))
            .collect();
        self.cognito
            .call(
                "AdminUpdateUserAttributes",
                json!({"UserPoolId": self.pool_id, "Username": email, "UserAttributes": attributes}),
            )
            .await
            .map(|_| ())
    }

    /// `UpdateUserAttributes`: what a signed-in user changes about themselves.
    pub async fn update_own(
        &self,
        access_token: &str,
        attributes: &[(&str, &str)],
    ) -> Result<(), CognitoError> {
        let attributes: Vec<Value> = attributes
            .iter()
            .map(|(name, value)| json!({"Name": name, "Value": value}))
            .collect();
        self.cognito
            .call(
                "UpdateUserAttributes",
                json!({"AccessToken": access_token, "UserAttributes": attributes}),
            )
            .await
            .map(|_| ())
    }

    /// Where the pool's signing keys are served: the issuer's
    /// `/.well-known/jwks.json`, on the emulator.
    pub fn jwks_url(&self) -> String {
        jwks_url(self.cognito.endpoint(), &self.pool_id)
    }
}

/// The JWKS of pool `pool_id` on the emulator at `endpoint`.
pub fn jwks_url(endpoint: &str, pool_id: &str) -> String {
    format!(
        "{}/{pool_id}/.well-known/jwks.json",
        endpoint.trim_end_matches('/')
    )
}

/// The claims of a JWT, unverified (for tests and messages).
pub fn claims_of(token: &str) -> Option<Map<String, Value>> {
    use base64::Engine;
    let body = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// A token signed with the emulator's own key, with the claims given: moto
/// signs every pool's tokens with one key it ships, so a test can make a
/// token the pool could have issued but no longer would (one that expired).
/// Runs the tools venv's Python (moto's `joserfc`).
pub fn emulator_signed(root: &std::path::Path, claims: &Value) -> Result<String, String> {
    const SCRIPT: &str = "import json, sys\n\
from joserfc import jwk, jwt\n\
from moto.utilities.utils import load_resource\n\
key = jwk.RSAKey.import_key(load_resource('cognitoidp/resources/jwks-private.json'))\n\
print(jwt.encode({'kid': 'dummy', 'alg': 'RS256'}, json.loads(sys.argv[1]), key))\n";
    let python = crate::emulator::venv_dir(root).join("bin").join("python");
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(claims.to_string())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
