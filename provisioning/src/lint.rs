//! The template check ("preview" beyond the admin guide): what would go wrong on which OMM,
//! found before anything is pushed. It reads the template and every provisioned OMM's
//! placeholder file and reports
//! - XML that is not well formed, in the template or in the file an OMM would get (with the
//!   line);
//! - commands the `axi` crate does not know;
//! - placeholders that some OMMs leave unreplaced (which names, which OMMs);
//! - values an OMM's file sets that the template never uses;
//! - `cloudId`s that match no OMM record;
//! - comment placeholders that do not pair up, in the template or in an OMM's file.

use crate::{placeholders_in, render, PlaceholderFile, Predefined};
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::BTreeMap;
use std::ops::Range;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// An OMM would fail on its file.
    Error,
    /// Probably a mistake; the OMMs can still run the file.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
        }
    }
}

/// One thing the check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad.
    pub severity: Severity,
    /// A stable name of the kind of finding (`not_well_formed`, `unknown_command`,
    /// `unresolved`, `unused_value`, `unknown_cloud_id`, `unbalanced_comment`,
    /// `placeholder_file`, `shared_cloud_id`).
    pub code: &'static str,
    /// For the administrator.
    pub message: String,
    /// The template line it concerns, if one.
    pub line: Option<usize>,
    /// The OMMs it concerns; empty when it is the template's alone.
    pub omms: Vec<u32>,
}

/// One OMM as the check sees it.
#[derive(Debug, Clone)]
pub struct OmmFile<'a> {
    /// OMM id.
    pub id: u32,
    /// Its Cloud-ID (empty before its first link).
    pub cloud_id: &'a str,
    /// Whether the MOM provisions it (only those are checked for their file).
    pub provisioning: bool,
    /// Its placeholder file.
    pub placeholders: &'a str,
    /// What the MOM fills in for it.
    pub predefined: Predefined,
}

/// A top-level command of a provisioning file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// Element name.
    pub name: String,
    /// Its `cloudId` attribute, if it has one.
    pub cloud_id: Option<String>,
    /// Line of its start tag, from 1.
    pub line: usize,
    /// Its bytes in the text.
    pub source: Range<usize>,
}

/// Where a file stops being well-formed XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    /// Line, from 1.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Whether `text` holds nothing but whitespace and placeholders.
fn only_placeholders(text: &str) -> bool {
    let mut rest = text.to_owned();
    for name in placeholders_in(text) {
        rest = rest.replace(&format!("%{name}%"), "");
    }
    rest.trim().is_empty()
}

