//! Institution catalogues for tests, each a plain function returning a fresh
//! [`Catalogue`]: the crate's own tests and transcripts are written against
//! these exact contents, so a fixture never changes silently (golden
//! transcripts and stored snapshots would notice).
//!
//! ```
//! use connectflow::flow::AuthMethodKind;
//! use connectflow::testing::catalogues;
//!
//! let catalogue = catalogues::gtbank();
//! let gtbank = catalogue.get(catalogues::GTBANK).unwrap();
//! assert_eq!(
//!     gtbank.method_kinds(),
//!     [AuthMethodKind::InternetBanking, AuthMethodKind::MobileBanking],
//! );
//! ```

use crate::flow::{explore, AuthMethod, AuthMethodKind, Catalogue, Institution};
use crate::form::{Field, Form};

/// The id of the institution in [`demo`].
pub const DEMO_BANK: &str = "demo-bank";
/// The id of the USSD-only institution [`demo_with_ussd_bank`] adds.
pub const USSD_BANK: &str = "ussd-bank";
/// The id of GTBank in [`gtbank`].
pub const GTBANK: &str = "gtbank";
/// The id of the institution in [`gtbank_mono_ids`]: 24 hex characters, as
/// Mono's ids are.
pub const GTBANK_MONO_ID: &str = "5f2d08be60b92e2888287702";
/// The id of the institution in [`secret_between_fields`].
pub const REC_BANK: &str = "rec-bank";
/// The id of the institution in [`twelve_ways_to_verify`].
pub const VERIFY_BANK: &str = "verify-bank";

/// The crate's demo catalogue ([`explore::demo_catalogue`]): `demo-bank`
/// with internet banking (`username`, `password`), mobile banking (`phone`
/// up to 11, secret `pin` up to 6) and manual (`accountNo` up to 10, a
/// choice `identifier` of `bvn`/`dob`/`phone`/`email`, `identifierValue`).
/// Every auth method the explorer knows a form for, every field kind.
pub fn demo() -> Catalogue {
    explore::demo_catalogue()
}

/// [`demo`] plus `ussd-bank`: USSD (`accountNo` up to 10, secret `ussdPin`
/// up to 4) and a manual method with no login form anywhere in the
/// catalogue, so choosing it creates a session that may come back without a
/// form — the case where a flow has nothing to show and must fail cleanly.
pub fn demo_with_ussd_bank() -> Catalogue {
    let mut institutions = demo().institutions().to_vec();
    let ussd = Form::new(
        "Dial in",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::password("ussdPin", "USSD PIN").max_length(4),
        ],
    );
    institutions.push(Institution::new(
        USSD_BANK,
        "USSD Bank",
        vec![
            AuthMethod::new(AuthMethodKind::Ussd, Some(ussd)),
            AuthMethod::new(AuthMethodKind::Manual, None),
        ],
    ));
    Catalogue::new(institutions)
}

/// A GTBank-like bank with short ids, for readable transcripts: `gtbank`
/// with internet banking ("Log in to GTBank": `username`, secret
/// `password`) and mobile banking ("GTBank mobile": `accountNo` up to 10,
/// secret `pin` up to 4), and `access` (Access Bank) listed with no auth
/// method and so no login form: a session there must bring its own.
pub fn gtbank() -> Catalogue {
    let login = Form::new(
        "Log in to GTBank",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    );
    let mobile = Form::new(
        "GTBank mobile",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::password("pin", "PIN").max_length(4),
        ],
    );
    Catalogue::new(vec![
        Institution::new(
            GTBANK,
            "GTBank",
            vec![
                AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
                AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
            ],
        ),
        Institution::new("access", "Access Bank", vec![]),
    ])
}

/// GTBank alone, under a Mono-sized id ([`GTBANK_MONO_ID`]), for measuring
/// snapshots as they will be in production: internet banking ("Log in to
/// GTBank": `username`, secret `password`) and mobile banking ("Mobile":
/// `accountNo`, secret `pin` up to 4).
///
/// Snapshots stored by earlier builds refer to this catalogue by
/// fingerprint; changing it strands them.
pub fn gtbank_mono_ids() -> Catalogue {
    let login = Form::new(
        "Log in to GTBank",
        vec![
            Field::input("username", "Username"),
            Field::password("password", "Password"),
        ],
    );
    let mobile = Form::new(
        "Mobile",
        vec![
            Field::input("accountNo", "Account number"),
            Field::password("pin", "PIN").max_length(4),
        ],
    );
    Catalogue::new(vec![Institution::new(
        GTBANK_MONO_ID,
        "GTBank",
        vec![
            AuthMethod::new(AuthMethodKind::InternetBanking, Some(login)),
            AuthMethod::new(AuthMethodKind::MobileBanking, Some(mobile)),
        ],
    )])
}

/// One bank, `rec-bank` (Rec Bank), whose only method (mobile banking) asks
/// for `account`, a secret `pin` (up to 4) and then `note`: a channel that
/// shows one field per screen has to hold the PIN between two screens, which
/// is what a sealed session store must protect.
pub fn secret_between_fields() -> Catalogue {
    let form = Form::new(
        "Rec Bank",
        vec![
            Field::input("account", "Account"),
            Field::password("pin", "PIN").max_length(4),
            Field::input("note", "Note"),
        ],
    );
    Catalogue::new(vec![Institution::new(
        REC_BANK,
        "Rec Bank",
        vec![AuthMethod::new(AuthMethodKind::MobileBanking, Some(form))],
    )])
}

/// One bank, `verify-bank` (Verify Bank), whose only method (manual) asks
/// for `accountNo`, then a choice `identifier` of twelve long-ish ways to
/// verify (values `way1` to `way12`), then `value`: more options than one
/// USSD screen holds, so a channel has to page them.
pub fn twelve_ways_to_verify() -> Catalogue {
    let ways = [
        "Bank Verification Number (BVN)",
        "Date of birth (YYYY-MM-DD)",
        "Phone number on the account",
        "Email address on the account",
        "National Identification Number",
        "International passport number",
        "Driver's licence number",
        "Voter's card number",
        "Last four digits of your card",
        "Amount of your last deposit",
        "Branch where you opened it",
        "Mother's maiden name",
    ];
    let form = Form::new(
        "Link with your account number",
        vec![
            Field::input("accountNo", "Account number").max_length(10),
            Field::choice(
                "identifier",
                "Verify with",
                ways.iter()
                    .enumerate()
                    .map(|(i, label)| (format!("way{}", i + 1), *label)),
            ),
            Field::input("value", "Your answer"),
        ],
    );
    Catalogue::new(vec![Institution::new(
        VERIFY_BANK,
        "Verify Bank",
        vec![AuthMethod::new(AuthMethodKind::Manual, Some(form))],
    )])
}

/// What the [`Sandbox`](crate::sandbox::Sandbox) lists: `sandbox-bank`,
/// `sandbox-captcha-bank` and the Nigerian banks
/// ([`crate::sandbox::institutions`]).
pub fn sandbox() -> Catalogue {
    Catalogue::new(crate::sandbox::institutions())
}
