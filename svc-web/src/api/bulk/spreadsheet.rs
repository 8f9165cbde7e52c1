//! Cells as a spreadsheet reads them: a value that would run as a formula is written with a
//! leading `'`, which an import takes off again; and a cell's text as a JSON value.

use serde_json::Value;

/// The characters that make a spreadsheet read a cell as a formula.
pub(super) const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `text` as an exported cell: one that a spreadsheet would take for a formula (`=`, `+`,
/// `-`, `@`, tab, CR first) gets a leading `'`, which spreadsheets show as text and
/// [`from_spreadsheet`] takes off again on import.
pub(super) fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(FORMULA_START) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// An imported cell with the `'` that [`spreadsheet_safe`] added taken off.
pub(super) fn from_spreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_START) => rest,
        _ => cell,
    }
}

/// A CSV cell as the JSON value the field `template` (its default) has the type of.
pub(super) fn cell_value(cell: &str, template: &Value) -> Result<Value, String> {
    let cell = from_spreadsheet(cell);
    match template {
        Value::String(_) => Ok(Value::String(cell.to_owned())),
        Value::Bool(_) => match cell.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("{cell:?} is not true or false")),
        },
        Value::Number(_) => cell
            .parse::<u64>()
            .map(Value::from)
            .map_err(|_| format!("{cell:?} is not a whole number")),
        _ => serde_json::from_str(cell).map_err(|e| format!("{cell:?} is not JSON: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::{cell_value, from_spreadsheet, spreadsheet_safe};
    use serde_json::Value;

    #[test]
    fn cells_a_spreadsheet_would_run_are_exported_as_text_and_imported_back_unchanged() {
        for text in [
            "=HYPERLINK(\"http://x\")",
            "+4930123",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            let cell = spreadsheet_safe(text);
            assert!(cell.starts_with('\''), "{cell}");
            assert_eq!(from_spreadsheet(&cell), text);
            assert_eq!(
                cell_value(&cell, &Value::String(String::new())).unwrap(),
                Value::String(text.into())
            );
        }
        for text in ["Ward 7", "'quoted", "", "10042"] {
            assert_eq!(spreadsheet_safe(text), text);
            assert_eq!(from_spreadsheet(text), text);
        }
    }
}
