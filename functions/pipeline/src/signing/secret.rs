//! The signing key from AWS Secrets Manager: `ENVGOV_SIGNING_KEY_SECRET_ARN` names a secret
//! whose string is the minisign secret key's text (`envgov keygen`), read once when a
//! function or command starts.
//!
//! Stage: release (configuration; the only network read of the signing machinery). The
//! secret's value is never logged or put in an error message.

use crate::store::s3::{Executor, error_chain, sdk_loader};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// Reads the secret `arn`'s string (`GetSecretValue`, with the AWS configuration chain).
/// The error says what failed, never what the secret holds.
pub fn read_secret(arn: &str) -> Result<String, String> {
    let executor =
        Executor::for_caller().map_err(|e| format!("starting the async runtime: {e}"))?;
    let loader = sdk_loader(
        RetryConfig::standard().with_max_attempts(4),
        TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_timeout(Duration::from_secs(30))
            .build(),
        None,
    );
    let config = executor.block_on(loader.load());
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let out = executor
        .block_on(client.get_secret_value().secret_id(arn).send())
        .map_err(|e| format!("GetSecretValue: {}", error_chain(&e)))?;
    out.secret_string()
        .map(str::to_string)
        .ok_or_else(|| "the secret has no string value (store the key's text, not binary)".into())
}
