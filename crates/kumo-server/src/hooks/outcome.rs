//! How a hook run's end reads in the execution history and the developer log.

use kumo_engine::{Outcome, Returned};

/// Longest `result` kept in the history.
const MAX_RESULT_CHARS: usize = 8 * 1024;

/// A hook run's end: whether it succeeded, and the text the history shows as `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub ok: bool,
    pub text: String,
}

/// A returned or `done` string is kept as itself, any other value as its JSON, nothing
/// (`undefined`) as an empty text. A failure reads `CODE: message`. A timeout is a failure
/// even with `context._timeoutResponse` set: nobody waits for a hook's answer, and the run did
/// not finish.
pub(crate) fn ended(outcome: &Outcome) -> Ended {
    let (ok, text) = match &outcome.result {
        Ok(Returned::Value(None)) => (true, String::new()),
        Ok(Returned::Value(Some(json))) => (
            true,
            match serde_json::from_str::<serde_json::Value>(json) {
                Ok(serde_json::Value::String(s)) => s,
                _ => json.clone(),
            },
        ),
        Ok(Returned::TimeoutResponse(_)) => (
            false,
            "EXECUTION_TIMEOUT: the run did not finish within its time limit".to_owned(),
        ),
        Err(failure) => (
            false,
            format!("{}: {}", failure.kind.code(), failure.message),
        ),
    };
    Ended {
        ok,
        text: cut(text),
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_RESULT_CHARS {
        let mut end = MAX_RESULT_CHARS;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use kumo_engine::{Failure, FailureKind};

    fn outcome(result: Result<Returned, Failure>) -> Outcome {
        Outcome { result, steps: 1 }
    }

    #[test]
    fn results_read_as_users_expect() {
        let s = ended(&outcome(Ok(Returned::Value(Some("\"done\"".into())))));
        assert_eq!(
            s,
            Ended {
                ok: true,
                text: "done".into()
            }
        );
        let s = ended(&outcome(Ok(Returned::Value(Some("{\"n\":1}".into())))));
        assert_eq!(s.text, "{\"n\":1}");
        assert_eq!(ended(&outcome(Ok(Returned::Value(None)))).text, "");
        let f = ended(&outcome(Err(Failure::new(
            FailureKind::Exception,
            "TypeError: x",
        ))));
        assert_eq!(
            f,
            Ended {
                ok: false,
                text: "UNCAUGHT_EXCEPTION: TypeError: x".into()
            }
        );
        assert!(!ended(&outcome(Ok(Returned::TimeoutResponse("1".into())))).ok);
        let long = ended(&outcome(Ok(Returned::Value(Some(format!(
            "\"{}\"",
            "é".repeat(9000)
        ))))));
        assert!(long.text.len() <= MAX_RESULT_CHARS + '…'.len_utf8());
    }
}
