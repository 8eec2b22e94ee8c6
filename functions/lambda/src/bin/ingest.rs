//! `envgov-ingest`: the Lambda function run for every raw delivery (S3 "Object Created"
//! under `raw/`). See `envgov_lambda::ingest`.

fn main() -> std::process::ExitCode {
    envgov_lambda::main(envgov_lambda::Function::Ingest)
}
