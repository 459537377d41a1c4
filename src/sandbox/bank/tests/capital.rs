//! Flinks Capital's scripted users (flinks.md §9), stated as bank data with
//! no change to the bank: three security questions, no MFA, a disabled
//! login, an outage and a background wait.

use super::{bank_with, code, creds, rejection, step, A, IB};
use crate::flow::{RejectionKind, Step};
use crate::form::Values;
use crate::sandbox::bank::{ids, reason, Bank, BankError};
use crate::sandbox::flinks::capital::{world, CITY, COUNTRY, SHAPE};
use crate::sandbox::SandboxConfig;

#[test]
fn a_flinks_capital_user_set_runs_as_data() {
    let mut bank = bank_with(SandboxConfig::default(), world());
    let mut login = |user: &str| {
        let sid = match bank.open_session(A, "FlinksCapital", &IB, 0) {
            Ok(info) => info.id,
            Err(e) => panic!("{e}"),
        };
        let answer = bank.login(A, &sid, &creds(user, "Everyday"), 0);
        (sid, answer)
    };
    let (nomfa, answer) = login("greatday_nomfa");
    let (disabled, refused) = login("test_disabled_account");
    let (_, down) = login("test_service_unavailable");
    let (dispatched, waiting) = login("test_dispatched");
    let (greatday, first) = login("Greatday");
    assert!(!nomfa.is_empty() && !disabled.is_empty());
    code(step(answer));
    let refused = rejection(step(refused));
    assert_eq!(refused.kind, RejectionKind::Final);
    assert_eq!(refused.code.as_deref(), Some("disabled"));
    assert_eq!(
        down,
        Err(BankError::InstitutionDown {
            bank: "Flinks Capital".into()
        })
    );

    // Pending twice (the login and the first poll), then linked.
    assert!(matches!(
        step(waiting),
        Step::Pending {
            poll_after_ms: 10_000,
            ..
        }
    ));
    let poll = |bank: &mut Bank| step(bank.commit(A, &dispatched, &Values::new(), None, 1));
    assert!(matches!(poll(&mut bank), Step::Pending { .. }));
    code(poll(&mut bank));

    // Three questions, each shown by its prompt; a wrong answer may be retried.
    let mut asked = step(first);
    for (prompt, answer) in [(CITY, "montreal"), (COUNTRY, "Canada"), (SHAPE, "Triangle")] {
        let Step::NeedsInput { form, .. } = &asked else {
            panic!("expected a question, got {asked:?}")
        };
        assert_eq!(form.field("answer").map(|f| f.hint.as_str()), Some(prompt));
        let wrong = Values::new().with("answer", "Toronto");
        let refused = rejection(step(bank.commit(A, &greatday, &wrong, None, 1)));
        assert_eq!(refused.code.as_deref(), Some(reason::WRONG_ANSWER));
        let right = Values::new().with("answer", answer);
        asked = step(bank.commit(A, &greatday, &right, None, 1));
    }
    let code = code(asked);
    assert_eq!(
        bank.exchange(A, &code, 2),
        Ok(ids::account_id("FlinksCapital", "Greatday", "1"))
    );
    let hints = bank.hints();
    assert_eq!(hints.len(), 3);
    assert!(hints.iter().all(|h| h.name == "answer"));
}
