//! Kii's sign-in guide accepts `PHONE:{country}-{local number}` (e.g. `PHONE:JP-9012341234`)
//! besides the international form. Such a name can denote two stored numbers: the international
//! one (`+819012341234`, when the country's calling code is known) and the local one as it was
//! registered with that `country`.

use kumo_storage::UserKey;

/// Calling codes of the countries Kii served and of the larger markets; a country missing here
/// still matches users registered with a local number and that country.
const CALLING_CODES: &[(&str, &str)] = &[
    ("AR", "54"),
    ("AU", "61"),
    ("AT", "43"),
    ("BE", "32"),
    ("BR", "55"),
    ("CA", "1"),
    ("CH", "41"),
    ("CL", "56"),
    ("CN", "86"),
    ("CO", "57"),
    ("CZ", "420"),
    ("DE", "49"),
    ("DK", "45"),
    ("ES", "34"),
    ("FI", "358"),
    ("FR", "33"),
    ("GB", "44"),
    ("GR", "30"),
    ("HK", "852"),
    ("ID", "62"),
    ("IE", "353"),
    ("IL", "972"),
    ("IN", "91"),
    ("IT", "39"),
    ("JP", "81"),
    ("KR", "82"),
    ("MX", "52"),
    ("MY", "60"),
    ("NL", "31"),
    ("NO", "47"),
    ("NZ", "64"),
    ("PH", "63"),
    ("PL", "48"),
    ("PT", "351"),
    ("RU", "7"),
    ("SE", "46"),
    ("SG", "65"),
    ("TH", "66"),
    ("TR", "90"),
    ("TW", "886"),
    ("US", "1"),
    ("VN", "84"),
    ("ZA", "27"),
];

/// A `{country}-{local}` phone login, split.
#[derive(Debug, PartialEq, Eq)]
pub struct LocalPhone<'a> {
    pub country: &'a str,
    pub local: &'a str,
}

impl<'a> LocalPhone<'a> {
    /// The part after `PHONE:`, when it has the two-letter country form.
    pub fn parse(value: &'a str) -> Option<Self> {
        let (country, local) = value.split_once('-')?;
        let ok = country.len() == 2
            && country.bytes().all(|b| b.is_ascii_alphabetic())
            && !local.is_empty()
            && local.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        ok.then_some(LocalPhone { country, local })
    }

    /// The number in international form, if the country's calling code is known: the local
    /// number's trunk prefix `0` is dropped, as dialling from abroad does.
    pub fn international(&self) -> Option<String> {
        let code = CALLING_CODES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(self.country))?
            .1;
        let digits: String = self.local.chars().filter(char::is_ascii_digit).collect();
        Some(format!("+{code}{}", digits.trim_start_matches('0')))
    }

    /// The stored numbers this login may denote, international form first. A user found by
    /// the local number must also have registered this country ([`Self::admits_country`]).
    pub fn keys(&self) -> Vec<UserKey> {
        let mut keys = Vec::with_capacity(2);
        if let Some(intl) = self.international() {
            keys.push(UserKey::Phone(intl));
        }
        keys.push(UserKey::Phone(self.local.to_owned()));
        keys
    }

    pub fn admits_country(&self, key: &UserKey, country: Option<&str>) -> bool {
        match key {
            UserKey::Phone(p) if p.starts_with('+') => true,
            _ => country.is_some_and(|c| c.eq_ignore_ascii_case(self.country)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn country_forms() {
        let p = LocalPhone::parse("JP-9012341234").unwrap();
        assert_eq!(p.international().as_deref(), Some("+819012341234"));
        let p = LocalPhone::parse("jp-09012341234").unwrap();
        assert_eq!(p.international().as_deref(), Some("+819012341234"));
        assert_eq!(
            p.keys(),
            vec![
                UserKey::Phone("+819012341234".into()),
                UserKey::Phone("09012341234".into())
            ]
        );
        assert!(p.admits_country(&UserKey::Phone("09012341234".into()), Some("JP")));
        assert!(!p.admits_country(&UserKey::Phone("09012341234".into()), Some("US")));
        assert!(!p.admits_country(&UserKey::Phone("09012341234".into()), None));
        // Unknown country: only the local number.
        let p = LocalPhone::parse("ZZ-123456").unwrap();
        assert_eq!(p.keys(), vec![UserKey::Phone("123456".into())]);
        assert_eq!(LocalPhone::parse("+819012341234"), None);
        assert_eq!(LocalPhone::parse("JPN-123"), None);
        assert_eq!(LocalPhone::parse("JP-"), None);
    }
}
