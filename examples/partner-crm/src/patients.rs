//! The CRM's own records: a fixed list of patients (this is a mock), and phone-number lookup for
//! the screen pop.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Patient {
    pub id: &'static str,
    pub name: &'static str,
    /// E.164, the form DialStack events carry.
    pub phone: &'static str,
    pub date_of_birth: &'static str,
    pub notes: &'static str,
}

/// The practice's patients. Numbers are chosen so a demo reaches them: `+15005550100` is
/// ds-local's default test caller, the `+1500555000x` ones are its simulated far ends
/// (protocol.md §15), and `+16175551234` is the seed's click-to-call destination.
pub const PATIENTS: &[Patient] = &[
    Patient {
        id: "pat_jane_roe",
        name: "Jane Roe",
        phone: "+16195550177",
        date_of_birth: "1984-03-12",
        notes: "Lower back pain; follow-up adjustment in two weeks.",
    },
    Patient {
        id: "pat_maria_garcia",
        name: "Maria Garcia",
        phone: "+15005550100",
        date_of_birth: "1991-07-30",
        notes: "New patient intake completed; prefers morning appointments.",
    },
    Patient {
        id: "pat_john_smith",
        name: "John Smith",
        phone: "+16175551234",
        date_of_birth: "1975-11-02",
        notes: "Neck stiffness after a car accident; insurance claim pending.",
    },
    Patient {
        id: "pat_echo_test",
        name: "Echo Test Line",
        phone: "+15005550001",
        date_of_birth: "2000-01-01",
        notes: "Not a person: answers and echoes your audio (a ds-local simulated number).",
    },
    Patient {
        id: "pat_ivr_test",
        name: "Phone Menu Test Line",
        phone: "+15005550006",
        date_of_birth: "2000-01-01",
        notes: "Not a person: answers and plays a tone per keypad digit (ds-local's IVR number).",
    },
];

pub fn by_id(id: &str) -> Option<&'static Patient> {
    PATIENTS.iter().find(|patient| patient.id == id)
}

/// The patient whose number matches `number` in any common spelling ("+1 (619) 555-0177",
/// "6195550177", "+16195550177").
pub fn by_phone(number: &str) -> Option<&'static Patient> {
    let wanted = normalize_us(number)?;
    PATIENTS.iter().find(|patient| normalize_us(patient.phone).as_deref() == Some(wanted.as_str()))
}

/// E.164 for North American numbers: digits only, a leading 1 added to 10-digit numbers.
fn normalize_us(number: &str) -> Option<String> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        10 => Some(format!("+1{digits}")),
        11 if digits.starts_with('1') => Some(format!("+{digits}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_number_in_any_spelling_finds_the_patient() {
        for spelling in ["+16195550177", "6195550177", "+1 (619) 555-0177", "1-619-555-0177"] {
            assert_eq!(by_phone(spelling).map(|p| p.name), Some("Jane Roe"), "{spelling}");
        }
    }

    #[test]
    fn unknown_and_non_numbers_find_nobody() {
        for number in ["+16195550178", "101", "", "user_01abc-wrtc", "+4930123456"] {
            assert_eq!(by_phone(number), None, "{number}");
        }
    }

    #[test]
    fn patient_ids_and_numbers_are_unique() {
        for (i, a) in PATIENTS.iter().enumerate() {
            for b in &PATIENTS[i + 1..] {
                assert_ne!(a.id, b.id);
                assert_ne!(a.phone, b.phone);
            }
        }
    }
}
