//! The admin guide's password rules ("Logging in", step 5), each with its own message so
//! the UI can show every rule as met or not while the administrator types. One home: the
//! web checklist, the store's refusal (every front end's passwords pass through it) and the
//! CLI use these rules alone.
//!
//! A password must be more than five characters long; have characters of at least three of
//! the groups lower case, upper case, digits, other; not be made of 50 % or more of one
//! character; and not contain, in any case, forwards or backwards: the account name, the host
//! name or an IP address of the MOM, the old password, or adjoining keystrokes ("qwerty").
//!
//! Bounded work: a password of more than [`MAX_CHARS`] characters is refused before any
//! other rule runs, and every rule is linear in the password's length.

#![forbid(unsafe_code)]

use serde::Serialize;
use std::collections::HashMap;

/// The longest password the MOM takes, in characters (Argon2 takes any length; the limit
/// bounds the rules' work and what a request can make the MOM hash).
pub const MAX_CHARS: usize = 128;

/// One rule of the admin guide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// More than five characters.
    Length,
    /// At most [`MAX_CHARS`] characters (checked first; the others are not run past it).
    MaxLength,
    /// Characters of at least three of the four groups.
    CharacterGroups,
    /// No character makes up half or more of the password.
    RepeatedCharacter,
    /// Does not contain the account name.
    AccountName,
    /// Does not contain the host name or an address of the MOM.
    HostName,
    /// Does not contain the old password.
    OldPassword,
    /// Does not contain adjoining keystrokes.
    AdjoiningKeys,
}

impl Rule {
    /// Every rule, in the guide's order.
    pub const ALL: [Rule; 8] = [
        Rule::Length,
        Rule::MaxLength,
        Rule::CharacterGroups,
        Rule::RepeatedCharacter,
        Rule::AccountName,
        Rule::HostName,
        Rule::OldPassword,
        Rule::AdjoiningKeys,
    ];

    /// What the rule asks, for the administrator.
    #[must_use]
    pub fn message(self) -> &'static str {
        match self {
            Self::Length => "must be more than five characters long",
            Self::MaxLength => "must be at most 128 characters long",
            Self::CharacterGroups => "must contain characters from at least three of: lower case, upper case, digits, other characters",
            Self::RepeatedCharacter => "must not consist of 50% or more of the same character",
            Self::AccountName => "must not contain the account name (in any case, forwards or backwards)",
            Self::HostName => "must not contain the host name or IP address (in any case, forwards or backwards)",
            Self::OldPassword => "must not contain the old password (in any case, forwards or backwards)",
            Self::AdjoiningKeys => "must not contain adjoining keystrokes such as 'qwerty' (forwards or backwards)",
        }
    }
}

/// What a new password is checked against besides itself.
#[derive(Debug, Clone, Default)]
pub struct Context<'a> {
    /// The account's name.
    pub account: &'a str,
    /// The MOM's host names and IP addresses.
    pub hosts: &'a [String],
    /// The password it replaces, when known.
    pub old_password: Option<&'a str>,
}

/// Rows of adjoining keys (US and German layouts, and the digit row).
const KEY_ROWS: &[&str] = &[
    "1234567890",
    "qwertyuiop",
    "qwertzuiop",
    "asdfghjkl",
    "yxcvbnm",
    "zxcvbnm",
];

/// Adjoining keys that count as a keystroke run.
const KEY_RUN: usize = 4;

/// Items shorter than this are not searched for (a one-letter account name would forbid
/// every password that has that letter).
const MIN_ITEM: usize = 3;

fn contains_either_way(haystack: &str, item: &str) -> bool {
    let item = item.to_lowercase();
    if item.chars().count() < MIN_ITEM {
        return false;
    }
    let reversed: String = item.chars().rev().collect();
    haystack.contains(&item) || haystack.contains(&reversed)
}

fn has_key_run(lower: &str) -> bool {
    let chars: Vec<char> = lower.chars().collect();
    chars.windows(KEY_RUN).any(|window| {
        let run: String = window.iter().collect();
        let back: String = window.iter().rev().collect();
        KEY_ROWS
            .iter()
            .any(|row| row.contains(&run) || row.contains(&back))
    })
}

/// The rules `password` breaks, in the guide's order; empty when it is acceptable. A
/// password over [`MAX_CHARS`] breaks [`Rule::MaxLength`] alone: nothing else is checked.
#[must_use]
pub fn broken(password: &str, context: &Context<'_>) -> Vec<Rule> {
    // Counting stops one past the limit: a megabyte costs no more than 129 characters.
    let count = password.chars().take(MAX_CHARS + 1).count();
    if count > MAX_CHARS {
        return vec![Rule::MaxLength];
    }
    let lower = password.to_lowercase();
    let mut out = Vec::new();
    if count <= 5 {
        out.push(Rule::Length);
    }
    let groups = [
        password.chars().any(char::is_lowercase),
        password.chars().any(char::is_uppercase),
        password.chars().any(|c| c.is_ascii_digit()),
        password
            .chars()
            .any(|c| !c.is_lowercase() && !c.is_uppercase() && !c.is_ascii_digit()),
    ];
    if groups.iter().filter(|g| **g).count() < 3 {
        out.push(Rule::CharacterGroups);
    }
    let mut seen: HashMap<char, usize> = HashMap::new();
    for c in password.chars() {
        *seen.entry(c).or_default() += 1;
    }
    let most = seen.values().copied().max().unwrap_or(0);
    if count > 0 && most * 2 >= count {
        out.push(Rule::RepeatedCharacter);
    }
    if contains_either_way(&lower, context.account) {
        out.push(Rule::AccountName);
    }
    if context.hosts.iter().any(|h| contains_either_way(&lower, h)) {
        out.push(Rule::HostName);
    }
    if context
        .old_password
        .is_some_and(|old| contains_either_way(&lower, old))
    {
        out.push(Rule::OldPassword);
    }
    if has_key_run(&lower) {
        out.push(Rule::AdjoiningKeys);
    }
    out
}

