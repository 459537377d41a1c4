//! Mono's timestamps: epoch ms, or RFC 3339 in UTC.

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00)` into epoch ms. Only UTC:
/// Mono sends `Z`, and supporting offsets would be guessing. `None` on
/// anything else, including dates before 1970.
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        part.iter().try_fold(0u64, |acc, d| {
            acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
    };
    let sep = |i: usize, cs: &[u8]| b.get(i).is_some_and(|c| cs.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = b.get(19..)?;
    let mut millis = 0;
    if let Some((b'.', tail)) = rest.split_first() {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return None;
        }
        // Milliseconds: the first three digits, right-padded with zeros.
        millis = tail
            .get(..digits)?
            .iter()
            .chain(b"000".iter())
            .take(3)
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
        rest = tail.get(digits..)?;
    }
    if !matches!(rest, b"Z" | b"z" | b"+00:00") {
        return None;
    }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let max_day = *month_days.get(usize::try_from(month).ok()?.checked_sub(1)?)?;
    if year < 1970 || day == 0 || day > max_day || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    // Days since 1970-01-01 (Howard Hinnant's days_from_civil, year >= 1970).
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y / 400, y % 400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe).checked_sub(719_468)?;
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec;
    secs.checked_mul(1000)?.checked_add(millis)
}
