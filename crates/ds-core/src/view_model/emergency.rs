//! Decisions of the E911 emergency address (protocol.md §7.13, §11.3): what the banner says, and
//! whether the form's address can be sent.

use ds_protocol::rest::{EmergencyAddressInput, PostalAddress};

/// What the E911 banner tells the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmergencyBanner {
    /// No address chosen: outside calls may be refused and emergency services cannot find the user.
    NoAddress,
    /// An address is chosen but the current session did not present it (offline, connecting, or
    /// waiting for a call to end before re-binding).
    NotBound,
    /// The server said `network.changed`: the address is bound to another network; the user must
    /// confirm it here.
    NetworkChanged,
    /// The session presented the address and the server bound it.
    Bound,
}

/// The banner for the address `chosen` (the id the phone presents) and the current session
/// (`presented`: the id sent with the accepted `authenticate`; `network_changed` after it).
pub fn emergency_banner(
    chosen: Option<&str>,
    presented: Option<&str>,
    network_changed: bool,
) -> EmergencyBanner {
    match chosen {
        None => EmergencyBanner::NoAddress,
        Some(_) if network_changed => EmergencyBanner::NetworkChanged,
        Some(id) if presented == Some(id) => EmergencyBanner::Bound,
        Some(_) => EmergencyBanner::NotBound,
    }
}

/// A field of the address form, in form order (the first problem gets the focus).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AddressField {
    Street,
    Unit,
    City,
    State,
    PostalCode,
}

/// What is wrong with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressProblem {
    Required,
    /// Not two letters (`MA`, `CA`…).
    NotAStateCode,
    /// Not a US ZIP code (`02110` or `02110-1234`).
    NotAZipCode,
}

/// What the user typed, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressDraft {
    /// House number and street, e.g. `12 Main St`.
    pub street: String,
    /// Apartment, suite or floor; optional.
    pub unit: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

/// Every problem of the draft, in form order; empty when it can be sent. The server validates
/// again (and may still answer 422); this only catches what the user can fix at once.
pub fn address_problems(draft: &AddressDraft) -> Vec<(AddressField, AddressProblem)> {
    let mut problems = Vec::new();
    let mut required = |field, value: &str| {
        let missing = value.trim().is_empty();
        if missing {
            problems.push((field, AddressProblem::Required));
        }
        !missing
    };
    required(AddressField::Street, &draft.street);
    required(AddressField::City, &draft.city);
    let state = required(AddressField::State, &draft.state);
    let zip = required(AddressField::PostalCode, &draft.postal_code);
    if state && !is_state_code(draft.state.trim()) {
        problems.push((AddressField::State, AddressProblem::NotAStateCode));
    }
    if zip && !is_us_zip(draft.postal_code.trim()) {
        problems.push((AddressField::PostalCode, AddressProblem::NotAZipCode));
    }
    super::sort_short_by(&mut problems, |(a, _), (b, _)| a.cmp(b));
    problems
}

fn is_state_code(text: &str) -> bool {
    text.len() == 2 && text.bytes().all(|b| b.is_ascii_alphabetic())
}

/// `12345` or `12345-6789`.
pub fn is_us_zip(text: &str) -> bool {
    let (five, plus) = text.split_once('-').unwrap_or((text, "0000"));
    five.len() == 5 && plus.len() == 4 && five.bytes().chain(plus.bytes()).all(|b| b.is_ascii_digit())
}

/// The `POST /v1/me/emergency-addresses` body of a draft (§11.3): trimmed, the state in capitals,
/// an empty unit left out, country US (the only country the form offers).
pub fn address_input(draft: &AddressDraft) -> EmergencyAddressInput {
    let text = |value: &str| Some(value.trim().to_owned()).filter(|v| !v.is_empty());
    EmergencyAddressInput {
        address_number: None,
        street: text(&draft.street),
        unit: text(&draft.unit),
        city: text(&draft.city),
        state: text(&draft.state).map(|s| s.to_ascii_uppercase()),
        postal_code: text(&draft.postal_code),
        country: Some("US".to_owned()),
    }
}

