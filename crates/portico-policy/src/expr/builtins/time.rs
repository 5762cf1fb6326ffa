//! DateTime, DateTimeOffset and TimeSpan members: `UtcNow` (from the context's clock),
//! `AddMinutes` and friends, `ToString(format)`, `ToUnixTimeSeconds`, `TotalSeconds`, parsing.

use super::super::convert::{need_f64, need_i64, need_str};
use super::super::error::EvalError;
use super::super::eval::Eval;
use super::super::time::{
    self as t, DateTime, DateTimeOffset, DtKind, TimeSpan, MAX_TICKS, TICKS_PER_DAY,
    TICKS_PER_SECOND, UNIX_EPOCH_TICKS,
};
use super::super::types::Ty;
use super::super::value::Value;
use super::{Call, Found};

fn range(ticks: Option<i64>) -> Result<i64, EvalError> {
    ticks
        .filter(|t| (0..=MAX_TICKS).contains(t))
        .ok_or_else(|| EvalError::msg("the date is outside the range DateTime can represent"))
}

pub fn static_prop(ev: &mut Eval<'_>, class: &str, name: &str) -> Option<Value> {
    let mut now = || ev.ctx.now();
    Some(match (class, name) {
        ("DateTime", "UtcNow") => Value::DateTime(DateTime {
            ticks: now().ticks,
            kind: DtKind::Utc,
        }),
        // Portico's gateways keep time in UTC; "local" time is UTC.
        ("DateTime", "Now") => Value::DateTime(DateTime {
            ticks: now().ticks,
            kind: DtKind::Local,
        }),
        ("DateTime", "Today") => {
            let ticks = now().ticks;
            Value::DateTime(DateTime {
                ticks: ticks - ticks % TICKS_PER_DAY,
                kind: DtKind::Local,
            })
        }
        ("DateTime", "MinValue") => Value::DateTime(DateTime::default()),
        ("DateTime", "MaxValue") => Value::DateTime(DateTime {
            ticks: MAX_TICKS,
            kind: DtKind::Unspecified,
        }),
        ("DateTime", "UnixEpoch") => Value::DateTime(DateTime {
            ticks: UNIX_EPOCH_TICKS,
            kind: DtKind::Utc,
        }),
        ("DateTimeOffset", "UtcNow" | "Now") => Value::DateTimeOffset(DateTimeOffset {
            ticks: now().ticks,
            offset_minutes: 0,
        }),
        ("DateTimeOffset", "MinValue") => Value::DateTimeOffset(DateTimeOffset::default()),
        ("DateTimeOffset", "MaxValue") => Value::DateTimeOffset(DateTimeOffset {
            ticks: MAX_TICKS,
            offset_minutes: 0,
        }),
        ("DateTimeOffset", "UnixEpoch") => Value::DateTimeOffset(DateTimeOffset {
            ticks: UNIX_EPOCH_TICKS,
            offset_minutes: 0,
        }),
        ("TimeSpan", "Zero") => Value::TimeSpan(TimeSpan(0)),
        ("TimeSpan", "MaxValue") => Value::TimeSpan(TimeSpan(i64::MAX)),
        ("TimeSpan", "MinValue") => Value::TimeSpan(TimeSpan(i64::MIN)),
        _ => return None,
    })
}

fn parse_dt(s: &str, offset_type: bool) -> Option<Value> {
    let (ticks, off) = t::parse_iso(s)?;
    Some(if offset_type {
        Value::DateTimeOffset(DateTimeOffset {
            ticks,
            offset_minutes: off.unwrap_or(0),
        })
    } else {
        match off {
            Some(o) => Value::DateTime(DateTime {
                ticks: ticks - i64::from(o) * 60 * TICKS_PER_SECOND,
                kind: DtKind::Utc,
            }),
            None => Value::DateTime(DateTime {
                ticks,
                kind: DtKind::Unspecified,
            }),
        }
    })
}

fn parse_span(s: &str) -> Option<TimeSpan> {
    let (neg, s) = match s.trim().strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.trim()),
    };
    let (days, rest) = match s.split_once('.') {
        Some((d, r)) if !d.contains(':') => (d.parse::<i64>().ok()?, r),
        _ => (0, s),
    };
    let mut parts = rest.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: f64 = parts.next().unwrap_or("0").parse().ok()?;
    let ticks = (days * 86_400 + h * 3600 + m * 60) * TICKS_PER_SECOND
        + (sec * TICKS_PER_SECOND as f64) as i64;
    Some(TimeSpan(if neg { -ticks } else { ticks }))
}

