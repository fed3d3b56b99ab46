//! Classifying referenced ids by prefix (rest.md §1.3, §8).

/// What a routing target id points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetKind {
    User,
    RingGroup,
    DialPlan,
    VoiceApp,
    Queue,
    SharedVoicemail,
}

impl TargetKind {
    /// Classifies by the text before the **first** underscore, so fixture ids that are not
    /// TypeIDs (`va_ai_receptionist`) still classify (rest.md §1.3 \[compat\]).
    pub fn of(id: &str) -> Option<Self> {
        let (prefix, rest) = id.split_once('_')?;
        if rest.is_empty() {
            return None;
        }
        Some(match prefix {
            "user" => Self::User,
            "rg" => Self::RingGroup,
            "dp" => Self::DialPlan,
            "va" => Self::VoiceApp,
            "qu" => Self::Queue,
            "svm" => Self::SharedVoicemail,
            _ => return None,
        })
    }

    pub fn prefix(self) -> &'static str {
        match self {
            Self::User => "user_",
            Self::RingGroup => "rg_",
            Self::DialPlan => "dp_",
            Self::VoiceApp => "va_",
            Self::Queue => "qu_",
            Self::SharedVoicemail => "svm_",
        }
    }
}

/// Schedule references: `sched_…` (rest.md §1.3), and `sch_…` because the seed example uses
/// `sch_business_hours` and must be accepted verbatim (direct-api.txt; decision in
/// docs/decisions.md).
pub fn is_schedule_id(id: &str) -> bool {
    ["sched_", "sch_"].iter().any(|prefix| id.strip_prefix(prefix).is_some_and(|rest| !rest.is_empty()))
}

/// E.164: `+`, a non-zero digit, then up to 14 more digits.
pub fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| (2..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
        && !number.starts_with("+0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_classify_by_the_first_underscore() {
        assert_eq!(TargetKind::of("va_ai_receptionist"), Some(TargetKind::VoiceApp));
        assert_eq!(TargetKind::of("user_01k1n4a6c8e0g2j4m6p8r0t2v4"), Some(TargetKind::User));
        assert_eq!(TargetKind::of("svm_1"), Some(TargetKind::SharedVoicemail));
        assert_eq!(TargetKind::of("acct_1"), None);
        assert_eq!(TargetKind::of("va_"), None);
        assert_eq!(TargetKind::of("user"), None);
    }

    #[test]
    fn schedule_ids_accept_the_seed_prefix() {
        assert!(is_schedule_id("sched_01k1n8d0f2h4k6m8p0r2t4w6y8"));
        assert!(is_schedule_id("sch_business_hours"));
        assert!(!is_schedule_id("sched_"));
        assert!(!is_schedule_id("dp_1"));
    }

    #[test]
    fn e164_needs_a_plus_and_digits() {
        assert!(is_e164("+16175551234"));
        assert!(!is_e164("6175551234"));
        assert!(!is_e164("+0123"));
        assert!(!is_e164("+1617555123a"));
    }
}
