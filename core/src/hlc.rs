//! Hybrid logical clock: a timestamp that follows the wall clock when it moves forward and never
//! moves backward when it does not, so reports keep their order whatever the device clock does.

use doorstep_protocol::Hlc;

/// The next timestamp after `last` given the wall clock reading `now_ms`.
pub fn tick(last: Hlc, now_ms: i64) -> Hlc {
    if now_ms > last.millis {
        Hlc { millis: now_ms, counter: 0 }
    } else {
        Hlc { millis: last.millis, counter: last.counter.saturating_add(1) }
    }
}

/// Merges a timestamp received from elsewhere (the server): the result is after both.
pub fn receive(last: Hlc, remote: Hlc, now_ms: i64) -> Hlc {
    let millis = last.millis.max(remote.millis).max(now_ms);
    let counter = if millis == last.millis && millis == remote.millis {
        last.counter.max(remote.counter).saturating_add(1)
    } else if millis == last.millis {
        last.counter.saturating_add(1)
    } else if millis == remote.millis {
        remote.counter.saturating_add(1)
    } else {
        0
    };
    Hlc { millis, counter }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn only_moves_forward(walls in proptest::collection::vec(any::<i64>(), 1..200)) {
            let mut last = Hlc::default();
            for w in walls {
                let next = tick(last, w);
                prop_assert!(next > last);
                last = next;
            }
        }

        #[test]
        fn receive_is_after_both(a in any::<(i32, u16)>(), b in any::<(i32, u16)>(), now in any::<i32>()) {
            let a = Hlc { millis: a.0 as i64, counter: a.1 as u32 };
            let b = Hlc { millis: b.0 as i64, counter: b.1 as u32 };
            let r = receive(a, b, now as i64);
            prop_assert!(r > a && r > b);
        }
    }

    #[test]
    fn clock_going_back_a_year() {
        let t = tick(Hlc::default(), 1_800_000_000_000);
        let back = tick(t, 1_800_000_000_000 - 365 * 86_400_000);
        assert_eq!(back, Hlc { millis: 1_800_000_000_000, counter: 1 });
    }
}
