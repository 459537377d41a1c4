//! Time as the records keep and show it: milliseconds since the Unix epoch
//! in the database (one integer column sorts and compares the same on
//! SQLite and PostgreSQL), ISO 8601 in UTC with milliseconds on the wire
//! (`2021-08-25T06:45:45.000Z`, as Okra's samples), and `YYYY-MM-DD` days
//! for the date filters.

/// Milliseconds in a day.
pub const DAY_MS: u64 = 86_400_000;

/// `2021-08-25T06:45:45.000Z` for `ms` since the epoch.
pub fn iso(ms: u64) -> String {
    let days = ms / DAY_MS;
    let in_day = ms % DAY_MS;
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

/// The first millisecond of a `YYYY-MM-DD` day (UTC); `None` for anything
/// else (a time, another separator, an impossible date, a year before 1970).
pub fn parse_day(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u64> {
        let part = b.get(r)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(
            part.iter()
                .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')),
        )
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day) * DAY_MS)
}

fn leap(year: u64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in(year: u64, month: u64) -> u64 {
    match month {
        2 if leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`, year ≥ 1970).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let (era, yoe) = (y / 400, y % 400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`] (Hinnant's `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Now, in milliseconds since the epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_matches_okra_samples_and_round_trips_days() {
        // 2021-08-25T06:45:45.000Z, from Okra's getByCustomer sample.
        assert_eq!(iso(1_629_873_945_000), "2021-08-25T06:45:45.000Z");
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_day("2021-08-25"), Some(1_629_849_600_000));
        assert_eq!(
            parse_day("2024-02-29").map(iso).as_deref(),
            Some("2024-02-29T00:00:00.000Z")
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "",
            "1969-12-31",
            "2024-01-01T00:00",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
        // Every day from 1970 to 2100 survives the round trip.
        for d in 0..47_482 {
            let ms = d * DAY_MS;
            assert_eq!(parse_day(&iso(ms)[..10]), Some(ms));
        }
    }
}
