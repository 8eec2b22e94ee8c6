//! `envgov-fanout`: the plan, task and reduce steps of the fanned-out night, run by the Step
//! Functions state machine. See `envgov_lambda::fanout`.

fn main() -> std::process::ExitCode {
    envgov_lambda::main(envgov_lambda::Function::FanOut)
}
