//! The names in a client certificate, read once per connection: subject and issuer as
//! attribute lists (for `validate-client-certificate`'s `subject`, `issuer-subject` and
//! `common-name`) and in the text form .NET's `X509Certificate2.Subject` prints (for
//! `context.Request.Certificate`), and the DNS names of the subject alternative names.

use portico_policy::policies::attribute_type_of_oid;
use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::{GeneralName, X509Certificate, X509Name};

/// `(type, value)` attributes in the certificate's order, types as .NET names them.
pub type Attributes = Vec<(String, String)>;

/// What a client certificate is called.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub subject: Attributes,
    pub issuer: Attributes,
    pub dns_names: Vec<String>,
}

impl Names {
    pub fn of(cert: &X509Certificate<'_>) -> Self {
        let dns_names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            subject: attributes(cert.subject()),
            issuer: attributes(cert.issuer()),
            dns_names,
        }
    }
}

fn attributes(name: &X509Name<'_>) -> Attributes {
    name.iter_rdn()
        .flat_map(|rdn| rdn.iter())
        .map(|attr| {
            let kind = attribute_type_of_oid(&attr.attr_type().to_id_string());
            let value = match attr.as_str() {
                Ok(text) => text.to_owned(),
                Err(_) => other_string(attr.attr_value().tag(), attr.as_slice()),
            };
            (kind, value)
        })
        .collect()
}

/// Directory strings other than the UTF-8-compatible ones: BMPString is UTF-16, anything
/// else (T61String in old certificates) is read byte for byte as Latin-1.
fn other_string(tag: Tag, bytes: &[u8]) -> String {
    if tag == Tag::BmpString {
        let units: Vec<u16> = bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The name as .NET prints it: most specific attribute first (`CN=…, O=…, C=…`), values
/// with separators or edge spaces quoted and their quotes doubled.
pub fn dotnet_text(attributes: &[(String, String)]) -> String {
    let special = |v: &str| {
        v.is_empty()
            || v.starts_with(' ')
            || v.ends_with(' ')
            || v.contains([',', '+', '=', '"', '\n', '<', '>', '#', ';'])
    };
    attributes
        .iter()
        .rev()
        .map(|(kind, value)| {
            if special(value) {
                format!("{kind}=\"{}\"", value.replace('"', "\"\""))
            } else {
                format!("{kind}={value}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotnet_prints_the_most_specific_attribute_first_and_quotes_separators() {
        let attributes = vec![
            ("C".to_owned(), "US".to_owned()),
            ("O".to_owned(), "Contoso, Inc.".to_owned()),
            ("CN".to_owned(), "say \"hi\"".to_owned()),
        ];
        assert_eq!(
            dotnet_text(&attributes),
            r#"CN="say ""hi""", O="Contoso, Inc.", C=US"#
        );
    }

    #[test]
    fn reads_types_values_and_dns_names_of_a_certificate() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["api.example.com".to_owned()]).unwrap();
        params
            .subject_alt_names
            .push(rcgen::SanType::IpAddress([10, 0, 0, 1].into()));
        params.distinguished_name = rcgen::DistinguishedName::new();
        let dn = &mut params.distinguished_name;
        dn.push(rcgen::DnType::CountryName, "NL");
        dn.push(rcgen::DnType::StateOrProvinceName, "Utrecht");
        dn.push(rcgen::DnType::OrganizationName, "Contoso, Inc.");
        dn.push(rcgen::DnType::CommonName, "Client 01");
        let cert = params.self_signed(&key).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).unwrap();
        let names = Names::of(&parsed);
        let pairs: Vec<(&str, &str)> = names
            .subject
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("C", "NL"),
                ("S", "Utrecht"),
                ("O", "Contoso, Inc."),
                ("CN", "Client 01")
            ]
        );
        assert_eq!(names.issuer, names.subject, "self-signed");
        assert_eq!(
            names.dns_names,
            ["api.example.com"],
            "IP addresses are not DNS names"
        );
    }
}
