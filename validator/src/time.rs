//! Times as the content header holds them (seconds since the Unix epoch, UTC) and as people
//! write them (RFC 3339), without a calendar dependency.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Parses an RFC 3339 date-time (`2025-07-19T04:09:00Z`, `...+02:00`, fractions of a second
/// are truncated) into seconds since the epoch. Times before 1970 are refused.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let mut d = date.split('-');
    let year = i64::from(number(d.next()?).filter(|_| date.len() == 10)?);
    let month = number(d.next()?)?;
    let day = number(d.next()?)?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (clock, zone) = rest.split_at_checked(8)?;
    let mut c = clock.split(':');
    let (h, mi, s) = (number(c.next()?)?, number(c.next()?)?, number(c.next()?)?);
    if h > 23 || mi > 59 || s > 60 || clock.as_bytes().get(2) != Some(&b':') {
        return None;
    }
    let mut zone = zone;
    if let Some(frac) = zone.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = frac.get(digits..)?;
    }
    let offset: i64 = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (oh, om) = zone.get(1..)?.split_once(':')?;
            if oh.len() != 2 || om.len() != 2 {
                return None;
            }
            let (oh, om) = (number(oh)?, number(om)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * i64::from(oh * 3600 + om * 60)
        }
    };
    let secs = days_from_civil(year, month, day) * 86_400
        + i64::from(h * 3600 + mi * 60 + s.min(59))
        - offset;
    u64::try_from(secs).ok()
}

/// Parses a time given on the command line or in a source: RFC 3339, or whole seconds since
/// the epoch.
pub fn parse_time(text: &str) -> Option<u64> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    parse_rfc3339(t)
}

/// Parses a duration such as `90d`, `12h`, `2w`, `30m`, `45s` into seconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let t = text.trim();
    let unit_at = t.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = t.split_at(unit_at);
    let n: u64 = number(n).map(u64::from).or_else(|| n.parse().ok())?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// Formats a duration in seconds in the largest unit that divides it exactly.
pub fn format_duration(secs: u64) -> String {
    for (unit, size) in [("w", 604_800u64), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if secs != 0 && secs.is_multiple_of(size) {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// The system clock, in seconds since the epoch (0 if the clock is before 1970).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-07-19T04:09:00Z"), Some(1_721_362_140));
        assert_eq!(
            parse_rfc3339("2024-07-19T06:09:00+02:00"),
            Some(1_721_362_140)
        );
        assert_eq!(
            parse_rfc3339("2024-07-19T04:09:00.999Z"),
            Some(1_721_362_140)
        );
        assert_eq!(format_rfc3339(1_721_362_140), "2024-07-19T04:09:00Z");
        for secs in [
            0u64,
            951_782_400,
            1_709_164_800,
            4_102_444_800,
            253_402_300_799,
        ] {
            assert_eq!(parse_rfc3339(&format_rfc3339(secs)), Some(secs));
        }
        for bad in [
            "2024-02-30T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-07-19",
            "2024-07-19T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "2024-07-19T04:09:00",
            "２024-07-19T04:09:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(parse_time("1721362140"), Some(1_721_362_140));
        assert_eq!(parse_duration("90d"), Some(90 * 86_400));
        assert_eq!(parse_duration("d"), None);
        assert_eq!(parse_duration("99999999999999999999w"), None);
        assert_eq!(format_duration(90 * 86_400), "90d");
    }
}
