//! Writing auths out for operators: CSV (a header row, RFC 4180 quoting) or
//! JSON lines (one auth per line, as the `/v2/` endpoints show it).

use super::store::{AuthStore, Filter, RecordsError};
use super::time::iso;
use super::{Auth, PageRequest, MAX_LIMIT};
use std::io::{self, Write};

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Reading the records failed.
    #[error(transparent)]
    Records(#[from] RecordsError),
    /// Writing the output failed.
    #[error("writing the export: {0}")]
    Io(#[from] io::Error),
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 16] = [
    "id",
    "validated",
    "bank_id",
    "bank_name",
    "customer_id",
    "customer_name",
    "record",
    "owner",
    "env",
    "created_at",
    "last_updated",
    "partner",
    "partner_account_id",
    "auth_method",
    "reference",
    "channel",
];

/// Writes every auth matching `filter` (newest first) to `out`; how many.
///
/// Each auth once, while links go on being written: it reads page after
/// page *below the last auth written* (created earlier, or at the same
/// millisecond with a smaller id, the listing's order) rather than by page
/// number, which a newer link pushes along so that an auth would come out
/// twice; a link newer than the last auth written is skipped. No cut-off
/// from this machine's clock: records are stamped by the servers' clocks.
pub async fn export(
    store: &dyn AuthStore,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    if format == Format::Csv {
        writeln!(out, "{}", CSV_COLUMNS.join(","))?;
    }
    let mut filter = filter.clone();
    let mut last: Option<(u64, String)> = None;
    let mut written = 0;
    let mut page = 1;
    loop {
        let request = PageRequest::new(page, MAX_LIMIT).unwrap_or_default();
        let found = store.find(&filter, request).await?;
        let mut advanced = false;
        for auth in &found.auths {
            let seen = last.as_ref().is_some_and(|(at, id)| {
                auth.created_at > *at || (auth.created_at == *at && auth.id >= *id)
            });
            if seen {
                continue;
            }
            match format {
                Format::Csv => writeln!(out, "{}", csv_row(auth))?,
                Format::JsonLines => {
                    serde_json::to_writer(&mut *out, auth).map_err(io::Error::from)?;
                    writeln!(out)?;
                }
            }
            written += 1;
            last = Some((auth.created_at, auth.id.clone()));
            advanced = true;
        }
        if found.auths.len() < request.limit() as usize {
            break;
        }
        match &last {
            // The next page starts at the last auth's millisecond (those of
            // it already written are skipped above).
            Some((at, _)) if advanced => {
                filter.until = Some(at.saturating_add(1));
                page = 1;
            }
            // A whole page already written (more auths in one millisecond
            // than a page holds): read on by number. (`known.rs` pages the
            // records the same way and grows its page instead; a fix to one
            // of these loops should be checked against the other.)
            _ => page += 1,
        }
    }
    out.flush()?;
    Ok(written)
}

/// One auth as a CSV line (no line end).
pub fn csv_row(auth: &Auth) -> String {
    let customer = auth.customer.as_ref();
    let fields: [String; 16] = [
        auth.id.clone(),
        auth.validated.to_string(),
        auth.bank.id.clone(),
        auth.bank.name.clone(),
        customer.map(|c| c.id.clone()).unwrap_or_default(),
        customer.and_then(|c| c.name.clone()).unwrap_or_default(),
        auth.record.clone(),
        auth.owner.clone(),
        auth.env.as_str().to_owned(),
        iso(auth.created_at),
        iso(auth.last_updated),
        auth.partner.clone(),
        auth.partner_account_id.clone(),
        auth.auth_method.clone().unwrap_or_default(),
        auth.reference.clone(),
        auth.channel.clone(),
    ];
    fields
        .iter()
        .map(|f| quote(f))
        .collect::<Vec<_>>()
        .join(",")
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its
/// quotes doubled.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn fields_with_commas_quotes_or_newlines_are_quoted() {
        assert_eq!(quote("plain"), "plain");
        assert_eq!(quote("Obi, Ada"), "\"Obi, Ada\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    }
}
