//! [`find_secret`]: the scan every recording test runs over a file it wrote.

use crate::driver::scrub::{base64, hex};

/// The first of `secrets` that `text` holds — in clear, in hex (either
/// case) or in base64 (padded or not) — with the form it was found in.
/// `None` when the text holds none of them: what a transcript written by
/// `link --record` or `serve --record-dir` must satisfy for every value the
/// run typed or received.
///
/// ```
/// use connectflow::testing::find_secret;
///
/// let secrets = ["pass_good".to_owned()];
/// assert_eq!(find_secret(r#"{"password":"__password_1__"}"#, &secrets), None);
/// assert!(find_secret("cGFzc19nb29k", &secrets).is_some()); // base64
/// ```
pub fn find_secret(text: &str, secrets: &[String]) -> Option<(String, String)> {
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        let b64 = base64(secret.as_bytes());
        let forms = [
            secret.clone(),
            hex(secret.as_bytes()),
            hex(secret.as_bytes()).to_uppercase(),
            b64.trim_end_matches('=').to_owned(),
        ];
        if let Some(form) = forms.into_iter().find(|f| text.contains(f.as_str())) {
            return Some((secret.clone(), form));
        }
    }
    None
}
