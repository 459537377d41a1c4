//! The scripted test users: one table, shared by every auth method and every
//! institution of the sandbox, and the scripts the bank runs for them.

use super::bank::{reason, Challenge, Persona, Reauth, Script, Special, LOCKED_MESSAGE};

/// One scripted person the sandbox knows.
///
/// Every value is fixed at compile time so that documentation, demos and
/// tests can print and type them. The same person can log in through any auth
/// method of `sandbox-bank` (and through the forms of the other institutions):
/// which credential a method asks for changes, what happens next does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestUser {
    /// Internet-banking username (also what decides the behaviour).
    pub username: &'static str,
    /// Internet-banking password.
    pub password: &'static str,
    /// Account holder's name as the bank shows it.
    pub name: &'static str,
    /// The primary 10-digit account number (NUBAN): what the manual and USSD
    /// methods ask for, and the account linked when there is no choice.
    pub account_number: &'static str,
    /// Further accounts offered in a `101` list (the primary comes first in
    /// that list). Empty for single-account users.
    pub other_accounts: &'static [&'static str],
    /// 11-digit Bank Verification Number (manual method).
    pub bvn: &'static str,
    /// 11-digit phone number (mobile banking, manual method).
    pub phone: &'static str,
    /// Date of birth, `YYYY-MM-DD` (manual method).
    pub date_of_birth: &'static str,
    /// Email address (manual method).
    pub email: &'static str,
    /// 6-digit mobile-banking PIN.
    pub mobile_pin: &'static str,
    /// 4-digit USSD PIN.
    pub ussd_pin: &'static str,
    /// What logging in as this user does, for a person reading the table.
    pub behaviour: &'static str,
}

impl TestUser {
    /// The primary account followed by [`other_accounts`](Self::other_accounts).
    pub fn accounts(&self) -> impl Iterator<Item = &'static str> {
        std::iter::once(self.account_number).chain(self.other_accounts.iter().copied())
    }
}

/// The OTP every OTP challenge accepts.
pub const OTP: &str = "123456";
/// The answer every security question accepts (compared case-insensitively).
pub const SECURITY_ANSWER: &str = "Montreal";
/// The password of every test user but a wrong one.
pub const PASSWORD: &str = "pass_good";

const fn user(
    username: &'static str,
    name: &'static str,
    other_accounts: &'static [&'static str],
    strings: [&'static str; 7],
    behaviour: &'static str,
) -> TestUser {
    // The strings are literal (not computed from the user's number) so the
    // table reads the same in the source and in the README.
    let [account_number, bvn, phone, date_of_birth, email, mobile_pin, ussd_pin] = strings;
    TestUser {
        username,
        password: PASSWORD,
        name,
        account_number,
        other_accounts,
        bvn,
        phone,
        date_of_birth,
        email,
        mobile_pin,
        ussd_pin,
        behaviour,
    }
}

/// User *n* has account `100000000n`, BVN `2220000000n`, phone `0801000000n`,
/// born 1990-01-0n, email `username@example.com`, mobile PIN `nnnnnn` and
/// USSD PIN `nnnn`; extra accounts replace the leading `1` by `2` and `3`.
static USERS: [TestUser; 9] = [
    user(
        "user_good",
        "ADA OBI",
        &[],
        [
            "1000000001",
            "22200000001",
            "08010000001",
            "1990-01-01",
            "user_good@example.com",
            "111111",
            "1111",
        ],
        "One account: login answers 99 with a code at once.",
    ),
    user(
        "user_multi",
        "CHIDI OKAFOR",
        &["2000000002", "3000000002"],
        [
            "1000000002",
            "22200000002",
            "08010000002",
            "1990-01-02",
            "user_multi@example.com",
            "222222",
            "2222",
        ],
        "Three accounts: login answers 101; commit {accountNumber} answers 99.",
    ),
    user(
        "user_otp",
        "FUNKE ADEYEMI",
        &[],
        [
            "1000000003",
            "22200000003",
            "08010000003",
            "1990-01-03",
            "user_otp@example.com",
            "333333",
            "3333",
        ],
        "OTP: login answers 102 (field `otp`, maxLength 6); OTP 123456 answers 99.",
    ),
    user(
        "user_question",
        "IBRAHIM MUSA",
        &[],
        [
            "1000000004",
            "22200000004",
            "08010000004",
            "1990-01-04",
            "user_question@example.com",
            "444444",
            "4444",
        ],
        "Security question: login answers 102 (password field `answer`); Montreal answers 99.",
    ),
    user(
        "user_chain",
        "NGOZI EZE",
        &["2000000005", "3000000005"],
        [
            "1000000005",
            "22200000005",
            "08010000005",
            "1990-01-05",
            "user_chain@example.com",
            "555555",
            "5555",
        ],
        "OTP (102), then security question (102), then three accounts (101), then 99.",
    ),
    user(
        "user_locked",
        "TUNDE BAKARE",
        &[],
        [
            "1000000006",
            "22200000006",
            "08010000006",
            "1990-01-06",
            "user_locked@example.com",
            "666666",
            "6666",
        ],
        "Terminal rejection: \"Your account has been locked\".",
    ),
    user(
        "user_down",
        "AMAKA NWOSU",
        &[],
        [
            "1000000007",
            "22200000007",
            "08010000007",
            "1990-01-07",
            "user_down@example.com",
            "777777",
            "7777",
        ],
        "The bank is down: HTTP 503 with the error envelope.",
    ),
    user(
        "user_slow",
        "YUSUF BELLO",
        &[],
        [
            "1000000008",
            "22200000008",
            "08010000008",
            "1990-01-08",
            "user_slow@example.com",
            "888888",
            "8888",
        ],
        "Slow bank: login answers 99 after `slow_delay` (65 s by default: past the driver's 60 s cap, so the login gives up first).",
    ),
    user(
        "user_reauth",
        "KEMI ADEBAYO",
        &[],
        [
            "1000000009",
            "22200000009",
            "08010000009",
            "1990-01-09",
            "user_reauth@example.com",
            "999999",
            "9999",
        ],
        "Links at once; re-authorising the account asks for the login again, then OTP 123456. \
         (Every other user's account re-authorises at once.)",
    ),
];

