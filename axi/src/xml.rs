//! One frame's XML as a small element tree, read tolerantly and written compactly.
//!
//! Reading (quick-xml underneath): invalid UTF-8, characters that XML forbids and invalid
//! character references become U+FFFD; whitespace around the root is ignored; the limits on
//! depth, attributes per element and children of the root are enforced while parsing.
//! Writing: no whitespace, no declaration, attribute values escaped.

use crate::{DecodeError, Limits};
use quick_xml::events::Event;
use quick_xml::Reader;

/// An attribute name: borrowed from the table of known names, owned otherwise.
pub type Name = std::borrow::Cow<'static, str>;
/// An attribute value (stored inline up to 24 bytes).
pub type Text = compact_str::CompactString;

/// Known attribute names, each with a small index (for duplicate checks by bit).
fn known_names() -> &'static rustc_hash::FxHashMap<&'static str, usize> {
    static KNOWN: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, usize>> =
        std::sync::OnceLock::new();
    KNOWN.get_or_init(|| {
        let mut map = rustc_hash::FxHashMap::default();
        for name in crate::record::known_names().chain(crate::message::known_names()) {
            let next = map.len();
            map.entry(name).or_insert(next);
        }
        map
    })
}

/// Bits of the duplicate check for known names (more known names than this fall back to
/// the slow check).
const KNOWN_BITS: usize = 1024;

/// The attribute name `name`, without allocating when it is one this crate knows.
#[must_use]
pub fn intern(name: &str) -> Name {
    intern_indexed(name).0
}

fn intern_indexed(name: &str) -> (Name, Option<usize>) {
    match known_names().get_key_value(name) {
        Some((k, i)) => (Name::Borrowed(k), Some(*i)),
        None => (Name::Owned(name.to_owned()), None),
    }
}

/// An XML element: name, attributes in their order, child elements and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    /// Element name.
    pub name: String,
    /// Attributes, in document order.
    pub attrs: Vec<(Name, Text)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// Text content (concatenated), for elements such as `<permission>Name</permission>`.
    pub text: String,
}

impl Element {
    /// An element with a name and nothing else.
    #[must_use]
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// The value of attribute `name`.
    #[must_use]
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Appends an attribute.
    pub fn push_attr(&mut self, name: &str, value: impl Into<Text>) {
        self.attrs.push((intern(name), value.into()));
    }

    /// The first child named `name`.
    #[must_use]
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Whether `name` is an XML name (ASCII letters, digits, `_`, `-`, `.`, `:`; not starting
/// with a digit, `-` or `.`).
fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
}

/// Makes text from frame bytes: invalid UTF-8 and characters XML forbids become U+FFFD.
#[must_use]
pub fn sanitize(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    // Fast path: valid UTF-8 without control characters or U+FFFE/U+FFFF needs no copy.
    if let Ok(text) = std::str::from_utf8(bytes) {
        // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
        let clean = !bytes
            .iter()
            .any(|b| *b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            && !memchr::memmem::find_iter(bytes, b"\xEF\xBF")
                .any(|i| matches!(bytes.get(i + 2), Some(0xBE | 0xBF)));
        if clean {
            return std::borrow::Cow::Borrowed(text);
        }
    }
    std::borrow::Cow::Owned(
        String::from_utf8_lossy(bytes)
            .chars()
            .map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' })
            .collect(),
    )
}

/// Resolves one entity or character reference name (without `&` and `;`).
fn resolve_reference(name: &str) -> Result<char, DecodeError> {
    Ok(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let number =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else if let Some(dec) = name.strip_prefix('#') {
                    dec.parse().ok()
                } else {
                    return Err(DecodeError::Malformed(format!("unknown entity &{name};")));
                };
            number
                .and_then(char::from_u32)
                .filter(|c| is_xml_char(*c))
                .unwrap_or('\u{FFFD}')
        }
    })
}

