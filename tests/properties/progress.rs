//! The progress driver of rule 5: the [`Op`] a host and a person moving
//! forward would apply next (`Op::Act` steps are resolved by it too).

use crate::harness::Harness;
use crate::ops::Op;
use crate::partner::{institution_id, method_index};
use crate::states::is_person_state;
use connectflow::flow::*;

/// The progress driver of rule 5: answer the call in flight with a random
/// fitting outcome (rarely a wrong shape); otherwise do something the person
/// can do on the screen shown (rarely exit), or let the scheduled deadline
/// pass. `None` when the flow has ended or nothing applies.
pub(crate) fn progress_op(h: &mut Harness, c: u8) -> Option<Op> {
    if h.flow.is_finished() {
        return None;
    }
    if h.pending().is_some() {
        return Some(if c % 40 == 0 && !h.hostile {
            Op::WrongShape(c / 40)
        } else {
            Op::Answer(c.wrapping_mul(37))
        });
    }
    if c % 32 == 0 && !h.hostile {
        return Some(Op::Exit);
    }
    let deadline = h.flow.poll_timeout().is_some();
    let person_state = is_person_state(h.flow.state());
    // Timers, Back and Switch as alternatives to the screen's main action.
    match c % 8 {
        0 if deadline => return Some(Op::Timeout),
        1 if person_state => return Some(Op::Back),
        2 if person_state => {
            if let View::Form(f) = h.flow.view() {
                if let Some(m) = f.other_methods().nth(usize::from(c / 8) % 2) {
                    return Some(Op::Switch(method_index(m)));
                }
            }
        }
        _ => {}
    }
    Some(match h.flow.view() {
        View::ChooseInstitution { institutions, .. } => {
            // demo-bank: internet, mobile, manual; ussd-bank: ussd, manual.
            // ussd-bank's manual method has no form in the catalogue: a
            // session that brings none fails, so pick it rarely. Only what
            // the screen offers (a re-authorisation offers its own bank).
            let offered = institutions.iter().any(|i| i.id == institution_id(5));
            if c % 3 == 0 && offered {
                Op::Choose {
                    inst: 5,
                    method: Some(if c % 24 == 3 { 2 } else { 3 }),
                }
            } else {
                Op::Choose {
                    inst: 0,
                    method: Some(c % 3),
                }
            }
        }
        View::Form(_) => Op::SubmitValid,
        View::ChooseAccount { accounts, .. } => Op::ChooseAccount(c % accounts.len() as u8),
        View::Linked { .. } => Op::Retry,
        _ if deadline => Op::Timeout,
        _ => return None,
    })
}
