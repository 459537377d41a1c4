//! The bank's identifiers. Fresh ones (session ids, link codes, captchas)
//! are drawn from an injected [`Entropy`], so a test can make the bank fully
//! deterministic; durable ones (account ids) are a hash, so they need none.

/// Where the bank's unpredictable values come from. The HTTP fronts draw from
/// the operating system (`OsEntropy` in the front); unit tests use a counter.
pub(crate) trait Entropy: Send {
    /// 128 fresh bits.
    fn next_bits(&mut self) -> u128;
}

/// A session id shaped like Mono's (and Flinks' `RequestId`): a v4 UUID made
/// from `bits`, 36 characters.
pub(crate) fn session_id(bits: u128) -> String {
    uuid::Builder::from_random_bytes(bits.to_be_bytes())
        .into_uuid()
        .to_string()
}

/// A link code: `code_` and 32 hex digits.
pub(crate) fn link_code(bits: u128) -> String {
    format!("code_{bits:032x}")
}

/// A stable account id: the first 24 hex digits of FNV-1a-128 over
/// institution, username and account number. The same login linking the same
/// account again gets the same id, so a returning user never makes a
/// duplicate; the hash is stable across processes and Rust versions.
pub(crate) fn account_id(institution: &str, username: &str, account: &str) -> String {
    let mut id = format!("{:032x}", fnv1a_128(&[institution, username, account]));
    id.truncate(24);
    id
}

/// A stable GUID for a Flinks card (a LoginId): derived, as Flinks derives
/// it, from the login (institution, username, language), plus how many
/// cards of that login were deleted before, so a login linked again after
/// `DeleteCard` gets a new one (flinks.md §4).
pub(crate) fn login_id(
    institution: &str,
    username: &str,
    language: &str,
    generation: u32,
) -> String {
    let generation = generation.to_string();
    let hash = fnv1a_128(&[institution, username, language, &generation]);
    uuid::Builder::from_random_bytes(hash.to_be_bytes())
        .into_uuid()
        .to_string()
}

/// FNV-1a-128 over the parts, each followed by a zero byte: stable across
/// processes and Rust versions.
fn fnv1a_128(parts: &[&str]) -> u128 {
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0)) {
            hash ^= u128::from(b);
            hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013b);
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_stable_and_distinct() {
        let a = account_id("sandbox-bank", "user_good", "1000000001");
        assert_eq!(a.len(), 24);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(a, account_id("sandbox-bank", "user_good", "1000000001"));
        assert_ne!(a, account_id("sandbox-bank", "user_multi", "1000000001"));
        assert_ne!(a, account_id("gtbank", "user_good", "1000000001"));
    }

    #[test]
    fn login_ids_are_guids_stable_per_login_and_generation() {
        let a = login_id("FlinksCapital", "Greatday", "en", 0);
        assert_eq!(
            uuid::Uuid::parse_str(&a).map(|u| u.get_version_num()),
            Ok(4)
        );
        assert_eq!(a, login_id("FlinksCapital", "Greatday", "en", 0));
        assert_ne!(a, login_id("FlinksCapital", "Greatday", "en", 1));
        assert_ne!(a, login_id("FlinksCapital", "Greatday", "fr", 0));
        assert_ne!(a, login_id("FlinksCapital", "greatday_nomfa", "en", 0));
    }

    #[test]
    fn fresh_ids_have_their_partner_shapes() {
        let id = session_id(0);
        assert_eq!(id.len(), 36);
        assert_eq!(
            uuid::Uuid::parse_str(&id).map(|u| u.get_version_num()),
            Ok(4)
        );
        assert_ne!(session_id(1), id);
        assert_eq!(link_code(255), format!("code_{}ff", "0".repeat(30)));
    }
}