/// Why the store refuses `password` for `account` (the first rule it breaks, as
/// "password must …"), or `None` when it is acceptable. The store knows no host names: the
/// web adds those ([`broken`] with [`Context::hosts`]) before it asks the store.
#[must_use]
pub fn refusal(password: &str, account: &str, old: Option<&str>) -> Option<String> {
    let context = Context {
        account,
        hosts: &[],
        old_password: old,
    };
    broken(password, &context)
        .first()
        .map(|rule| format!("password {}", rule.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Vec<Rule> {
        let hosts = ["mom-server".to_owned(), "192.168.1.10".to_owned()];
        broken(
            password,
            &Context {
                account: "admin",
                hosts: &hosts,
                old_password: Some("Sunny#Day7"),
            },
        )
    }

    #[test]
    fn a_good_password_breaks_no_rule() {
        assert_eq!(check("Tr7#gLm9"), vec![]);
        assert_eq!(check("Blau.Wal42"), vec![]);
    }

    #[test]
    fn each_rule_has_a_password_that_breaks_only_it() {
        assert_eq!(check("Ab1#x"), vec![Rule::Length]);
        assert_eq!(check("abcdefgh"), vec![Rule::CharacterGroups]);
        assert_eq!(check("rstuvw78"), vec![Rule::CharacterGroups]);
        assert_eq!(check("World11111"), vec![Rule::RepeatedCharacter]);
        assert_eq!(check("W1o1r1l1d1"), vec![Rule::RepeatedCharacter]);
        assert_eq!(check("xAdmin#9"), vec![Rule::AccountName]);
        assert_eq!(
            check("x9NIMDA#"),
            vec![Rule::AccountName],
            "backwards, upper case"
        );
        assert_eq!(check("Mom-Server7"), vec![Rule::HostName]);
        assert_eq!(
            check("X01.1.861.291x"),
            vec![Rule::HostName],
            "an address backwards"
        );
        assert_eq!(check("!sunny#day7X"), vec![Rule::OldPassword]);
        assert_eq!(check("Qwer#57a"), vec![Rule::AdjoiningKeys]);
        assert_eq!(check("Z#7lkjhM"), vec![Rule::AdjoiningKeys], "backwards");
        assert_eq!(
            check("Pass1234!"),
            vec![Rule::AdjoiningKeys],
            "the digit row"
        );
    }

    #[test]
    fn the_default_password_breaks_several_rules_and_each_has_a_message() {
        let hosts = [];
        let rules = broken(
            "mom",
            &Context {
                account: "mom",
                hosts: &hosts,
                old_password: Some("mom"),
            },
        );
        assert_eq!(
            rules,
            vec![
                Rule::Length,
                Rule::CharacterGroups,
                Rule::RepeatedCharacter,
                Rule::AccountName,
                Rule::OldPassword
            ]
        );
        for rule in Rule::ALL {
            assert!(rule.message().starts_with("must"));
        }
    }

    #[test]
    fn a_password_over_the_limit_breaks_that_rule_alone_and_costs_little() {
        let long = "Aa1#".repeat(MAX_CHARS / 4) + "x";
        assert_eq!(check(&long), vec![Rule::MaxLength]);
        assert_eq!(check(&long[..MAX_CHARS]), vec![]);
        let huge = "a".repeat(1 << 20);
        let t = std::time::Instant::now();
        assert_eq!(check(&huge), vec![Rule::MaxLength]);
        assert!(
            t.elapsed() < std::time::Duration::from_millis(50),
            "{:?}",
            t.elapsed()
        );
    }

    /// The first broken rule's text, as the store refuses it.
    #[test]
    fn refusal_names_the_first_broken_rule() {
        assert_eq!(
            refusal("mom", "mom", None).as_deref(),
            Some("password must be more than five characters long")
        );
        assert_eq!(refusal("Blau.Wal42", "mom", None), None);
        // Two-character account names are not searched for, here as in the UI.
        assert_eq!(refusal("Blau.Wal42", "wa", None), None);
    }

    #[test]
    fn unicode_letters_count_as_their_case() {
        assert_eq!(check("Ärger#Öl9"), vec![]);
        assert_eq!(check(""), vec![Rule::Length, Rule::CharacterGroups]);
    }
}