fn span(units: f64, per: f64) -> Result<Value, EvalError> {
    let ticks = units * per;
    if !ticks.is_finite() || ticks.abs() > i64::MAX as f64 {
        return Err(EvalError::msg("the TimeSpan is too large"));
    }
    Ok(Value::TimeSpan(TimeSpan(ticks as i64)))
}

pub fn static_call(ev: &mut Eval<'_>, class: &str, call: &mut Call<'_>) -> Found {
    let _ = ev;
    let sec = TICKS_PER_SECOND as f64;
    Ok(Some(match (class, call.name) {
        ("DateTime" | "DateTimeOffset", "Parse") => {
            let s = need_str(call.arg(0), "the date")?;
            parse_dt(&s, class == "DateTimeOffset")
                .ok_or_else(|| EvalError::msg(format!("\"{s}\" is not an ISO 8601 date")))?
        }
        ("DateTime" | "DateTimeOffset", "TryParse") => {
            let parsed = match call.arg(0) {
                Value::Str(s) => parse_dt(s, class == "DateTimeOffset"),
                _ => None,
            };
            let ok = parsed.is_some();
            call.args[1] = parsed.unwrap_or(Value::DateTime(DateTime::default()));
            Value::Bool(ok)
        }
        ("DateTimeOffset", "FromUnixTimeSeconds" | "FromUnixTimeMilliseconds") => {
            let n = need_i64(call.arg(0), "the Unix time")?;
            let per = if call.name == "FromUnixTimeSeconds" {
                TICKS_PER_SECOND
            } else {
                TICKS_PER_SECOND / 1000
            };
            let ticks = range(
                n.checked_mul(per)
                    .and_then(|x| x.checked_add(UNIX_EPOCH_TICKS)),
            )?;
            Value::DateTimeOffset(DateTimeOffset {
                ticks,
                offset_minutes: 0,
            })
        }
        ("TimeSpan", "FromDays") => span(need_f64(call.arg(0), "days")?, 86_400.0 * sec)?,
        ("TimeSpan", "FromHours") => span(need_f64(call.arg(0), "hours")?, 3600.0 * sec)?,
        ("TimeSpan", "FromMinutes") => span(need_f64(call.arg(0), "minutes")?, 60.0 * sec)?,
        ("TimeSpan", "FromSeconds") => span(need_f64(call.arg(0), "seconds")?, sec)?,
        ("TimeSpan", "FromMilliseconds") => {
            span(need_f64(call.arg(0), "milliseconds")?, sec / 1000.0)?
        }
        ("TimeSpan", "FromTicks") => Value::TimeSpan(TimeSpan(need_i64(call.arg(0), "ticks")?)),
        ("TimeSpan", "Parse") => {
            let s = need_str(call.arg(0), "the time span")?;
            Value::TimeSpan(
                parse_span(&s)
                    .ok_or_else(|| EvalError::msg(format!("\"{s}\" is not a TimeSpan")))?,
            )
        }
        _ => return Ok(None),
    }))
}

pub fn construct(ty: &Ty, args: &[Value]) -> Result<Value, EvalError> {
    let n = |i: usize| -> Result<i64, EvalError> {
        args.get(i).map_or(Ok(0), |v| need_i64(v, "the date part"))
    };
    match ty {
        Ty::DateTime if args.len() >= 3 => {
            let part = |i: usize| n(i).map(|v| v as u32);
            let ticks = t::ticks_of(n(0)?, part(1)?, part(2)?, part(3)?, part(4)?, part(5)?)
                .ok_or_else(|| EvalError::msg("new DateTime(…): a date part is out of range"))?;
            let ms = n(6)?;
            Ok(Value::DateTime(DateTime {
                ticks: ticks + ms * (TICKS_PER_SECOND / 1000),
                kind: DtKind::Unspecified,
            }))
        }
        Ty::DateTime if args.len() == 1 => Ok(Value::DateTime(DateTime {
            ticks: range(Some(n(0)?))?,
            kind: DtKind::Unspecified,
        })),
        Ty::DateTimeOffset => match args.first() {
            Some(Value::DateTime(d)) => Ok(Value::DateTimeOffset(DateTimeOffset {
                ticks: d.ticks,
                offset_minutes: 0,
            })),
            _ => Err(EvalError::msg("new DateTimeOffset(…) takes a DateTime")),
        },
        Ty::TimeSpan => {
            let secs = match args.len() {
                1 => return Ok(Value::TimeSpan(TimeSpan(n(0)?))),
                3 => n(0)? * 3600 + n(1)? * 60 + n(2)?,
                4 | 5 => n(0)? * 86_400 + n(1)? * 3600 + n(2)? * 60 + n(3)?,
                _ => {
                    return Err(EvalError::msg(
                        "new TimeSpan(…) takes ticks, (h, m, s) or (d, h, m, s)",
                    ))
                }
            };
            Ok(Value::TimeSpan(TimeSpan(
                secs * TICKS_PER_SECOND + n(4)? * (TICKS_PER_SECOND / 1000),
            )))
        }
        _ => Err(EvalError::msg(format!(
            "new {ty}(…) with {} arguments is not supported",
            args.len()
        ))),
    }
}

