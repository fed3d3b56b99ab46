//! Destination cleaning, E.164 conversion and as-you-type display (protocol.md §14).

use crate::error::{PhoneError, PhoneErrorCode};

/// The longest destination we send; longer input is cut (§14).
pub const MAX_DESTINATION_LEN: usize = 32;

/// Keeps only `+ * # 0-9 A-D` (letters upper-cased), capped at [`MAX_DESTINATION_LEN`]
/// characters. This is the dial string exactly as typed, before any E.164 conversion.
pub fn strip_to_dial_string(input: &str) -> String {
    input
        .chars()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| matches!(c, '+' | '*' | '#' | '0'..='9' | 'A'..='D'))
        .take(MAX_DESTINATION_LEN)
        .collect()
}

/// True for a 10-digit North American number: area code and exchange both start with 2–9.
fn is_nanp_national(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    digits.len() == 10
        && bytes.iter().all(u8::is_ascii_digit)
        && (b'2'..=b'9').contains(&bytes[0])
        && (b'2'..=b'9').contains(&bytes[3])
}

/// Converts a plain US national number to E.164 (`4155550142` or `14155550142` →
/// `+14155550142`); anything else (already E.164, extensions, feature codes, `911`) is returned
/// unchanged.
pub fn to_e164_us(dial_string: &str) -> String {
    if is_nanp_national(dial_string) {
        return format!("+1{dial_string}");
    }
    if let Some(national) = dial_string.strip_prefix('1')
        && is_nanp_national(national)
    {
        return format!("+{dial_string}");
    }
    dial_string.to_owned()
}

/// The destination to put on the wire for what the user typed: stripped, capped, upper-cased and,
/// for plain US national numbers, converted to E.164. Empty results are refused locally with
/// `invalid_message` (§14).
pub fn clean_destination(input: &str) -> Result<String, PhoneError> {
    let dial_string = strip_to_dial_string(input);
    if dial_string.is_empty() || dial_string == "+" {
        return Err(PhoneError::new(PhoneErrorCode::InvalidMessage, "Enter a number to call"));
    }
    Ok(to_e164_us(&dial_string))
}

/// Formats a NANP number while it is being typed: `415` → `415`, `4155550` → `415-5550`,
/// `4155550142` → `(415) 555-0142`, `14155550142` → `1 (415) 555-0142`, `+14155550142` →
/// `+1 (415) 555-0142`. Input with `*`, `#`, letters, a non-NANP `+` prefix, or too many digits
/// is shown as the plain dial string, so feature codes and extensions stay readable.
pub fn format_as_you_type(input: &str) -> String {
    let dial = strip_to_dial_string(input);
    let (prefix, national) = if let Some(rest) = dial.strip_prefix("+1") {
        ("+1 ", rest)
    } else if dial.starts_with('+') {
        return dial;
    } else if dial.len() > 4
        && let Some(rest) = dial.strip_prefix('1')
        && rest.starts_with(|c: char| ('2'..='9').contains(&c))
    {
        ("1 ", rest)
    } else {
        ("", dial.as_str())
    };
    if !national.bytes().all(|b| b.is_ascii_digit()) || national.len() > 10 {
        return dial;
    }
    let n = national;
    // Short strings are extensions as often as the start of a number: leave them alone.
    if n.len() <= 4 && prefix.is_empty() {
        return dial;
    }
    let body = match n.len() {
        0..=3 => n.to_owned(),
        4..=7 => format!("{}-{}", &n[..3], &n[3..]),
        _ => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
    };
    format!("{prefix}{body}")
}

/// A number for display: US E.164 numbers as `(415) 555-0142`, everything else unchanged.
pub fn format_for_display(number: &str) -> String {
    match number.strip_prefix("+1") {
        Some(national) if is_nanp_national(national) => {
            format!("({}) {}-{}", &national[..3], &national[3..6], &national[6..])
        }
        _ => number.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_numbers_format_progressively() {
        assert_eq!(format_as_you_type("415"), "415");
        assert_eq!(format_as_you_type("41555"), "415-55");
        assert_eq!(format_as_you_type("41555501"), "(415) 555-01");
        assert_eq!(format_as_you_type("1415"), "1415");
        assert_eq!(format_as_you_type("14155"), "1 415-5");
    }
}
