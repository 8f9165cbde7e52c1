//! Typed attribute values: how each type is read (tolerantly) and written (canonically).

use model::{Ipei, RelType, SubscriptionState};

/// A type an attribute value can have.
pub trait AttrValue: Sized {
    /// Reads a value; `None` when the text does not fit the type.
    fn parse(text: &str) -> Option<Self>;
    /// Writes the canonical form.
    fn render(&self) -> String;
    /// Whether `text` is a valid value (without building it).
    fn valid(text: &str) -> bool {
        Self::parse(text).is_some()
    }
}

impl AttrValue for String {
    fn parse(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn valid(_: &str) -> bool {
        true
    }
    fn render(&self) -> String {
        self.clone()
    }
}

macro_rules! numeric {
    ($($t:ty),*) => {$(impl AttrValue for $t {
        fn parse(text: &str) -> Option<Self> { text.trim().parse().ok() }
        fn render(&self) -> String { self.to_string() }
    })*};
}
numeric!(u16, u32, u64, i32, i64);

impl AttrValue for bool {
    /// `1`/`0`/`true`/`false` in any case; written `true`/`false`.
    fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "1" => Some(true),
            "0" => Some(false),
            t if t.eq_ignore_ascii_case("true") => Some(true),
            t if t.eq_ignore_ascii_case("false") => Some(false),
            _ => None,
        }
    }
    fn render(&self) -> String {
        if *self { "true" } else { "false" }.to_owned()
    }
}

impl AttrValue for Ipei {
    /// `EEEEE PPPPPPP C`, with or without spaces; the check digit is required.
    fn parse(text: &str) -> Option<Self> {
        Ipei::parse(text).ok()
    }
    fn render(&self) -> String {
        self.to_string()
    }
}

macro_rules! enumeration {
    ($t:ty { $($variant:ident = $text:literal),* $(,)? }) => {
        impl AttrValue for $t {
            fn parse(text: &str) -> Option<Self> {
                match text.trim() { $($text => Some(<$t>::$variant),)* _ => None }
            }
            fn render(&self) -> String {
                match self { $(<$t>::$variant => $text,)* }.to_owned()
            }
        }
    };
}
enumeration!(RelType { Unbound = "Unbound", Dynamic = "Dynamic", Fixed = "Fixed" });
enumeration!(SubscriptionState { No = "No", Unconfirmed = "Unconfirmed", Yes = "Yes" });

/// The OMM's DECT subscription mode as AXI names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DectSubscriptionMode {
    /// No subscription.
    Off,
    /// Configured IPEIs only (the UI's "Subscription").
    Configured,
    /// Wildcard subscription with an additional ID.
    Wildcard,
}
enumeration!(DectSubscriptionMode { Off = "Off", Configured = "Configured", Wildcard = "Wildcard" });

impl From<model::SubscriptionMode> for DectSubscriptionMode {
    fn from(mode: model::SubscriptionMode) -> Self {
        match mode {
            model::SubscriptionMode::Off => Self::Off,
            model::SubscriptionMode::Subscription => Self::Configured,
            model::SubscriptionMode::Wildcard => Self::Wildcard,
        }
    }
}

/// `On` or `Off` in a `Subscribe` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeCmd {
    /// Subscribe.
    On,
    /// Remove every filter of the event type.
    Off,
}
enumeration!(SubscribeCmd { On = "On", Off = "Off" });

/// 10 hexadecimal digits (PARK, SARI), written in upper case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hex10(pub String);

impl AttrValue for Hex10 {
    fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        (t.len() == 10 && t.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Self(t.to_ascii_uppercase()))
    }
    fn render(&self) -> String {
        self.0.to_ascii_uppercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_both_spellings_and_write_true_false() {
        for (t, v) in [
            ("1", true),
            ("0", false),
            ("true", true),
            ("FALSE", false),
            (" True ", true),
        ] {
            assert_eq!(bool::parse(t), Some(v), "{t}");
        }
        assert_eq!(bool::parse("yes"), None);
        assert_eq!(true.render(), "true");
    }

    #[test]
    fn hex10_is_upper_cased_and_checked() {
        assert_eq!(Hex10::parse("1f1028d085").unwrap().render(), "1F1028D085");
        assert!(Hex10::parse("1F1028D08").is_none());
        assert!(Hex10::parse("1F1028D08G").is_none());
    }
}
