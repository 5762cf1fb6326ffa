//! Distinguished names as `validate-client-certificate` writes them (`subject`,
//! `issuer-subject`): `CN=Client, O="Contoso, Inc.", C=US`, in the order .NET prints them or
//! in the certificate's own order. Attribute types are reduced to the short names .NET uses
//! (`S` for `ST`, `E` for `emailAddress`, `OID.1.2.3` for the rest), so the policy's text and
//! a certificate's attributes compare type by type; values compare ignoring case and the
//! spaces around them, as RFC 5280's name matching does for the common string types.

use std::fmt;

/// A distinguished name: `(type, value)` attributes in the order written, types in their
/// .NET short form. Multi-valued RDNs (`+`) are flattened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinguishedName(pub Vec<(String, String)>);

/// Known attribute types: the .NET short name, the names policies may use for it, its OID.
const TYPES: &[(&str, &[&str], &str)] = &[
    ("CN", &["CN", "COMMONNAME"], "2.5.4.3"),
    ("SN", &["SN", "SURNAME"], "2.5.4.4"),
    ("SERIALNUMBER", &["SERIALNUMBER"], "2.5.4.5"),
    ("C", &["C", "COUNTRYNAME"], "2.5.4.6"),
    ("L", &["L", "LOCALITYNAME"], "2.5.4.7"),
    ("S", &["S", "ST", "STATEORPROVINCENAME"], "2.5.4.8"),
    ("STREET", &["STREET", "STREETADDRESS"], "2.5.4.9"),
    ("O", &["O", "ORGANIZATIONNAME"], "2.5.4.10"),
    ("OU", &["OU", "ORGANIZATIONALUNITNAME"], "2.5.4.11"),
    ("T", &["T", "TITLE"], "2.5.4.12"),
    ("G", &["G", "GN", "GIVENNAME"], "2.5.4.42"),
    ("I", &["I", "INITIALS"], "2.5.4.43"),
    ("E", &["E", "EMAIL", "EMAILADDRESS"], "1.2.840.113549.1.9.1"),
    (
        "DC",
        &["DC", "DOMAINCOMPONENT"],
        "0.9.2342.19200300.100.1.25",
    ),
];

/// The .NET short name of the attribute type with this dotted OID (`2.5.4.3` → `CN`), or
/// `OID.<oid>` for types .NET has no name for.
pub fn attribute_type_of_oid(oid: &str) -> String {
    TYPES
        .iter()
        .find(|(_, _, o)| *o == oid)
        .map_or_else(|| format!("OID.{oid}"), |(short, _, _)| (*short).to_owned())
}

/// The short name of a type as a policy writes it, `None` when it is neither a known name
/// nor an OID.
fn attribute_type(name: &str) -> Option<String> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some((short, _, _)) = TYPES.iter().find(|(_, names, _)| names.contains(&&*upper)) {
        return Some((*short).to_owned());
    }
    let oid = upper.strip_prefix("OID.").unwrap_or(&upper);
    let dotted = oid.split('.').count() > 1
        && oid
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
    dotted.then(|| attribute_type_of_oid(oid))
}

fn comparable(value: &str) -> String {
    value.trim().to_lowercase()
}

impl DistinguishedName {
    /// Reads `CN=a, O="b, c", C=d`. Separators are `,`, `;` and `+`; a value may be quoted
    /// (`""` or `\"` inside for a quote) or use backslash escapes (`\,`, `\2C`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut attributes = Vec::new();
        let mut rest = text.trim_start();
        if rest.is_empty() {
            return Err("the distinguished name is empty".into());
        }
        loop {
            let Some((name, after)) = rest.split_once('=') else {
                return Err(format!(
                    "`{}` has no `=`: write attributes as TYPE=value, such as CN=name",
                    rest.trim()
                ));
            };
            let kind = attribute_type(name).ok_or_else(|| {
                format!(
                    "`{}` is not an attribute type: use CN, O, OU, L, S, C, E, DC, STREET, T, G, I, SN, SERIALNUMBER or OID.n.n",
                    name.trim()
                )
            })?;
            let (value, after) = read_value(after.trim_start())?;
            attributes.push((kind, value));
            let after = after.trim_start();
            match after.chars().next() {
                None => break,
                Some(',' | ';' | '+') => rest = after[1..].trim_start(),
                Some(c) => return Err(format!("unexpected `{c}` after a quoted value")),
            }
        }
        Ok(Self(attributes))
    }

    /// Whether a certificate's name (attributes in the certificate's order, types from
    /// [`attribute_type_of_oid`]) is this one, written in either order.
    pub fn matches(&self, certificate: &[(String, String)]) -> bool {
        let same = |(a, b): (&(String, String), &(String, String))| {
            a.0 == b.0 && comparable(&a.1) == comparable(&b.1)
        };
        self.0.len() == certificate.len()
            && (self.0.iter().zip(certificate).all(same)
                || self.0.iter().rev().zip(certificate).all(same))
    }
}