/// One line for the banner: the server's `formatted_address`, else the parts joined
/// (`12 Main St, Apt 4, Boston, MA 02110`).
pub fn address_summary(address: &PostalAddress) -> String {
    if let Some(formatted) = address.formatted_address.as_deref().filter(|f| !f.trim().is_empty()) {
        return formatted.trim().to_owned();
    }
    let street = [address.address_number.as_deref(), address.street.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let region = [address.state.as_deref(), address.postal_code.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    [Some(street.as_str()), address.unit.as_deref(), address.city.as_deref(), Some(region.as_str())]
        .into_iter()
        .flatten()
        .filter(|part| !part.trim().is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(street: &str, city: &str, state: &str, zip: &str) -> AddressDraft {
        AddressDraft {
            street: street.into(),
            unit: String::new(),
            city: city.into(),
            state: state.into(),
            postal_code: zip.into(),
        }
    }

    #[test]
    fn a_complete_us_address_has_no_problems() {
        assert!(address_problems(&draft("12 Main St", "Boston", "ma", "02110")).is_empty());
        assert!(address_problems(&draft(" 1 Elm ", "Austin", "TX", "78701-1234")).is_empty());
    }

    #[test]
    fn empty_form_reports_every_required_field_in_form_order() {
        let problems = address_problems(&AddressDraft::default());
        assert_eq!(
            problems,
            vec![
                (AddressField::Street, AddressProblem::Required),
                (AddressField::City, AddressProblem::Required),
                (AddressField::State, AddressProblem::Required),
                (AddressField::PostalCode, AddressProblem::Required),
            ]
        );
    }

    #[test]
    fn blank_text_counts_as_missing() {
        let problems = address_problems(&draft("   ", "Boston", "MA", "02110"));
        assert_eq!(problems, vec![(AddressField::Street, AddressProblem::Required)]);
    }

    #[test]
    fn state_must_be_two_letters() {
        for bad in ["Mass", "M", "M1", "MA."] {
            assert_eq!(
                address_problems(&draft("1 A St", "Boston", bad, "02110")),
                vec![(AddressField::State, AddressProblem::NotAStateCode)],
                "{bad}"
            );
        }
    }

    #[test]
    fn postal_code_must_be_a_us_zip_code() {
        for bad in ["2110", "021100", "02110-12", "ABCDE", "02110 1234"] {
            assert_eq!(
                address_problems(&draft("1 A St", "Boston", "MA", bad)),
                vec![(AddressField::PostalCode, AddressProblem::NotAZipCode)],
                "{bad}"
            );
        }
        assert!(is_us_zip("02110-1234"));
    }

    #[test]
    fn the_first_problem_is_the_earliest_field_in_the_form() {
        let problems = address_problems(&draft("", "Boston", "Massachusetts", "x"));
        assert_eq!(problems[0], (AddressField::Street, AddressProblem::Required));
        assert_eq!(problems.len(), 3);
    }

    #[test]
    fn the_request_body_is_trimmed_with_the_state_in_capitals_and_country_us() {
        let mut d = draft(" 12 Main St ", "Boston ", "ma", "02110");
        let body = address_input(&d);
        assert_eq!(body.street.as_deref(), Some("12 Main St"));
        assert_eq!(body.city.as_deref(), Some("Boston"));
        assert_eq!(body.state.as_deref(), Some("MA"));
        assert_eq!(body.unit, None);
        assert_eq!(body.country.as_deref(), Some("US"));
        d.unit = "Apt 4".into();
        assert_eq!(address_input(&d).unit.as_deref(), Some("Apt 4"));
    }

    #[test]
    fn summary_prefers_the_formatted_address_and_else_joins_the_parts() {
        let mut address = PostalAddress {
            address_number: Some("12".into()),
            street: Some("Main St".into()),
            unit: Some("Apt 4".into()),
            city: Some("Boston".into()),
            state: Some("MA".into()),
            postal_code: Some("02110".into()),
            ..PostalAddress::default()
        };
        assert_eq!(address_summary(&address), "12 Main St, Apt 4, Boston, MA 02110");
        address.formatted_address = Some("12 Main St Apt 4, Boston, MA 02110, US".into());
        assert_eq!(address_summary(&address), "12 Main St Apt 4, Boston, MA 02110, US");
    }

    #[test]
    fn banner_without_an_address_asks_for_one() {
        assert_eq!(emergency_banner(None, None, false), EmergencyBanner::NoAddress);
        assert_eq!(emergency_banner(None, None, true), EmergencyBanner::NoAddress);
    }

    #[test]
    fn banner_shows_bound_only_when_the_session_presented_the_chosen_address() {
        assert_eq!(emergency_banner(Some("emerg_a"), Some("emerg_a"), false), EmergencyBanner::Bound);
        assert_eq!(emergency_banner(Some("emerg_b"), Some("emerg_a"), false), EmergencyBanner::NotBound);
        assert_eq!(emergency_banner(Some("emerg_a"), None, false), EmergencyBanner::NotBound);
    }

    #[test]
    fn banner_after_network_changed_asks_to_confirm() {
        assert_eq!(emergency_banner(Some("emerg_a"), Some("emerg_a"), true), EmergencyBanner::NetworkChanged);
    }
}
