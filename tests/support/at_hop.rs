//! One Africa's Talking hop, as the gateway posts it: a form with the
//! session, service code, phone, network and the cumulative `text`, the
//! gateway token in the query; the reply's `CON`/`END` split off.
//!
//! Included with `#[path]` by the test binaries that talk to a USSD server
//! without a handset model of their own.

/// Posts `text` (cumulative) for `session` from `phone` to the server at
/// `url` with gateway `token`; whether the session ended, and the screen.
pub(crate) async fn at_hop(
    url: &str,
    token: &str,
    session: &str,
    phone: &str,
    text: &str,
) -> (bool, String) {
    let form = [
        ("sessionId", session),
        ("serviceCode", "*384*123#"),
        ("phoneNumber", phone),
        ("networkCode", "63902"),
        ("text", text),
    ];
    let body = reqwest::Client::new()
        .post(format!("{url}/ussd?token={token}"))
        .form(&form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    match (body.strip_prefix("CON "), body.strip_prefix("END ")) {
        (Some(s), _) => (false, s.to_owned()),
        (_, Some(s)) => (true, s.to_owned()),
        _ => panic!("not a USSD answer (no CON/END): {body:?}"),
    }
}
