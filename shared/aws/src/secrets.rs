//! The action-link keys from Secrets Manager (issue 24, item 11): the
//! template makes the secret (`ActionLinkKeys`, a generated key under id
//! `k1`), each function that signs or verifies links reads it at cold start,
//! and the rep's API reads it again as keys rotate ([`leadflow::links::Keyring`]).

use leadflow::links::{KeyLoader, Keyring, LinkKey};
use std::sync::Arc;

/// The keys the secret `secret_id` (its ARN or name) holds.
pub async fn link_key(
    client: &aws_sdk_secretsmanager::Client,
    secret_id: &str,
) -> Result<LinkKey, String> {
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "the link-key secret {secret_id} could not be read: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        })?;
    let json = out
        .secret_string()
        .ok_or_else(|| format!("the link-key secret {secret_id} holds no string"))?;
    LinkKey::from_secret(json)
}

/// The keys now, and a keyring that reads the secret again as they rotate.
pub async fn keyring(
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
) -> Result<Keyring, String> {
    let key = link_key(&client, &secret_id).await?;
    let loader: KeyLoader = Arc::new(move || {
        let (client, secret_id) = (client.clone(), secret_id.clone());
        Box::pin(async move { link_key(&client, &secret_id).await })
    });
    Ok(Keyring::loading(key, loader))
}
