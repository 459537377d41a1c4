//! Keys, institutions: every route needs a test key, and the institution
//! list, unfiltered and filtered.

use crate::app::{start, Answer, App};
use connectflow::flow::{AuthMethodKind, Call, CallError, Reply};
use connectflow::form::{ContentType, FieldKind};
use serde_json::{json, Value};

#[tokio::test]
async fn every_route_needs_a_test_key() {
    let (sandbox, app) = start().await;
    let none = app
        .http
        .get(format!("{}/v3/institutions", app.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(none.status(), 401);
    let body: Value = none.json().await.expect("JSON");
    assert_eq!(body["status"], "failed");
    assert!(body["data"].is_null());
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));

    for bad in ["live_sk_abc", "test_sk_", "sk_test_abc", ""] {
        let other = App::new(&sandbox, bad);
        other
            .get("/v3/institutions", None)
            .await
            .assert_failed(401, "key");
        other
            .post("/v2/connect/session", None, json!({}))
            .await
            .assert_failed(401, "key");
    }
    // The dialect reads a 401 as unauthorized.
    let bad = App::new(&sandbox, "live_sk_abc");
    let answer = bad.call(&Call::ListInstitutions).await;
    assert!(matches!(answer.reply, Err(CallError::Unauthorized(_))));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn institutions_unfiltered_and_filtered() {
    let (sandbox, app) = start().await;
    let all = app.call(&Call::ListInstitutions).await;
    assert_eq!(all.status, 200);
    let Ok(Reply::Institutions(catalogue)) = &all.reply else {
        panic!("expected institutions: {:?}", all.reply)
    };
    let list = catalogue.institutions();
    assert!(list.len() >= 17, "{}", list.len());
    for (raw, inst) in all.body["data"]
        .as_array()
        .expect("data array")
        .iter()
        .zip(list)
    {
        for key in [
            "_id",
            "name",
            "type",
            "identifier",
            "bank_code",
            "country",
            "primary_color",
            "auth_methods",
        ] {
            assert!(!raw[key].is_null(), "{} lacks {key}", inst.id);
        }
        // Mono's v3 list gives no bank timeout (mono.md §2): nor does the
        // sandbox's, so the client's no-timeout path is the one tested.
        assert!(raw.get("timeout").is_none(), "{}", inst.id);
        assert_eq!(raw["country"], "ng");
        assert!(!inst.auth_methods.is_empty());
        assert!(inst.auth_methods.iter().all(|m| m.ui.is_some()));
    }
    let sandbox_bank = catalogue.get("sandbox-bank").expect("sandbox-bank");
    assert_eq!(sandbox_bank.name, "Sandbox Bank");
    assert_eq!(
        sandbox_bank.method_kinds(),
        vec![
            AuthMethodKind::InternetBanking,
            AuthMethodKind::MobileBanking,
            AuthMethodKind::Manual,
            AuthMethodKind::Ussd
        ]
    );
    let mobile = sandbox_bank
        .form_for(&AuthMethodKind::MobileBanking)
        .expect("mobile form");
    assert_eq!(mobile.field("pin").and_then(|f| f.max_length), Some(6));
    let manual = sandbox_bank
        .form_for(&AuthMethodKind::Manual)
        .expect("manual form");
    assert_eq!(
        manual.field("accountNo").and_then(|f| f.max_length),
        Some(10)
    );
    let choice = manual.field("identifier").expect("identifier kind");
    assert_eq!(choice.kind, FieldKind::Choice);
    let options: Vec<&str> = choice.options.iter().map(|o| o.value.as_str()).collect();
    assert_eq!(options, ["bvn", "dob", "phone", "email"]);
    let ussd = sandbox_bank
        .form_for(&AuthMethodKind::Ussd)
        .expect("ussd form");
    let pin = ussd.field("pin").expect("pin");
    assert_eq!(
        (pin.max_length, &pin.content_type),
        (Some(4), &ContentType::Password)
    );
    for name in ["Access Bank", "GTBank", "First Bank", "Kuda", "Moniepoint"] {
        assert!(list.iter().any(|i| i.name == name), "{name}");
    }

    let ids = |a: &Answer| -> Vec<String> {
        a.body["data"]
            .as_array()
            .expect("data array")
            .iter()
            .map(|i| i["_id"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let manual = app.get("/v3/institutions?auth_method=manual", None).await;
    assert_eq!(ids(&manual), ["sandbox-bank"]);
    let ussd = app
        .get(
            "/v3/institutions?scope=financial_data&auth_method=ussd",
            None,
        )
        .await;
    assert_eq!(ids(&ussd), ["sandbox-bank"]);
    let gtbank = app.get("/v3/institutions?bank_code=058", None).await;
    assert_eq!(ids(&gtbank), ["gtbank"]);
    let mobile = ids(&app
        .get("/v3/institutions?auth_method=mobile_banking", None)
        .await);
    assert!(mobile.contains(&"kuda".to_owned()) && mobile.contains(&"sandbox-bank".to_owned()));
    assert!(!mobile.contains(&"firstbank".to_owned()));
    let scoped = app.get("/v3/institutions?scope=financial_data", None).await;
    assert_eq!(ids(&scoped).len(), list.len());
    let none = app.get("/v3/institutions?scope=payments", None).await;
    assert!(ids(&none).is_empty());
    sandbox.shutdown().await;
}
