//! What would change on an OMM: a unified diff between the `ipdect.cfg` it fetched last and
//! the one it would get now (the "Update all" preview).

/// A unified diff of `fetched` and `now` with three lines of context; empty when they are
/// the same.
#[must_use]
pub fn diff(fetched: &str, now: &str) -> String {
    if fetched == now {
        return String::new();
    }
    similar::TextDiff::from_lines(fetched, now)
        .unified_diff()
        .context_radius(3)
        .header("fetched last", "would get now")
        .to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_changed_line_shows_as_removed_and_added_with_context() {
        let d = super::diff("<A/>\n<B x=\"1\"/>\n<C/>\n", "<A/>\n<B x=\"2\"/>\n<C/>\n");
        assert!(d.contains("-<B x=\"1\"/>"), "{d}");
        assert!(d.contains("+<B x=\"2\"/>"), "{d}");
        assert!(d.contains(" <A/>"), "context: {d}");
        assert_eq!(super::diff("same", "same"), "");
    }
}
