//! The USSD channel over real HTTP: every sandbox user through Africa's
//! Talking and Hubtel, a sandbox user through Hubtel Programmable Services,
//! Arkesel, Nalo, Korba, Infobip, Airtel, Safaricom's direct interface,
//! DMark, HollaTags and Sendexa, MTN Nigeria's XML over TCP,
//! with the screen budget asserted on every screen; input edge cases and
//! garbage, resume on re-dial, concurrent hops, the webhook. One file per
//! topic; `rig` starts the servers and `phone` plays the handset.
#![cfg(all(feature = "ussd", feature = "testing", feature = "records"))]

mod airtel;
mod choice;
mod customers;
mod delivery;
#[path = "../support/faulty_store.rs"]
mod faulty_store;
mod first_answer;
#[path = "../support/flaky_delivery.rs"]
mod flaky_delivery;
mod flinks;
mod ghana;
mod hardening;
mod hubtel_ps;
mod infobip;
mod input_edges;
mod last_page;
mod leave;
mod list_change;
mod more_gateways;
mod mtn_nigeria;
mod mtn_server;
mod phone;
mod reauth;
mod resume;
mod rig;
mod safaricom;
mod sandbox_users;
mod size;
mod slow_list;
mod tight_budget;