/// One value and the text after it.
fn read_value(text: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = quoted.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' if matches!(chars.peek(), Some((_, '"'))) => {
                    chars.next();
                    value.push('"');
                }
                '"' => return Ok((value, &quoted[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, escaped)) => value.push(escaped),
                    None => break,
                },
                c => value.push(c),
            }
        }
        return Err(format!("the quoted value \"{quoted} is not closed"));
    }
    let mut bytes = Vec::new();
    let mut end = text.len();
    let mut iter = text.char_indices();
    while let Some((i, c)) = iter.next() {
        match c {
            ',' | ';' | '+' => {
                end = i;
                break;
            }
            '\\' => {
                let rest = &text[i + 1..];
                let hex = rest
                    .get(..2)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
                if let Some(hex) = hex {
                    bytes.push(u8::from_str_radix(hex, 16).unwrap_or_default());
                    iter.nth(1);
                } else if let Some((_, escaped)) = iter.next() {
                    let mut buf = [0; 4];
                    bytes.extend_from_slice(escaped.encode_utf8(&mut buf).as_bytes());
                } else {
                    return Err("a distinguished name cannot end with `\\`".into());
                }
            }
            c => {
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    let value = String::from_utf8(bytes)
        .map_err(|_| "a `\\hh` escape in the distinguished name is not UTF-8".to_owned())?;
    Ok((value.trim_end().to_owned(), &text[end..]))
}

impl fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (kind, value)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{kind}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(dn: &DistinguishedName) -> Vec<(&str, &str)> {
        dn.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn reads_quoted_escaped_and_aliased_attributes() {
        let dn = DistinguishedName::parse(
            r#"C=US, ST=Illinois; O="Contoso, Inc." + OU=a\,b, emailAddress=x@y, OID.2.5.4.3=*.contoso.com, 1.2.3=\41z"#,
        )
        .unwrap();
        assert_eq!(
            pairs(&dn),
            [
                ("C", "US"),
                ("S", "Illinois"),
                ("O", "Contoso, Inc."),
                ("OU", "a,b"),
                ("E", "x@y"),
                ("CN", "*.contoso.com"),
                ("OID.1.2.3", "Az"),
            ]
        );
        let quotes = DistinguishedName::parse(r#"CN="say ""hi""""#).unwrap();
        assert_eq!(pairs(&quotes), [("CN", r#"say "hi""#)]);
    }

    #[test]
    fn refuses_what_is_not_a_name() {
        for (text, why) in [
            ("", "empty"),
            ("Client 01", "no `=`"),
            ("XX=1", "not an attribute type"),
            ("CN=\"open", "not closed"),
            ("CN=\"a\" b", "unexpected `b`"),
            ("CN=a\\", "cannot end"),
        ] {
            let e = DistinguishedName::parse(text).unwrap_err();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn matches_in_either_order_ignoring_case_but_not_extra_attributes() {
        let cert = vec![
            ("C".to_owned(), "US".to_owned()),
            ("O".to_owned(), "Contoso, Inc.".to_owned()),
            ("CN".to_owned(), "Client 01".to_owned()),
        ];
        let dn = |t: &str| DistinguishedName::parse(t).unwrap();
        assert!(dn(r#"CN=client 01, O="Contoso, Inc.", C=US"#).matches(&cert));
        assert!(dn(r#"C=US; O="CONTOSO, INC."; CN=Client 01"#).matches(&cert));
        assert!(!dn("CN=Client 01").matches(&cert));
        assert!(!dn(r#"CN=Client 01, O="Contoso, Inc.", C=GB"#).matches(&cert));
        assert!(!dn(r#"O="Contoso, Inc.", CN=Client 01, C=US"#).matches(&cert));
    }
}
