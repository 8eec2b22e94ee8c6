//! `envgov-nightly`: the Lambda function run by the nightly schedule. See `envgov_lambda`.

fn main() -> std::process::ExitCode {
    envgov_lambda::main(envgov_lambda::Function::Nightly)
}