/// Every test user, in table order.
///
/// Any user with a wrong password (PIN, identifier) gets the retryable
/// rejection "Invalid credentials"; the third wrong try in a row for the same
/// API key, institution and user, across sessions (and auth methods), locks
/// that user for that key for the life of the server: that third try still
/// answers "Invalid credentials", every later login "Your account has been
/// locked", even with the right password. Other keys are not affected. A
/// correct login resets the count. OTP challenges accept [`OTP`], security
/// questions accept [`SECURITY_ANSWER`].
pub fn test_users() -> &'static [TestUser] {
    &USERS
}

/// The one security question the Mono users are asked.
const QUESTION: Challenge = Challenge::Question {
    prompt: "In which city did you open this account?",
    answer: SECURITY_ANSWER,
};

const ONE_TIME_CODE: Challenge = Challenge::Otp { code: OTP };

const fn script(challenges: &'static [Challenge]) -> Script {
    Script {
        challenges,
        special: Special::None,
        reauth: Reauth::AtOnce,
    }
}

const fn special(special: Special) -> Script {
    Script {
        challenges: &[],
        special,
        reauth: Reauth::AtOnce,
    }
}

/// The script behind each user's [`TestUser::behaviour`], by username; a user
/// not listed is linked at once. Kept apart from the public table so that
/// stays plain data.
static SCRIPTS: [(&str, Script); 8] = [
    ("user_multi", script(&[Challenge::ChooseAccount])),
    ("user_otp", script(&[ONE_TIME_CODE])),
    ("user_question", script(&[QUESTION])),
    (
        "user_chain",
        script(&[ONE_TIME_CODE, QUESTION, Challenge::ChooseAccount]),
    ),
    (
        "user_locked",
        special(Special::Refused {
            message: LOCKED_MESSAGE,
            reason: reason::LOCKED,
        }),
    ),
    ("user_down", special(Special::Down)),
    ("user_slow", special(Special::Slow)),
    (
        "user_reauth",
        Script {
            challenges: &[],
            special: Special::None,
            reauth: Reauth::Login(&[ONE_TIME_CODE]),
        },
    ),
];

/// Every test user with their script, in table order: the people the Mono
/// front's bank knows.
pub(crate) fn personas() -> Vec<Persona> {
    USERS
        .iter()
        .map(|user| Persona {
            user: *user,
            script: SCRIPTS
                .iter()
                .find(|(name, _)| *name == user.username)
                .map_or(Script::PLAIN, |(_, s)| *s),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_consistent() {
        for (i, u) in test_users().iter().enumerate() {
            let n = i + 1;
            assert_eq!(u.account_number, format!("100000000{n}"));
            assert_eq!(u.bvn, format!("2220000000{n}"));
            assert_eq!(u.phone, format!("0801000000{n}"));
            assert_eq!(u.date_of_birth, format!("1990-01-0{n}"));
            assert_eq!(u.email, format!("{}@example.com", u.username));
            assert_eq!(u.mobile_pin, n.to_string().repeat(6));
            assert_eq!(u.ussd_pin, n.to_string().repeat(4));
            assert_eq!(u.password, PASSWORD);
        }
    }

    #[test]
    fn every_script_names_a_user() {
        for (name, _) in &SCRIPTS {
            assert!(test_users().iter().any(|u| u.username == *name), "{name}");
        }
        let personas = personas();
        assert_eq!(personas.len(), test_users().len());
        assert_eq!(personas[0].script, Script::PLAIN);
    }
}