pub fn member(v: &Value, name: &str) -> Option<Value> {
    if let Value::TimeSpan(TimeSpan(ticks)) = v {
        let tf = *ticks as f64;
        let s = TICKS_PER_SECOND as f64;
        return Some(match name {
            "Ticks" => Value::Long(*ticks),
            "TotalDays" => Value::Double(tf / (86_400.0 * s)),
            "TotalHours" => Value::Double(tf / (3600.0 * s)),
            "TotalMinutes" => Value::Double(tf / (60.0 * s)),
            "TotalSeconds" => Value::Double(tf / s),
            "TotalMilliseconds" => Value::Double(tf / (s / 1000.0)),
            "Days" => Value::Int((ticks / TICKS_PER_DAY) as i32),
            "Hours" => Value::Int((ticks / (3600 * TICKS_PER_SECOND) % 24) as i32),
            "Minutes" => Value::Int((ticks / (60 * TICKS_PER_SECOND) % 60) as i32),
            "Seconds" => Value::Int((ticks / TICKS_PER_SECOND % 60) as i32),
            "Milliseconds" => Value::Int((ticks / (TICKS_PER_SECOND / 1000) % 1000) as i32),
            _ => return None,
        });
    }
    let (ticks, kind, offset) = match v {
        Value::DateTime(d) => (d.ticks, d.kind, None),
        Value::DateTimeOffset(d) => (d.ticks, DtKind::Unspecified, Some(d.offset_minutes)),
        _ => return None,
    };
    let f = t::fields(ticks);
    Some(match name {
        "Year" => Value::Int(f.year as i32),
        "Month" => Value::Int(f.month as i32),
        "Day" => Value::Int(f.day as i32),
        "Hour" => Value::Int(f.hour as i32),
        "Minute" => Value::Int(f.minute as i32),
        "Second" => Value::Int(f.second as i32),
        "Millisecond" => Value::Int((f.fraction / 10_000) as i32),
        "DayOfWeek" => Value::Enum(
            "DayOfWeek",
            [
                "Sunday",
                "Monday",
                "Tuesday",
                "Wednesday",
                "Thursday",
                "Friday",
                "Saturday",
            ][f.weekday as usize],
        ),
        "DayOfYear" => Value::Int(
            (t::days_from_civil(f.year, f.month, f.day) - t::days_from_civil(f.year, 1, 1) + 1)
                as i32,
        ),
        "Ticks" => Value::Long(ticks),
        "TimeOfDay" => Value::TimeSpan(TimeSpan(ticks % TICKS_PER_DAY)),
        "Date" => Value::DateTime(DateTime {
            ticks: ticks - ticks % TICKS_PER_DAY,
            kind,
        }),
        "Kind" => Value::Enum(
            "DateTimeKind",
            match kind {
                DtKind::Utc => "Utc",
                DtKind::Local => "Local",
                DtKind::Unspecified => "Unspecified",
            },
        ),
        "Offset" => Value::TimeSpan(TimeSpan(
            i64::from(offset.unwrap_or(0)) * 60 * TICKS_PER_SECOND,
        )),
        "UtcDateTime" => Value::DateTime(DateTime {
            ticks: ticks - i64::from(offset.unwrap_or(0)) * 60 * TICKS_PER_SECOND,
            kind: DtKind::Utc,
        }),
        "DateTime" | "LocalDateTime" => Value::DateTime(DateTime {
            ticks,
            kind: DtKind::Unspecified,
        }),
        _ => return None,
    })
}