/// The top-level commands of `text`, a sequence of elements (an XML declaration and
/// comments allowed). With `template`, text between commands may be placeholders (the
/// comment placeholders stand there).
///
/// # Errors
/// [`XmlError`] where the text is not well formed.
pub fn commands(text: &str, template: bool) -> Result<Vec<Command>, XmlError> {
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let fail = |pos: u64, message: String| XmlError {
        line: line_of(text, usize::try_from(pos).unwrap_or(usize::MAX)),
        message,
    };
    let mut out = Vec::new();
    let mut open: Option<(String, Option<String>, usize)> = None;
    let mut depth = 0usize;
    loop {
        let before = reader.buffer_position();
        let event = reader
            .read_event()
            .map_err(|e| fail(reader.error_position(), e.to_string()))?;
        let after = reader.buffer_position();
        let start_of = |name: &[u8], attrs: quick_xml::events::attributes::Attributes<'_>| {
            let mut cloud_id = None;
            for attr in attrs {
                let attr = attr.map_err(|e| fail(before, e.to_string()))?;
                if attr.key.as_ref() == b"cloudId" {
                    cloud_id = Some(
                        attr.unescape_value()
                            .map_err(|e| fail(before, e.to_string()))?
                            .into_owned(),
                    );
                }
            }
            Ok::<_, XmlError>((String::from_utf8_lossy(name).into_owned(), cloud_id))
        };
        match event {
            Event::Start(start) => {
                if depth == 0 {
                    let (name, cloud_id) = start_of(start.name().as_ref(), start.attributes())?;
                    open = Some((name, cloud_id, usize::try_from(before).unwrap_or(0)));
                } else {
                    start_of(start.name().as_ref(), start.attributes())?;
                }
                depth += 1;
            }
            Event::Empty(start) => {
                let (name, cloud_id) = start_of(start.name().as_ref(), start.attributes())?;
                if depth == 0 {
                    let begin = usize::try_from(before).unwrap_or(0);
                    out.push(Command {
                        name,
                        cloud_id,
                        line: line_of(text, begin),
                        source: begin..usize::try_from(after).unwrap_or(text.len()),
                    });
                }
            }
            Event::End(_) => {
                depth -= 1;
                if depth == 0 {
                    if let Some((name, cloud_id, begin)) = open.take() {
                        out.push(Command {
                            name,
                            cloud_id,
                            line: line_of(text, begin),
                            source: begin..usize::try_from(after).unwrap_or(text.len()),
                        });
                    }
                }
            }
            Event::Text(t) if depth == 0 => {
                let raw = String::from_utf8_lossy(&t);
                let blank = raw.trim().is_empty();
                if !(blank || template && only_placeholders(&raw)) {
                    return Err(fail(
                        before,
                        format!("text outside a command: {:?}", raw.trim()),
                    ));
                }
            }
            Event::GeneralRef(_) | Event::CData(_) if depth == 0 => {
                return Err(fail(before, "text outside a command".into()));
            }
            Event::Comment(c) if c.windows(2).any(|w| w == b"--") => {
                return Err(fail(
                    before,
                    "a comment holds \"--\" (a comment inside a comment?)".into(),
                ));
            }
            Event::DocType(_) => return Err(fail(before, "DOCTYPE is not allowed".into())),
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some((name, _, begin)) = open {
        return Err(XmlError {
            line: line_of(text, begin),
            message: format!("<{name}> is not closed"),
        });
    }
    Ok(out)
}

/// The OMM ids as a list for a message.
fn list(omms: &[u32]) -> String {
    let shown: Vec<String> = omms.iter().take(20).map(u32::to_string).collect();
    let more = omms.len().saturating_sub(20);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

/// Whether the comment placeholders of `template` pair up; the first problem if not.
fn comment_balance(template: &str) -> Option<Finding> {
    let mut open: Option<usize> = None;
    let mut pos = 0;
    loop {
        let begin = template[pos..]
            .find("%BeginComment%")
            .map(|i| (i + pos, true));
        let end = template[pos..]
            .find("%EndComment%")
            .map(|i| (i + pos, false));
        let next = match (begin, end) {
            (Some(b), Some(e)) => {
                if b.0 < e.0 {
                    b
                } else {
                    e
                }
            }
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => break,
        };
        let line = line_of(template, next.0);
        let problem = match (next.1, open) {
            (true, Some(first)) => Some(format!(
                "%BeginComment% on line {line} follows the one on line {first} without an %EndComment%"
            )),
            (false, None) => Some(format!("%EndComment% on line {line} has no %BeginComment% before it")),
            _ => None,
        };
        if let Some(message) = problem {
            return Some(Finding {
                severity: Severity::Error,
                code: "unbalanced_comment",
                message,
                line: Some(line),
                omms: Vec::new(),
            });
        }
        open = if next.1 { Some(line) } else { None };
        pos = next.0 + 1;
    }
    open.map(|line| Finding {
        severity: Severity::Error,
        code: "unbalanced_comment",
        message: format!("%BeginComment% on line {line} has no %EndComment% after it"),
        line: Some(line),
        omms: Vec::new(),
    })
}

/// OMM records that report the same Cloud-ID (two OMMs with one PARK): their `cloudId`
/// commands and their `omm_files` folder cannot be told apart.
fn shared_cloud_ids(omms: &[OmmFile<'_>]) -> Vec<Finding> {
    let mut by_id: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for o in omms.iter().filter(|o| !o.cloud_id.is_empty()) {
        by_id
            .entry(o.cloud_id.to_ascii_uppercase())
            .or_default()
            .push(o.id);
    }
    by_id
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(cloud_id, ids)| Finding {
            severity: Severity::Error,
            code: "shared_cloud_id",
            message: format!(
                "OMMs {ids:?} report the same Cloud-ID {cloud_id}: their cloudId commands and \
                 their file folder are shared; give each OMM its own PARK"
            ),
            line: None,
            omms: ids,
        })
        .collect()
}

/// Checks `template` and the files of `omms`; errors first.
#[must_use]
pub fn lint(template: &str, omms: &[OmmFile<'_>]) -> Vec<Finding> {
    let mut out = Vec::new();
    out.extend(shared_cloud_ids(omms));
    out.extend(comment_balance(template));
    match commands(template, true) {
        Err(e) => out.push(Finding {
            severity: Severity::Error,
            code: "not_well_formed",
            message: format!("the template, line {}: {}", e.line, e.message),
            line: Some(e.line),
            omms: Vec::new(),
        }),
        Ok(cmds) => {
            let mut unknown: BTreeMap<&str, usize> = BTreeMap::new();
            for c in &cmds {
                if !crate::commands::is_known(&c.name) {
                    unknown.entry(&c.name).or_insert(c.line);
                }
                if let Some(id) = c.cloud_id.as_deref().filter(|id| !id.contains('%')) {
                    if !omms.iter().any(|o| o.cloud_id.eq_ignore_ascii_case(id)) {
                        out.push(Finding {
                            severity: Severity::Warning,
                            code: "unknown_cloud_id",
                            message: format!(
                                "<{}> on line {} has cloudId {id:?}, which no OMM record has",
                                c.name, c.line
                            ),
                            line: Some(c.line),
                            omms: Vec::new(),
                        });
                    }
                }
            }
            for (name, line) in unknown {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: "unknown_command",
                    message: format!("<{name}> on line {line} is not an AXI command the MOM knows"),
                    line: Some(line),
                    omms: Vec::new(),
                });
            }
        }
    }
    let used = placeholders_in(template);
    let mut unresolved: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    let mut unused: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for omm in omms.iter().filter(|o| o.provisioning) {
        let (file, errors) = PlaceholderFile::parse(omm.placeholders);
        for e in errors {
            out.push(Finding {
                severity: Severity::Error,
                code: "placeholder_file",
                message: format!("the placeholder file of OMM {}, {e}", omm.id),
                line: None,
                omms: vec![omm.id],
            });
        }
        let begin = file.get("BeginComment");
        let end = file.get("EndComment");
        if begin.is_some() != end.is_some()
            || begin.is_some_and(|b| b.is_empty() != end.unwrap_or("").is_empty())
        {
            out.push(Finding {
                severity: Severity::Error,
                code: "unbalanced_comment",
                message: format!(
                    "OMM {} sets BeginComment and EndComment differently: both must open and close a comment, or both be empty",
                    omm.id
                ),
                line: None,
                omms: vec![omm.id],
            });
        }
        for name in file.names().filter(|n| !used.iter().any(|u| u == n)) {
            unused.entry(name.to_owned()).or_default().push(omm.id);
        }
        let rendered = render(template, &file, &omm.predefined);
        match commands(&rendered.text, false) {
            Err(e) => out.push(Finding {
                severity: Severity::Error,
                code: "not_well_formed",
                message: format!(
                    "the ipdect.cfg of OMM {}, line {}: {}",
                    omm.id, e.line, e.message
                ),
                line: None,
                omms: vec![omm.id],
            }),
            Ok(cmds) => {
                for c in cmds {
                    for name in placeholders_in(&rendered.text[c.source.clone()]) {
                        let omms = unresolved.entry(name).or_default();
                        if omms.last() != Some(&omm.id) {
                            omms.push(omm.id);
                        }
                    }
                }
            }
        }
    }
    for (name, omms) in unresolved {
        out.push(Finding {
            severity: Severity::Warning,
            code: "unresolved",
            message: format!("%{name}% stays unreplaced for OMM {}", list(&omms)),
            line: None,
            omms,
        });
    }
    for (name, omms) in unused {
        out.push(Finding {
            severity: Severity::Warning,
            code: "unused_value",
            message: format!(
                "{name} is set for OMM {}, but the template does not use it",
                list(&omms)
            ),
            line: None,
            omms,
        });
    }
    out.sort_by_key(|f| f.severity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn omm<'a>(id: u32, cloud_id: &'a str, placeholders: &'a str) -> OmmFile<'a> {
        OmmFile {
            id,
            cloud_id,
            provisioning: true,
            placeholders,
            predefined: Predefined::default(),
        }
    }

    fn codes(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn a_clean_template_has_no_findings_and_the_default_template_lints_clean() {
        let t = "<?xml version=\"1.0\"?>\n<!-- c -->\n%BeginComment%\n<SetRemoteAccess enable=\"true\" />\n%EndComment%\n<SetSystemName name=\"%N%\"/>\n";
        let omms = [omm(1, "001F10000001", "BeginComment=\nEndComment=\nN=a\n")];
        assert_eq!(lint(t, &omms), vec![]);
        let default = include_str!("../../packaging/ipdect-template.xml");
        let findings = lint(default, &omms[..0]);
        assert_eq!(findings, vec![], "the default template is clean");
    }

    #[test]
    fn two_omms_with_one_cloud_id_are_an_error_naming_both() {
        let omms = [
            omm(1, "001F10000001", ""),
            omm(2, "001f10000001", ""),
            omm(3, "001F10000003", ""),
            omm(4, "", ""),
            omm(5, "", ""),
        ];
        let findings = lint("<SetRemoteAccess enable=\"true\" />\n", &omms);
        assert_eq!(codes(&findings), ["shared_cloud_id"]);
        assert_eq!(findings[0].omms, [1, 2]);
        assert_eq!(findings[0].severity, Severity::Error);
    }

    #[test]
    fn broken_xml_is_found_with_its_line_in_the_template_and_per_omm() {
        let findings = lint("<SetRemoteAccess enable=\"true\" />\n<SetX a=\"1\">\n", &[]);
        assert_eq!(codes(&findings), ["not_well_formed"]);
        assert_eq!(findings[0].line, Some(2));
        // Well formed as a template; an OMM that opens a comment and never closes it is not.
        let t = "%BeginComment%\n<SetRemoteAccess enable=\"true\" />\n%EndComment%\n";
        let omms = [omm(3, "", "BeginComment=<!--\nEndComment=\n")];
        let findings = lint(t, &omms);
        assert!(
            codes(&findings).contains(&"not_well_formed"),
            "{findings:?}"
        );
        assert!(
            codes(&findings).contains(&"unbalanced_comment"),
            "{findings:?}"
        );
        assert!(findings.iter().all(|f| f.omms == [3]));
        // An OMM without the comment placeholders gets them as text between commands.
        let findings = lint(t, &[omm(4, "", "")]);
        assert_eq!(codes(&findings), ["not_well_formed"]);
        assert!(findings[0].message.contains("text outside a command"));
        let nested = "<!-- <!-- inner --> -->\n";
        assert_eq!(codes(&lint(nested, &[])), ["not_well_formed"]);
    }

    #[test]
    fn unknown_commands_cloud_ids_unresolved_and_unused_values_are_warned_about() {
        let t = "<SetFoo a=\"1\"/>\n<SetRemoteAccess cloudId=\"001F99999999\" enable=\"%E%\"/>\n<SetSystemName cloudId=\"001f10000001\" name=\"%N%\"/>\n";
        let omms = [
            omm(1, "001F10000001", "E=true\nN=x\nUnused=1\n"),
            omm(2, "001F10000002", "N=y\n"),
        ];
        let findings = lint(t, &omms);
        let by = |code| findings.iter().find(|f| f.code == code).unwrap();
        assert!(by("unknown_command").message.contains("<SetFoo> on line 1"));
        assert!(by("unknown_cloud_id").message.contains("001F99999999"));
        assert_eq!(
            findings
                .iter()
                .filter(|f| f.code == "unknown_cloud_id")
                .count(),
            1,
            "a cloudId matches without regard to case"
        );
        let unresolved = by("unresolved");
        assert_eq!(unresolved.omms, [2]);
        assert!(unresolved.message.contains("%E%"));
        assert_eq!(by("unused_value").omms, [1]);
        assert!(by("unused_value").message.contains("Unused"));
    }

    #[test]
    fn comment_placeholders_must_pair_up_in_the_template() {
        for (t, line) in [
            ("%BeginComment%\n<A/>\n", 1),
            ("<A/>\n%EndComment%\n", 2),
            ("%BeginComment%\n%BeginComment%\n%EndComment%\n", 2),
        ] {
            let findings = lint(t, &[]);
            let f = findings
                .iter()
                .find(|f| f.code == "unbalanced_comment")
                .unwrap();
            assert_eq!(f.line, Some(line), "{t:?}");
        }
    }

    #[test]
    fn omms_without_provisioning_are_not_checked() {
        let mut o = omm(1, "", "BeginComment=<!--\n");
        o.provisioning = false;
        assert_eq!(lint("<SetSystemName name=\"%N%\"/>", &[o]), vec![]);
    }
}
