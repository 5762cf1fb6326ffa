//! .NET's DateTime, DateTimeOffset and TimeSpan as plain numbers (100 ns ticks since
//! 0001-01-01, as .NET counts them), the proleptic Gregorian calendar arithmetic behind them,
//! and `ToString` with standard ("o", "R", "s", "u") and custom ("yyyy-MM-ddTHH:mm:ssZ") formats.
//! No clock is read here: "now" always comes from the evaluation context.

pub const TICKS_PER_SECOND: i64 = 10_000_000;
pub const TICKS_PER_DAY: i64 = 86_400 * TICKS_PER_SECOND;
/// Ticks at 1970-01-01T00:00:00Z.
pub const UNIX_EPOCH_TICKS: i64 = 621_355_968_000_000_000;
pub const MAX_TICKS: i64 = 3_155_378_975_999_999_999;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DtKind {
    #[default]
    Unspecified,
    Utc,
    Local,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateTime {
    pub ticks: i64,
    pub kind: DtKind,
}

/// A clock time and its offset from UTC; `ticks` is the clock time, not UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateTimeOffset {
    pub ticks: i64,
    pub offset_minutes: i32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeSpan(pub i64);

/// Calendar fields of a tick count.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// Ticks within the second (0..10_000_000).
    pub fraction: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

// Howard Hinnant's days_from_civil / civil_from_days, counted from 0001-01-01.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 + 719_162
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days - 719_162 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

pub fn fields(ticks: i64) -> Fields {
    let days = ticks.div_euclid(TICKS_PER_DAY);
    let rem = ticks.rem_euclid(TICKS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let secs = rem / TICKS_PER_SECOND;
    Fields {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
        fraction: (rem % TICKS_PER_SECOND) as u32,
        weekday: (days + 1).rem_euclid(7) as u32,
    }
}

/// Ticks for a calendar date and time, or `None` when a field is out of range.
pub fn ticks_of(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    let valid = (1..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && d >= 1
        && d <= days_in_month(y, mo)
        && h < 24
        && mi < 60
        && s < 60;
    valid.then(|| {
        days_from_civil(y, mo, d) * TICKS_PER_DAY
            + i64::from(h * 3600 + mi * 60 + s) * TICKS_PER_SECOND
    })
}

/// Adds months the way .NET does: the day is clamped to the end of the target month.
pub fn add_months(ticks: i64, months: i64) -> Option<i64> {
    let f = fields(ticks);
    let total = f.year * 12 + i64::from(f.month) - 1 + months;
    let (y, m) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
    let d = f.day.min(days_in_month(y, m));
    ticks_of(y, m, d, f.hour, f.minute, f.second).map(|t| t + i64::from(f.fraction))
}

const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Formats clock `ticks` with a .NET format string. `offset` is `Some(minutes)` for a
/// DateTimeOffset or a UTC/local DateTime (which print `Z`/`+00:00` for `K`), `None` otherwise.
pub fn format(ticks: i64, kind: DtKind, offset: Option<i32>, fmt: &str) -> Result<String, String> {
    let pattern = match fmt {
        "" => "MM/dd/yyyy HH:mm:ss",
        "o" | "O" => match (offset, kind) {
            (None, DtKind::Utc) => "yyyy-MM-ddTHH:mm:ss.fffffffZ",
            _ if offset.is_some() || kind == DtKind::Local => "yyyy-MM-ddTHH:mm:ss.fffffffzzz",
            _ => "yyyy-MM-ddTHH:mm:ss.fffffff",
        },
        "r" | "R" => "ddd, dd MMM yyyy HH:mm:ss 'GMT'",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        "u" => "yyyy-MM-dd HH:mm:ss'Z'",
        "d" => "MM/dd/yyyy",
        "D" => "dddd, dd MMMM yyyy",
        "t" => "HH:mm",
        "T" => "HH:mm:ss",
        "g" => "MM/dd/yyyy HH:mm",
        "G" => "MM/dd/yyyy HH:mm:ss",
        f if f.len() == 1 => {
            return Err(format!(
                "date format \"{f}\" is not supported; use o, R, s, u, d, D, t, T, g, G or a custom pattern"
            ))
        }
        f => f,
    };
    // "R" and "u" print UTC: a DateTimeOffset is converted first.
    let ticks = if matches!(fmt, "r" | "R" | "u") {
        ticks - i64::from(offset.unwrap_or(0)) * 60 * TICKS_PER_SECOND
    } else {
        ticks
    };
    let f = fields(ticks);
    let off = offset.unwrap_or(0);
    let mut out = String::new();
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        match c {
            'y' => match n {
                1 => out.push_str(&(f.year % 100).to_string()),
                2 => out.push_str(&format!("{:02}", f.year % 100)),
                _ => out.push_str(&format!("{:0width$}", f.year, width = n)),
            },
            'M' => match n {
                1 => out.push_str(&f.month.to_string()),
                2 => out.push_str(&format!("{:02}", f.month)),
                3 => out.push_str(&MONTHS[f.month as usize - 1][..3]),
                _ => out.push_str(MONTHS[f.month as usize - 1]),
            },
            'd' => match n {
                1 => out.push_str(&f.day.to_string()),
                2 => out.push_str(&format!("{:02}", f.day)),
                3 => out.push_str(&DAYS[f.weekday as usize][..3]),
                _ => out.push_str(DAYS[f.weekday as usize]),
            },
            'H' => out.push_str(&pad(f.hour, n)),
            'h' => out.push_str(&pad((f.hour + 11) % 12 + 1, n)),
            'm' => out.push_str(&pad(f.minute, n)),
            's' => out.push_str(&pad(f.second, n)),
            'f' | 'F' => {
                let n = n.min(7);
                let digits = format!("{:07}", f.fraction);
                let mut part = digits[..n].to_string();
                if c == 'F' {
                    part = part.trim_end_matches('0').to_string();
                    if part.is_empty() && out.ends_with('.') {
                        out.pop();
                    }
                }
                out.push_str(&part);
            }
            't' => {
                let ampm = if f.hour < 12 { "AM" } else { "PM" };
                out.push_str(if n == 1 { &ampm[..1] } else { ampm });
            }
            'z' => {
                let sign = if off < 0 { '-' } else { '+' };
                let (h, m) = (off.abs() / 60, off.abs() % 60);
                match n {
                    1 => out.push_str(&format!("{sign}{h}")),
                    2 => out.push_str(&format!("{sign}{h:02}")),
                    _ => out.push_str(&format!("{sign}{h:02}:{m:02}")),
                }
            }
            'K' => match (offset, kind) {
                (None, DtKind::Utc) => out.push('Z'),
                (None, DtKind::Unspecified) => {}
                _ => {
                    let sign = if off < 0 { '-' } else { '+' };
                    out.push_str(&format!(
                        "{sign}{:02}:{:02}",
                        off.abs() / 60,
                        off.abs() % 60
                    ));
                }
            },
            '\'' | '"' => {
                let close = chars[i + 1..].iter().position(|&q| q == c);
                let Some(close) = close else {
                    return Err(format!("unclosed quote in date format \"{fmt}\""));
                };
                out.extend(&chars[i + 1..i + 1 + close]);
                i += close + 2;
                continue;
            }
            '\\' => {
                if let Some(&next) = chars.get(i + 1) {
                    out.push(next);
                }
                i += 2;
                continue;
            }
            other => {
                for _ in 0..n {
                    out.push(other);
                }
            }
        }
        i += n;
    }
    Ok(out)
}

fn pad(v: u32, n: usize) -> String {
    if n == 1 {
        v.to_string()
    } else {
        format!("{v:02}")
    }
}

/// Parses ISO 8601 / RFC 3339 text (`2024-01-02`, `2024-01-02T03:04:05.123Z`,
/// `…+02:00`) into clock ticks and an optional offset in minutes.
pub fn parse_iso(s: &str) -> Option<(i64, Option<i32>)> {
    let s = s.trim();
    let num = |a: usize, b: usize| s.get(a..b)?.parse::<u32>().ok();
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    if s.get(4..5)? != "-" || s.get(7..8)? != "-" {
        return None;
    }
    if s.len() == 10 {
        return ticks_of(i64::from(y), mo, d, 0, 0, 0).map(|t| (t, None));
    }
    if !matches!(s.get(10..11)?, "T" | " ") {
        return None;
    }
    let (h, mi, sec) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    let mut ticks = ticks_of(i64::from(y), mo, d, h, mi, sec)?;
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(char::is_ascii_digit).count();
        let mut scaled = frac[..digits.min(7)].to_string();
        while scaled.len() < 7 {
            scaled.push('0');
        }
        ticks += scaled.parse::<i64>().ok()?;
        rest = &frac[digits..];
    }
    let offset = match rest {
        "" => None,
        "Z" | "z" => Some(0),
        o if o.len() == 6 && matches!(&o[..1], "+" | "-") && &o[3..4] == ":" => {
            let h: i32 = o[1..3].parse().ok()?;
            let m: i32 = o[4..6].parse().ok()?;
            let v = h * 60 + m;
            Some(if o.starts_with('-') { -v } else { v })
        }
        _ => return None,
    };
    Some((ticks, offset))
}

impl TimeSpan {
    /// `[-][d.]hh:mm:ss[.fffffff]`, as .NET prints a TimeSpan.
    pub fn display(self) -> String {
        let t = self.0.unsigned_abs();
        let tps = TICKS_PER_SECOND as u64;
        let days = t / TICKS_PER_DAY as u64;
        let secs = t / tps % 86_400;
        let frac = t % tps;
        let mut out = String::new();
        if self.0 < 0 {
            out.push('-');
        }
        if days > 0 {
            out.push_str(&format!("{days}."));
        }
        out.push_str(&format!(
            "{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        ));
        if frac > 0 {
            out.push_str(&format!(".{frac:07}"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_round_trip() {
        let t = ticks_of(2024, 2, 29, 13, 5, 9).unwrap();
        let f = fields(t);
        assert_eq!(
            (f.year, f.month, f.day, f.hour, f.minute, f.second),
            (2024, 2, 29, 13, 5, 9)
        );
        assert_eq!(ticks_of(1970, 1, 1, 0, 0, 0), Some(UNIX_EPOCH_TICKS));
        assert_eq!(ticks_of(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(fields(add_months(t, 12).unwrap()).day, 28);
    }

    #[test]
    fn formats() {
        let t = ticks_of(2024, 1, 5, 7, 8, 9).unwrap() + 1_234_567;
        assert_eq!(
            format(t, DtKind::Utc, None, "o").unwrap(),
            "2024-01-05T07:08:09.1234567Z"
        );
        assert_eq!(
            format(t, DtKind::Utc, None, "R").unwrap(),
            "Fri, 05 Jan 2024 07:08:09 GMT"
        );
        assert_eq!(
            format(t, DtKind::Utc, None, "yyyy-MM-dd'T'HH:mm").unwrap(),
            "2024-01-05T07:08"
        );
        assert_eq!(
            format(t, DtKind::Unspecified, Some(120), "zzz").unwrap(),
            "+02:00"
        );
        assert!(format(t, DtKind::Utc, None, "Q").is_err());
    }

    #[test]
    fn iso_parsing() {
        let (t, off) = parse_iso("2024-01-05T07:08:09.5+02:00").unwrap();
        assert_eq!(off, Some(120));
        assert_eq!(t % TICKS_PER_SECOND, 5_000_000);
        assert!(parse_iso("yesterday").is_none());
    }
}
