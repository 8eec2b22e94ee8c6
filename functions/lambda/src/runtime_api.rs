//! The one Runtime API call `lambda_runtime` does not offer for ordinary start-up failures:
//! `POST /2018-06-01/runtime/init/error`, so that a bad configuration shows in Lambda (and
//! its `Errors` metric) as an init error with a readable type, not as a crash.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Reports an init error to the Runtime API at `api` (`host:port`, the value of
/// `AWS_LAMBDA_RUNTIME_API`). Returns the HTTP status the API answered.
pub fn report_init_error(api: &str, error_type: &str, message: &str) -> std::io::Result<u16> {
    let body = serde_json::json!({
        "errorMessage": message,
        "errorType": error_type,
        "stackTrace": [],
    })
    .to_string();
    let mut stream = TcpStream::connect(api)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: {api}\r\nContent-Type: application/json\r\nLambda-Runtime-Function-Error-Type: {error_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let status_line = response.split(|b| *b == b'\n').next().unwrap_or_default();
    let status = std::str::from_utf8(status_line)
        .ok()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("the Runtime API sent no HTTP status"))?;
    Ok(status)
}
