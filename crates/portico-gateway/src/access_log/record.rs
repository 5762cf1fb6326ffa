//! One access-log record and its JSON line. The line is written by hand rather than through
//! serde: it is built for every request, and a direct writer with a no-escape fast path and a
//! per-thread cache of the formatted second costs a fraction of a generic serializer.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One access-log record. Never holds a subscription key or a query string.
#[derive(Debug)]
pub struct AccessRecord<'a> {
    pub time: SystemTime,
    pub request_id: &'a str,
    /// The client address as text.
    pub client_ip: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub api: Option<&'a str>,
    pub operation: Option<&'a str>,
    pub product: Option<&'a str>,
    pub subscription: Option<&'a str>,
    pub duration: Duration,
    pub backend: Option<Duration>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub error: Option<&'static str>,
}

impl AccessRecord<'_> {
    /// The record as one JSON object followed by a newline.
    pub fn to_json_line(&self) -> String {
        let mut out = String::with_capacity(320);
        out.push_str("{\"time\":\"");
        push_time(&mut out, self.time);
        out.push('"');
        field_str(&mut out, "requestId", self.request_id);
        field_str(&mut out, "clientIp", self.client_ip);
        field_str(&mut out, "method", self.method);
        field_str(&mut out, "path", self.path);
        field_u64(&mut out, "status", u64::from(self.status));
        field_opt_str(&mut out, "api", self.api);
        field_opt_str(&mut out, "operation", self.operation);
        field_opt_str(&mut out, "product", self.product);
        field_opt_str(&mut out, "subscription", self.subscription);
        key(&mut out, "durationMs");
        push_millis(&mut out, self.duration);
        key(&mut out, "backendMs");
        match self.backend {
            Some(d) => push_millis(&mut out, d),
            None => out.push_str("null"),
        }
        field_u64(&mut out, "bytesIn", self.bytes_in);
        field_u64(&mut out, "bytesOut", self.bytes_out);
        field_opt_str(&mut out, "error", self.error);
        out.push_str("}\n");
        out
    }
}

fn key(out: &mut String, name: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
}

fn field_str(out: &mut String, name: &str, value: &str) {
    key(out, name);
    push_json_string(out, value);
}

fn field_opt_str(out: &mut String, name: &str, value: Option<&str>) {
    key(out, name);
    match value {
        Some(v) => push_json_string(out, v),
        None => out.push_str("null"),
    }
}

fn field_u64(out: &mut String, name: &str, value: u64) {
    key(out, name);
    out.push_str(itoa::Buffer::new().format(value));
}

/// Milliseconds with microsecond precision, as a JSON number (`1.234`).
fn push_millis(out: &mut String, d: Duration) {
    let micros = d.as_micros();
    out.push_str(itoa::Buffer::new().format(micros / 1000));
    let frac = (micros % 1000) as u16;
    out.push('.');
    out.push(char::from(b'0' + (frac / 100) as u8));
    out.push(char::from(b'0' + (frac / 10 % 10) as u8));
    out.push(char::from(b'0' + (frac % 10) as u8));
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push_str(s);
    } else {
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if (c as u32) < 0x20 => {
                    out.push_str("\\u00");
                    out.push(char::from(b"0123456789abcdef"[(c as usize) >> 4]));
                    out.push(char::from(b"0123456789abcdef"[(c as usize) & 0xf]));
                }
                c => out.push(c),
            }
        }
    }
    out.push('"');
}

thread_local! {
    /// The last second formatted on this thread: `YYYY-MM-DDTHH:MM:SS`.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// RFC 3339 in UTC with milliseconds: `2026-11-27T14:24:37.690Z`.
fn push_time(out: &mut String, t: SystemTime) {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != secs {
            *cached = secs;
            *text = format_second(secs);
        }
        out.push_str(text);
    });
    let ms = since.subsec_millis();
    out.push('.');
    out.push(char::from(b'0' + (ms / 100) as u8));
    out.push(char::from(b'0' + (ms / 10 % 10) as u8));
    out.push(char::from(b'0' + (ms % 10) as u8));
    out.push('Z');
}

fn format_second(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str) -> AccessRecord<'_> {
        AccessRecord {
            time: UNIX_EPOCH + Duration::from_millis(1_795_790_677_690),
            request_id: "abc",
            client_ip: "127.0.0.1",
            method: "GET",
            path,
            status: 200,
            api: Some("echo"),
            operation: None,
            product: None,
            subscription: Some("s1"),
            duration: Duration::from_micros(1_234),
            backend: None,
            bytes_in: 0,
            bytes_out: 1024,
            error: None,
        }
    }

    #[test]
    fn lines_are_valid_json_with_every_field() {
        let line = record("/a\"b\\c\u{1}é").to_json_line();
        assert!(line.ends_with('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["path"], "/a\"b\\c\u{1}é");
        assert_eq!(v["durationMs"], 1.234);
        assert_eq!(v["backendMs"], serde_json::Value::Null);
        assert_eq!(v["bytesOut"], 1024);
        assert_eq!(v["api"], "echo");
        assert_eq!(v.as_object().unwrap().len(), 15);
    }

    #[test]
    fn time_matches_rfc3339() {
        for ms in [0u64, 951_782_400_000, 1_795_790_677_690, 4_102_444_799_999] {
            let t = UNIX_EPOCH + Duration::from_millis(ms);
            let mut out = String::new();
            push_time(&mut out, t);
            assert_eq!(out, humantime::format_rfc3339_millis(t).to_string());
        }
    }
}
