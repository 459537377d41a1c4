//! Flinks Capital, Flinks' test institution (flinks.md §9), as data for
//! the sandbox's bank: `Greatday` / `Everyday` answers three security
//! questions, one `203` round each, and the scripted usernames link at
//! once, are disabled, find the bank down, or wait in the background. The
//! bank runs them with no Flinks-specific code.

use crate::flow::{AuthMethod, AuthMethodKind, Institution};
use crate::form::{Field, Form};
use crate::sandbox::bank::{Challenge, Persona, Reauth, Script, Special, World};
use crate::sandbox::users::TestUser;

/// Flinks Capital's id, as `Institution` on `/Authorize`.
pub(crate) const INSTITUTION: &str = crate::dialect::flinks::FLINKS_CAPITAL;
/// Every Flinks Capital user's password.
pub(crate) const PASSWORD: &str = "Everyday";

const IB: AuthMethodKind = AuthMethodKind::InternetBanking;

/// The sandbox's user whose card's cached `/Authorize` answers
/// `QUESTION_NOT_FOUND`.
pub(crate) const QUESTION_NOT_FOUND_USER: &str = "test_question_not_found";

/// The three questions `Greatday` is asked, in this order.
pub(crate) const CITY: &str = "What city were you born in?";
pub(crate) const COUNTRY: &str = "What is the best country on earth?";
pub(crate) const SHAPE: &str = "What shape do people like most?";

const fn capital_user(username: &'static str, account_number: &'static str) -> TestUser {
    TestUser {
        username,
        password: PASSWORD,
        name: "GREAT DAY",
        account_number,
        other_accounts: &[],
        bvn: "",
        phone: "",
        date_of_birth: "",
        email: "",
        mobile_pin: "",
        ussd_pin: "",
        behaviour: "",
    }
}

/// Flinks Capital and its scripted users (flinks.md §9) in the bank's own
/// terms. `test_dispatched` is pending for its login and first poll;
/// `test_question_not_found`, the sandbox's own, links after one question
/// and its card's cached mode answers `QUESTION_NOT_FOUND`.
pub(crate) fn world() -> World {
    let questions: &'static [Challenge] = &[
        Challenge::Question {
            prompt: CITY,
            answer: "Montreal",
        },
        Challenge::Question {
            prompt: COUNTRY,
            answer: "Canada",
        },
        Challenge::Question {
            prompt: SHAPE,
            answer: "Triangle",
        },
    ];
    let city: &'static [Challenge] = &[Challenge::Question {
        prompt: CITY,
        answer: "Montreal",
    }];
    let dispatched: &'static [Challenge] = &[Challenge::Pending {
        polls: 2,
        poll_after_ms: 10_000,
        give_up_after_ms: 300_000,
    }];
    let persona = |user, challenges, special| Persona {
        user,
        script: Script {
            challenges,
            special,
            // A card is refreshed from Flinks' cache or with the saved
            // credentials: nothing is asked again.
            reauth: Reauth::AtOnce,
        },
    };
    let mut method = AuthMethod::new(
        IB,
        Some(Form::new(
            "Flinks Capital",
            vec![
                Field::input("username", "Username"),
                Field::password("password", "Password"),
            ],
        )),
    );
    method.name = Some("Online banking".into());
    World {
        institutions: vec![Institution::new(
            INSTITUTION,
            "Flinks Capital",
            vec![method],
        )],
        outcomes: Vec::new(),
        personas: vec![
            persona(capital_user("Greatday", "1"), questions, Special::None),
            persona(capital_user("greatday_nomfa", "2"), &[], Special::None),
            persona(
                capital_user("test_disabled_account", "3"),
                &[],
                Special::Refused {
                    message: "Login disabled at the bank",
                    reason: "disabled",
                },
            ),
            persona(
                capital_user("test_service_unavailable", "4"),
                &[],
                Special::Down,
            ),
            persona(
                capital_user("test_dispatched", "5"),
                dispatched,
                Special::None,
            ),
            // Not one of Flinks' own: a card whose refresh since its link
            // met a question with no stored answer. Cached mode answers
            // `QUESTION_NOT_FOUND` (flinks.md §3, §5); a live refresh logs
            // in with the saved credentials and asks the question again.
            Persona {
                user: capital_user(QUESTION_NOT_FOUND_USER, "6"),
                script: Script {
                    challenges: city,
                    special: Special::None,
                    reauth: Reauth::Login(city),
                },
            },
        ],
    }
}

/// A question in the person's language: the prompt Flinks shows (and the
/// key its answer must come back under). Only French differs.
pub(crate) fn prompt(english: &str, french: bool) -> &str {
    if !french {
        return english;
    }
    match english {
        CITY => "Dans quelle ville êtes-vous né?",
        COUNTRY => "Quel est le meilleur pays au monde?",
        SHAPE => "Quelle forme les gens préfèrent-ils?",
        other => other,
    }
}
