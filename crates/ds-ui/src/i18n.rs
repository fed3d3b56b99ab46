//! Languages of the components. Each component keeps its own string table next to it
//! (`fn text(locale, key)`), so adding a component never edits another's strings; this module holds
//! what they share: the [`Locale`] and locale-aware formatting.

/// A language the components speak. Unknown tags fall back to English.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Locale {
    #[default]
    En,
    Es,
}

impl Locale {
    /// Parses a BCP 47 tag such as `es`, `es-MX` or `en-US` (from a `locale` attribute or
    /// `navigator.language`); anything else is English.
    pub fn from_tag(tag: &str) -> Locale {
        let language = tag.trim().split(['-', '_']).next().unwrap_or_default();
        if language.eq_ignore_ascii_case("es") { Locale::Es } else { Locale::En }
    }

    /// The BCP 47 tag to hand to `Intl` formatters.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }
}
