//! The printed form of a PARK (the SARI of the license), as DECT handsets and the guide show
//! it next to the hex: "3110050641024* / 1F1028D085".
//!
//! The hex holds 40 bits: the PARK length indicator (the top byte) and 32 bits whose low 31
//! are the ARI. Printed: the length indicator in decimal, then the 31 ARI bits left-aligned
//! in 33 bits (two zero bits appended) as 11 octal digits, then a check digit Σ i·dᵢ
//! (i = 1…13) mod 11 with 10 written `*` (the IPEI rule, ETSI EN 300 175-6 annex C),
//! grouped 5 + 4 + 4 + check as the guide does.

/// The printed form of a SARI given as 10 hexadecimal digits, or `None` for anything else.
#[must_use]
pub fn printed(sari: &str) -> Option<String> {
    let sari = sari.trim();
    if sari.len() != 10 || !sari.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let value = u64::from_str_radix(sari, 16).ok()?;
    let length_indicator = value >> 32;
    let ari = value & 0x7FFF_FFFF;
    let digits = format!("{length_indicator:02}{:011o}", ari << 2);
    let sum: u32 = digits
        .chars()
        .zip(1..)
        .map(|(d, i)| i * d.to_digit(10).unwrap_or(0))
        .sum();
    let check = match sum % 11 {
        10 => '*',
        n => char::from_digit(n, 10).unwrap_or('?'),
    };
    Some(format!(
        "{} {} {} {check}",
        &digits[..5],
        &digits[5..9],
        &digits[9..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_vectors() {
        for (hex, printed_form) in [
            ("1F1028D085", "31100 5064 1024 *"),
            ("1F102A7158", "31100 5234 2540 4"),
            ("1F102AF12C", "31100 5274 2260 5"),
            ("1F10DE0000", "31103 3600 0000 6"),
            ("1f10de0000", "31103 3600 0000 6"),
        ] {
            assert_eq!(printed(hex).as_deref(), Some(printed_form), "{hex}");
        }
    }

    #[test]
    fn anything_but_ten_hex_digits_has_no_printed_form() {
        for bad in ["", "1F1028D08", "1F1028D0855", "1F1028D08G", "none"] {
            assert_eq!(printed(bad), None, "{bad:?}");
        }
    }
}
