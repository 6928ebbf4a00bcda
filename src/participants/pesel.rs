//! PESEL, the Polish personal identification number (domain brief §7): `YYMMDDZZZXQ`, the
//! century encoded in the month, the sex in the tenth digit, a weighted check digit.
//! A PESEL is not a key: it can be reassigned, and foreigners may have none.

use chrono::{Datelike, NaiveDate};

const WEIGHTS: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Female,
    Male,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// A PESEL that passed every check: eleven digits, a real date, the right check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pesel {
    digits: String,
    birth_date: NaiveDate,
    sex: Sex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeselError {
    /// Not exactly eleven digits.
    Format,
    /// The check digit does not match.
    Checksum,
    /// The encoded date does not exist (29 February 2005) or the month code is unknown.
    Date,
}

impl Pesel {
    pub fn parse(raw: &str) -> Result<Pesel, PeselError> {
        let raw = raw.trim();
        if raw.len() != 11 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PeselError::Format);
        }
        let d: Vec<u32> = raw.bytes().map(|b| u32::from(b - b'0')).collect();
        let sum: u32 = WEIGHTS.iter().zip(&d).map(|(w, x)| w * x).sum();
        if (10 - sum % 10) % 10 != d[10] {
            return Err(PeselError::Checksum);
        }
        let yy = (d[0] * 10 + d[1]) as i32;
        let mm = d[2] * 10 + d[3];
        let dd = d[4] * 10 + d[5];
        let (century, month) = match mm {
            1..=12 => (1900, mm),
            21..=32 => (2000, mm - 20),
            41..=52 => (2100, mm - 40),
            61..=72 => (2200, mm - 60),
            81..=92 => (1800, mm - 80),
            _ => return Err(PeselError::Date),
        };
        let birth_date =
            NaiveDate::from_ymd_opt(century + yy, month, dd).ok_or(PeselError::Date)?;
        let sex = if d[9] % 2 == 0 {
            Sex::Female
        } else {
            Sex::Male
        };
        Ok(Pesel {
            digits: raw.to_owned(),
            birth_date,
            sex,
        })
    }

    /// Builds the PESEL of a birth date, serial (0–999) and sex, with its check digit — for
    /// tests and demo data.
    pub fn generate(birth_date: NaiveDate, serial: u16, sex: Sex) -> Option<Pesel> {
        let offset = match birth_date.year() {
            1800..=1899 => 80,
            1900..=1999 => 0,
            2000..=2099 => 20,
            2100..=2199 => 40,
            2200..=2299 => 60,
            _ => return None,
        };
        let sex_digit = (serial % 10) as u32;
        let sex_digit = match sex {
            Sex::Female if sex_digit % 2 == 1 => sex_digit - 1,
            Sex::Male if sex_digit % 2 == 0 => sex_digit + 1,
            _ => sex_digit,
        };
        let body = format!(
            "{:02}{:02}{:02}{:03}{}",
            birth_date.year() % 100,
            birth_date.month() + offset,
            birth_date.day(),
            (serial / 10) % 1000,
            sex_digit
        );
        let sum: u32 = WEIGHTS
            .iter()
            .zip(body.bytes())
            .map(|(w, b)| w * u32::from(b - b'0'))
            .sum();
        Pesel::parse(&format!("{body}{}", (10 - sum % 10) % 10)).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.digits
    }

    pub fn birth_date(&self) -> NaiveDate {
        self.birth_date
    }

    pub fn sex(&self) -> Sex {
        self.sex
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn the_domain_briefs_examples() {
        let p = Pesel::parse("04222900021").unwrap();
        assert_eq!((p.birth_date(), p.sex()), (date(2004, 2, 29), Sex::Female));
        let p = Pesel::parse("90010100030").unwrap();
        assert_eq!(p.birth_date(), date(1990, 1, 1));
        assert_eq!(Pesel::parse("05222900028"), Err(PeselError::Date));
        assert_eq!(Pesel::parse("87061302072"), Err(PeselError::Checksum));
        let p = Pesel::parse("80010112357").unwrap();
        assert_eq!((p.birth_date(), p.sex()), (date(1980, 1, 1), Sex::Male));
        assert_eq!(Pesel::parse("0422290002"), Err(PeselError::Format));
        assert_eq!(Pesel::parse("0422290002a"), Err(PeselError::Format));
    }

    #[test]
    fn every_century_is_decoded() {
        for y in [1850, 1999, 2000, 2150, 2250] {
            let p = Pesel::generate(date(y, 12, 31), 123, Sex::Male).unwrap();
            assert_eq!(p.birth_date(), date(y, 12, 31), "{}", p.as_str());
        }
        assert!(Pesel::generate(date(1799, 1, 1), 1, Sex::Male).is_none());
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (1800i32..2300, 1u32..=12, 1u32..=31)
            .prop_filter_map("a real date", |(y, m, d)| NaiveDate::from_ymd_opt(y, m, d))
    }

    proptest! {
        #[test]
        fn every_generated_pesel_is_valid_and_decodes_back(d in any_date(), serial in 0u16..10_000, female in any::<bool>()) {
            let sex = if female { Sex::Female } else { Sex::Male };
            let p = Pesel::generate(d, serial, sex).unwrap();
            let parsed = Pesel::parse(p.as_str()).unwrap();
            prop_assert_eq!(parsed.birth_date(), d);
            prop_assert_eq!(parsed.sex(), sex);
        }

        #[test]
        fn any_single_digit_change_is_refused(d in any_date(), serial in 0u16..10_000, pos in 0usize..11, delta in 1u8..10) {
            let p = Pesel::generate(d, serial, Sex::Female).unwrap();
            let mut bytes = p.as_str().as_bytes().to_vec();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(Pesel::parse(&changed).is_err(), "{} accepted", changed);
        }
    }
}