/// Replaces entity and character references in raw attribute or text content.
///
/// # Errors
/// [`DecodeError::Malformed`] for an unknown named entity or a `&` without `;`.
pub fn unescape(raw: &str) -> Result<String, DecodeError> {
    if !raw.contains('&') {
        return Ok(raw.to_owned());
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let semi = after
            .find(';')
            .filter(|s| *s <= 10)
            .ok_or_else(|| DecodeError::Malformed("'&' without a reference".into()))?;
        out.push(resolve_reference(&after[..semi])?);
        rest = &after[semi + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses one frame into its root element.
///
/// # Errors
/// [`DecodeError`] for malformed XML or a broken limit.
pub fn parse(frame: &[u8], limits: &Limits) -> Result<Element, DecodeError> {
    let text = sanitize(frame);
    debug_assert!(!text.contains(['\u{FFFE}', '\u{FFFF}']));
    let mut reader = Reader::from_str(&text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| DecodeError::Malformed(e.to_string()))?;
        match event {
            Event::Start(start) => {
                let element = open(&text, &start, limits, &stack, root.is_some())?;
                stack.push(element);
            }
            Event::Empty(start) => {
                let element = open(&text, &start, limits, &stack, root.is_some())?;
                close(&mut stack, &mut root, element);
            }
            Event::End(_) => {
                let element = stack
                    .pop()
                    .ok_or_else(|| DecodeError::Malformed("end tag without start".into()))?;
                close(&mut stack, &mut root, element);
            }
            Event::Text(t) => {
                let raw =
                    std::str::from_utf8(&t).map_err(|e| DecodeError::Malformed(e.to_string()))?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&unescape(raw)?),
                    None if raw.trim().is_empty() => {}
                    None => {
                        return Err(DecodeError::Malformed(
                            "text outside the root element".into(),
                        ))
                    }
                }
            }
            Event::CData(c) => {
                let top = stack
                    .last_mut()
                    .ok_or_else(|| DecodeError::Malformed("CDATA outside the root".into()))?;
                top.text.push_str(&String::from_utf8_lossy(&c));
            }
            Event::GeneralRef(r) => {
                let name =
                    std::str::from_utf8(&r).map_err(|e| DecodeError::Malformed(e.to_string()))?;
                let top = stack
                    .last_mut()
                    .ok_or_else(|| DecodeError::Malformed("reference outside the root".into()))?;
                top.text.push(resolve_reference(name)?);
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
            Event::DocType(_) => {
                return Err(DecodeError::Malformed("DOCTYPE is not allowed".into()))
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(DecodeError::Malformed(format!(
            "unclosed element <{}>",
            stack[stack.len() - 1].name
        )));
    }
    root.ok_or_else(|| DecodeError::Malformed("no element in the frame".into()))
}

/// `bytes` as text when they lie inside `text` (the reader's input, already valid UTF-8):
/// a slice of it, found by position, so it is not validated a second time.
fn within<'t>(text: &'t str, bytes: &[u8]) -> Option<&'t str> {
    let offset = (bytes.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(offset..offset.checked_add(bytes.len())?)
}

/// The `name="value"` pairs of a start tag's attribute text (quick-xml's iterator costs more
/// than the whole rest of a record's decoding; this scanner is written for the one shape
/// AXI uses). Values are raw: references are resolved by the caller.
fn attributes(mut rest: &str) -> impl Iterator<Item = Result<(&str, &str), DecodeError>> {
    let space = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches(space);
        if rest.is_empty() {
            return None;
        }
        let malformed = |why: &str, at: &str| {
            Some(Err(DecodeError::Malformed(format!(
                "{why} near {:?}",
                at.chars().take(20).collect::<String>()
            ))))
        };
        let Some(eq) = rest.find('=') else {
            return malformed("attribute without a value", rest);
        };
        let key = rest[..eq].trim_end_matches(space);
        let after = rest[eq + 1..].trim_start_matches(space);
        let quote = match after.as_bytes().first() {
            Some(q @ (b'"' | b'\'')) => *q as char,
            _ => return malformed("attribute value without quotes", rest),
        };
        let Some(end) = after[1..].find(quote) else {
            return malformed("unterminated attribute value", rest);
        };
        let value = &after[1..1 + end];
        rest = &after[end + 2..];
        Some(Ok((key, value)))
    })
}