pub fn method(v: &Value, call: &mut Call<'_>) -> Found {
    let arg = call.arg(0);
    let unit = |per: f64| -> Result<i64, EvalError> {
        let x = need_f64(arg, "the amount")? * per;
        if !x.is_finite() || x.abs() > MAX_TICKS as f64 {
            return Err(EvalError::msg(
                "the date is outside the range DateTime can represent",
            ));
        }
        Ok(x.round() as i64)
    };
    let s = TICKS_PER_SECOND as f64;
    let (ticks, rebuild): (i64, Box<dyn Fn(i64) -> Value>) = match v {
        Value::DateTime(d) => {
            let kind = d.kind;
            (
                d.ticks,
                Box::new(move |t| Value::DateTime(DateTime { ticks: t, kind })),
            )
        }
        Value::DateTimeOffset(d) => {
            let o = d.offset_minutes;
            (
                d.ticks,
                Box::new(move |t| {
                    Value::DateTimeOffset(DateTimeOffset {
                        ticks: t,
                        offset_minutes: o,
                    })
                }),
            )
        }
        Value::TimeSpan(ts) => {
            return Ok(Some(match call.name {
                "Add" | "Subtract" => match arg {
                    Value::TimeSpan(o) => Value::TimeSpan(TimeSpan(if call.name == "Add" {
                        ts.0.wrapping_add(o.0)
                    } else {
                        ts.0.wrapping_sub(o.0)
                    })),
                    _ => return Err(EvalError::msg("TimeSpan.Add takes a TimeSpan")),
                },
                "ToString" if call.args.is_empty() => Value::str(ts.display()),
                _ => return Ok(None),
            }))
        }
        _ => return Ok(None),
    };
    let shifted =
        |delta: i64| -> Result<Value, EvalError> { Ok(rebuild(range(ticks.checked_add(delta))?)) };
    Ok(Some(match call.name {
        "AddTicks" => shifted(need_i64(arg, "ticks")?)?,
        "AddMilliseconds" => shifted(unit(s / 1000.0)?)?,
        "AddSeconds" => shifted(unit(s)?)?,
        "AddMinutes" => shifted(unit(60.0 * s)?)?,
        "AddHours" => shifted(unit(3600.0 * s)?)?,
        "AddDays" => shifted(unit(86_400.0 * s)?)?,
        "AddMonths" | "AddYears" => {
            let n = need_i64(arg, "the amount")?;
            let months = if call.name == "AddYears" {
                n.saturating_mul(12)
            } else {
                n
            };
            rebuild(range(t::add_months(ticks, months))?)
        }
        "Add" => match arg {
            Value::TimeSpan(o) => shifted(o.0)?,
            _ => return Err(EvalError::msg("Add takes a TimeSpan")),
        },
        "Subtract" => match (v, arg) {
            (_, Value::TimeSpan(o)) => shifted(-o.0)?,
            (Value::DateTime(_), Value::DateTime(o)) => Value::TimeSpan(TimeSpan(ticks - o.ticks)),
            _ => return Err(EvalError::msg("Subtract takes a TimeSpan or a DateTime")),
        },
        "ToUniversalTime" | "ToLocalTime" => match v {
            Value::DateTime(d) => Value::DateTime(DateTime {
                ticks: d.ticks,
                kind: if call.name == "ToUniversalTime" {
                    DtKind::Utc
                } else {
                    DtKind::Local
                },
            }),
            other => other.clone(),
        },
        "ToUnixTimeSeconds" | "ToUnixTimeMilliseconds" => {
            let utc = match v {
                Value::DateTimeOffset(d) => {
                    d.ticks - i64::from(d.offset_minutes) * 60 * TICKS_PER_SECOND
                }
                _ => ticks,
            };
            let per = if call.name == "ToUnixTimeSeconds" {
                TICKS_PER_SECOND
            } else {
                TICKS_PER_SECOND / 1000
            };
            Value::Long((utc - UNIX_EPOCH_TICKS).div_euclid(per))
        }
        "ToString" => Value::str(format(
            v,
            &match arg {
                Value::Null => String::new(),
                other => need_str(other, "the format")?.to_string(),
            },
        )?),
        _ => return Ok(None),
    }))
}

pub fn format(v: &Value, fmt: &str) -> Result<String, EvalError> {
    match v {
        Value::DateTime(d) => t::format(d.ticks, d.kind, None, fmt),
        Value::DateTimeOffset(d) => t::format(
            d.ticks,
            DtKind::Unspecified,
            Some(d.offset_minutes),
            if fmt.is_empty() {
                "MM/dd/yyyy HH:mm:ss zzz"
            } else {
                fmt
            },
        ),
        other => Ok(super::super::convert::to_string(other)),
    }
    .map_err(EvalError::msg)
}
