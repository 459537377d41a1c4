//! MSISDN normalisation to E.164, shared by the gateway codecs.
//!
//! Gateways disagree on the phone format: Africa's Talking sends `+254…`,
//! Hubtel sends `233…` without the `+`, and GET-based clones that put a raw
//! `+` in the query string deliver it as a space (form encoding turns `+`
//! into a space). Session keys, resume-by-MSISDN and logs need one form.

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
    // Already E.164 (what Africa's Talking sends): nothing to clean, and a
    // copy is cheaper than filtering it a character at a time (this runs
    // on every hop).
    if let Some(digits) = raw.strip_prefix('+') {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return raw.to_owned();
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