/// Makes the element of a start (or empty) tag, checking the limits.
fn open(
    text: &str,
    start: &quick_xml::events::BytesStart<'_>,
    limits: &Limits,
    stack: &[Element],
    have_root: bool,
) -> Result<Element, DecodeError> {
    if have_root {
        return Err(DecodeError::Malformed(
            "more than one root element in a frame".into(),
        ));
    }
    if stack.len() + 1 > limits.depth {
        return Err(DecodeError::TooDeep(limits.depth));
    }
    if stack.len() == 1 && stack[0].children.len() >= limits.records {
        return Err(DecodeError::TooManyRecords(limits.records));
    }
    let utf8 = |b: &[u8]| {
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|e| DecodeError::Malformed(e.to_string()))
    };
    let name = match within(text, start.name().as_ref()) {
        Some(name) => name.to_owned(),
        None => utf8(start.name().as_ref())?,
    };
    if !is_name(&name) {
        return Err(DecodeError::Malformed(format!(
            "{name:?} is not an element name"
        )));
    }
    let mut element = Element::new(&name);
    // quick-xml's own duplicate check is quadratic; a set is used below instead.
    // An upper bound of the attribute count, so the vector and set grow at most once.
    let estimate = start
        .attributes_raw()
        .iter()
        .filter(|b| **b == b'=')
        .count()
        .min(limits.attributes);
    element.attrs.reserve_exact(estimate);
    // Duplicate check: one bit per known name, a short list for the others.
    let mut seen_known = [0u64; KNOWN_BITS / 64];
    let mut seen_other: Vec<Name> = Vec::new();
    let raw_attrs = start.attributes_raw();
    let raw_attrs = match within(text, raw_attrs) {
        Some(t) => t,
        None => {
            std::str::from_utf8(raw_attrs).map_err(|e| DecodeError::Malformed(e.to_string()))?
        }
    };
    for attr in attributes(raw_attrs) {
        let (raw_key, raw) = attr?;
        if element.attrs.len() >= limits.attributes {
            return Err(DecodeError::TooManyAttributes(limits.attributes));
        }
        let (key, index) = intern_indexed(raw_key);
        let duplicate = match index.filter(|i| *i < KNOWN_BITS) {
            Some(i) => {
                let (word, bit) = (&mut seen_known[i / 64], 1u64 << (i % 64));
                let dup = *word & bit != 0;
                *word |= bit;
                dup
            }
            None => {
                // Interned names are known names; only the others need checking.
                if !is_name(&key) {
                    return Err(DecodeError::Malformed(format!(
                        "{key:?} is not an attribute name"
                    )));
                }
                let dup = seen_other.contains(&key);
                seen_other.push(key.clone());
                dup
            }
        };
        if duplicate {
            return Err(DecodeError::Malformed(format!(
                "attribute {key} given twice"
            )));
        }
        let value = if raw.contains('&') {
            Text::from(unescape(raw)?)
        } else {
            Text::new(raw)
        };
        element.attrs.push((key, value));
    }
    Ok(element)
}

fn close(stack: &mut [Element], root: &mut Option<Element>, element: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

/// Escapes an attribute value (also tab and line breaks, so they survive a round trip).
fn escape_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// Writes `element` compactly.
pub fn write(element: &Element, out: &mut String) {
    out.push('<');
    out.push_str(&element.name);
    for (k, v) in &element.attrs {
        out.push(' ');
        out.push_str(k);
        out.push_str("=\"");
        escape_into(out, v);
        out.push('"');
    }
    if element.children.is_empty() && element.text.is_empty() {
        out.push_str("/>");
        return;
    }
    out.push('>');
    for child in &element.children {
        write(child, out);
    }
    for c in element.text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out.push_str("</");
    out.push_str(&element.name);
    out.push('>');
}

/// Writes `element` as one frame: compact XML and the terminating NUL.
#[must_use]
pub fn to_frame(element: &Element) -> Vec<u8> {
    let mut out = String::with_capacity(128);
    write(element, &mut out);
    let mut bytes = out.into_bytes();
    bytes.push(0);
    bytes
}
