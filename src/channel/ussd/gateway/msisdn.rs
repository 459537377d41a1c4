//! MSISDN normalisation to E.164, shared by the gateway codecs.
//!
//! Gateways disagree on the phone format: Africa's Talking sends `+254…`,
//! Hubtel sends `233…` without the `+`, and GET-based clones that put a raw
//! `+` in the query string deliver it as a space (form encoding turns `+`
//! into a space). Session keys, resume-by-MSISDN and logs need one form.

use std::borrow::Cow;

/// Country calling codes of the markets the USSD gateways serve. Only these
/// justify adding a `+` to a bare digit string: a number we cannot place is
/// better left alone than mislabelled.
const KNOWN_COUNTRY_CODES: &[&str] = &[
    "234", "233", "254", "255", "256", "250", "27", "260", "265", "251", "237", "225", "221",
];

/// The shortest international number we recognise without a `+`: the
/// shortest of the markets above is South Africa, `27` + 9 digits.
const MIN_INTERNATIONAL_DIGITS: usize = 11;

/// E.164 caps a number at 15 digits; anything longer is not an MSISDN we
/// should dress up as one.
const MAX_E164_DIGITS: usize = 15;

/// Normalises a gateway's MSISDN to E.164 (`+` and digits) where that can be
/// done without guessing.
///
/// * whitespace, `-`, `(` and `)` are removed;
/// * `+…` is kept as is;
/// * `00…` (the international prefix) becomes `+…`;
/// * an all-digit number of 11 to 15 digits starting with a known African
///   country code (234, 233, 254, 255, 256, 250, 27, 260, 265, 251, 237, 225,
///   221) gets a `+`;
/// * anything else, notably a local `0…` number, is returned cleaned but
///   otherwise unchanged: which country it belongs to is not ours to guess.
///
/// ```
/// # use connectflow::channel::ussd::gateway::normalise_msisdn;
/// assert_eq!(normalise_msisdn("233244567890"), "+233244567890");
/// assert_eq!(normalise_msisdn("0803 123 4567"), "08031234567");
/// ```
pub fn normalise_msisdn(raw: &str) -> String {
    normalised_msisdn(Cow::Borrowed(raw))
}

/// [`normalise_msisdn`], keeping `raw`'s own buffer when it is already
/// E.164: a form's `%2B254…`, decoded, is not copied again.
pub(crate) fn normalised_msisdn(raw: Cow<'_, str>) -> String {
    // Already E.164 (what Africa's Talking sends): nothing to clean, and a
    // copy is cheaper than filtering it a character at a time (this runs
    // on every hop).
    if let Some(digits) = raw.strip_prefix('+') {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return raw.into_owned();
        }
    }
    // One string, grown in place.
    let mut cleaned = String::with_capacity(raw.len() + 1);
    cleaned.extend(
        raw.chars()
            .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '(' | ')'))),
    );
    if cleaned.starts_with('+') {
        return cleaned;
    }
    if let Some(rest) = cleaned.strip_prefix("00") {
        // Only a real number after the international prefix; "00" alone or
        // "00abc" is junk we pass through untouched.
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            cleaned.replace_range(..2, "+");
        }
        return cleaned;
    }
    let all_digits = !cleaned.is_empty() && cleaned.bytes().all(|b| b.is_ascii_digit());
    if all_digits
        && (MIN_INTERNATIONAL_DIGITS..=MAX_E164_DIGITS).contains(&cleaned.len())
        && KNOWN_COUNTRY_CODES.iter().any(|cc| cleaned.starts_with(cc))
    {
        cleaned.insert(0, '+');
    }
    cleaned
}

/// A country's numbering, for gateways that serve one country and may send
/// its numbers in national form (`0` and the national significant number).
#[derive(Debug, Clone, Copy)]
pub(super) struct Country {
    /// The calling code with its `+` (`+233`).
    pub(super) code: &'static str,
    /// How many digits follow the national `0`.
    pub(super) digits: usize,
}

/// Ghana: `0244567890` is `+233244567890`.
pub(super) const GHANA: Country = Country {
    code: "+233",
    digits: 9,
};

/// Uganda: `0772123456` is `+256772123456`.
pub(super) const UGANDA: Country = Country {
    code: "+256",
    digits: 9,
};

/// Nigeria: `08031234567` is `+2348031234567`.
pub(super) const NIGERIA: Country = Country {
    code: "+234",
    digits: 10,
};

/// A phone number from a gateway that serves `country`, in E.164: what
/// [`normalise_msisdn`] makes of it, and a national number (`0` and
/// exactly `country.digits` digits) as that country's. `normalise_msisdn`
/// leaves a national number alone because it cannot know the country; a
/// gateway that serves one country can (ussd.md §4: "Normalise MSISDNs to
/// E.164"), and a resume index keyed by two spellings of one phone would
/// not find its flow.
pub(super) fn national(raw: &str, country: Country) -> String {
    let phone = normalise_msisdn(raw);
    match phone.strip_prefix('0') {
        Some(rest) if rest.len() == country.digits && rest.bytes().all(|b| b.is_ascii_digit()) => {
            [country.code, rest].concat()
        }
        _ => phone,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_become_e164_in_their_country_only() {
        for (raw, country, want) in [
            ("0772 123 456", UGANDA, "+256772123456"),
            ("256772123456", UGANDA, "+256772123456"),
            ("08031234567", NIGERIA, "+2348031234567"),
            ("2348031234567", NIGERIA, "+2348031234567"),
            // The wrong length for the country: left as normalise_msisdn
            // leaves it, never dressed up as a number it is not.
            ("0803123456", NIGERIA, "0803123456"),
            ("08031234567", UGANDA, "08031234567"),
            ("0", NIGERIA, "0"),
            ("", UGANDA, ""),
        ] {
            assert_eq!(national(raw, country), want, "{raw:?}");
        }
    }
}
