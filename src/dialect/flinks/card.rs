//! Calls about a card (one login at one institution, named by its LoginId)
//! that are not steps of a connect flow: deleting it (flinks.md §7) and
//! reading its accounts (§6). Each is a request builder and a decoder, for
//! any HTTP client ([`Driver::request`](crate::driver::Driver::request) in
//! this crate).

use super::codes::FlinksCode;
use super::Flinks;
use crate::dialect::bounds::{self, at_most, MAX_ACCOUNTS};
use crate::dialect::percent_encode;
use crate::dialect::text::{clip, echoed, MAX_CODE_CHARS, MAX_MESSAGE_CHARS};
use crate::dialect::{HeaderValue, HttpRequest, HttpResponse, Method};
use crate::flow::{Account, CallError};
use serde_json::Value;

impl Flinks {
    /// `DELETE /DeleteCard/{loginId}`: removes everything Flinks holds for
    /// the card; its LoginId stops working.
    pub fn delete_card(&self, login_id: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Delete,
            path: format!("{}/DeleteCard/{}", self.base(), percent_encode(login_id)),
            headers: self.data_headers(),
            body: None,
        }
    }

    /// Reads `DeleteCard`'s answer: `Ok` once the card is gone. A
    /// `FlinksCode` (`CARD_IN_USE` right after a link: try again shortly;
    /// `INVALID_LOGIN`: no such card) is an [`CallError::Http`] carrying
    /// the code and its message.
    pub fn decode_delete_card(&self, response: &HttpResponse) -> Result<(), CallError> {
        let body: Option<Value> = serde_json::from_slice(&response.body).ok();
        match code_of(body.as_ref()) {
            None if (200..300).contains(&response.status) => Ok(()),
            code => Err(self.failure(response.status, code)),
        }
    }

    /// `POST /GetAccountsSummary` for the session `request_id` (a RequestId
    /// from an `/Authorize` that answered 200, within 8 minutes).
    pub fn accounts_summary(&self, request_id: &str) -> HttpRequest {
        let mut headers = self.data_headers();
        headers.push((
            "content-type",
            HeaderValue::Plain("application/json".to_owned()),
        ));
        HttpRequest {
            method: Method::Post,
            path: format!("{}/GetAccountsSummary", self.base()),
            headers,
            body: Some(
                serde_json::json!({ "RequestId": request_id })
                    .to_string()
                    .into_bytes(),
            ),
        }
    }

    /// Reads `GetAccountsSummary`'s `Accounts`: each with its `Id` (in
    /// `extra["id"]`), `Title`,
    /// `AccountNumber`, `Category`, `Currency` and current balance in cents.
    /// Entries without an id are skipped. More than 100 accounts, or an
    /// `Id` or `AccountNumber` longer than 1024 bytes, is a
    /// [`CallError::Malformed`]: the list is never cut (the account a host
    /// looks for may be the one dropped), nor an id (it would name another).
    pub fn decode_accounts_summary(
        &self,
        response: &HttpResponse,
    ) -> Result<Vec<Account>, CallError> {
        let body: Option<Value> = serde_json::from_slice(&response.body).ok();
        if !(200..300).contains(&response.status) || code_of(body.as_ref()).is_some() {
            return Err(self.failure(response.status, code_of(body.as_ref())));
        }
        let list = body
            .as_ref()
            .and_then(|b| b.get("Accounts"))
            .and_then(Value::as_array)
            .ok_or_else(|| CallError::Malformed("accounts summary without Accounts".into()))?;
        // Counted before any entry is read.
        at_most(list.len(), MAX_ACCOUNTS, "accounts")?;
        let accounts = list
            .iter()
            .filter_map(|v| account(v).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        bounds::accounts(accounts)
    }

    /// The API key as `x-api-key` (flinks.md §1: the data endpoints'),
    /// else the secret key as `flinks-auth-key`: the reference names no
    /// credential for `DeleteCard`, and an instance configured without an
    /// API key has only its secret to offer (a data endpoint refuses it).
    fn data_headers(&self) -> Vec<(&'static str, HeaderValue)> {
        match (&self.config.api_key, &self.config.secret_key) {
            (Some(key), _) => vec![("x-api-key", HeaderValue::Secret(key.clone()))],
            (None, Some(secret)) => vec![("flinks-auth-key", HeaderValue::Secret(secret.clone()))],
            (None, None) => Vec::new(),
        }
    }

    fn failure(&self, status: u16, code: Option<FlinksCode>) -> CallError {
        match code {
            Some(FlinksCode::AccessDenied) => {
                CallError::Unauthorized("Flinks refused the API credentials (ACCESS_DENIED)".into())
            }
            Some(code) => CallError::Http {
                status,
                message: format!("{code}: {}", code.message(self.config.language)),
            },
            None => CallError::Http {
                status,
                message: format!("Flinks answered HTTP {status}"),
            },
        }
    }
}

fn code_of(body: Option<&Value>) -> Option<FlinksCode> {
    body?
        .get("FlinksCode")
        .and_then(Value::as_str)
        .map(FlinksCode::parse)
}

/// One summary entry: `None` without an `Id`, an error when the `Id` or
/// `AccountNumber` is too long to be one.
fn account(v: &Value) -> Result<Option<Account>, CallError> {
    // The id and number name the account and stay whole: too long to be
    // one, the reply is refused (`dialect::text::echoed`).
    let exact = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|t| echoed(t, k).map(str::to_owned))
            .transpose()
    };
    // Free text is cut, as every partner string a reply keeps (see
    // `dialect::text`).
    let clipped = |k: &str, max: usize| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|t| clip(t, max).to_owned())
    };
    let Some(id) = exact("Id")? else {
        return Ok(None);
    };
    let number = exact("AccountNumber")?;
    let mut account = Account::new(
        number.unwrap_or_else(|| id.clone()),
        clipped("Title", MAX_MESSAGE_CHARS).unwrap_or_default(),
    );
    account.extra.insert("id".into(), Value::String(id));
    account.kind = clipped("Category", MAX_CODE_CHARS);
    account.currency = clipped("Currency", MAX_CODE_CHARS);
    // Dollars and cents as a JSON number; kept in cents like Mono's kobo.
    account.balance = v
        .get("Balance")
        .and_then(|b| b.get("Current"))
        .and_then(Value::as_f64)
        .map(|d| (d * 100.0).round() as i64);
    Ok(Some(account))
}
