//! Real Nigerian banks, as the sandbox lists them: data only.

/// Which auth methods a real bank offers in the sandbox.
#[derive(Debug, Clone, Copy)]
pub(super) enum Offers {
    /// Internet banking only.
    Internet,
    /// Mobile banking only; the account field's name.
    Mobile(&'static str),
    /// Both; the account field's name for mobile banking.
    Both(&'static str),
}

/// One real bank's listing.
#[derive(Debug)]
pub(super) struct Bank {
    pub(super) id: &'static str,
    pub(super) name: &'static str,
    /// The tail of its Mono `identifier` (`mono.connections.<slug>`).
    pub(super) slug: &'static str,
    /// CBN code.
    pub(super) code: &'static str,
    pub(super) color: &'static str,
    pub(super) offers: Offers,
}

/// Real Nigerian banks (CBN codes and brand colours as publicly listed);
/// their logins take the same test users as `sandbox-bank`. Field names vary
/// on purpose (`accountNo`, `accountno`, `accountNumber`), as they do at Mono.
pub(super) const BANKS: [Bank; 17] = [
    bank(
        "access-bank",
        "Access Bank",
        "access",
        "044",
        "#ef7d00",
        Offers::Both("accountNo"),
    ),
    bank(
        "gtbank",
        "GTBank",
        "gtbank",
        "058",
        "#dd4f05",
        Offers::Both("accountNumber"),
    ),
    bank(
        "firstbank",
        "First Bank",
        "firstbank",
        "011",
        "#003b65",
        Offers::Internet,
    ),
    bank(
        "zenith-bank",
        "Zenith Bank",
        "zenith",
        "057",
        "#e30613",
        Offers::Both("accountno"),
    ),
    bank(
        "uba",
        "UBA",
        "uba",
        "033",
        "#d42e12",
        Offers::Both("accountNo"),
    ),
    bank(
        "fidelity-bank",
        "Fidelity Bank",
        "fidelity",
        "070",
        "#002082",
        Offers::Internet,
    ),
    bank(
        "fcmb",
        "FCMB",
        "fcmb",
        "214",
        "#5c2684",
        Offers::Both("accountNumber"),
    ),
    bank(
        "sterling-bank",
        "Sterling Bank",
        "sterling",
        "232",
        "#db353a",
        Offers::Internet,
    ),
    bank(
        "union-bank",
        "Union Bank",
        "union",
        "032",
        "#00aeef",
        Offers::Internet,
    ),
    bank(
        "wema-bank",
        "Wema Bank",
        "wema",
        "035",
        "#990d81",
        Offers::Both("accountNo"),
    ),
    bank(
        "stanbic-ibtc",
        "Stanbic IBTC",
        "stanbic",
        "221",
        "#0033a1",
        Offers::Internet,
    ),
    bank(
        "ecobank",
        "Ecobank",
        "ecobank",
        "050",
        "#007b8a",
        Offers::Internet,
    ),
    bank(
        "polaris-bank",
        "Polaris Bank",
        "polaris",
        "076",
        "#7c2b83",
        Offers::Internet,
    ),
    bank(
        "keystone-bank",
        "Keystone Bank",
        "keystone",
        "082",
        "#004b8d",
        Offers::Internet,
    ),
    bank(
        "kuda",
        "Kuda",
        "kuda",
        "50211",
        "#40196d",
        Offers::Mobile("accountNumber"),
    ),
    bank(
        "opay",
        "OPay",
        "opay",
        "999992",
        "#1dcf9f",
        Offers::Mobile("accountNo"),
    ),
    bank(
        "moniepoint",
        "Moniepoint",
        "moniepoint",
        "50515",
        "#0357ee",
        Offers::Mobile("accountNumber"),
    ),
];

const fn bank(
    id: &'static str,
    name: &'static str,
    slug: &'static str,
    code: &'static str,
    color: &'static str,
    offers: Offers,
) -> Bank {
    Bank {
        id,
        name,
        slug,
        code,
        color,
        offers,
    }
}
